/* SPDX-License-Identifier: MIT */
/*
 * The route table of a bus: one shared-memory object "/shmbus.BUS%routes"
 * ('%' never occurs in a bus name, so it clashes neither with a queue or
 * topic segment "/shmbus.BUS:NAME" nor with another bus's announcement
 * page "/shmbus.BUS"), created by busd, mapped read-write by busd alone and
 * read-only by publishers.  Internal.
 *
 *   offset 0      +--------------------------------------------+
 *                 | magic, version, capacity              64 B |
 *   64            +--------------------------------------------+
 *                 | generation (seqlock: odd while busd        |
 *                 |   writes), count of entries in use    64 B |
 *   128           +--------------------------------------------+
 *                 | entry[0 .. BUS_ROUTES_MAX): struct          |
 *                 |   bus_route, the first count in use        |
 *                 +--------------------------------------------+
 *
 * busd rewrites entries between two raises of the generation (odd, then
 * even); a reader copies what it needs with relaxed loads between an
 * acquire load of an even generation and a second look at it, and tries
 * again if it moved: the topic ring's seqlock, in miniature.  A publisher
 * keeps its copy and compares the generation once per message.
 */
#ifndef BUS_ROUTE_TABLE_H
#define BUS_ROUTE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

#define BUS_ROUTE_TABLE_MAGIC UINT64_C(0x3130534554554f52) /* "ROUTES01" */
#define BUS_ROUTE_TABLE_VERSION 1u

struct bus_route_table {
	_Atomic uint64_t magic; /* written last by busd, with release */
	uint32_t version;
	uint32_t capacity; /* BUS_ROUTES_MAX */
	uint8_t pad0[BUS_CACHE_LINE - 16];
	_Atomic uint64_t generation;
	_Atomic uint32_t count;
	uint8_t pad1[BUS_CACHE_LINE - 12];
	struct bus_route entries[BUS_ROUTES_MAX];
};

_Static_assert(offsetof(struct bus_route_table, generation) == 64,
	       "route table generation line");
_Static_assert(offsetof(struct bus_route_table, entries) == 128,
	       "route table entries");
_Static_assert(sizeof(struct bus_route) % 8 == 0, "route entry words");

#define BUS_ROUTE_TABLE_SIZE sizeof(struct bus_route_table)

/* The entries are copied a 64-bit word at a time, each word atomic
 * (relaxed): the seqlock's generation orders them, and a reader racing
 * busd's write sees torn words only in a copy it then throws away. */
typedef _Atomic uint64_t bus__route_word;

static inline bus__route_word *
bus__route_entry_words(const struct bus_route_table *t, uint32_t i)
{
	return (bus__route_word *)(void *)&t->entries[i];
}

/* "/shmbus.BUS%routes" into buf: the length, or -ENAMETOOLONG. */
int bus__route_table_name(char *buf, size_t size, const char *bus_name);

/* 0 for an entry busd may store; -EINVAL with a sentence otherwise. */
int bus__route_check(const struct bus_route *route, char *detail,
		     size_t detail_size);

/*
 * Copies the entries that apply to the address `from` (routes from it and
 * its unroutable entry) into out, up to max; returns how many applied and
 * sets *generation to the generation they belong to.  -EAGAIN when busd
 * kept writing during every try.
 */
int bus__route_table_read(const struct bus_route_table *table,
			  const char *from, struct bus_route *out,
			  uint32_t max, uint64_t *generation);

/* Copies the index-th entry: 0, -ENOENT past the last, -EAGAIN. */
int bus__route_table_get(const struct bus_route_table *table, uint32_t index,
			 struct bus_route *out);

/* The generation, for the per-message check (relaxed: a stale value only
 * delays the change by a message or so; the read above is what orders). */
uint64_t bus__route_table_generation(const struct bus_route_table *table);

#endif /* BUS_ROUTE_TABLE_H */
