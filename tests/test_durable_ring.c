/* SPDX-License-Identifier: MIT */
/*
 * The journal thread's copy of a durable queue's cell (busd/durable_ring.c)
 * against a producer reusing the cell: after an adopt or a retry the
 * thread copies again cells that journal_position already let producers
 * reuse (review item 6).  The copy goes into the thread's own buffer and
 * is appended only if the cell still holds the message after it.
 *
 * In process, on a queue segment laid out as busd lays one out (anonymous
 * shared memory), with a real journal in a temporary directory; the
 * producer's moves are made by hand between the steps, which is as close
 * to the race as a test can be and still say the same thing every run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "atomics.h"
#include "bus/bus.h"
#include "durable_queue.h"
#include "journal_test.h"
#include "queue_cell.h"
#include "segment.h"
#include "segment_lifecycle.h"

struct ring_fixture {
	char dir[256];
	char detail[512];
	struct bus_queue_settings settings;
	struct bus__queue_offsets offsets;
	void *base;
	struct busd_durable_queue dq;
};

static int ring_setup(void **state)
{
	struct ring_fixture *f = calloc(1, sizeof(*f));
	struct bus_journal_recovery recovered;

	assert_non_null(f);
	jt_tmpdir(f->dir, sizeof(f->dir));
	bus_queue_settings_default(&f->settings);
	f->settings.slots = 16;
	f->settings.max_unacked = 16;
	f->settings.max_message = 64;
	f->settings.header_room = 64;
	f->settings.durable = 1;
	bus__queue_offsets(&f->settings, &f->offsets);
	f->base = mmap(NULL, f->offsets.size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(f->base != MAP_FAILED);
	busd_queue_segment_init(f->base, f->offsets.size, "test", "q",
				&f->settings);
	snprintf(f->dq.name, sizeof(f->dq.name), "q");
	snprintf(f->dq.directory, sizeof(f->dq.directory), "%s", f->dir);
	bus__queue_geometry_fill(&f->dq.geometry, f->base, f->offsets.size,
				 &f->settings, &f->offsets);
	f->dq.held = calloc(f->settings.slots, sizeof(*f->dq.held));
	assert_non_null(f->dq.held);
	f->dq.options = (struct bus_journal_options){
		.directory = f->dir,
		.name = "q",
		.kind = BUS_JOURNAL_QUEUE,
		.sync = BUS_JOURNAL_SYNC_ALWAYS,
	};
	assert_ret(bus_journal_writer_open(&f->dq.writer, &f->dq.options,
					   &recovered, f->detail,
					   sizeof(f->detail)),
		   0);
	*state = f;
	return 0;
}

static int ring_teardown(void **state)
{
	struct ring_fixture *f = *state;

	if (f->dq.writer)
		bus_journal_writer_close(f->dq.writer);
	free(f->dq.held);
	free(f->dq.acks);
	free(f->dq.counts);
	free(f->dq.scratch);
	munmap(f->base, f->offsets.size);
	jt_remove(f->dir);
	free(f);
	return 0;
}

static struct bus_cell *cell_of(struct ring_fixture *f, uint64_t position)
{
	return bus__queue_cell(&f->dq.geometry, position);
}

/* A producer's message at position: header, payload, READY. */
static void put_ready(struct ring_fixture *f, uint64_t position,
		      const char *payload)
{
	struct bus_cell *cell = cell_of(f, position);

	memset(&cell->header, 0, sizeof(cell->header));
	cell->header.sequence = position;
	cell->header.payload_length = (uint32_t)strlen(payload);
	memcpy((uint8_t *)cell + f->dq.geometry.payload_offset, payload,
	       strlen(payload));
	bus__store_release(&cell->state,
			   bus__cell_state(bus__position_wrap(position), 0,
					   BUS__CELL_READY));
}

/* A producer reusing the cell of position for position + slots: its
 * claim, then its first writes (half a message). */
static void reuse(struct ring_fixture *f, uint64_t position,
		  const char *payload)
{
	uint64_t next = position + f->settings.slots;
	struct bus_cell *cell = cell_of(f, position);

	bus__store_relaxed(&cell->state,
			   bus__cell_state(bus__position_wrap(next), 1,
					   BUS__CELL_WRITING));
	cell->header.sequence = next;
	cell->header.payload_length = 60;
	memcpy((uint8_t *)cell + f->dq.geometry.payload_offset, payload,
	       strlen(payload));
}

/* The messages the journal holds, closed first: count, and the payload
 * of the one at sequence (if want). */
static int journaled(struct ring_fixture *f, uint64_t sequence,
		     const char *want)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	int n = 0, ret;

	assert_ret(bus_journal_writer_close(f->dq.writer), 0);
	f->dq.writer = NULL;
	assert_ret(bus_journal_reader_open(&r, f->dir, f->detail,
					   sizeof(f->detail)),
		   0);
	while ((ret = bus_journal_next(r, &e, f->detail, sizeof(f->detail))) ==
	       1) {
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		n++;
		if (want && e.message.sequence == sequence) {
			assert_int_equal(e.message.payload_length,
					 strlen(want));
			assert_memory_equal(e.message.payload, want,
					    strlen(want));
		}
	}
	assert_ret(ret, 0);
	bus_journal_reader_close(r);
	return n;
}

/* A cell whose message is still there is journaled from the copy, with
 * its bytes as they were. */
static void test_unchanged_cell_is_appended(void **state)
{
	struct ring_fixture *f = *state;

	put_ready(f, 3, "message three");
	assert_ret(busd_durable_append_cell(&f->dq, 3, 3), 0);
	assert_int_equal(f->dq.changed, 0);
	assert_int_equal(f->dq.held_count, 1);
	assert_int_equal(journaled(f, 3, "message three"), 1);
}

/* Copied, then the producer reuses the cell before the check: the copy
 * may hold the new message's half-written bytes, and is dropped. */
static void test_cell_reused_after_copy_is_dropped(void **state)
{
	struct ring_fixture *f = *state;
	struct bus_message_header h;

	put_ready(f, 3, "message three");
	assert_ret(busd_durable_copy_cell(&f->dq, 3, &h), 0);
	assert_true(busd_durable_cell_unchanged(&f->dq, 3));
	reuse(f, 3, "NINETEEN half written");
	assert_false(busd_durable_cell_unchanged(&f->dq, 3));
	assert_int_equal(journaled(f, 3, NULL), 0);
}

/* The thread looked (READY at 3), then the producer reused the cell
 * before the copy: append_cell must not journal what it finds there as
 * message 3 (the code before the check did). */
static void test_cell_reused_before_copy_is_not_journaled(void **state)
{
	struct ring_fixture *f = *state;

	put_ready(f, 3, "message three");
	reuse(f, 3, "NINETEEN half written");
	assert_ret(busd_durable_append_cell(&f->dq, 3, 3), 1);
	assert_int_equal(f->dq.changed, 1);
	assert_int_equal(f->dq.corrupt, 0);
	assert_int_equal(f->dq.held_count, 0);
	assert_int_equal(journaled(f, 3, NULL), 0);
}

/* Taken by a consumer meanwhile (HELD, same message): still the message,
 * appended. */
static void test_cell_taken_meanwhile_is_appended(void **state)
{
	struct ring_fixture *f = *state;
	struct bus_cell *cell = cell_of(f, 5);
	struct bus_message_header h;

	put_ready(f, 5, "five");
	assert_ret(busd_durable_copy_cell(&f->dq, 5, &h), 0);
	bus__store_release(&cell->state, bus__cell_state(bus__position_wrap(5),
							 2, BUS__CELL_HELD));
	assert_true(busd_durable_cell_unchanged(&f->dq, 5));
	assert_ret(busd_durable_append_copy(&f->dq, 5, 5, &h), 0);
	assert_int_equal(journaled(f, 5, "five"), 1);
}

/* A committed cell whose header does not fit the cell: skipped,
 * counted, never journaled (a consumer drops it too). */
static void test_corrupt_cell_is_counted_not_journaled(void **state)
{
	struct ring_fixture *f = *state;

	put_ready(f, 7, "seven");
	cell_of(f, 7)->header.payload_length = 1000;
	assert_ret(busd_durable_append_cell(&f->dq, 7, 7), 1);
	assert_int_equal(f->dq.corrupt, 1);
	assert_int_equal(f->dq.changed, 0);
	assert_int_equal(journaled(f, 7, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, ring_setup, ring_teardown)
		T(test_unchanged_cell_is_appended),
		T(test_cell_reused_after_copy_is_dropped),
		T(test_cell_reused_before_copy_is_not_journaled),
		T(test_cell_taken_meanwhile_is_appended),
		T(test_corrupt_cell_is_counted_not_journaled),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
