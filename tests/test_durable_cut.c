/* SPDX-License-Identifier: MIT */
/*
 * busd_durable_cut_to_mark (busd/durable_cut.h): after a failed journal
 * write busd trusts nothing of the newest file past its last sync mark.
 * A journal written with sync = always (every message vouched by a mark),
 * then more messages appended with sync = none (in the file, never
 * synced: what a failed writeback may leave in the page cache) must come
 * back as the first part alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "durable_cut.h"
#include "journal_test.h"

/* Messages the journal in dir holds. */
static uint64_t count_messages(struct jt_fixture *f)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	uint64_t n = 0;
	int ret;

	assert_ret(bus_journal_reader_open(&r, f->dir, f->detail,
					   sizeof(f->detail)),
		   0);
	while ((ret = bus_journal_next(r, &e, f->detail, sizeof(f->detail))) ==
	       1)
		n += e.type == BUS_JOURNAL_RECORD_MESSAGE;
	assert_ret(ret, 0);
	bus_journal_reader_close(r);
	return n;
}

static void test_cut_after_last_mark(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	uint64_t cut = 0;

	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 10);
	while (bus_journal_durable_sequence(w) < 10) {
		assert_true(bus_journal_submit(w) >= 0);
		assert_true(bus_journal_reap(w, 100) >= 0);
	}
	assert_ret(bus_journal_writer_close(w), 0);
	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	w = jt_writer_open(f, NULL);
	jt_append(w, 10, 5);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(count_messages(f), 15);

	assert_ret(busd_durable_cut_to_mark(f->dir, &cut, f->detail,
					    sizeof(f->detail)),
		   0);
	assert_true(cut > 0);
	assert_int_equal(count_messages(f), 10);
	/* Again: nothing more to cut. */
	assert_ret(busd_durable_cut_to_mark(f->dir, &cut, f->detail,
					    sizeof(f->detail)),
		   0);
	assert_int_equal(cut, 0);
	assert_int_equal(count_messages(f), 10);
}

/* No journal file yet: nothing to do. */
static void test_cut_without_file(void **state)
{
	struct jt_fixture *f = *state;
	uint64_t cut = 1;

	assert_ret(busd_durable_cut_to_mark(f->dir, &cut, f->detail,
					    sizeof(f->detail)),
		   0);
	assert_int_equal(cut, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cut_after_last_mark,
						jt_setup, jt_teardown),
		cmocka_unit_test_setup_teardown(test_cut_without_file,
						jt_setup, jt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
