/* SPDX-License-Identifier: MIT */
/*
 * A journal directory read through a descriptor that busd handed over
 * (BUS_CONTROL_JOURNAL): the reader opens it as /proc/self/fd/N, so its
 * sentences name that; bus_journal_fd_dir_detail() puts the directory's
 * real name back (readlink), which is what a user can look at.  Shared by
 * catch-up subscriptions (libbus/topic_catch_up.c) and busctl's dump and
 * replay (busctl/journal_source.c).
 */
#ifndef BUS_JOURNAL_FD_DIR_H
#define BUS_JOURNAL_FD_DIR_H

#include <stddef.h>

struct bus_journal_fd_dir {
	int fd;
	char path[32];	 /* /proc/self/fd/N: what the reader opens */
	char real[4096]; /* the directory's name, for sentences */
};

/* Fills d for descriptor fd (not taken); real is "WHAT's journal" when
 * the directory has no name to read (deleted since). */
void bus_journal_fd_dir_init(struct bus_journal_fd_dir *d, int fd,
			     const char *what);

/* A reader's sentence with every mention of d->path as the real name,
 * in out (size bytes, cut if need be); returns out. */
const char *bus_journal_fd_dir_detail(const struct bus_journal_fd_dir *d,
				      const char *detail, char *out,
				      size_t size);

#endif /* BUS_JOURNAL_FD_DIR_H */
