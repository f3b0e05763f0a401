/* SPDX-License-Identifier: MIT */
/*
 * The journal gate of recorded topics (libbus/core/topic_ring.c) on a
 * local memfd segment: a publisher never claims position p unless p <
 * journal_position + slots, under both slow_subscriber policies and on
 * both claim paths (one publisher, several); the test moves
 * journal_position as busd's recorder would.  A failed journal makes a
 * gated publish say why.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "atomics.h"
#include "bus/bus.h"
#include "local_topic.h"
#include "test_common.h"

#define SLOTS 4

struct gate {
	struct local_topic topic;
	bus_topic_t *publisher;
	bus_subscription_t *subscriber;
};

static void gate_make(struct gate *g, enum bus_slow_subscriber policy,
		      uint32_t publishers, int record)
{
	struct bus_topic_settings settings;

	memset(g, 0, sizeof(*g));
	local_topic_settings(&settings, SLOTS, 64, policy, publishers, 0);
	settings.record = (uint8_t)record;
	assert_ret(local_topic_create(&g->topic, &settings), 0);
	assert_ret(local_topic_publisher(&g->topic, 0, NULL, &g->publisher),
		   0);
}

static void gate_free(struct gate *g)
{
	if (g->subscriber)
		bus_unsubscribe(g->subscriber);
	bus_topic_close(g->publisher);
	local_topic_destroy(&g->topic);
}

static int publish(struct gate *g, uint32_t value)
{
	return bus_publish(g->publisher, &value, sizeof(value), BUS_NOWAIT);
}

/* What busd's recorder does after it recorded every position below. */
static void record_up_to(struct gate *g, uint64_t position)
{
	bus__store_seq_cst(&g->topic.geometry.control->journal_position,
			   position);
}

/* Publishes until refused; returns how many went. */
static uint32_t publish_until_full(struct gate *g, uint32_t *value)
{
	uint32_t n = 0;
	int ret = 0;

	/* Bounded: without the gate an overwrite topic never says full. */
	while (n <= 4 * SLOTS && (ret = publish(g, (*value)++)) == 0)
		n++;
	assert_int_equal(ret, -ENOBUFS);
	return n;
}

static void check_gate(enum bus_slow_subscriber policy, uint32_t publishers)
{
	struct gate g;
	uint32_t value = 0;

	gate_make(&g, policy, publishers, 1);
	/* A ring's worth before busd recorded anything, not one more. */
	assert_int_equal(publish_until_full(&g, &value), SLOTS);
	/* busd recorded two: two more cells may be reused. */
	record_up_to(&g, 2);
	assert_int_equal(publish_until_full(&g, &value), 2);
	record_up_to(&g, 6);
	assert_int_equal(publish_until_full(&g, &value), 4);
	gate_free(&g);
}

static void test_topic_record_gate_block_single(void **state)
{
	(void)state;
	check_gate(BUS_SLOW_SUBSCRIBER_BLOCK, 1);
}

static void test_topic_record_gate_block_multi(void **state)
{
	(void)state;
	check_gate(BUS_SLOW_SUBSCRIBER_BLOCK, 2);
}

static void test_topic_record_gate_overwrite_single(void **state)
{
	(void)state;
	check_gate(BUS_SLOW_SUBSCRIBER_OVERWRITE, 1);
}

static void test_topic_record_gate_overwrite_multi(void **state)
{
	(void)state;
	check_gate(BUS_SLOW_SUBSCRIBER_OVERWRITE, 2);
}

/* A topic not recorded ignores journal_position (0 here): overwrite laps
 * freely. */
static void test_topic_record_gate_not_recorded_is_free(void **state)
{
	struct gate g;

	(void)state;
	gate_make(&g, BUS_SLOW_SUBSCRIBER_OVERWRITE, 2, 0);
	for (uint32_t v = 0; v < 10 * SLOTS; v++)
		assert_ret(publish(&g, v), 0);
	gate_free(&g);
}

/* Both gates hold: the journal's and a slow block subscriber's. */
static void test_topic_record_gate_and_subscriber(void **state)
{
	struct bus_subscribe_options options = { 0 };
	struct bus_message m;
	struct gate g;
	uint32_t value = 0;

	(void)state;
	gate_make(&g, BUS_SLOW_SUBSCRIBER_BLOCK, 2, 1);
	assert_ret(local_topic_subscribe(&g.topic, 0, &options, &g.subscriber),
		   0);
	assert_int_equal(publish_until_full(&g, &value), SLOTS);
	/* Recorded, but the subscriber has read nothing: still full. */
	record_up_to(&g, SLOTS);
	assert_ret(publish(&g, value), -ENOBUFS);
	assert_ret(bus_subscription_receive(g.subscriber, &m, NULL,
					    BUS_NOWAIT),
		   0);
	assert_ret(bus_subscription_release(g.subscriber), 0);
	assert_ret(bus_subscription_receive(g.subscriber, &m, NULL,
					    BUS_NOWAIT),
		   0);
	assert_ret(bus_subscription_release(g.subscriber), 0);
	assert_int_equal(publish_until_full(&g, &value), 2);
	gate_free(&g);
}

/* busd cannot write the journal: a gated publisher gets its error. */
static void test_topic_record_gate_reports_journal_error(void **state)
{
	struct bus_topic_control *c;
	struct gate g;
	uint32_t value = 0;

	(void)state;
	gate_make(&g, BUS_SLOW_SUBSCRIBER_OVERWRITE, 2, 1);
	c = g.topic.geometry.control;
	assert_int_equal(publish_until_full(&g, &value), SLOTS);
	bus__store_release(&c->journal_error, -ENOSPC);
	assert_ret(publish(&g, value), -ENOSPC);
	assert_ret(bus_publish(g.publisher, &value, sizeof(value), 1000),
		   -ENOSPC);
	bus__store_release(&c->journal_error, 0);
	assert_ret(publish(&g, value), -ENOBUFS);
	gate_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_record_gate_block_single),
		cmocka_unit_test(test_topic_record_gate_block_multi),
		cmocka_unit_test(test_topic_record_gate_overwrite_single),
		cmocka_unit_test(test_topic_record_gate_overwrite_multi),
		cmocka_unit_test(test_topic_record_gate_not_recorded_is_free),
		cmocka_unit_test(test_topic_record_gate_and_subscriber),
		cmocka_unit_test(test_topic_record_gate_reports_journal_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
