/* SPDX-License-Identifier: MIT */
/* The route table's seqlock (the read side; busd writes it with
 * busd/route_table_writer.c) and its checks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "atomics.h"
#include "bus/bus.h"
#include "detail.h"
#include "route_table.h"

int bus__route_table_name(char *buf, size_t size, const char *bus_name)
{
	int n = snprintf(buf, size, "/shmbus.%s%%routes", bus_name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static int terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

static int check_targets(const struct bus_route *r, char *detail,
			 size_t detail_size)
{
	uint32_t max = r->kind == BUS_ROUTE_UNROUTABLE ? 1
						       : BUS_ROUTE_TARGETS_MAX;

	if (r->target_count < 1 || r->target_count > max)
		return bus__detail(detail, detail_size, -EINVAL,
				   "a route needs 1 to %u targets, not %u",
				   max, r->target_count);
	for (uint32_t i = 0; i < r->target_count; i++)
		if (!terminated(r->targets[i], sizeof(r->targets[i])) ||
		    bus_name_check(r->targets[i]))
			return bus__detail(detail, detail_size, -EINVAL,
					   "target %u is not a valid queue or "
					   "topic name",
					   i + 1);
	return 0;
}

static int check_matches(const struct bus_route *r, char *detail,
			 size_t detail_size)
{
	if (r->match_count > BUS_ROUTE_MATCHES_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "a route has at most %u header matches",
				   BUS_ROUTE_MATCHES_MAX);
	for (uint32_t i = 0; i < r->match_count; i++) {
		const struct bus_route_match *m = &r->matches[i];

		if (!terminated(m->name, sizeof(m->name)) ||
		    !terminated(m->value, sizeof(m->value)) || !m->name[0] ||
		    strchr(m->name, '='))
			return bus__detail(detail, detail_size, -EINVAL,
					   "header match %u needs a name "
					   "(without '=') and a value",
					   i + 1);
	}
	return 0;
}

int bus__route_check(const struct bus_route *r, char *detail,
		     size_t detail_size)
{
	if (r->kind != BUS_ROUTE_RULE && r->kind != BUS_ROUTE_UNROUTABLE)
		return bus__detail(detail, detail_size, -EINVAL,
				   "unknown route kind %u", r->kind);
	if (!terminated(r->name, sizeof(r->name)) || bus_name_check(r->name))
		return bus__detail(detail, detail_size, -EINVAL,
				   "a route or address needs a valid name");
	if (!terminated(r->from, sizeof(r->from)) || bus_name_check(r->from))
		return bus__detail(detail, detail_size, -EINVAL,
				   "route '%s' needs a valid 'from' address",
				   r->name);
	if (!terminated(r->key, sizeof(r->key)) ||
	    (r->key[0] && bus_pattern_check(r->key)))
		return bus__detail(detail, detail_size, -EINVAL,
				   "route '%s': key '%.63s' is not a valid "
				   "pattern ('*' one token, '>' the rest, "
				   "as the last token)",
				   r->name, r->key);
	if (r->kind == BUS_ROUTE_UNROUTABLE &&
	    (strcmp(r->name, r->from) || r->key[0] || r->match_count))
		return bus__detail(detail, detail_size, -EINVAL,
				   "an unroutable entry has the address as "
				   "name and from, and no key or matches");
	if (r->reserved)
		return bus__detail(detail, detail_size, -EINVAL,
				   "reserved route fields must be 0");
	return check_targets(r, detail, detail_size)
		       ?: check_matches(r, detail, detail_size);
}

/* ---- the seqlock --------------------------------------------------------- */

static void read_words(void *to, const bus__route_word *from, size_t bytes)
{
	uint8_t *out = to;
	uint64_t word;

	for (size_t i = 0; i < bytes / 8; i++) {
		word = bus__load_relaxed(&from[i]);
		memcpy(out + 8 * i, &word, 8);
	}
}

uint64_t bus__route_table_generation(const struct bus_route_table *t)
{
	return bus__load_relaxed(&t->generation);
}

/* Starts a read: an even generation, loaded with acquire (pairs with the
 * writer's release of it). */
static int read_begin(const struct bus_route_table *t, uint64_t *generation)
{
	*generation = bus__load_acquire(&t->generation);
	return *generation & 1 ? -EAGAIN : 0;
}

/* Ends a read: 0 when nothing was written meanwhile. */
static int read_end(const struct bus_route_table *t, uint64_t generation)
{
	/* Acquire fence: pairs with the writer's release fence; if a load
	 * above read a newer entry, this load sees the odd generation. */
	bus__fence_acquire();
	return bus__load_relaxed(&t->generation) == generation ? 0 : -EAGAIN;
}

/* Nothing read from shared memory is trusted: every string ends inside
 * its field, whatever was there. */
static void terminate(struct bus_route *r)
{
	r->name[BUS_NAME_MAX] = '\0';
	r->from[BUS_NAME_MAX] = '\0';
	r->key[BUS_NAME_MAX] = '\0';
	for (uint32_t i = 0; i < BUS_ROUTE_TARGETS_MAX; i++)
		r->targets[i][BUS_NAME_MAX] = '\0';
	for (uint32_t i = 0; i < BUS_ROUTE_MATCHES_MAX; i++) {
		r->matches[i].name[BUS_MESSAGE_HEADER_NAME_MAX] = '\0';
		r->matches[i].value[BUS_NAME_MAX] = '\0';
	}
}

static int read_once(const struct bus_route_table *t, const char *from,
		     struct bus_route *out, uint32_t max, uint64_t *generation)
{
	struct bus_route entry;
	uint32_t count, found = 0;

	if (read_begin(t, generation))
		return -EAGAIN;
	count = bus__load_relaxed(&t->count);
	if (count > BUS_ROUTES_MAX)
		count = BUS_ROUTES_MAX; /* corrupt: trust the bound */
	for (uint32_t i = 0; i < count; i++) {
		read_words(&entry, bus__route_entry_words(t, i),
			   sizeof(entry));
		terminate(&entry);
		/* An entry busd would not have stored is skipped (counts,
		 * names and patterns are used as they are below). */
		if (strcmp(entry.from, from) ||
		    bus__route_check(&entry, NULL, 0))
			continue;
		if (found < max)
			out[found] = entry;
		found++;
	}
	if (read_end(t, *generation))
		return -EAGAIN;
	return (int)found;
}

int bus__route_table_read(const struct bus_route_table *t, const char *from,
			  struct bus_route *out, uint32_t max,
			  uint64_t *generation)
{
	/* busd writes rarely and briefly: a few tries are plenty. */
	for (int tries = 0; tries < 1000; tries++) {
		int ret = read_once(t, from, out, max, generation);

		if (ret != -EAGAIN)
			return ret;
		bus__cpu_relax();
	}
	return -EAGAIN;
}

int bus__route_table_get(const struct bus_route_table *t, uint32_t index,
			 struct bus_route *out)
{
	uint64_t generation;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t count;

		if (read_begin(t, &generation))
			continue;
		count = bus__load_relaxed(&t->count);
		if (index < count && index < BUS_ROUTES_MAX)
			read_words(out, bus__route_entry_words(t, index),
				   sizeof(*out));
		if (read_end(t, generation))
			continue;
		if (index >= count || index >= BUS_ROUTES_MAX)
			return -ENOENT;
		terminate(out);
		if (out->target_count > BUS_ROUTE_TARGETS_MAX)
			out->target_count = BUS_ROUTE_TARGETS_MAX;
		if (out->match_count > BUS_ROUTE_MATCHES_MAX)
			out->match_count = BUS_ROUTE_MATCHES_MAX;
		return 0;
	}
	return -EAGAIN;
}
