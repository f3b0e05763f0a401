/* SPDX-License-Identifier: MIT */
/*
 * busd's side of packed (spsc) queues, in process on real segments and
 * real journals: the refill of a packed queue from its journal at start
 * (busd/durable_recover.c), the journal thread's copy of a packed cell
 * (busd/durable_ring.c) and the move of a dead packed message into an mpmc
 * dead-letter queue (busd/queue_dead_letter.c), with the corrupt headers
 * each must refuse cleanly.
 *
 * The segments are laid out as layout.h's "Packed messages" says
 * (tests/packed_segment.h), by libbus once it packs spsc queues, by hand
 * until then; the producer's and consumer's moves are made by hand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "atomics.h"
#include "bus/bus.h"
#include "durable_queue.h"
#include "journal_test.h"
#include "packed_segment.h"
#include "queue_dead_letter.h"
#include "queue_handle.h"

#define SLOTS 16u
#define MAX_MESSAGE 128u
#define ROOM 64u
#define MESSAGES 12u

struct fixture {
	char dir[256];
	char detail[512];
	struct bus_queue_settings settings;
	struct packed_segment seg;
	struct busd_durable_queue dq;
};

static void settings_of(struct bus_queue_settings *s)
{
	bus_queue_settings_default(s);
	s->slots = SLOTS;
	s->max_unacked = SLOTS;
	s->max_message = MAX_MESSAGE;
	s->header_room = ROOM;
	s->durable = 1;
}

static struct fixture *fixture_new(uint32_t arena_bytes)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	jt_tmpdir(f->dir, sizeof(f->dir));
	settings_of(&f->settings);
	assert_ret(packed_segment_map(&f->seg, &f->settings, arena_bytes), 0);
	snprintf(f->dq.name, sizeof(f->dq.name), "q");
	snprintf(f->dq.directory, sizeof(f->dq.directory), "%s", f->dir);
	f->dq.geometry = f->seg.geometry;
	f->dq.held = calloc(SLOTS, sizeof(*f->dq.held));
	assert_non_null(f->dq.held);
	f->dq.options = (struct bus_journal_options){
		.directory = f->dir,
		.name = "q",
		.kind = BUS_JOURNAL_QUEUE,
		.sync = BUS_JOURNAL_SYNC_ALWAYS,
	};
	return f;
}

static void fixture_free(struct fixture *f)
{
	if (f->dq.writer)
		bus_journal_writer_close(f->dq.writer);
	free(f->dq.held);
	free(f->dq.acks);
	free(f->dq.counts);
	free(f->dq.scratch);
	packed_segment_unmap(&f->seg);
	jt_remove(f->dir);
	free(f);
}

static void open_writer(struct fixture *f)
{
	struct bus_journal_recovery recovered;

	assert_ret(bus_journal_writer_open(&f->dq.writer, &f->dq.options,
					   &recovered, f->detail,
					   sizeof(f->detail)),
		   0);
}

static void close_writer(struct fixture *f)
{
	assert_ret(bus_journal_writer_close(f->dq.writer), 0);
	f->dq.writer = NULL;
}

/* The journal a queue left: MESSAGES messages of varying sizes and keys
 * (jt_message), then acks of 2 and 5. */
static void write_journal(struct fixture *f)
{
	struct bus_journal_range acks[] = { { 2, 1 }, { 5, 1 } };

	open_writer(f);
	for (uint64_t i = 0; i < MESSAGES; i++) {
		struct jt_message m;

		jt_message(&m, i);
		assert_ret(bus_journal_append_message(f->dq.writer, &m.m), 0);
	}
	assert_ret(bus_journal_append_acks(f->dq.writer, acks, 2), 0);
	close_writer(f);
}

static bool acked(uint64_t sequence)
{
	return sequence == 2 || sequence == 5;
}

/* The bytes the unacked messages' records take, laid one after another. */
static uint64_t unacked_record_bytes(void)
{
	uint64_t bytes = 0;

	for (uint64_t i = 0; i < MESSAGES; i++) {
		struct jt_message m;

		if (acked(i))
			continue;
		jt_message(&m, i);
		bytes += bus__packed_record_length(m.m.payload_length,
						   m.m.extension_length);
	}
	return bytes;
}

static int recover(struct fixture *f, bool adopted)
{
	struct bus_journal_recovery recovered = { 0 };

	return busd_durable_recover(&f->dq, adopted, &recovered, f->detail,
				    sizeof(f->detail));
}

/* A reboot: every unacked message back, in order, each in a record of its
 * own size, one after another from offset 0; the arena head after them,
 * and the producer's rebuild of its arena from the cells agrees. */
static void test_refill_in_order(void **state)
{
	struct fixture *f = fixture_new(4096);
	const struct bus__queue_geometry *g = &f->dq.geometry;
	struct bus__arena_extent live[SLOTS];
	struct bus__arena arena;
	uint64_t base = MESSAGES, offset = 0;
	uint32_t n = 0;

	(void)state;
	write_journal(f);
	assert_ret(recover(f, false), 0);
	assert_int_equal(bus__load_relaxed(&g->control->dequeue_position),
			 base);
	assert_int_equal(bus__load_relaxed(&g->control->enqueue_position),
			 base + MESSAGES - 2);
	for (uint64_t i = 0; i < MESSAGES; i++) {
		const struct bus_cell *cell = bus__queue_cell(g, base + n);
		struct bus__record rec;
		struct jt_message want;
		uint64_t length;

		if (acked(i))
			continue;
		jt_message(&want, i);
		assert_int_equal(bus__load_relaxed(&cell->state),
				 bus__cell_state(base + n, 0,
						 BUS__CELL_READY));
		assert_int_equal(cell->header.sequence, i);
		assert_int_equal(cell->header.record_offset, offset);
		assert_int_equal(cell->header.payload_length,
				 want.m.payload_length);
		assert_int_equal(cell->header.extension_length,
				 want.m.extension_length);
		assert_ret(bus__message_locate(
				   &g->area, cell, cell->header.record_offset,
				   cell->header.payload_length,
				   cell->header.extension_length, &rec),
			   0);
		assert_memory_equal(rec.payload, want.payload,
				    want.m.payload_length);
		assert_memory_equal(rec.extension, want.extension,
				    want.m.extension_length);
		length = bus__packed_record_length(want.m.payload_length,
						   want.m.extension_length);
		live[n] = (struct bus__arena_extent){
			.position = base + n,
			.start = (uint32_t)offset,
			.length = (uint32_t)length,
		};
		offset += length;
		n++;
	}
	assert_int_equal(offset, unacked_record_bytes());
	assert_int_equal(bus__load_relaxed(&g->control->arena_head), offset);
	/* What the first producer does with it. */
	assert_ret(bus__arena_init(&arena, g->area.arena_bytes, SLOTS), 0);
	assert_ret(bus__arena_rebuild(&arena,
				      (uint32_t)bus__load_relaxed(
					      &g->control->arena_head),
				      live, n),
		   0);
	assert_int_equal(arena.head, offset);
	bus__arena_destroy(&arena);
	fixture_free(f);
}

/* A journal with more record bytes than the arena (ring_bytes made
 * smaller since): refused with the ring_bytes that would do, before a
 * byte is written; the journal is still whole. */
static void test_refill_refused_when_the_arena_is_too_small(void **state)
{
	uint32_t small =
		(uint32_t)bus__packed_reservation(MAX_MESSAGE, ROOM) + 64;
	struct fixture *f = fixture_new(small);
	const struct bus__queue_geometry *g = &f->dq.geometry;
	char want[128];
	struct fixture *again;

	(void)state;
	assert_true(unacked_record_bytes() > small);
	write_journal(f);
	assert_ret(recover(f, false), -ENOBUFS);
	snprintf(want, sizeof(want), "raise ring_bytes to at least %llu",
		 (unsigned long long)unacked_record_bytes());
	assert_non_null(strstr(f->detail, want));
	assert_non_null(strstr(f->detail, "the journal is kept"));
	for (uint32_t i = 0; i < SLOTS; i++)
		assert_int_equal(bus__cell_kind(bus__load_relaxed(
					 &bus__queue_cell(g, i)->state)),
				 BUS__CELL_FREE);
	assert_int_equal(bus__load_relaxed(&g->control->arena_head), 0);
	/* The same journal into an arena large enough: everything back. */
	again = fixture_new((uint32_t)unacked_record_bytes());
	jt_remove(again->dir);
	snprintf(again->dq.directory, sizeof(again->dq.directory), "%s",
		 f->dir);
	assert_ret(recover(again, false), 0);
	assert_int_equal(again->dq.held_count, MESSAGES - 2);
	/* Full to its last byte: the head is back at 0. */
	assert_int_equal(
		bus__load_relaxed(&again->dq.geometry.control->arena_head), 0);
	fixture_free(again); /* its own directory went above */
	fixture_free(f);
}

/* A producer's packed message at position: its record at offset. */
static void put_packed(const struct bus__queue_geometry *g, uint64_t position,
		       uint32_t offset, const char *payload, const char *key,
		       enum bus__cell_kind kind)
{
	struct bus_cell *cell = bus__queue_cell(g, position);
	uint32_t length = (uint32_t)strlen(payload);
	uint8_t *record = g->area.arena + offset;

	memset(&cell->header, 0, sizeof(cell->header));
	cell->header.sequence = position;
	cell->header.payload_length = length;
	cell->header.extension_length = (uint16_t)(4 + strlen(key));
	cell->header.record_offset = offset;
	cell->header.delivery_count = 1;
	memcpy(record, payload, length);
	record += bus__packed_extension_at(length);
	/* Key length, reply-to length, header count, 0, the key (layout.h). */
	record[0] = (uint8_t)strlen(key);
	record[1] = record[2] = record[3] = 0;
	memcpy(record + 4, key, strlen(key));
	bus__store_release(&cell->state,
			   bus__cell_state(bus__position_wrap(position), 0,
					   kind));
}

/* The one message the journal holds: payload and extension. */
static void assert_journaled(struct fixture *f, const char *payload,
			     const char *key)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	int messages = 0;

	assert_ret(bus_journal_reader_open(&r, f->dir, f->detail,
					   sizeof(f->detail)),
		   0);
	while (bus_journal_next(r, &e, f->detail, sizeof(f->detail)) > 0) {
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		messages++;
		assert_int_equal(e.message.payload_length, strlen(payload));
		assert_memory_equal(e.message.payload, payload,
				    strlen(payload));
		assert_int_equal(e.message.extension_length, 4 + strlen(key));
		assert_memory_equal(e.message.extension + 4, key, strlen(key));
	}
	bus_journal_reader_close(r);
	assert_int_equal(messages, 1);
}

/* The journal thread copies a packed message from its record; a record
 * outside the arena, or not on a line, is a corrupt header: skipped and
 * counted, never read. */
static void test_copy_packed_cell(void **state)
{
	struct fixture *f = fixture_new(4096);
	const struct bus__queue_geometry *g = &f->dq.geometry;

	(void)state;
	open_writer(f);
	put_packed(g, 0, 192, "hello, packed", "orders.eu", BUS__CELL_READY);
	assert_ret(busd_durable_append_cell(&f->dq, 0, 0), 0);
	/* Outside the arena, unaligned, past its end by a byte. */
	put_packed(g, 1, 0, "x", "k", BUS__CELL_READY);
	bus__queue_cell(g, 1)->header.record_offset = 4096;
	assert_ret(busd_durable_append_cell(&f->dq, 1, 1), 1);
	bus__queue_cell(g, 1)->header.record_offset = 65;
	assert_ret(busd_durable_append_cell(&f->dq, 1, 1), 1);
	bus__queue_cell(g, 1)->header.record_offset = 4096 - 64;
	bus__queue_cell(g, 1)->header.payload_length = 100;
	assert_ret(busd_durable_append_cell(&f->dq, 1, 1), 1);
	assert_int_equal(f->dq.corrupt, 3);
	close_writer(f);
	assert_journaled(f, "hello, packed", "orders.eu");
	fixture_free(f);
}

/* An mpmc dead-letter queue with fixed cells. */
static void *map_target(struct bus__queue_geometry *t, size_t *size)
{
	struct bus_queue_settings s;
	struct bus__queue_offsets o;
	void *base;

	bus_queue_settings_default(&s);
	s.slots = SLOTS;
	s.max_message = MAX_MESSAGE;
	s.header_room = ROOM;
	bus__queue_offsets(&s, &o);
	base = mmap(NULL, o.size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	busd_queue_segment_init(base, o.size, "test", "dlq", &s);
	bus__queue_geometry_fill(t, base, o.size, &s, &o);
	*size = o.size;
	return base;
}

/* A dead packed message moves with payload and key into the dead-letter
 * queue's fixed cell; one whose record lies outside the arena is dropped
 * as corrupt, and the target gets nothing. */
static void test_dead_letter_from_packed(void **state)
{
	struct fixture *f = fixture_new(4096);
	const struct bus__queue_geometry *g = &f->dq.geometry;
	struct bus__queue_geometry t;
	struct busd_dead_letter_pass pass;
	struct bus_cell *to;
	struct bus__record rec;
	size_t size;
	void *base = map_target(&t, &size);

	(void)state;
	put_packed(g, 0, 320, "dead and packed", "orders.us", BUS__CELL_DEAD);
	busd_dead_letter_move(g, &t, &pass);
	assert_int_equal(pass.moved, 1);
	assert_int_equal(pass.corrupt, 0);
	to = bus__queue_cell(&t, 0);
	assert_int_equal(bus__cell_kind(bus__load_acquire(&to->state)),
			 BUS__CELL_READY);
	assert_int_equal(to->header.record_offset, 0);
	assert_int_equal(to->header.payload_length, 15);
	assert_ret(bus__message_locate(&t.area, to, 0, 15,
				       to->header.extension_length, &rec),
		   0);
	assert_memory_equal(rec.payload, "dead and packed", 15);
	assert_int_equal(to->header.extension_length, 4 + 9);
	assert_memory_equal(rec.extension + 4, "orders.us", 9);
	assert_int_equal(bus__cell_kind(bus__load_relaxed(
				 &bus__queue_cell(g, 0)->state)),
			 BUS__CELL_FREE);
	/* Corrupt: past the arena's end. */
	put_packed(g, 1, 0, "gone", "k", BUS__CELL_DEAD);
	bus__queue_cell(g, 1)->header.record_offset = 8192;
	busd_dead_letter_move(g, &t, &pass);
	assert_int_equal(pass.moved, 0);
	assert_int_equal(pass.corrupt, 1);
	assert_int_equal(bus__cell_kind(bus__load_acquire(
				 &bus__queue_cell(&t, 1)->state)),
			 BUS__CELL_FREE);
	munmap(base, size);
	fixture_free(f);
}

/*
 * A replacement producer of a durable queue rebuilds its arena from the
 * cells.  A cell FREE after a skip (its message held through a lap, HELD
 * moved on, then acked) still holds that message's header: its record
 * must not count as a live one not yet journaled, or the rebuild finds
 * two records on one line of a sound segment and refuses it.
 */
static void test_rebuild_ignores_a_skipped_cells_old_header(void **state)
{
	struct fixture *f = fixture_new(1024); /* 16 lines */
	struct bus__queue_geometry *g = &f->seg.geometry;
	struct bus_cell *x = bus__queue_cell(g, 0), *y = bus__queue_cell(g, 1);
	struct bus_queue *q = NULL;
	int ret;

	(void)state;
	/* Message 0 at line 0, held through a lap (skipped at 16: HELD(16)),
	 * then acked: FREE(32).  The journal copied 0..15. */
	x->header = (struct bus_message_header){ .payload_length = 60,
						 .sequence = 0,
						 .record_offset = 0 };
	bus__store_relaxed(&x->state, bus__cell_state(32, 0, BUS__CELL_FREE));
	for (uint32_t i = 2; i < SLOTS; i++)
		bus__store_relaxed(&bus__queue_cell(g, i)->state,
				   bus__cell_state(i + SLOTS, 0,
						   BUS__CELL_FREE));
	/* Message 17 took line 0 again, free since 0 was acked and copied. */
	y->header = (struct bus_message_header){ .payload_length = 60,
						 .sequence = 17,
						 .record_offset = 0 };
	bus__store_relaxed(&y->state, bus__cell_state(17, 0, BUS__CELL_READY));
	bus__store_relaxed(&g->control->journal_position, 16);
	bus__store_relaxed(&g->control->arena_head, 64);
	ret = bus__queue_handle_create(g, BUS_PRODUCER, 0, 1, NULL, &q);
	if (q)
		bus__queue_handle_destroy(q);
	fixture_free(f);
	assert_int_equal(ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refill_in_order),
		cmocka_unit_test(
			test_refill_refused_when_the_arena_is_too_small),
		cmocka_unit_test(test_copy_packed_cell),
		cmocka_unit_test(test_dead_letter_from_packed),
		cmocka_unit_test(
			test_rebuild_ignores_a_skipped_cells_old_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
