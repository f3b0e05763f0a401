/* SPDX-License-Identifier: MIT */
/*
 * The bus's announcement page, "/shmbus.BUS" (no colon, so it never clashes
 * with a queue or topic segment "/shmbus.BUS:NAME"): one page that busd
 * creates at start, maps read-write, and unlinks at stop.  Clients map it
 * read-only.  busd raises topics_generation (seq_cst) and wakes its futex
 * every time it creates a topic, so a wildcard subscription learns of new
 * topics with one relaxed load per receive and no system call, and one that
 * sleeps is woken.  It is also raised when a queue or topic is deleted,
 * since bus_list() indices move: a listing made while it did not change
 * saw every name.  Internal.
 */
#ifndef BUS_ANNOUNCE_H
#define BUS_ANNOUNCE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#define BUS_ANNOUNCE_MAGIC UINT64_C(0x65636e756f6e6e61) /* "announce" */
#define BUS_ANNOUNCE_SIZE 4096

struct bus_announce {
	_Atomic uint64_t magic;
	/* Raised per topic created or name deleted; also a futex word. */
	_Atomic uint32_t topics_generation;
	uint32_t reserved;
};

/* "/shmbus.BUS" into buf: the length, or -ENAMETOOLONG. */
static inline int bus__announce_name(char *buf, size_t size,
				     const char *bus_name)
{
	int n = snprintf(buf, size, "/shmbus.%s", bus_name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

#endif /* BUS_ANNOUNCE_H */
