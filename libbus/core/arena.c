/* SPDX-License-Identifier: MIT */
/*
 * The single writer's arena (arena.h).
 *
 * find() works in "unwrapped" offsets: distances from the head it started
 * at, going forward round the arena.  Every extent in the FIFO lies at a
 * distance in [0, bytes) from the head, in FIFO order (the invariant); an
 * extent that find() moves to the back (PINNED) lies a lap further on,
 * behind the room it will give.  A candidate room is [from, to): the
 * record itself, plus the bytes skipped at the arena's end when it would
 * not fit before it.  Whatever of the FIFO's front lies in it is judged;
 * a GONE extent frees its bytes, a PINNED one moves the room past it.
 * Nothing is shared: the judge reads the cells.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "packed.h"

static uint32_t fifo_capacity(uint32_t slots)
{
	uint64_t want = 2 * (uint64_t)(slots ? slots : 1);
	uint64_t capacity = 2;

	while (capacity < want)
		capacity <<= 1;
	return (uint32_t)capacity;
}

int bus__arena_init(struct bus__arena *a, uint32_t bytes, uint32_t slots)
{
	uint32_t capacity = fifo_capacity(slots);

	*a = (struct bus__arena){ .bytes = bytes };
	if (capacity > (1u << 30) || bytes == 0)
		return -EINVAL;
	a->fifo = calloc(capacity, sizeof(*a->fifo));
	if (!a->fifo)
		return -ENOMEM;
	a->mask = capacity - 1;
	return 0;
}

void bus__arena_destroy(struct bus__arena *a)
{
	free(a->fifo);
	*a = (struct bus__arena){ 0 };
}

static struct bus__arena_extent *at(struct bus__arena *a, uint32_t i)
{
	return &a->fifo[(a->first + i) & a->mask];
}

static void pop_front(struct bus__arena *a)
{
	a->first = (a->first + 1) & a->mask;
	a->count--;
}

static void push_back(struct bus__arena *a, const struct bus__arena_extent *e)
{
	*at(a, a->count) = *e;
	a->count++;
}

/* x modulo the arena's size, for the x < 3 x bytes that arise here:
 * subtraction, not a 64-bit division on every record. */
static uint64_t wrap(const struct bus__arena *a, uint64_t x)
{
	while (x >= a->bytes)
		x -= a->bytes;
	return x;
}

/* Distance of an arena offset from the head, going forward. */
static uint64_t distance(const struct bus__arena *a, uint32_t offset)
{
	return offset >= a->head ? offset - a->head
				 : (uint64_t)offset + a->bytes - a->head;
}

static void note_gone(struct bus__arena *a, const struct bus__arena_extent *e)
{
	if (e->position + 1 > a->overwrites)
		a->overwrites = e->position + 1;
}

/*
 * The FIFO is full: drop the GONE extents wherever they are, keeping the
 * order of the others.  At most slots extents are live (each holds a
 * cell), so this frees at least half of the FIFO: amortised O(1).
 */
static void compact(struct bus__arena *a, bus__arena_judge judge,
		    void *context)
{
	uint32_t kept = 0;

	a->compacting = true;
	for (uint32_t i = 0; i < a->count; i++) {
		struct bus__arena_extent e = *at(a, i);

		if (judge(context, &e) == BUS__ARENA_GONE) {
			note_gone(a, &e);
			continue;
		}
		*at(a, kept++) = e;
	}
	a->compacting = false;
	a->count = kept;
}

int bus__arena_find(struct bus__arena *a, uint32_t length,
		    bus__arena_judge judge, void *context, uint32_t *offset)
{
	/* Extents not yet moved to the back by this call: the front ones. */
	uint32_t fresh;
	uint64_t from = 0; /* where the room may start, unwrapped */
	uint64_t start;

	/* overwrites is not reset here: a find that dropped records and
	 * then failed leaves their bytes to a later find, whose writer must
	 * still raise its readers' mark past them. */
	if (length == 0 || length % BUS__RECORD_ALIGN)
		return -EINVAL;
	if (length > a->bytes)
		return -EMSGSIZE;
	if (a->count > a->mask)
		compact(a, judge, context);
	if (a->count > a->mask)
		return -ENOBUFS;
	fresh = a->count;
	for (;;) {
		uint64_t physical = wrap(a, (uint64_t)a->head + from);
		struct bus__arena_extent e;
		uint64_t d;

		/* A record never wraps: skip the end's bytes, start at 0. */
		start = from;
		if (physical + length > a->bytes)
			start = from + (a->bytes - physical);
		if (a->count == 0)
			break;
		e = *at(a, 0);
		d = distance(a, e.start);
		if (fresh == 0)
			d += a->bytes; /* moved to the back: a lap on */
		if (d >= start + length)
			break;
		/* Judged PINNED already in this call: all that is left
		 * ahead is pinned; no room. */
		if (fresh == 0)
			goto full;
		switch (judge(context, &e)) {
		case BUS__ARENA_GONE:
			note_gone(a, &e);
			pop_front(a);
			if (fresh)
				fresh--;
			break;
		case BUS__ARENA_PINNED:
			pop_front(a);
			push_back(a, &e);
			fresh--;
			from = d + e.length;
			break;
		case BUS__ARENA_BUSY:
		default:
			goto full;
		}
	}
	/*
	 * The head moves to the room's start over bytes that are free or
	 * pinned (moved to the back), so that the FIFO stays in arena order
	 * from the head even if the caller never takes the room.
	 */
	a->head = (uint32_t)wrap(a, (uint64_t)a->head + start);
	*offset = a->head;
	return 0;
full:
	/* What lies before from was dropped or moved to the back. */
	a->head = (uint32_t)wrap(a, (uint64_t)a->head + from);
	return -ENOBUFS;
}

void bus__arena_take(struct bus__arena *a, uint64_t position, uint32_t offset,
		     uint32_t length)
{
	struct bus__arena_extent e = {
		.position = position,
		.start = offset,
		.length = length,
	};

	/* find() left room in the FIFO (compacting if it had to). */
	if (a->count > a->mask)
		return;
	push_back(a, &e);
	a->head = (uint32_t)wrap(a, (uint64_t)offset + length);
}

void bus__arena_shrink(struct bus__arena *a, uint64_t position,
		       uint32_t length)
{
	struct bus__arena_extent *e;

	if (a->count == 0)
		return;
	e = at(a, a->count - 1);
	if (e->position != position || length > e->length || length == 0)
		return;
	/* Only the newest record ends at the head. */
	if (wrap(a, (uint64_t)e->start + e->length) != a->head)
		return;
	e->length = length;
	a->head = (uint32_t)wrap(a, (uint64_t)e->start + length);
}

static int by_start(const void *x, const void *y)
{
	const struct bus__arena_extent *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

int bus__arena_rebuild(struct bus__arena *a, uint32_t head,
		       const struct bus__arena_extent *live, uint32_t count)
{
	uint32_t capacity = a->mask + 1;
	struct bus__arena_extent *sorted;
	uint32_t split = 0;
	uint64_t end = 0;
	int ret = 0;

	/* A failed rebuild leaves an empty arena, never a half one. */
	a->first = 0;
	a->count = 0;
	a->head = 0;
	a->overwrites = 0;
	if (head > a->bytes || head % BUS__RECORD_ALIGN)
		return -EBADMSG;
	if (count > capacity)
		return -ENOBUFS;
	for (uint32_t i = 0; i < count; i++)
		if (live[i].length == 0 || live[i].start % BUS__RECORD_ALIGN ||
		    live[i].length % BUS__RECORD_ALIGN ||
		    (uint64_t)live[i].start + live[i].length > a->bytes)
			return -EBADMSG;
	sorted = malloc(((size_t)count + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	if (count)
		memcpy(sorted, live, (size_t)count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), by_start);
	a->head = head == a->bytes ? 0 : head;
	/* Arena order from the head: those at or after it, then the rest. */
	while (split < count && sorted[split].start < a->head)
		split++;
	for (uint32_t i = 0; i < count; i++) {
		const struct bus__arena_extent *e =
			&sorted[(split + i) % count];
		uint64_t d = distance(a, e->start);

		/* Each starts where the one before ended or later, and the
		 * last ends at the head or before it (a record that spans
		 * the head would be written over by the next one). */
		if (d < end || d + e->length > a->bytes) {
			ret = -EBADMSG;
			break;
		}
		end = d + e->length;
		push_back(a, e);
	}
	free(sorted);
	if (ret) {
		a->count = 0;
		a->head = 0;
	}
	return ret;
}
