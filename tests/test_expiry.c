/* SPDX-License-Identifier: MIT */
/*
 * Expiry through a real busd: a queue's ttl_ms and a message's own time to
 * live; an expired message is never delivered, is counted in the queue's
 * expired figure, and the next one is delivered instead.
 *
 * test_expiry [CASE]   every case, or those matching CASE; exits 77 when
 * there is no busd.  The waits are generous multiples of the ttls.
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

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

static const char config[] =
	"[queue short]\nslots = 16\nmax_message = 64\nttl_ms = 100\n\n"
	"[queue long]\nslots = 16\nmax_message = 64\nttl_ms = 60000\n\n"
	"[queue plain]\nslots = 16\nmax_message = 64\n\n"
	"[topic news]\nslots = 16\nmax_message = 64\n\n"
	"[queue graveyard]\nslots = 16\nmax_message = 64\n\n"
	"[queue doomed]\nslots = 16\nmax_message = 64\nttl_ms = 20\n"
	"dead_letter = graveyard\n\n"
	"[queue lazy]\ntype = spsc\nslots = 16\nmax_message = 64\n";

static int rt_setup(void **state)
{
	return test_bus_setup(state, config);
}

static bus_queue_t *open_queue(bus_t *bus, const char *name,
			       enum bus_role role)
{
	bus_queue_t *queue = NULL;

	assert_ret(bus_queue_open(bus, name, role, NULL, &queue), 0);
	return queue;
}

static uint64_t expired_of(bus_queue_t *q)
{
	struct bus_queue_stats stats;

	assert_ret(bus_queue_stats(q, &stats), 0);
	return stats.expired;
}

static void expect_text(bus_queue_t *q, const char *text)
{
	struct bus_message m;

	assert_ret(bus_receive(q, &m, 2 * SECOND), 0);
	assert_int_equal(m.length, strlen(text));
	assert_memory_equal(m.payload, text, m.length);
	assert_ret(bus_ack(q, &m), 0);
}

static void test_expiry_queue_ttl_skips_old_messages(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *producer = open_queue(rt->bus, "short", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(rt->bus, "short", BUS_CONSUMER);
	struct bus_message m;

	for (int i = 0; i < 3; i++)
		assert_ret(bus_send(producer, "old", 3, BUS_NOWAIT), 0);
	usleep(400 * 1000); /* four times ttl_ms */
	assert_ret(bus_send(producer, "new", 3, BUS_NOWAIT), 0);
	expect_text(consumer, "new");
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), -EAGAIN);
	assert_int_equal(expired_of(consumer), 3);
	bus_queue_close(producer);
	bus_queue_close(consumer);
}

static void test_expiry_message_ttl_comes_first(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *producer = open_queue(rt->bus, "plain", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(rt->bus, "plain", BUS_CONSUMER);
	bus_queue_t *long_producer = open_queue(rt->bus, "long", BUS_PRODUCER);
	bus_queue_t *long_consumer = open_queue(rt->bus, "long", BUS_CONSUMER);
	struct bus_message m;

	/* Its own 50 ms on a queue without ttl_ms, then one without. */
	assert_ret(bus_loan(producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_ttl(&m, 50 * MS), 0);
	memcpy(m.payload, "brief", 5);
	assert_ret(bus_commit(producer, &m, 5), 0);
	assert_ret(bus_send(producer, "lasting", 7, BUS_NOWAIT), 0);
	/* Its own 50 ms on a queue whose ttl_ms is a minute. */
	assert_ret(bus_loan(long_producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_ttl(&m, 50 * MS), 0);
	memcpy(m.payload, "brief", 5);
	assert_ret(bus_commit(long_producer, &m, 5), 0);
	assert_ret(bus_send(long_producer, "lasting", 7, BUS_NOWAIT), 0);
	usleep(300 * 1000);
	expect_text(consumer, "lasting");
	expect_text(long_consumer, "lasting");
	assert_int_equal(expired_of(consumer), 1);
	assert_int_equal(expired_of(long_consumer), 1);
	bus_queue_close(producer);
	bus_queue_close(consumer);
	bus_queue_close(long_producer);
	bus_queue_close(long_consumer);
}

static void test_expiry_fresh_messages_are_delivered(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *producer = open_queue(rt->bus, "long", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(rt->bus, "long", BUS_CONSUMER);
	struct bus_message m;

	assert_ret(bus_send(producer, "fresh", 5, BUS_NOWAIT), 0);
	assert_ret(bus_receive(consumer, &m, 2 * SECOND), 0);
	/* The deadline is in the header, about a minute ahead. */
	assert_true(m.header->expiry_ns > test_now_ns() + 30ull * SECOND);
	assert_ret(bus_ack(consumer, &m), 0);
	/* A blocked receive is not cut short by expiry bookkeeping. */
	assert_ret(bus_receive(consumer, &m, 50 * MS), -ETIMEDOUT);
	assert_int_equal(expired_of(consumer), 0);
	bus_queue_close(producer);
	bus_queue_close(consumer);
}

/*
 * A child that sends to queue, delay_ms after it is ready, one message
 * whose time to live (counted from bus_message_set_ttl) is 1 ns: expired
 * at its commit already.
 */
static pid_t send_expired_later(const char *bus_name, const char *queue,
				int delay_ms)
{
	pid_t child = test_fork();
	struct bus_message m;
	bus_queue_t *producer;
	bus_t *bus;

	if (child != 0)
		return child;
	if (bus_connect(bus_name, &bus) < 0 ||
	    bus_queue_open(bus, queue, BUS_PRODUCER, NULL, &producer) < 0 ||
	    bus_loan(producer, &m, BUS_NOWAIT) < 0)
		_exit(1);
	memcpy(m.payload, "x", 1);
	usleep((useconds_t)delay_ms * 1000);
	if (bus_message_set_ttl(&m, 1) < 0)
		_exit(1);
	_exit(bus_commit(producer, &m, 1) < 0 ? 1 : 0);
}

/*
 * A receive woken by a message that turns out to be expired waits on for
 * what is left of its timeout, not for a new one: on an SPSC queue, whose
 * consumer's fast path hands such a message to the general path, and on
 * an MPMC one.
 */
static void expect_one_timeout(struct test_bus *rt, const char *queue)
{
	bus_queue_t *consumer = open_queue(rt->bus, queue, BUS_CONSUMER);
	pid_t child = send_expired_later(rt->busd.bus_name, queue, 500);
	struct bus_message m;
	int64_t start, waited;
	int status;

	assert_true(child > 0);
	start = (int64_t)test_now_ns();
	assert_ret(bus_receive(consumer, &m, SECOND), -ETIMEDOUT);
	waited = (int64_t)test_now_ns() - start;
	assert_ret(test_child_wait(child, 5000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(expired_of(consumer), 1);
	/* A second in all; a new timeout after the skip would make it 1.5 s
	 * or more. */
	assert_true(waited >= SECOND);
	assert_true(waited < 1350 * MS);
	bus_queue_close(consumer);
}

static void test_expiry_skip_keeps_the_timeout(void **state)
{
	expect_one_timeout(*state, "lazy");
	expect_one_timeout(*state, "plain");
}

/* With a dead-letter queue, an expired message moves there, marked. */
static void test_expiry_moves_to_dead_letter(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *producer = open_queue(rt->bus, "doomed", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(rt->bus, "doomed", BUS_CONSUMER);
	bus_queue_t *dead = open_queue(rt->bus, "graveyard", BUS_CONSUMER);
	struct bus_message m;

	assert_ret(bus_send(producer, "late-1", 6, BUS_NOWAIT), 0);
	assert_ret(bus_send(producer, "late-2", 6, BUS_NOWAIT), 0);
	usleep(60 * 1000);
	assert_ret(bus_receive(consumer, &m, 20 * MS), -ETIMEDOUT);
	assert_int_equal(expired_of(consumer), 2);
	/* busd moves them within its next ticks (10 ms). */
	for (int i = 1; i <= 2; i++) {
		char want[7];

		snprintf(want, sizeof(want), "late-%d", i);
		assert_ret(bus_receive(dead, &m, 5 * SECOND), 0);
		assert_int_equal(m.length, 6);
		assert_memory_equal(m.payload, want, 6);
		assert_int_equal(m.header->dead_letter_reason,
				 BUS_DEAD_LETTER_EXPIRED);
		/* It does not expire again where it waits. */
		assert_int_equal(m.header->expiry_ns, 0);
		assert_ret(bus_ack(dead, &m), 0);
	}
	bus_queue_close(producer);
	bus_queue_close(consumer);
	bus_queue_close(dead);
}

/* A topic: a message past its own TTL reaches no subscriber either. */
static void test_expiry_topic_message_ttl(void **state)
{
	struct test_bus *rt = *state;
	struct bus_subscriber_stats stats;
	bus_subscription_t *s;
	struct bus_message m;
	bus_topic_t *t;

	assert_ret(bus_subscribe(rt->bus, "news", NULL, &s), 0);
	assert_ret(bus_topic_open(rt->bus, "news", BUS_PRODUCER, NULL, &t), 0);
	for (int i = 0; i < 2; i++) {
		assert_ret(bus_topic_loan(t, &m, BUS_NOWAIT), 0);
		assert_ret(bus_message_set_ttl(&m, 20 * MS), 0);
		memcpy(m.payload, "stale", 5);
		assert_ret(bus_topic_commit(t, &m, 5), 0);
	}
	assert_ret(bus_publish(t, "fresh", 5, BUS_NOWAIT), 0);
	usleep(60 * 1000);
	assert_ret(bus_subscription_receive(s, &m, NULL, SECOND), 0);
	assert_int_equal(m.length, 5);
	assert_memory_equal(m.payload, "fresh", 5);
	assert_ret(bus_subscription_receive(s, &m, NULL, 20 * MS), -ETIMEDOUT);
	assert_ret(bus_subscription_stats(s, &stats), 0);
	assert_int_equal(stats.expired, 2);
	assert_ret(bus_topic_close(t), 0);
	assert_ret(bus_unsubscribe(s), 0);
}

#define RT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, rt_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		RT_TEST(test_expiry_queue_ttl_skips_old_messages),
		RT_TEST(test_expiry_message_ttl_comes_first),
		RT_TEST(test_expiry_fresh_messages_are_delivered),
		RT_TEST(test_expiry_topic_message_ttl),
		RT_TEST(test_expiry_moves_to_dead_letter),
		RT_TEST(test_expiry_skip_keeps_the_timeout),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("expiry", tests, NULL, NULL) ? 1
									: 0;
}
