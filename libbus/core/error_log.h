/* SPDX-License-Identifier: MIT */
/*
 * busd's error log in shared memory: its last BUS_LOG_ENTRIES warnings
 * and errors, in "/shmbus.BUS%log" (mode 0644, like the announcement
 * page), so that busctl can show them while busd runs and after it died.
 * busd writes it (busd/log_page.c); readers use bus_log_read().
 *
 * busd alone writes, one entry at a time (under its log mutex): entry
 * i % BUS_LOG_ENTRIES of the i-th line.  Each entry is a seqlock: its
 * sequence word is odd while busd writes it and 2 * (i + 1) once line i
 * is in it, so a reader copies an entry and keeps the copy only if the
 * word was even and unchanged around the copy.
 */
#ifndef BUS_ERROR_LOG_H
#define BUS_ERROR_LOG_H

#include <stdint.h>

#include "bus/bus.h"
#include "bus/layout.h"

#define BUS_LOG_MAGIC UINT64_C(0x474f4c5355424d53) /* "SMBUSLOG" */
#define BUS_LOG_ENTRIES 128u

struct bus_log_entry {
	BUS_ATOMIC(uint64_t) sequence; /* odd while written */
	/* Written between the two stores of sequence, read with relaxed
	 * atomic loads: a torn copy is thrown away, never a data race. */
	BUS_ATOMIC(uint64_t) words[(BUS_LOG_TEXT_MAX + 8 + 8) / 8];
};

struct bus_log_page {
	BUS_ATOMIC(uint64_t) magic; /* written last */
	BUS_ATOMIC(uint64_t) lines; /* lines written so far */
	uint8_t pad[BUS_CACHE_LINE - 16];
	struct bus_log_entry entries[BUS_LOG_ENTRIES];
};

/* The record as it is packed into an entry's words. */
struct bus_log_packed {
	uint64_t realtime_ns;
	uint32_t level;
	uint32_t length;
	char text[BUS_LOG_TEXT_MAX];
};

_Static_assert(sizeof(struct bus_log_packed) ==
		       sizeof(((struct bus_log_entry *)0)->words),
	       "an entry's words hold one record");

/* "/shmbus.BUS%log" */
int bus__log_name(char *buf, size_t size, const char *bus_name);

#endif /* BUS_ERROR_LOG_H */
