/* SPDX-License-Identifier: MIT */
/*
 * High-water marks through a real busd (libbus/core/queue_high_water.h,
 * topic_high_water.h): a queue that had N messages queued before its
 * consumer took any says high_water N, while the consumer is attached
 * (its own mark), after it has exited (busd's retired figure), through
 * interleaved send-one/receive-one traffic that never queues more than one,
 * a higher burst later in the consumer's life (found by takes after the
 * first: an SPSC consumer's fast path), and after a second consumer with a
 * lower peak has come and gone (max, not sum).  The same for a topic's subscriber and its lag.
 *
 * test_high_water [CASE]   every case, or those matching CASE; exits 77
 * when there is no busd.  Consumers and subscribers are forked children
 * that connect on their own.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "test_common.h"

#define SECOND (1000ll * 1000 * 1000)
#define PEAK 11	     /* messages queued at once; below slots */
#define SMALL_PEAK 3 /* the second consumer's */
#define ROUNDS 50    /* send-one/receive-one rounds */
/* Then the consumer queues this many itself and takes them: a peak found
 * by takes that come after the first, on an SPSC queue the fast ones. */
#define BURST (PEAK + 2)

static const char config[] =
	"[queue single]\ntype = spsc\nslots = 16\nmax_message = 64\n\n"
	"[queue shared]\nslots = 16\nmax_message = 64\n\n"
	"[topic news]\nslots = 16\nmax_message = 64\n";

static int rt_setup(void **state)
{
	return test_bus_setup(state, config);
}

/* ---- a child and its two pipes ------------------------------------------ */

/* The child says "ready" on one pipe and waits for "go" on the other. */
struct child {
	pid_t pid;
	int ready[2];
	int go[2];
};

static void child_fail(const char *what, int ret)
{
	fprintf(stderr, "child: %s: %s\n", what, bus_strerror(ret));
	_exit(1);
}

static void child_signal(struct child *c)
{
	if (write(c->ready[1], "r", 1) != 1)
		_exit(2);
}

static void child_wait(struct child *c)
{
	char byte;

	if (read(c->go[0], &byte, 1) != 1)
		_exit(2);
}

static void parent_wait(struct child *c)
{
	char byte;

	/* 0 bytes: the child died before it was ready. */
	assert_int_equal(read(c->ready[0], &byte, 1), 1);
}

static void parent_signal(struct child *c)
{
	assert_int_equal(write(c->go[1], "g", 1), 1);
}

static void child_start(struct child *c)
{
	assert_int_equal(pipe(c->ready), 0);
	assert_int_equal(pipe(c->go), 0);
	c->pid = test_fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(c->ready[0]);
		close(c->go[1]);
		return;
	}
	close(c->ready[1]);
	close(c->go[0]);
}

static void child_reap(struct child *c)
{
	int status = 0;

	close(c->ready[0]);
	close(c->go[1]);
	assert_ret(test_child_wait(c->pid, 20000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- queues -------------------------------------------------------------- */

/*
 * Child: takes `count` messages, then `rounds` times sends one and takes
 * it back (so nothing more is ever queued), then (with rounds) sends BURST
 * and takes them, says ready, waits for go and exits.
 */
static void queue_consumer(struct child *c, const char *bus_name,
			   const char *name, int count, int rounds)
{
	bus_queue_t *consumer, *producer = NULL;
	char buf[64];
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret < 0)
		child_fail("connect", ret);
	ret = bus_queue_open(bus, name, BUS_CONSUMER, NULL, &consumer);
	if (ret < 0)
		child_fail("open consumer", ret);
	for (int i = 0; i < count; i++) {
		ret = bus_receive_copy(consumer, buf, sizeof(buf), 5 * SECOND);
		if (ret < 0)
			child_fail("receive", ret);
	}
	if (rounds) {
		ret = bus_queue_open(bus, name, BUS_PRODUCER, NULL, &producer);
		if (ret < 0)
			child_fail("open producer", ret);
	}
	for (int i = 0; i < rounds; i++) {
		ret = bus_send(producer, "one", 3, BUS_NOWAIT);
		if (ret < 0)
			child_fail("send", ret);
		ret = bus_receive_copy(consumer, buf, sizeof(buf), 5 * SECOND);
		if (ret < 0)
			child_fail("receive one", ret);
	}
	for (int i = 0; rounds && i < BURST; i++) {
		ret = bus_send(producer, "burst", 5, BUS_NOWAIT);
		if (ret < 0)
			child_fail("send burst", ret);
	}
	for (int i = 0; rounds && i < BURST; i++) {
		ret = bus_receive_copy(consumer, buf, sizeof(buf), 5 * SECOND);
		if (ret < 0)
			child_fail("receive burst", ret);
	}
	child_signal(c);
	child_wait(c);
	if (producer)
		bus_queue_close(producer);
	bus_queue_close(consumer);
	bus_disconnect(bus);
	_exit(0);
}

static struct bus_queue_stats queue_stats(bus_queue_t *q)
{
	struct bus_queue_stats stats;

	assert_ret(bus_queue_stats(q, &stats), 0);
	return stats;
}

/* The live consumer's own mark, from the attachments table. */
static uint64_t consumer_mark(bus_queue_t *q)
{
	struct bus_attachment_stats a[8];
	int live = bus_queue_attachments(q, a, 8);
	uint64_t mark = UINT64_MAX;

	assert_true(live > 0 && live <= 8);
	for (int i = 0; i < live; i++)
		if (a[i].role == BUS_CONSUMER) {
			assert_int_equal(mark, UINT64_MAX); /* just one */
			mark = a[i].high_water;
		}
	return mark;
}

static void send_some(bus_t *bus, const char *name, int count)
{
	bus_queue_t *producer;

	assert_ret(bus_queue_open(bus, name, BUS_PRODUCER, NULL, &producer),
		   0);
	for (int i = 0; i < count; i++)
		assert_ret(bus_send(producer, "queued", 6, BUS_NOWAIT), 0);
	/* Closed: an spsc queue's child needs the one producer slot. */
	assert_ret(bus_queue_close(producer), 0);
}

static void queue_case(struct test_bus *rt, const char *name)
{
	struct bus_queue_stats s;
	bus_queue_t *observer;
	struct child c;

	assert_ret(bus_queue_open(rt->bus, name, BUS_OBSERVER, NULL,
				  &observer),
		   0);
	s = queue_stats(observer);
	assert_int_equal(s.high_water, 0);

	/* Nobody took anything yet: the mark is the depth now. */
	send_some(rt->bus, name, PEAK);
	s = queue_stats(observer);
	assert_int_equal(s.depth, PEAK);
	assert_int_equal(s.high_water, PEAK);

	child_start(&c);
	if (c.pid == 0)
		queue_consumer(&c, rt->busd.bus_name, name, PEAK, ROUNDS);
	parent_wait(&c);
	/* All taken, ROUNDS more one at a time, then the burst: the
	 * consumer's mark. */
	s = queue_stats(observer);
	assert_int_equal(s.depth, 0);
	assert_int_equal(s.dequeued, PEAK + ROUNDS + BURST);
	assert_int_equal(s.consumers, 1);
	assert_int_equal(s.high_water, BURST);
	assert_int_equal(consumer_mark(observer), BURST);
	parent_signal(&c);
	child_reap(&c);

	/* The consumer has gone: busd's retired figure. */
	s = queue_stats(observer);
	assert_int_equal(s.consumers, 0);
	assert_int_equal(s.high_water, BURST);

	/* A lower peak later changes nothing: max, not sum. */
	send_some(rt->bus, name, SMALL_PEAK);
	child_start(&c);
	if (c.pid == 0)
		queue_consumer(&c, rt->busd.bus_name, name, SMALL_PEAK, 0);
	parent_wait(&c);
	assert_int_equal(consumer_mark(observer), SMALL_PEAK);
	assert_int_equal(queue_stats(observer).high_water, BURST);
	parent_signal(&c);
	child_reap(&c);
	s = queue_stats(observer);
	assert_int_equal(s.high_water, BURST);
	assert_int_equal(s.dequeued, PEAK + ROUNDS + BURST + SMALL_PEAK);
	assert_ret(bus_queue_close(observer), 0);
}

static void test_high_water_spsc_queue(void **state)
{
	queue_case(*state, "single");
}

static void test_high_water_mpmc_queue(void **state)
{
	queue_case(*state, "shared");
}

/* ---- topics -------------------------------------------------------------- */

/*
 * Child: subscribes, says ready, waits for go; takes `count` messages,
 * then `rounds` times publishes one and reads it; says ready, waits for go
 * and exits.
 */
static void topic_subscriber(struct child *c, const char *bus_name,
			     const char *name, int count, int rounds)
{
	bus_subscription_t *sub;
	bus_topic_t *publisher;
	char buf[64];
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret < 0)
		child_fail("connect", ret);
	ret = bus_subscribe(bus, name, NULL, &sub);
	if (ret < 0)
		child_fail("subscribe", ret);
	ret = bus_topic_open(bus, name, BUS_PRODUCER, NULL, &publisher);
	if (ret < 0)
		child_fail("open publisher", ret);
	child_signal(c);
	child_wait(c);
	for (int i = 0; i < count; i++) {
		ret = bus_subscription_receive_copy(sub, buf, sizeof(buf),
						    NULL, 5 * SECOND);
		if (ret < 0)
			child_fail("receive", ret);
	}
	for (int i = 0; i < rounds; i++) {
		ret = bus_publish(publisher, "one", 3, BUS_NOWAIT);
		if (ret < 0)
			child_fail("publish", ret);
		ret = bus_subscription_receive_copy(sub, buf, sizeof(buf),
						    NULL, 5 * SECOND);
		if (ret < 0)
			child_fail("receive one", ret);
	}
	child_signal(c);
	child_wait(c);
	bus_topic_close(publisher);
	bus_unsubscribe(sub);
	bus_disconnect(bus);
	_exit(0);
}

static struct bus_topic_stats topic_stats(bus_topic_t *t)
{
	struct bus_topic_stats stats;

	assert_ret(bus_topic_stats(t, &stats), 0);
	return stats;
}

/* A topic's subscriber, forked, with a peak lag of `peak`. */
static void topic_round(struct test_bus *rt, bus_topic_t *publisher,
			bus_topic_t *observer, int peak, int rounds,
			uint64_t expected)
{
	struct bus_subscriber_stats sub[4];
	struct child c;

	child_start(&c);
	if (c.pid == 0)
		topic_subscriber(&c, rt->busd.bus_name, "news", peak, rounds);
	parent_wait(&c);
	for (int i = 0; i < peak; i++)
		assert_ret(bus_publish(publisher, "news", 4, BUS_NOWAIT), 0);
	parent_signal(&c);
	parent_wait(&c);
	/* Read all: its own mark, and the topic's. */
	assert_int_equal(bus_topic_subscribers(observer, sub, 4), 1);
	assert_int_equal(sub[0].high_water, peak);
	assert_int_equal(topic_stats(observer).high_water, expected);
	parent_signal(&c);
	child_reap(&c);
	/* Gone: busd's retired figure. */
	assert_int_equal(topic_stats(observer).subscribers, 0);
	assert_int_equal(topic_stats(observer).high_water, expected);
}

static void test_high_water_topic(void **state)
{
	struct test_bus *rt = *state;
	bus_topic_t *publisher, *observer;

	assert_ret(bus_topic_open(rt->bus, "news", BUS_PRODUCER, NULL,
				  &publisher),
		   0);
	assert_ret(bus_topic_open(rt->bus, "news", BUS_OBSERVER, NULL,
				  &observer),
		   0);
	assert_int_equal(topic_stats(observer).high_water, 0);
	topic_round(rt, publisher, observer, PEAK, ROUNDS, PEAK);
	/* A lower peak later changes nothing: max, not sum. */
	topic_round(rt, publisher, observer, SMALL_PEAK, 0, PEAK);
	assert_ret(bus_topic_close(observer), 0);
	assert_ret(bus_topic_close(publisher), 0);
}

#define RT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, rt_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		RT_TEST(test_high_water_spsc_queue),
		RT_TEST(test_high_water_mpmc_queue),
		RT_TEST(test_high_water_topic),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("high_water", tests, NULL, NULL)
		       ? 1
		       : 0;
}
