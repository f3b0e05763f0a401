/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of a subscription's catch-up (libbus/topic_catch_up.c) on a
 * local topic segment (no busd), the test playing the recorder: it writes
 * the ring's messages into a journal with bus_journal_writer, sequence =
 * ring position, as busd's recorder does.  The end-to-end tests with busd
 * are tests/test_catch_up.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "journal_test.h"
#include "local_topic.h"
#include "topic_catch_up.h"

#define SLOTS 64
#define T0 (1000000000ull * 1000) /* jt_message's first time */

struct fixture {
	struct jt_fixture journal;
	struct local_topic topic;
	bus_topic_t *publisher;
	bus_subscription_t *subscriber;
	struct bus_journal_writer *writer;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct bus_topic_settings settings;
	void *journal;

	jt_setup(&journal);
	f->journal = *(struct jt_fixture *)journal;
	f->journal.options.directory = f->journal.dir;
	free(journal);
	f->journal.options.kind = BUS_JOURNAL_TOPIC;
	f->journal.options.sync = BUS_JOURNAL_SYNC_NONE;
	local_topic_settings(&settings, SLOTS, 128, BUS_SLOW_SUBSCRIBER_BLOCK,
			     1, 0);
	settings.header_room = 64;
	assert_ret(local_topic_create(&f->topic, &settings), 0);
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher),
		   0);
	*state = f;
	return 0;
}

/* A recorded topic under overwrite: publishers never wait for a
 * subscriber, only for the recorder (journal_position, which the test
 * moves as busd's recorder would); packed when ring_bytes is not 0. */
static int setup_recorded(void **state, uint32_t ring_bytes)
{
	struct fixture *f;
	struct bus_topic_settings settings;

	setup(state);
	f = *state;
	bus_topic_close(f->publisher);
	local_topic_destroy(&f->topic);
	local_topic_settings(&settings, SLOTS, 128,
			     BUS_SLOW_SUBSCRIBER_OVERWRITE, 1, 0);
	settings.header_room = 64;
	settings.record = 1;
	settings.ring_bytes = ring_bytes;
	assert_ret(local_topic_create(&f->topic, &settings), 0);
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher),
		   0);
	return 0;
}

static int setup_overwrite(void **state)
{
	return setup_recorded(state, 0);
}

/* Packed: records in a 2 KiB arena, which publishers overwrite (the
 * topic's overwritten line) long before the ring laps. */
static int setup_overwrite_packed(void **state)
{
	return setup_recorded(state, 2048);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->subscriber)
		bus_unsubscribe(f->subscriber);
	if (f->writer)
		bus_journal_writer_close(f->writer);
	bus_topic_close(f->publisher);
	local_topic_destroy(&f->topic);
	jt_remove(f->journal.dir);
	free(f);
	return 0;
}

/* Publishes ring messages until the tail is at end, each as jt_message()
 * says for its position (payload, key room, correlation id). */
static void publish_to(struct fixture *f, uint64_t end)
{
	for (;;) {
		struct bus_message m;
		struct jt_message t;

		assert_ret(bus_topic_loan(f->publisher, &m, BUS_NOWAIT), 0);
		if (m.token >= end) {
			/* One too many: padded, as an abandoned loan is. */
			bus_topic_close(f->publisher);
			assert_ret(local_topic_publisher(&f->topic, 0, NULL,
							 &f->publisher),
				   0);
			return;
		}
		jt_message(&t, m.token);
		memcpy(m.payload, t.payload, t.m.payload_length);
		assert_ret(bus_topic_commit(f->publisher, &m,
					    t.m.payload_length),
			   0);
	}
}

/* Plain publishes of positions from the tail on: count of them. */
static void publish(struct fixture *f, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		struct bus_message m;
		struct jt_message t;

		assert_ret(bus_topic_loan(f->publisher, &m, BUS_NOWAIT), 0);
		jt_message(&t, m.token);
		memcpy(m.payload, t.payload, t.m.payload_length);
		assert_ret(bus_topic_commit(f->publisher, &m,
					    t.m.payload_length),
			   0);
	}
}

/* The recorder's part: messages first.. first + count - 1 on disk. */
static void record(struct fixture *f, uint64_t first, uint64_t count)
{
	if (!f->writer)
		f->writer = jt_writer_open(&f->journal, NULL);
	jt_append(f->writer, first, count);
	assert_true(bus_journal_submit(f->writer) >= 0);
	while (bus_journal_durable_sequence(f->writer) < first + count)
		assert_true(bus_journal_reap(f->writer, 100) >= 0);
}

/* Records first.. first + count - 1 and moves journal_position past them,
 * as busd's recorder does once its write completed. */
static void record_and_release(struct fixture *f, uint64_t first,
			       uint64_t count)
{
	record(f, first, count);
	bus__store_seq_cst(&f->topic.geometry.control->journal_position,
			   first + count);
}

/* Publishes count messages from the tail on, the recorder keeping up
 * every step messages (the gate lets a publisher run a ring ahead of it,
 * or in a packed topic overwrite only what it recorded). */
static void publish_recorded_by(struct fixture *f, uint64_t count,
				uint64_t step)
{
	/* Relaxed: the test's own publisher wrote it. */
	uint64_t first = bus__load_relaxed(&f->topic.geometry.control->tail);

	while (count) {
		uint64_t n = count < step ? count : step;

		publish(f, n);
		record_and_release(f, first, n);
		first += n;
		count -= n;
	}
}

static void publish_recorded(struct fixture *f, uint64_t count)
{
	publish_recorded_by(f, count, SLOTS / 2);
}

/* The recorder's part for a position whose message it could not record
 * (a corrupt header in the ring): a GAP record, as busd writes it. */
static void record_gap(struct fixture *f, uint64_t position, uint64_t time_ns)
{
	struct bus_journal_gap gap = {
		.first = position,
		.count = 1,
		.time_ns = time_ns,
		.reason = BUS_JOURNAL_GAP_CORRUPT,
	};

	if (!f->writer)
		f->writer = jt_writer_open(&f->journal, NULL);
	assert_ret(bus_journal_append_gap(f->writer, &gap), 0);
	assert_true(bus_journal_submit(f->writer) >= 0);
	while (bus_journal_durable_sequence(f->writer) < position + 1)
		assert_true(bus_journal_reap(f->writer, 100) >= 0);
}

static void subscribe_from(struct fixture *f, uint32_t from, uint64_t value)
{
	char detail[512];
	int fd;

	assert_ret(local_topic_subscribe(&f->topic, 0, NULL, &f->subscriber),
		   0);
	fd = open(f->journal.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_ret(bus__catch_up_start(f->subscriber, fd, from, value, NULL,
				       detail, sizeof(detail)),
		   0);
}

/* The next message is sequence's: from the disk (publish time 0) or the
 * ring, its payload, correlation id and key room as published. */
static void expect(struct fixture *f, uint64_t sequence, int from_disk,
		   uint64_t want_lost)
{
	struct bus_message m;
	struct jt_message t;
	uint64_t lost = 99;

	assert_ret(bus_subscription_receive(f->subscriber, &m, &lost,
					    BUS_NOWAIT),
		   0);
	jt_message(&t, sequence);
	assert_int_equal(m.header->sequence, sequence);
	assert_int_equal(lost, want_lost);
	assert_int_equal(m.length, t.m.payload_length);
	assert_memory_equal(m.payload, t.payload, m.length);
	if (from_disk) {
		assert_int_equal(m.header->publish_time_ns, 0);
		assert_int_equal(m.header->correlation_id, sequence * 7);
		assert_int_equal(m.header->flags, sequence & 1);
		assert_int_equal(m.header->delivery_count, 1);
		assert_int_equal(m.header->extension_length,
				 t.m.extension_length);
		assert_memory_equal((const uint8_t *)m.header +
					    sizeof(*m.header),
				    t.extension, t.m.extension_length);
	} else {
		assert_true(m.header->publish_time_ns != 0);
	}
}

static void expect_nothing(struct fixture *f)
{
	struct bus_message m;

	assert_ret(bus_subscription_receive(f->subscriber, &m, NULL,
					    BUS_NOWAIT),
		   -EAGAIN);
}

/* From sequence 0: the disk below F, then the ring from F, no gap, no
 * duplicate; the ring's messages past F wait on the subscriber. */
static void test_disk_then_ring(void **state)
{
	struct fixture *f = *state;

	publish(f, 200);
	record(f, 0, 200);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 50);
	for (uint64_t i = 0; i < 200; i++)
		expect(f, i, 1, 0);
	for (uint64_t i = 200; i < 250; i++)
		expect(f, i, 0, 0);
	expect_nothing(f);
	assert_null(f->subscriber->catch_up);
}

/* From the middle of the disk, and from past F (the ring alone, what is
 * below from_value passed over). */
static void test_from_middle_and_past_end(void **state)
{
	struct fixture *f = *state;
	bus_subscription_t *second;
	struct bus_message m;
	char detail[256];
	int fd;

	publish(f, 200);
	record(f, 0, 200);
	subscribe_from(f, BUS_FROM_SEQUENCE, 150);
	assert_ret(local_topic_subscribe(&f->topic, 1, NULL, &second), 0);
	fd = open(f->journal.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_ret(bus__catch_up_start(second, fd, BUS_FROM_SEQUENCE, 220,
				       NULL, detail, sizeof(detail)),
		   0);
	assert_null(second->catch_up);
	publish(f, 30);
	for (uint64_t i = 150; i < 230; i++)
		expect(f, i, i < 200, 0);
	for (uint64_t i = 220; i < 230; i++) {
		assert_ret(bus_subscription_receive(second, &m, NULL,
						    BUS_NOWAIT),
			   0);
		assert_int_equal(m.header->sequence, i);
	}
	assert_ret(bus_subscription_receive(second, &m, NULL, BUS_NOWAIT),
		   -EAGAIN);
	bus_unsubscribe(second);
}

/* The recorder behind: what is below F and not on disk yet is waited
 * for (BUS_NOWAIT: -EAGAIN), then delivered, never skipped for the ring. */
static void test_waits_for_the_recorder(void **state)
{
	struct fixture *f = *state;
	struct bus_message m;

	publish(f, 200);
	record(f, 0, 100);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 10);
	for (uint64_t i = 0; i < 100; i++)
		expect(f, i, 1, 0);
	assert_true(bus__catch_up_waiting(f->subscriber));
	expect_nothing(f);
	assert_ret(bus_subscription_receive(f->subscriber, &m, NULL,
					    1000 * 1000),
		   -ETIMEDOUT);
	/* A cancel ends the wait for the disk, as a wait for the ring. */
	bus_subscription_cancel(f->subscriber);
	assert_ret(bus_subscription_receive(f->subscriber, &m, NULL,
					    BUS_FOREVER),
		   -ECANCELED);
	bus_subscription_uncancel(f->subscriber);
	record(f, 100, 100);
	for (uint64_t i = 100; i < 210; i++)
		expect(f, i, i < 200, 0);
	expect_nothing(f);
}

/* F - 1 padded (a loan never committed): never on disk, so the switch is
 * found in the ring, not waited for. */
static void test_padded_before_switch(void **state)
{
	struct fixture *f = *state;

	publish(f, 99);
	publish_to(f, 99); /* position 99 padded */
	record(f, 0, 99);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 5);
	for (uint64_t i = 0; i < 99; i++)
		expect(f, i, 1, 0);
	for (uint64_t i = 100; i < 105; i++)
		expect(f, i, 0, 0);
}

/* From a time: the first message stamped at or after it (jt_message's
 * times: T0 + 1000 ns a sequence). */
static void test_from_time(void **state)
{
	struct fixture *f = *state;

	publish(f, 200);
	record(f, 0, 200);
	subscribe_from(f, BUS_FROM_TIME, T0 + 120 * 1000 - 1);
	for (uint64_t i = 120; i < 200; i++)
		expect(f, i, 1, 0);
	publish(f, 3);
	for (uint64_t i = 200; i < 203; i++)
		expect(f, i, 0, 0);
}

/* A time after every recorded message: the disk has nothing for us, the
 * ring's messages are newer. */
static void test_from_time_after_disk(void **state)
{
	struct fixture *f = *state;

	publish(f, 50);
	record(f, 0, 50);
	subscribe_from(f, BUS_FROM_TIME, T0 + 60 * 1000);
	publish(f, 2);
	expect(f, 50, 0, 0);
	expect(f, 51, 0, 0);
}

/* A time mark ahead of every message: the ring's messages before it are
 * passed over, an unstamped one too (dated when it is looked at, as the
 * recorder dates it on disk), and the stamped ones after it as well.
 * Before, an unstamped message ended the skip and let everything after it
 * through. */
static void test_from_time_unstamped(void **state)
{
	struct fixture *f = *state;
	struct bus_queue_options plain = { .no_timestamp = 1 };
	struct timespec now;

	publish(f, 20);
	record(f, 0, 20);
	clock_gettime(CLOCK_REALTIME, &now);
	subscribe_from(f, BUS_FROM_TIME,
		       ((uint64_t)now.tv_sec + 3600) * 1000000000ull);
	bus_topic_close(f->publisher);
	assert_ret(local_topic_publisher(&f->topic, 0, &plain, &f->publisher),
		   0);
	publish(f, 2);
	bus_topic_close(f->publisher);
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher),
		   0);
	publish(f, 2);
	expect_nothing(f);
	assert_null(f->subscriber->catch_up);
}

/*
 * Overwrite: while the subscriber reads the disk, publishers lap its ring
 * start F.  It joins the ring later, at what the recorder has written,
 * and reads the disk on to there: every message once, none reported lost
 * (the journal has them all).  Before, the switch at F counted the lapped
 * ring positions as lost.
 */
static void test_overwrite_joins_later(void **state)
{
	struct fixture *f = *state;

	publish_recorded(f, 100);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	/* A ring and a half past F, the recorder keeping up. */
	publish_recorded(f, 96);
	for (uint64_t i = 0; i < 150; i++)
		expect(f, i, 1, 0);
	/* Lapped again while it reads: it joins later once more. */
	publish_recorded(f, 32);
	publish(f, 20);
	for (uint64_t i = 150; i < 228; i++)
		expect(f, i, 1, 0);
	/* The last 20 were not recorded: the ring has them. */
	for (uint64_t i = 228; i < 248; i++)
		expect(f, i, 0, 0);
	expect_nothing(f);
	assert_null(f->subscriber->catch_up);
}

/*
 * Overwrite, packed: the arena's records from F on are overwritten while
 * the ring is far from lapping F.  The subscriber joins later as well:
 * every message once, none reported lost.  (Judged by the ring alone,
 * the switch at F found records 100 and 101 overwritten: lost 2.)
 */
static void test_overwrite_packed_joins_later(void **state)
{
	struct fixture *f = *state;

	publish_recorded_by(f, 100, 2);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish_recorded_by(f, 30, 2);
	assert_true(bus__load_relaxed(
			    &f->topic.geometry.control->overwritten) > 100);
	for (uint64_t i = 0; i < 130; i++)
		expect(f, i, 1, 0);
	publish(f, 2);
	expect(f, 130, 0, 0);
	expect(f, 131, 0, 0);
	expect_nothing(f);
	assert_null(f->subscriber->catch_up);
}

/*
 * Overwrite: publishers far past F while the recorder has not passed it
 * yet.  Switching at F would leave the ring's messages from F to the
 * publishers as soon as the recorder moves on; the subscriber waits for
 * the recorder instead, then joins later: every message from the disk,
 * none reported lost.
 */
static void test_overwrite_waits_for_the_recorder(void **state)
{
	struct fixture *f = *state;

	publish_recorded(f, 100);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 60); /* not recorded yet */
	for (uint64_t i = 0; i < 100; i++)
		expect(f, i, 1, 0);
	expect_nothing(f); /* waits for the recorder */
	record_and_release(f, 100, 60);
	publish(f, 60); /* laps F */
	for (uint64_t i = 100; i < 160; i++)
		expect(f, i, 1, 0);
	expect_nothing(f);
	record_and_release(f, 160, 60);
	for (uint64_t i = 160; i < 220; i++)
		expect(f, i, 1, 0);
	publish(f, 2);
	expect(f, 220, 0, 0);
	expect(f, 221, 0, 0);
	expect_nothing(f);
	assert_null(f->subscriber->catch_up);
}

/* Overwrite, not lapped: the switch stays at F. */
static void test_overwrite_not_lapped(void **state)
{
	struct fixture *f = *state;

	publish_recorded(f, 100);
	subscribe_from(f, BUS_FROM_SEQUENCE, 90);
	publish_recorded(f, 20);
	for (uint64_t i = 90; i < 100; i++)
		expect(f, i, 1, 0);
	for (uint64_t i = 100; i < 120; i++)
		expect(f, i, 0, 0);
	expect_nothing(f);
}

/* Retention deleted the oldest files: the gap is reported once, with
 * the first message. */
static void test_retention_gap(void **state)
{
	struct fixture *f = *state;

	f->journal.options.segment_bytes = 4096;
	publish(f, 300);
	record(f, 0, 300);
	assert_true(jt_files(f->journal.dir) > 3);
	assert_true(bus_journal_trim(f->writer, 150) > 0);
	subscribe_from(f, BUS_FROM_SEQUENCE, 10);
	{
		struct bus_message m;
		uint64_t lost = 0;

		assert_ret(bus_subscription_receive(f->subscriber, &m, &lost,
						    BUS_NOWAIT),
			   0);
		assert_true(m.header->sequence > 10);
		assert_int_equal(lost, m.header->sequence - 10);
		for (uint64_t i = m.header->sequence + 1; i < 300; i++)
			expect(f, i, 1, 0);
	}
}

/* Retention deletes files while the subscriber reads: it goes on at the
 * oldest file left, the gap reported with the next message. */
static void test_retention_while_reading(void **state)
{
	struct fixture *f = *state;
	struct bus_message m;
	uint64_t lost = 0, next;

	f->journal.options.segment_bytes = 4096;
	publish(f, 300);
	record(f, 0, 300);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	for (uint64_t i = 0; i < 3; i++)
		expect(f, i, 1, 0);
	assert_true(bus_journal_trim(f->writer, 150) > 0);
	/* The file being read stays readable (its fd): to its end. */
	for (next = 3;; next++) {
		assert_ret(bus_subscription_receive(f->subscriber, &m, &lost,
						    BUS_NOWAIT),
			   0);
		if (lost)
			break;
		assert_int_equal(m.header->sequence, next);
	}
	assert_int_equal(m.header->sequence, next + lost);
	for (uint64_t i = m.header->sequence + 1; i < 300; i++)
		expect(f, i, 1, 0);
}

/* A corrupt file that is not the newest: -EBADMSG, its name and the
 * offset in the sentence; the next receive goes on at the next file, what
 * it passed over reported lost, never a message twice. */
static void test_corrupt_file(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct bus_message m;
	uint64_t lost = 0, last = 0;
	int fd, ret;

	f->journal.options.segment_bytes = 4096;
	publish(f, 300);
	record(f, 0, 300);
	bus_journal_writer_close(f->writer);
	f->writer = NULL;
	snprintf(path, sizeof(path), "%s/%020d.journal", f->journal.dir, 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage!", 8, 1024), 8);
	close(fd);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	while ((ret = bus_subscription_receive(f->subscriber, &m, NULL,
					       BUS_NOWAIT)) == 0)
		last = m.header->sequence;
	assert_ret(ret, -EBADMSG);
	assert_true(last > 0);
	assert_non_null(strstr(bus__catch_up_detail(f->subscriber), path));
	assert_non_null(
		strstr(bus__catch_up_detail(f->subscriber), ": offset "));
	assert_ret(bus_subscription_receive(f->subscriber, &m, &lost,
					    BUS_NOWAIT),
		   0);
	assert_true(lost > 0);
	assert_int_equal(m.header->sequence, last + 1 + lost);
	for (uint64_t i = m.header->sequence + 1; i < 300; i++)
		expect(f, i, 1, 0);
	expect_nothing(f);
}

/* Positions the recorder could not record (corrupt headers: GAP records)
 * are counted lost with the next message, in the middle of the disk and
 * just below F, where the catch-up would otherwise wait for them until
 * its timeout (BUS_NOWAIT here: -EAGAIN). */
static void test_recorder_gaps(void **state)
{
	struct fixture *f = *state;

	publish(f, 100);
	record(f, 0, 50);
	record_gap(f, 50, T0 + 50 * 1000);
	record(f, 51, 48);
	record_gap(f, 99, T0 + 99 * 1000);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 3);
	for (uint64_t i = 0; i < 50; i++)
		expect(f, i, 1, 0);
	expect(f, 51, 1, 1);
	for (uint64_t i = 52; i < 99; i++)
		expect(f, i, 1, 0);
	expect(f, 100, 0, 1);
	expect(f, 101, 0, 0);
	expect(f, 102, 0, 0);
	expect_nothing(f);
	assert_int_equal(f->subscriber->lost_total, 2);
}

/* A gap just below F alone: the switch to the ring is not waited for. */
static void test_recorder_gap_before_switch(void **state)
{
	struct fixture *f = *state;

	publish(f, 10);
	record(f, 0, 9);
	record_gap(f, 9, T0 + 9 * 1000);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	publish(f, 1);
	for (uint64_t i = 0; i < 9; i++)
		expect(f, i, 1, 0);
	expect(f, 10, 0, 1);
	expect_nothing(f);
}

/* From a sequence inside a gap, and from a time: the gap counts from
 * where the subscription starts. */
static void test_recorder_gap_start(void **state)
{
	struct fixture *f = *state;

	publish(f, 20);
	record(f, 0, 10);
	record_gap(f, 10, T0 + 10 * 1000);
	record(f, 11, 9);
	subscribe_from(f, BUS_FROM_SEQUENCE, 10);
	expect(f, 11, 1, 1);
	bus_unsubscribe(f->subscriber);
	f->subscriber = NULL;
	subscribe_from(f, BUS_FROM_TIME, T0 + 5 * 1000);
	for (uint64_t i = 5; i < 10; i++)
		expect(f, i, 1, 0);
	expect(f, 11, 1, 1);
}

/* receive_copy: a buffer too small leaves the message next. */
static void test_receive_copy(void **state)
{
	struct fixture *f = *state;
	struct jt_message t;
	char buf[128];

	publish(f, 20);
	record(f, 0, 20);
	subscribe_from(f, BUS_FROM_SEQUENCE, 5);
	jt_message(&t, 5);
	assert_ret(bus_subscription_receive_copy(f->subscriber, buf, 3, NULL,
						 BUS_NOWAIT),
		   -EMSGSIZE);
	assert_ret(bus_subscription_receive_copy(
			   f->subscriber, buf, sizeof(buf), NULL, BUS_NOWAIT),
		   t.m.payload_length);
	assert_memory_equal(buf, t.payload, t.m.payload_length);
	expect(f, 6, 1, 0);
}

/* A waitset sees the disk's messages as ready. */
static void test_waitset(void **state)
{
	struct fixture *f = *state;
	bus_waitset_t *ws;
	void *ready[1];

	publish(f, 10);
	record(f, 0, 10);
	subscribe_from(f, BUS_FROM_SEQUENCE, 0);
	assert_ret(bus_waitset_create(&ws), 0);
	assert_ret(bus_waitset_add_subscription(ws, f->subscriber, f), 0);
	for (uint64_t i = 0; i < 10; i++) {
		assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 1), 1);
		expect(f, i, 1, 0);
	}
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 1), -EAGAIN);
	publish(f, 1);
	assert_ret(bus_waitset_wait(ws, 1000 * 1000 * 1000, ready, 1), 1);
	expect(f, 10, 0, 0);
	bus_waitset_destroy(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_then_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_from_middle_and_past_end,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_the_recorder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_padded_before_switch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_from_time_unstamped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_joins_later,
						setup_overwrite, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_not_lapped,
						setup_overwrite, teardown),
		cmocka_unit_test_setup_teardown(
			test_overwrite_waits_for_the_recorder, setup_overwrite,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_overwrite_packed_joins_later,
			setup_overwrite_packed, teardown),
		cmocka_unit_test_setup_teardown(test_from_time_after_disk,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_gap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention_while_reading,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recorder_gaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_recorder_gap_before_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_gap_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_receive_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_waitset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
