/* SPDX-License-Identifier: MIT */
/*
 * busctl top in a terminal: its size, and single keys read without
 * waiting for Enter.  Internal to top.c.
 */
#ifndef BUSCTL_TOP_KEYS_H
#define BUSCTL_TOP_KEYS_H

#include <termios.h>

enum busctl_top_sort {
	BUSCTL_TOP_SORT_NAME,
	BUSCTL_TOP_SORT_DEPTH, /* deepest (or most lagging) first */
	BUSCTL_TOP_SORT_RATE,  /* busiest (messages in per second) first */
	BUSCTL_TOP_SORTS
};

enum busctl_top_key {
	BUSCTL_TOP_KEY_NONE, /* the wait ended without a key */
	BUSCTL_TOP_KEY_QUIT,
	BUSCTL_TOP_KEY_SORT,
	BUSCTL_TOP_KEY_DOWN,
	BUSCTL_TOP_KEY_UP,
	BUSCTL_TOP_KEY_PAGE_DOWN,
	BUSCTL_TOP_KEY_PAGE_UP,
	BUSCTL_TOP_KEY_OTHER,
};

struct busctl_top_keys {
	int active; /* stdin is a terminal we put in non-canonical mode */
	struct termios saved;
};

/* Reads keys from stdin if it is a terminal; a no-op otherwise. */
void busctl_top_keys_start(struct busctl_top_keys *keys);
/* Gives the terminal back as it was. */
void busctl_top_keys_stop(struct busctl_top_keys *keys);
/*
 * Waits up to ms milliseconds for a key: the key, or NONE when the time
 * ran out or SIGINT/SIGTERM came.  Without a terminal it only sleeps.
 */
enum busctl_top_key busctl_top_keys_wait(struct busctl_top_keys *keys, int ms);
/* The terminal's columns and lines (TIOCGWINSZ on stdout), else 0, 0. */
void busctl_terminal_size(int *columns, int *lines);
/* "name", "depth", "rate" both ways: 0 or -1. */
int busctl_top_sort_parse(const char *text, enum busctl_top_sort *sort);
const char *busctl_top_sort_name(enum busctl_top_sort sort);

#endif /* BUSCTL_TOP_KEYS_H */
