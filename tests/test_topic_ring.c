/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the topic ring on a local memfd segment (no busd): block
 * and overwrite policies, subscription semantics, history, the last-value
 * read, loans, figures and the segment checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "local_topic.h"
#include "segment.h"
#include "test_common.h"
#include "topic_cell.h"

#define MS (1000 * 1000)

struct fixture {
	struct local_topic topic;
	bus_topic_t *publisher[2];
	bus_subscription_t *subscriber[4];
};

/* ring_bytes: 0, or an arena that makes a one-publisher topic packed. */
static struct fixture *
fixture_make_arena(uint32_t slots, enum bus_slow_subscriber policy,
		   uint32_t publishers, uint32_t history, uint32_t ring_bytes)
{
	struct fixture *f = test_calloc(1, sizeof(*f));
	struct bus_topic_settings settings;

	local_topic_settings(&settings, slots, 64, policy, publishers,
			     history);
	settings.ring_bytes = ring_bytes;
	assert_ret(local_topic_create(&f->topic, &settings), 0);
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher[0]),
		   0);
	return f;
}

static struct fixture *fixture_make(uint32_t slots,
				    enum bus_slow_subscriber policy,
				    uint32_t publishers, uint32_t history)
{
	return fixture_make_arena(slots, policy, publishers, history, 0);
}

static void subscribe(struct fixture *f, uint32_t nth, uint32_t history)
{
	struct bus_subscribe_options options = { .history = history };

	assert_ret(local_topic_subscribe(&f->topic, nth, &options,
					 &f->subscriber[nth]),
		   0);
}

static void fixture_free(struct fixture *f)
{
	for (int i = 0; i < 2; i++)
		if (f->publisher[i])
			bus_topic_close(f->publisher[i]);
	for (int i = 0; i < 4; i++)
		if (f->subscriber[i])
			bus_unsubscribe(f->subscriber[i]);
	local_topic_destroy(&f->topic);
	test_free(f);
}

static void publish_value(bus_topic_t *t, uint32_t value)
{
	assert_ret(bus_publish(t, &value, sizeof(value), BUS_NOWAIT), 0);
}

/* Receives one message, checks its value, releases it. */
static void receive_value(bus_subscription_t *s, uint32_t value, uint64_t lost)
{
	struct bus_message m;
	uint64_t seen_lost = 99;
	uint32_t got;

	assert_ret(bus_subscription_receive(s, &m, &seen_lost, BUS_NOWAIT), 0);
	assert_int_equal(m.length, sizeof(got));
	memcpy(&got, m.payload, sizeof(got));
	assert_int_equal(got, value);
	assert_int_equal(seen_lost, lost);
	assert_int_equal(m.header->payload_length, sizeof(got));
	assert_ret(bus_subscription_release(s), 0);
}

static void receive_nothing(bus_subscription_t *s)
{
	struct bus_message m;

	assert_ret(bus_subscription_receive(s, &m, NULL, BUS_NOWAIT), -EAGAIN);
}

/* ---- block -------------------------------------------------------------- */

static void test_topic_ring_every_subscriber_gets_every_message(void **state)
{
	struct fixture *f = fixture_make(16, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);

	for (uint32_t n = 0; n < 3; n++)
		subscribe(f, n, 0);
	for (uint32_t v = 0; v < 10; v++)
		publish_value(f->publisher[0], v);
	for (uint32_t n = 0; n < 3; n++) {
		for (uint32_t v = 0; v < 10; v++)
			receive_value(f->subscriber[n], v, 0);
		receive_nothing(f->subscriber[n]);
	}
	fixture_free(f);
}

static void test_topic_ring_block_waits_for_slowest(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 2, 0);
	struct bus_message m;
	uint32_t v;

	subscribe(f, 0, 0);
	subscribe(f, 1, 0);
	for (v = 0; v < 8; v++)
		publish_value(f->publisher[0], v);
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), BUS_NOWAIT),
		   -ENOBUFS);
	/* The fast subscriber alone does not make room. */
	for (uint32_t i = 0; i < 8; i++)
		receive_value(f->subscriber[0], i, 0);
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), BUS_NOWAIT),
		   -ENOBUFS);
	/* A view held in place keeps its slot: still full. */
	assert_ret(bus_subscription_receive(f->subscriber[1], &m, NULL,
					    BUS_NOWAIT),
		   0);
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), BUS_NOWAIT),
		   -ENOBUFS);
	assert_ret(bus_subscription_release(f->subscriber[1]), 0);
	publish_value(f->publisher[0], v);
	fixture_free(f);
}

static void test_topic_ring_block_times_out(void **state)
{
	struct fixture *f = fixture_make(4, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_topic_stats stats;
	uint64_t start, elapsed;
	uint32_t v = 0;

	subscribe(f, 0, 0);
	for (v = 0; v < 4; v++)
		publish_value(f->publisher[0], v);
	start = test_now_ns();
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), 50ll * MS),
		   -ETIMEDOUT);
	elapsed = test_now_ns() - start;
	assert_true(elapsed >= 50ull * MS);
	assert_ret(bus_topic_stats(f->publisher[0], &stats), 0);
	assert_int_equal(stats.rejected, 1);
	assert_int_equal(stats.published, 4);
	assert_int_equal(stats.max_lag, 4);
	fixture_free(f);
}

static void test_topic_ring_no_subscriber_never_blocks(void **state)
{
	struct fixture *f = fixture_make(4, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);

	for (uint32_t v = 0; v < 100; v++)
		publish_value(f->publisher[0], v);
	fixture_free(f);
}

static void test_topic_ring_unsubscribe_frees_publisher(void **state)
{
	struct fixture *f = fixture_make(4, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	uint32_t v;

	subscribe(f, 0, 0);
	for (v = 0; v < 4; v++)
		publish_value(f->publisher[0], v);
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), BUS_NOWAIT),
		   -ENOBUFS);
	assert_ret(bus_unsubscribe(f->subscriber[0]), 0);
	f->subscriber[0] = NULL;
	publish_value(f->publisher[0], v);
	fixture_free(f);
}

static void test_topic_ring_single_publisher_laps_in_order(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);

	subscribe(f, 0, 0);
	for (uint32_t v = 0; v < 100; v++) {
		publish_value(f->publisher[0], v);
		if (v % 3 == 2)
			for (uint32_t w = v - 2; w <= v; w++)
				receive_value(f->subscriber[0], w, 0);
	}
	receive_value(f->subscriber[0], 99, 0);
	receive_nothing(f->subscriber[0]);
	fixture_free(f);
}

static void test_topic_ring_two_publishers_keep_their_order(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 2, 0);

	assert_ret(local_topic_publisher(&f->topic, 1, NULL, &f->publisher[1]),
		   0);
	subscribe(f, 0, 0);
	for (uint32_t v = 0; v < 40; v++) {
		publish_value(f->publisher[v % 2], v);
		receive_value(f->subscriber[0], v, 0);
	}
	fixture_free(f);
}

/* ---- overwrite ---------------------------------------------------------- */

static void test_topic_ring_overwrite_reports_lost(void **state)
{
	struct fixture *f =
		fixture_make(8, BUS_SLOW_SUBSCRIBER_OVERWRITE, 1, 0);
	struct bus_subscriber_stats stats;

	subscribe(f, 0, 0);
	for (uint32_t v = 0; v < 20; v++)
		publish_value(f->publisher[0], v);
	/* Positions 12 to 19 are intact; 0 to 11 were overwritten. */
	receive_value(f->subscriber[0], 12, 12);
	for (uint32_t v = 13; v < 20; v++)
		receive_value(f->subscriber[0], v, 0);
	receive_nothing(f->subscriber[0]);
	assert_ret(bus_subscription_stats(f->subscriber[0], &stats), 0);
	assert_int_equal(stats.received, 8);
	assert_int_equal(stats.lost, 12);
	assert_int_equal(stats.lapped, 1);
	assert_int_equal(stats.lag, 0);
	fixture_free(f);
}

static void test_topic_ring_overwrite_never_blocks(void **state)
{
	struct fixture *f =
		fixture_make(4, BUS_SLOW_SUBSCRIBER_OVERWRITE, 2, 0);
	struct bus_topic_stats stats;

	subscribe(f, 0, 0);
	for (uint32_t v = 0; v < 1000; v++)
		publish_value(f->publisher[0], v);
	receive_value(f->subscriber[0], 996, 996);
	assert_ret(bus_topic_stats(f->publisher[0], &stats), 0);
	assert_int_equal(stats.published, 1000);
	assert_int_equal(stats.lost, 996);
	assert_int_equal(stats.received, 1);
	assert_int_equal(stats.subscribers, 1);
	assert_int_equal(stats.publishers, 1);
	fixture_free(f);
}

/* A loan open across a whole lap holds even an overwrite publisher. */
static void test_topic_ring_overwrite_waits_for_open_loan(void **state)
{
	struct fixture *f =
		fixture_make(4, BUS_SLOW_SUBSCRIBER_OVERWRITE, 1, 0);
	struct bus_message loan;
	uint32_t v = 7;

	assert_ret(bus_topic_loan(f->publisher[0], &loan, BUS_NOWAIT), 0);
	for (int i = 0; i < 3; i++)
		publish_value(f->publisher[0], v);
	assert_ret(bus_publish(f->publisher[0], &v, sizeof(v), BUS_NOWAIT),
		   -ENOBUFS);
	assert_ret(bus_topic_commit(f->publisher[0], &loan, 0), 0);
	publish_value(f->publisher[0], v);
	fixture_free(f);
}

/* ---- joining ------------------------------------------------------------ */

static void test_topic_ring_subscriber_sees_only_newer(void **state)
{
	struct fixture *f = fixture_make(16, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 4);

	for (uint32_t v = 0; v < 5; v++)
		publish_value(f->publisher[0], v);
	subscribe(f, 0, 0);
	receive_nothing(f->subscriber[0]);
	for (uint32_t v = 5; v < 8; v++)
		publish_value(f->publisher[0], v);
	for (uint32_t v = 5; v < 8; v++)
		receive_value(f->subscriber[0], v, 0);
	receive_nothing(f->subscriber[0]);
	fixture_free(f);
}

static void test_topic_ring_history_delivers_earlier(void **state)
{
	struct fixture *f = fixture_make(16, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 4);
	struct bus_subscribe_options too_much = { .history = 5 };
	bus_subscription_t *s;

	for (uint32_t v = 0; v < 6; v++)
		publish_value(f->publisher[0], v);
	assert_ret(local_topic_subscribe(&f->topic, 1, &too_much, &s),
		   -EINVAL);
	subscribe(f, 0, 3);
	publish_value(f->publisher[0], 6);
	for (uint32_t v = 3; v < 7; v++)
		receive_value(f->subscriber[0], v, 0);
	receive_nothing(f->subscriber[0]);
	fixture_free(f);
}

/* History overwritten before it is read is skipped, not lost; a block
 * publisher may overwrite it because the subscriber's position is past. */
static void test_topic_ring_history_overwritten_is_no_loss(void **state)
{
	struct fixture *f = fixture_make(4, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 4);
	struct bus_subscriber_stats stats;

	for (uint32_t v = 0; v < 10; v++)
		publish_value(f->publisher[0], v);
	subscribe(f, 0, 4);
	for (uint32_t v = 10; v < 14; v++)
		publish_value(f->publisher[0], v);
	for (uint32_t v = 10; v < 14; v++)
		receive_value(f->subscriber[0], v, 0);
	assert_ret(bus_subscription_stats(f->subscriber[0], &stats), 0);
	assert_int_equal(stats.lost, 0);
	assert_int_equal(stats.lapped, 0);
	fixture_free(f);
}

/* A loan taken before the subscription and committed after it counts as
 * published after it. */
static void test_topic_ring_open_loan_counts_as_newer(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_message loan;
	uint32_t v = 41;

	publish_value(f->publisher[0], 40);
	assert_ret(bus_topic_loan(f->publisher[0], &loan, BUS_NOWAIT), 0);
	subscribe(f, 0, 0);
	memcpy(loan.payload, &v, sizeof(v));
	assert_ret(bus_topic_commit(f->publisher[0], &loan, sizeof(v)), 0);
	publish_value(f->publisher[0], 42);
	receive_value(f->subscriber[0], 41, 0);
	receive_value(f->subscriber[0], 42, 0);
	receive_nothing(f->subscriber[0]);
	fixture_free(f);
}

/* ---- loans, last value, copies ----------------------------------------- */

static void test_topic_ring_dropped_loan_is_skipped(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 2, 0);
	struct bus_topic_stats stats;
	struct bus_message loan;
	bus_topic_t *observer;

	assert_ret(local_topic_publisher(&f->topic, 1, NULL, &f->publisher[1]),
		   0);
	subscribe(f, 0, 0);
	assert_ret(bus_topic_loan(f->publisher[1], &loan, BUS_NOWAIT), 0);
	publish_value(f->publisher[0], 1);
	/* Closing pads the open loan, as busd does after a crash. */
	assert_ret(bus_topic_close(f->publisher[1]), 0);
	f->publisher[1] = NULL;
	receive_value(f->subscriber[0], 1, 0);
	receive_nothing(f->subscriber[0]);
	assert_ret(local_topic_observer(&f->topic, &observer), 0);
	assert_ret(bus_topic_stats(observer, &stats), 0);
	assert_int_equal(stats.padded, 1);
	assert_int_equal(stats.published, 1);
	assert_int_equal(stats.publishers, 1);
	assert_ret(bus_topic_close(observer), 0);
	fixture_free(f);
}

static void test_topic_ring_loan_errors(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_message loan, forged;
	bus_topic_t *observer;
	char big[65] = { 0 };

	assert_ret(bus_topic_loan(f->publisher[0], &loan, BUS_NOWAIT), 0);
	assert_int_equal(loan.capacity, 64);
	assert_ret(bus_topic_commit(f->publisher[0], &loan, 65), -EMSGSIZE);
	forged = loan;
	forged.token += 1;
	assert_ret(bus_topic_commit(f->publisher[0], &forged, 1), -EINVAL);
	assert_ret(bus_topic_commit(f->publisher[0], &loan, 1), 0);
	assert_ret(bus_topic_commit(f->publisher[0], &loan, 1), -EINVAL);
	assert_ret(bus_publish(f->publisher[0], big, sizeof(big), BUS_NOWAIT),
		   -EMSGSIZE);
	assert_ret(local_topic_observer(&f->topic, &observer), 0);
	assert_ret(bus_topic_loan(observer, &loan, BUS_NOWAIT), -EBADF);
	assert_ret(bus_publish(observer, big, 1, BUS_NOWAIT), -EBADF);
	assert_ret(bus_topic_close(observer), 0);
	fixture_free(f);
}

static void test_topic_ring_last_value(void **state)
{
	struct fixture *f =
		fixture_make(4, BUS_SLOW_SUBSCRIBER_OVERWRITE, 1, 0);
	struct bus_message_header header;
	bus_topic_t *observer;
	char buf[16];

	assert_ret(local_topic_observer(&f->topic, &observer), 0);
	assert_ret(bus_topic_last(observer, buf, sizeof(buf), NULL), -EAGAIN);
	assert_ret(bus_publish(f->publisher[0], "a", 1, BUS_NOWAIT), 0);
	assert_ret(bus_publish(f->publisher[0], "bb", 2, BUS_NOWAIT), 0);
	assert_ret(bus_topic_last(observer, buf, sizeof(buf), &header), 2);
	assert_memory_equal(buf, "bb", 2);
	assert_int_equal(header.sequence, 1);
	assert_int_equal(header.payload_length, 2);
	assert_ret(bus_topic_last(observer, buf, 1, NULL), -EMSGSIZE);
	/* An open loan is not a value yet. */
	struct bus_message loan;
	assert_ret(bus_topic_loan(f->publisher[0], &loan, BUS_NOWAIT), 0);
	assert_ret(bus_topic_last(observer, buf, sizeof(buf), NULL), 2);
	for (int i = 0; i < 10; i++)
		assert_ret(bus_publish(f->publisher[0], "ccc", 3, BUS_NOWAIT),
			   i < 3 ? 0 : -ENOBUFS);
	assert_ret(bus_topic_commit(f->publisher[0], &loan, 0), 0);
	assert_ret(bus_topic_last(f->publisher[0], buf, sizeof(buf), NULL), 3);
	assert_ret(bus_topic_close(observer), 0);
	fixture_free(f);
}

static void test_topic_ring_receive_copy(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	char buf[8];

	subscribe(f, 0, 0);
	assert_ret(bus_publish(f->publisher[0], "hello", 5, BUS_NOWAIT), 0);
	assert_ret(bus_publish(f->publisher[0], "", 0, BUS_NOWAIT), 0);
	assert_ret(bus_subscription_receive_copy(f->subscriber[0], buf, 4,
						 NULL, BUS_NOWAIT),
		   -EMSGSIZE);
	assert_ret(bus_subscription_receive_copy(f->subscriber[0], buf,
						 sizeof(buf), NULL,
						 BUS_NOWAIT),
		   5);
	assert_memory_equal(buf, "hello", 5);
	assert_ret(bus_subscription_receive_copy(f->subscriber[0], NULL, 0,
						 NULL, BUS_NOWAIT),
		   0);
	assert_ret(bus_subscription_receive_copy(f->subscriber[0], buf,
						 sizeof(buf), NULL,
						 BUS_NOWAIT),
		   -EAGAIN);
	fixture_free(f);
}

static void test_topic_ring_closed_topic(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_message m;

	subscribe(f, 0, 0);
	publish_value(f->publisher[0], 3);
	busd_topic_close_segment(&f->topic.geometry);
	assert_ret(bus_publish(f->publisher[0], "x", 1, BUS_NOWAIT),
		   -ENOTCONN);
	/* What was published is still delivered, then -ENOTCONN. */
	receive_value(f->subscriber[0], 3, 0);
	assert_ret(bus_subscription_receive(f->subscriber[0], &m, NULL,
					    10ll * MS),
		   -ENOTCONN);
	fixture_free(f);
}

static void test_topic_ring_cancel(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_message m;

	subscribe(f, 0, 0);
	bus_subscription_cancel(f->subscriber[0]);
	assert_ret(bus_subscription_receive(f->subscriber[0], &m, NULL,
					    BUS_FOREVER),
		   -ECANCELED);
	bus_subscription_uncancel(f->subscriber[0]);
	assert_ret(bus_subscription_receive(f->subscriber[0], &m, NULL,
					    1ll * MS),
		   -ETIMEDOUT);
	fixture_free(f);
}

/* ---- segments ----------------------------------------------------------- */

static void test_topic_ring_settings_are_checked(void **state)
{
	struct bus_topic_settings s;
	char detail[256];

	bus_topic_settings_default(&s);
	assert_ret(bus__topic_settings_check(&s, detail, sizeof(detail)), 0);
	assert_int_equal(s.slots, 1024);
	assert_int_equal(s.max_message, 256);
	assert_int_equal(s.max_subscribers, 64);
	assert_int_equal(s.history, 0);
	s.slots = 1000;
	assert_ret(bus__topic_settings_check(&s, detail, sizeof(detail)),
		   -EINVAL);
	assert_non_null(strstr(detail, "slots"));
	bus_topic_settings_default(&s);
	s.max_subscribers = BUS_TOPIC_SUBSCRIBERS_MAX + 1;
	assert_ret(bus__topic_settings_check(&s, detail, sizeof(detail)),
		   -EINVAL);
	assert_non_null(strstr(detail, "max_subscribers"));
	bus_topic_settings_default(&s);
	s.history = s.slots + 1;
	assert_ret(bus__topic_settings_check(&s, detail, sizeof(detail)),
		   -EINVAL);
	assert_non_null(strstr(detail, "history"));
	bus_topic_settings_default(&s);
	s.slow_subscriber = 2;
	assert_ret(bus__topic_settings_check(&s, detail, sizeof(detail)),
		   -EINVAL);
}

static void test_topic_ring_segment_kinds_are_told_apart(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus__queue_geometry queue;
	struct bus__topic_geometry topic;
	char detail[256];

	assert_ret(bus__queue_segment_validate(f->topic.base, f->topic.size,
					       &queue, detail, sizeof(detail)),
		   -EPROTO);
	assert_ret(bus__topic_segment_validate(f->topic.base,
					       f->topic.size - 64, &topic,
					       detail, sizeof(detail)),
		   -EPROTO);
	f->topic.geometry.header->topic_settings.slots = 7;
	assert_ret(bus__topic_segment_validate(f->topic.base, f->topic.size,
					       &topic, detail, sizeof(detail)),
		   -EPROTO);
	f->topic.geometry.header->topic_settings.slots = 8;
	assert_ret(bus__topic_segment_validate(f->topic.base, f->topic.size,
					       &topic, detail, sizeof(detail)),
		   0);
	fixture_free(f);
}

/* A corrupt length in a protected cell is skipped, never trusted. */
static void test_topic_ring_corrupt_length_is_skipped(void **state)
{
	struct fixture *f = fixture_make(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0);
	struct bus_message m;

	subscribe(f, 0, 0);
	publish_value(f->publisher[0], 1);
	publish_value(f->publisher[0], 2);
	bus__topic_cell(&f->topic.geometry, 0)->header.payload_length = 1000;
	assert_ret(bus_subscription_receive(f->subscriber[0], &m, NULL,
					    BUS_NOWAIT),
		   -EBADMSG);
	receive_value(f->subscriber[0], 2, 0);
	fixture_free(f);
}

/* Packed (one publisher): a record outside the arena is skipped, in a
 * view, a copy and the last value alike, never read. */
static void test_topic_ring_packed_corrupt_record_is_skipped(void **state)
{
	struct fixture *f =
		fixture_make_arena(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0, 8192);
	const struct bus__topic_geometry *g = &f->topic.geometry;
	bus_topic_t *observer;
	uint32_t value;

	assert_non_null(g->area.arena);
	subscribe(f, 0, 0);
	subscribe(f, 1, 0);
	publish_value(f->publisher[0], 1);
	publish_value(f->publisher[0], 2);
	bus__topic_cell(g, 0)->header.record_offset = g->area.arena_bytes;
	bus__topic_cell(g, 1)->header.record_offset = 8; /* not aligned */
	assert_ret(bus_subscription_receive(f->subscriber[0],
					    &(struct bus_message){ 0 }, NULL,
					    BUS_NOWAIT),
		   -EBADMSG);
	assert_ret(bus_subscription_receive_copy(f->subscriber[1], &value,
						 sizeof(value), NULL,
						 BUS_NOWAIT),
		   -EBADMSG);
	assert_ret(local_topic_observer(&f->topic, &observer), 0);
	assert_ret(bus_topic_last(observer, &value, sizeof(value), NULL),
		   -EBADMSG);
	bus__topic_cell(g, 1)->header.record_offset = 64;
	publish_value(f->publisher[0], 3);
	receive_value(f->subscriber[0], 2, 0);
	receive_value(f->subscriber[0], 3, 0);
	assert_ret(bus_topic_last(observer, &value, sizeof(value), NULL), 4);
	assert_int_equal(value, 3);
	assert_ret(bus_topic_close(observer), 0);
	fixture_free(f);
}

/* Packed: a new publisher rebuilds its arena from the cells; records that
 * overlap or lie outside the arena are refused, not written over. */
static void test_topic_ring_packed_rebuild_refuses_corrupt_cells(void **state)
{
	struct fixture *f =
		fixture_make_arena(8, BUS_SLOW_SUBSCRIBER_BLOCK, 1, 0, 8192);
	const struct bus__topic_geometry *g = &f->topic.geometry;
	struct bus_cell *second = bus__topic_cell(g, 1);

	subscribe(f, 0, 0);
	publish_value(f->publisher[0], 1);
	publish_value(f->publisher[0], 2);
	assert_ret(bus_topic_close(f->publisher[0]), 0);
	f->publisher[0] = NULL;
	second->header.record_offset = 0; /* over the first one's */
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher[0]),
		   -EBADMSG);
	second->header.record_offset = g->area.arena_bytes - 64;
	second->header.payload_length = 65; /* runs past the end */
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher[0]),
		   -EBADMSG);
	second->header.record_offset = 64;
	second->header.payload_length = 4;
	assert_ret(local_topic_publisher(&f->topic, 0, NULL, &f->publisher[0]),
		   0);
	/* What it writes next goes round the records still unread. */
	publish_value(f->publisher[0], 3);
	receive_value(f->subscriber[0], 1, 0);
	receive_value(f->subscriber[0], 2, 0);
	receive_value(f->subscriber[0], 3, 0);
	fixture_free(f);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_topic_ring_every_subscriber_gets_every_message),
		cmocka_unit_test(test_topic_ring_block_waits_for_slowest),
		cmocka_unit_test(
			test_topic_ring_packed_corrupt_record_is_skipped),
		cmocka_unit_test(
			test_topic_ring_packed_rebuild_refuses_corrupt_cells),
		cmocka_unit_test(test_topic_ring_block_times_out),
		cmocka_unit_test(test_topic_ring_no_subscriber_never_blocks),
		cmocka_unit_test(test_topic_ring_unsubscribe_frees_publisher),
		cmocka_unit_test(
			test_topic_ring_single_publisher_laps_in_order),
		cmocka_unit_test(
			test_topic_ring_two_publishers_keep_their_order),
		cmocka_unit_test(test_topic_ring_overwrite_reports_lost),
		cmocka_unit_test(test_topic_ring_overwrite_never_blocks),
		cmocka_unit_test(
			test_topic_ring_overwrite_waits_for_open_loan),
		cmocka_unit_test(test_topic_ring_subscriber_sees_only_newer),
		cmocka_unit_test(test_topic_ring_history_delivers_earlier),
		cmocka_unit_test(
			test_topic_ring_history_overwritten_is_no_loss),
		cmocka_unit_test(test_topic_ring_open_loan_counts_as_newer),
		cmocka_unit_test(test_topic_ring_dropped_loan_is_skipped),
		cmocka_unit_test(test_topic_ring_loan_errors),
		cmocka_unit_test(test_topic_ring_last_value),
		cmocka_unit_test(test_topic_ring_receive_copy),
		cmocka_unit_test(test_topic_ring_closed_topic),
		cmocka_unit_test(test_topic_ring_cancel),
		cmocka_unit_test(test_topic_ring_settings_are_checked),
		cmocka_unit_test(test_topic_ring_segment_kinds_are_told_apart),
		cmocka_unit_test(test_topic_ring_corrupt_length_is_skipped),
	};

	return cmocka_run_group_tests_name("topic_ring", tests, NULL, NULL);
}
