/* SPDX-License-Identifier: MIT */
/*
 * Arena unit tests (libbus/core/arena.h): the single writer's allocator of
 * packed records, driven through find/take/shrink/rebuild with a judge
 * that reads a table of message states the test keeps.  The last case is
 * a model check: random loans, reads, holds, acks, shrinks and abandoned
 * finds against a bitmap of the bytes every unacked message owns; no two
 * live records may ever share a byte, and an arena whose messages are
 * all acked must always have room.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

#define LINE 64u
#define POSITIONS 4096

enum state { UNREAD, HELD, ACKED };

struct table {
	enum state state[POSITIONS];
	unsigned judged;
};

static enum bus__arena_verdict judge(void *context,
				     const struct bus__arena_extent *e)
{
	struct table *t = context;

	t->judged++;
	assert_true(e->position < POSITIONS);
	switch (t->state[e->position]) {
	case ACKED:
		return BUS__ARENA_GONE;
	case HELD:
		return BUS__ARENA_PINNED;
	default:
		return BUS__ARENA_BUSY;
	}
}

/* find + take, expecting room at want. */
static void put(struct bus__arena *a, struct table *t, uint64_t position,
		uint32_t length, uint32_t want)
{
	uint32_t offset = ~0u;

	assert_int_equal(bus__arena_find(a, length, judge, t, &offset), 0);
	assert_int_equal(offset, want);
	bus__arena_take(a, position, offset, length);
}

static int find(struct bus__arena *a, struct table *t, uint32_t length)
{
	uint32_t offset;

	return bus__arena_find(a, length, judge, t, &offset);
}

static void test_bad_lengths(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };
	uint32_t offset;

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 8), 0);
	assert_int_equal(bus__arena_find(&a, 0, judge, &t, &offset), -EINVAL);
	assert_int_equal(bus__arena_find(&a, 65, judge, &t, &offset), -EINVAL);
	assert_int_equal(bus__arena_find(&a, 17 * LINE, judge, &t, &offset),
			 -EMSGSIZE);
	put(&a, &t, 0, 16 * LINE, 0); /* the whole arena */
	assert_int_equal(a.head, 0);
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS);
	bus__arena_destroy(&a);
}

/* A record that does not fit before the end starts at 0; the skipped
 * bytes and the records it covers at the start are judged. */
static void test_wrap_around(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 8), 0);
	put(&a, &t, 0, 6 * LINE, 0);
	put(&a, &t, 1, 6 * LINE, 6 * LINE);
	assert_int_equal(a.head, 12 * LINE);
	/* 6 lines do not fit in the 4 left: wrap, over message 0. */
	assert_int_equal(find(&a, &t, 6 * LINE), -ENOBUFS); /* 0 unread */
	t.state[0] = ACKED;
	put(&a, &t, 2, 6 * LINE, 0);
	assert_int_equal(a.head, 6 * LINE);
	/* 4 lines fit exactly at the end after message 1. */
	t.state[1] = ACKED;
	put(&a, &t, 3, 4 * LINE, 6 * LINE); /* over message 1 */
	put(&a, &t, 4, 6 * LINE, 10 * LINE);
	assert_int_equal(a.head, 0);	   /* ended at the end */
	assert_int_equal(a.overwrites, 2); /* still message 1's drop */
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS); /* 2 unread */
	t.state[2] = ACKED;
	put(&a, &t, 5, LINE, 0);
	assert_int_equal(a.overwrites, 3); /* dropped message 2 */
	bus__arena_destroy(&a);
}

/* A held record stays; the head jumps past it and later records go round
 * it, lap after lap, until it is acked. */
static void test_pinned_skip_and_requeue(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 8), 0);
	put(&a, &t, 0, 4 * LINE, 0);
	put(&a, &t, 1, 4 * LINE, 4 * LINE);
	put(&a, &t, 2, 4 * LINE, 8 * LINE);
	put(&a, &t, 3, 4 * LINE, 12 * LINE);
	t.state[0] = HELD;
	t.state[1] = ACKED;
	put(&a, &t, 4, 4 * LINE, 4 * LINE); /* past 0, over 1 */
	t.state[2] = ACKED;
	t.state[3] = ACKED;
	t.state[4] = ACKED;
	/* Around again: 8 lines at 8, then 8 more past 0 (at 4) once 5
	 * is acked. */
	put(&a, &t, 5, 8 * LINE, 8 * LINE);
	assert_int_equal(find(&a, &t, 8 * LINE), -ENOBUFS); /* 5 unread */
	t.state[5] = ACKED;
	put(&a, &t, 6, 8 * LINE, 4 * LINE);
	put(&a, &t, 7, 4 * LINE, 12 * LINE);
	t.state[6] = ACKED;
	t.state[7] = ACKED;
	/* 12 lines: at 4 (after 0), up to the end. */
	put(&a, &t, 8, 12 * LINE, 4 * LINE);
	assert_int_equal(a.head, 0);
	t.state[8] = ACKED;
	put(&a, &t, 9, 4 * LINE, 4 * LINE);
	/* Ack 0: its bytes come back; 12 lines wrap to 0 over 0 and 9. */
	t.state[0] = ACKED;
	t.state[9] = ACKED;
	put(&a, &t, 10, 12 * LINE, 0);
	assert_int_equal(a.overwrites, 10);
	assert_int_equal(find(&a, &t, 8 * LINE), -ENOBUFS); /* 10 unread */
	t.state[10] = ACKED;
	put(&a, &t, 11, 8 * LINE, 0);
	bus__arena_destroy(&a);
}

static void test_busy_is_full(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };
	unsigned judged;

	(void)state;
	assert_int_equal(bus__arena_init(&a, 8 * LINE, 8), 0);
	for (uint32_t i = 0; i < 8; i++)
		put(&a, &t, i, LINE, i * LINE);
	judged = t.judged;
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS);
	assert_int_equal(t.judged, judged + 1); /* only the front */
	/* An unread record behind a held one still fills the arena. */
	t.state[0] = HELD;
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS);
	t.state[1] = ACKED;
	put(&a, &t, 8, LINE, LINE);
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS); /* 2 unread */
	bus__arena_destroy(&a);
}

static void test_every_record_pinned(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };
	unsigned judged;

	(void)state;
	assert_int_equal(bus__arena_init(&a, 8 * LINE, 4), 0);
	for (uint32_t i = 0; i < 4; i++) {
		put(&a, &t, i, 2 * LINE, 2 * i * LINE);
		t.state[i] = HELD;
	}
	judged = t.judged;
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS);
	/* Each judged once: the search ends, it does not go round. */
	assert_int_equal(t.judged, judged + 4);
	assert_int_equal(a.count, 4);
	/* One acked in the middle: its room, and only that. */
	t.state[2] = ACKED;
	assert_int_equal(find(&a, &t, 4 * LINE), -ENOBUFS);
	put(&a, &t, 4, 2 * LINE, 4 * LINE);
	assert_int_equal(a.count, 4);
	bus__arena_destroy(&a);
}

static void test_shrink(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 8), 0);
	put(&a, &t, 0, 8 * LINE, 0);
	bus__arena_shrink(&a, 0, LINE);
	assert_int_equal(a.head, LINE);
	put(&a, &t, 1, 4 * LINE, LINE);
	put(&a, &t, 2, 4 * LINE, 5 * LINE);
	/* Not the newest: no-op (a batch's earlier loan). */
	bus__arena_shrink(&a, 1, LINE);
	assert_int_equal(a.head, 9 * LINE);
	/* Larger than taken: no-op. */
	bus__arena_shrink(&a, 2, 5 * LINE);
	assert_int_equal(a.head, 9 * LINE);
	bus__arena_shrink(&a, 2, 2 * LINE);
	assert_int_equal(a.head, 7 * LINE);
	/* A shrink to the end puts the head at 0. */
	put(&a, &t, 3, 9 * LINE, 7 * LINE);
	bus__arena_shrink(&a, 3, 9 * LINE);
	assert_int_equal(a.head, 0);
	bus__arena_destroy(&a);
}

static void test_rebuild(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };
	const struct bus__arena_extent live[] = {
		{ .position = 7, .start = 2 * LINE, .length = 2 * LINE },
		{ .position = 5, .start = 12 * LINE, .length = 2 * LINE },
		{ .position = 6, .start = 0, .length = LINE },
	};

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 4), 0);
	/* Head at 4 lines: arena order 12 (5), 0 (6), 2 (7). */
	assert_int_equal(bus__arena_rebuild(&a, 4 * LINE, live, 3), 0);
	assert_int_equal(a.count, 3);
	assert_int_equal(a.fifo[a.first].position, 5);
	t.state[5] = t.state[6] = t.state[7] = UNREAD;
	put(&a, &t, 8, 8 * LINE, 4 * LINE); /* up to 5, judging nothing */
	assert_int_equal(t.judged, 0);
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS); /* 5 is the front */
	assert_int_equal(t.judged, 1);
	t.state[5] = ACKED;
	t.state[6] = HELD;
	/* 6 lines: no room before the end, wrap: past 6, then 7 unread. */
	assert_int_equal(find(&a, &t, 6 * LINE), -ENOBUFS);
	assert_int_equal(a.head, LINE); /* moved past 5 and 6 */
	t.state[7] = ACKED;
	t.state[8] = ACKED;
	put(&a, &t, 9, 6 * LINE, LINE);

	/* Head mirror at the very end: the same as 0. */
	assert_int_equal(bus__arena_rebuild(&a, 16 * LINE, live, 3), 0);
	assert_int_equal(a.head, 0);
	assert_int_equal(a.fifo[a.first].position, 6);
	/* Nothing live. */
	assert_int_equal(bus__arena_rebuild(&a, 3 * LINE, NULL, 0), 0);
	assert_int_equal(a.count, 0);
	put(&a, &t, 10, 16 * LINE, 0); /* head 3 lines: wraps to 0 */
	bus__arena_destroy(&a);
}

static void test_rebuild_corrupt(void **state)
{
	struct bus__arena a;
	const struct bus__arena_extent overlap[] = {
		{ .position = 1, .start = 0, .length = 2 * LINE },
		{ .position = 2, .start = LINE, .length = LINE },
	};
	const struct bus__arena_extent outside[] = {
		{ .position = 1, .start = 15 * LINE, .length = 2 * LINE },
	};
	const struct bus__arena_extent unaligned[] = {
		{ .position = 1, .start = 8, .length = LINE },
	};
	const struct bus__arena_extent empty[] = {
		{ .position = 1, .start = 0, .length = 0 },
	};
	/* The head inside a live record: the next one would overwrite it. */
	const struct bus__arena_extent spans[] = {
		{ .position = 1, .start = 2 * LINE, .length = 4 * LINE },
	};
	struct bus__arena_extent many[9];

	(void)state;
	assert_int_equal(bus__arena_init(&a, 16 * LINE, 4), 0);
	assert_int_equal(bus__arena_rebuild(&a, 4 * LINE, overlap, 2),
			 -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 0, outside, 1), -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 0, unaligned, 1), -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 0, empty, 1), -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 3 * LINE, spans, 1), -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 6 * LINE, spans, 1), 0);
	assert_int_equal(bus__arena_rebuild(&a, 17 * LINE, spans, 1),
			 -EBADMSG);
	assert_int_equal(bus__arena_rebuild(&a, 100, spans, 1), -EBADMSG);
	for (uint32_t i = 0; i < 9; i++)
		many[i] = (struct bus__arena_extent){ .position = i,
						      .start = i * LINE,
						      .length = LINE };
	assert_int_equal(bus__arena_rebuild(&a, 0, many, 9), -ENOBUFS);
	assert_int_equal(a.count, 0);
	bus__arena_destroy(&a);
}

/* A FIFO of 2 x slots full of extents nobody reaches (the front is far
 * from the head) drops the GONE ones in one pass. */
static void test_fifo_full_compacts(void **state)
{
	struct bus__arena a;
	struct table t = { 0 };
	uint32_t capacity;

	(void)state;
	assert_int_equal(bus__arena_init(&a, 64 * LINE, 2), 0);
	capacity = a.mask + 1;
	assert_int_equal(capacity, 4);
	for (uint32_t i = 0; i < capacity; i++)
		put(&a, &t, i, LINE, i * LINE);
	assert_int_equal(t.judged, 0);
	assert_int_equal(a.count, capacity);
	/* Full, and nothing gone: no room in the FIFO. */
	assert_int_equal(find(&a, &t, LINE), -ENOBUFS);
	t.state[0] = ACKED;
	t.state[2] = ACKED;
	t.state[1] = HELD;
	t.judged = 0;
	put(&a, &t, 4, LINE, 4 * LINE);
	assert_int_equal(t.judged, capacity); /* one pass */
	assert_int_equal(a.count, 3);	      /* 1, 3, 4 in order */
	assert_int_equal(a.fifo[a.first].position, 1);
	assert_int_equal(a.fifo[(a.first + 1) & a.mask].position, 3);
	assert_int_equal(a.fifo[(a.first + 2) & a.mask].position, 4);
	assert_int_equal(a.overwrites, 3);
	bus__arena_destroy(&a);
}

/* ---- model check ------------------------------------------------------ */

struct model {
	struct table t;
	uint32_t offset[POSITIONS];
	uint32_t length[POSITIONS];
	uint8_t *owner_map; /* per line: 0 free, else position + 1 (mod) */
	uint32_t lines;
	uint64_t next;	 /* next position to write */
	uint64_t read;	 /* next position to read */
	uint64_t oldest; /* every position before it is acked */
	uint32_t slots;
};

static void mark(struct model *m, uint64_t p, uint32_t from_line,
		 uint32_t to_line, int live)
{
	for (uint32_t l = from_line; l < to_line; l++) {
		if (live) {
			/* The bitmap check: no byte of a live record is
			 * written by another. */
			if (m->owner_map[l])
				fail_msg("position %llu at line %u overlaps "
					 "a live record",
					 (unsigned long long)p, l);
			m->owner_map[l] = 1;
		} else {
			m->owner_map[l] = 0;
		}
	}
}

static void ack(struct model *m, uint64_t p)
{
	m->t.state[p] = ACKED;
	mark(m, p, m->offset[p] / LINE, (m->offset[p] + m->length[p]) / LINE,
	     0);
}

static void model_run(unsigned seed)
{
	struct model *m = calloc(1, sizeof(*m));
	struct bus__arena a;
	uint32_t max_lines;

	assert_non_null(m);
	srand(seed);
	m->lines = 4 + (uint32_t)rand() % 60;
	m->slots = 1u << (1 + rand() % 4);
	max_lines = 1 + (uint32_t)rand() % m->lines;
	m->owner_map = calloc(m->lines, 1);
	assert_non_null(m->owner_map);
	assert_int_equal(bus__arena_init(&a, m->lines * LINE, m->slots), 0);
	while (m->next < POSITIONS - 1) {
		int what = rand() % 10;

		if (what < 5) {
			/* A loan: its cell (position - slots) must be
			 * free, as the producer claims it. */
			uint64_t p = m->next;
			uint32_t lines = 1 + (uint32_t)rand() % max_lines;
			uint32_t offset;
			int ret = bus__arena_find(&a, lines * LINE, judge,
						  &m->t, &offset);
			bool cell_free = p < m->slots ||
					 m->t.state[p - m->slots] == ACKED;

			if (ret == 0 && a.overwrites)
				assert_true(m->t.state[a.overwrites - 1] ==
					    ACKED);
			if (ret) {
				assert_int_equal(ret, -ENOBUFS);
				continue;
			}
			if (!cell_free || rand() % 8 == 0)
				continue; /* no cell: never taken */
			assert_true(offset % LINE == 0);
			assert_true(offset + lines * LINE <= m->lines * LINE);
			mark(m, p, offset / LINE, offset / LINE + lines, 1);
			bus__arena_take(&a, p, offset, lines * LINE);
			m->offset[p] = offset;
			m->length[p] = lines * LINE;
			m->t.state[p] = UNREAD;
			m->next++;
			if (rand() % 2) {
				uint32_t keep = 1 + (uint32_t)rand() % lines;

				bus__arena_shrink(&a, p, keep * LINE);
				mark(m, p, offset / LINE + keep,
				     offset / LINE + lines, 0);
				m->length[p] = keep * LINE;
			}
		} else if (what < 8) {
			/* The consumer reads the next: acks it or holds it. */
			if (m->read == m->next)
				continue;
			if (rand() % 3)
				ack(m, m->read);
			else
				m->t.state[m->read] = HELD;
			m->read++;
		} else {
			/* A held one acked, in any order. */
			for (uint64_t p = m->oldest; p < m->read; p++)
				if (m->t.state[p] == HELD && rand() % 3 == 0) {
					ack(m, p);
					break;
				}
		}
		while (m->oldest < m->read && m->t.state[m->oldest] == ACKED)
			m->oldest++;
		/* Everything acked: any length fits. */
		if (m->oldest == m->next && rand() % 4 == 0) {
			uint32_t offset;

			assert_int_equal(bus__arena_find(&a, m->lines * LINE,
							 judge, &m->t,
							 &offset),
					 0);
		}
	}
	/* A rebuild from the live records goes on the same. */
	{
		struct bus__arena_extent live[POSITIONS];
		uint32_t count = 0;
		uint32_t head = a.head;

		for (uint64_t p = 0; p < m->next; p++)
			if (m->t.state[p] != ACKED)
				live[count++] = (struct bus__arena_extent){
					.position = p,
					.start = m->offset[p],
					.length = m->length[p],
				};
		if (count <= a.mask + 1) {
			assert_int_equal(
				bus__arena_rebuild(&a, head, live, count), 0);
			assert_int_equal(a.count, count);
		}
	}
	bus__arena_destroy(&a);
	free(m->owner_map);
	free(m);
}

static void test_model(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 300; seed++)
		model_run(seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_pinned_skip_and_requeue),
		cmocka_unit_test(test_busy_is_full),
		cmocka_unit_test(test_every_record_pinned),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_rebuild_corrupt),
		cmocka_unit_test(test_fifo_full_compacts),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
