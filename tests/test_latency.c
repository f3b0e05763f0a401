/* SPDX-License-Identifier: MIT */
/*
 * Publish-to-receive latency histograms per consumer and subscriber
 * (libbus/core/latency.h): the bucket arithmetic, then counts through a real
 * busd with the producer in another process, kept after the receiver has
 * gone.
 *
 * test_latency [CASE]   runs every case, or those matching CASE.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "latency.h"
#include "test_common.h"

#define MS (1000 * 1000)
#define SECOND (1000 * MS)
#define SENT 500u
#define PAUSE_MS 20u
/* A bucket's low end is at most 1/9 below any value in it. */
#define PAUSED_NS_LOW ((uint64_t)PAUSE_MS * MS * 8 / 9)

static const char config[] = "[queue lat]\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic lat.t]\n"
			     "slots = 1024\n"
			     "max_message = 64\n";

/* ---- buckets ------------------------------------------------------------ */

static void check_value(uint64_t ns)
{
	uint32_t b = bus__latency_bucket(ns);
	uint64_t high = bus__latency_bucket_high(b);
	uint64_t low = b ? bus__latency_bucket_high(b - 1) + 1 : 0;

	assert_true(b < BUS_LATENCY_BUCKETS);
	if (b == BUS_LATENCY_BUCKETS - 1)
		return; /* open-ended */
	if (ns < low || ns > high)
		fail_msg("%" PRIu64 " ns in bucket %u [%" PRIu64 ", %" PRIu64
			 "]",
			 ns, b, low, high);
	/* At most 12.5% wide: the reported bound is close. */
	assert_true(high - low <= low / 8 + 1);
}

static void test_buckets(void **state)
{
	uint64_t previous = 0;

	(void)state;
	for (uint64_t ns = 0; ns < 100000; ns++)
		check_value(ns);
	for (uint64_t ns = 1; ns < (UINT64_C(1) << 40); ns = ns * 3 / 2 + 7)
		check_value(ns);
	/* Buckets are contiguous and increasing. */
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++) {
		uint64_t high = bus__latency_bucket_high(b);

		assert_true(b == 0 || high > previous);
		assert_int_equal(bus__latency_bucket(high), b);
		previous = high;
	}
	assert_int_equal(bus__latency_bucket(UINT64_MAX),
			 BUS_LATENCY_BUCKETS - 1);
}

/* ---- through busd ------------------------------------------------------- */

struct lt {
	struct test_busd busd;
	bus_t *bus;
};

static int lt_setup(void **state)
{
	struct lt *lt = calloc(1, sizeof(*lt));

	if (!lt)
		return -1;
	*state = lt;
	if (test_busd_prepare(&lt->busd) ||
	    test_busd_start(&lt->busd, config) ||
	    bus_connect(lt->busd.bus_name, &lt->bus)) {
		test_busd_cleanup(&lt->busd);
		free(lt);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int lt_teardown(void **state)
{
	struct lt *lt = *state;
	int ret;

	test_children_kill();
	bus_disconnect(lt->bus);
	ret = test_busd_stop(&lt->busd);
	test_busd_cleanup(&lt->busd);
	free(lt);
	return ret ? -1 : 0;
}

/* A producer in another process: SENT stamped messages (and as many
 * without a stamp when unstamped is set). */
static void producer_child(const char *bus_name, bool topic, bool unstamped)
{
	struct bus_queue_options options = { .no_timestamp = unstamped };
	bus_topic_t *t = NULL;
	bus_queue_t *q = NULL;
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (!ret && topic)
		ret = bus_topic_open(bus, "lat.t", BUS_PRODUCER, &options, &t);
	else if (!ret)
		ret = bus_queue_open(bus, "lat", BUS_PRODUCER, &options, &q);
	for (uint64_t n = 0; !ret && n < SENT; n++)
		ret = topic ? bus_publish(t, &n, sizeof(n), 10ll * SECOND)
			    : bus_send(q, &n, sizeof(n), 10ll * SECOND);
	if (ret) {
		fprintf(stderr, "producer: %s\n", bus_strerror(ret));
		_exit(1);
	}
	bus_disconnect(bus);
	_exit(0);
}

static void run_producer(struct lt *lt, bool topic, bool unstamped)
{
	pid_t pid = test_fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		producer_child(lt->busd.bus_name, topic, unstamped);
	assert_int_equal(test_child_wait(pid, 60000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void assert_ordered(const struct bus_latency *l)
{
	assert_true(l->min_ns <= l->p50_ns);
	assert_true(l->p50_ns <= l->p90_ns);
	assert_true(l->p90_ns <= l->p99_ns);
	assert_true(l->p99_ns <= l->p999_ns);
	assert_true(l->p999_ns <= l->max_ns);
}

static void test_queue_latency(void **state)
{
	struct lt *lt = *state;
	struct bus_queue_options quiet = { .no_latency = 1 };
	struct bus_queue_options all = { .latency_every = 1 };
	struct bus_attachment_stats a[8];
	struct bus_latency l;
	struct bus_message m;
	bus_queue_t *q, *other;
	int count;

	assert_ret(bus_queue_open(lt->bus, "lat", BUS_CONSUMER, &all, &q), 0);
	run_producer(lt, false, false);
	/* The first one waited PAUSE_MS in the ring: latency includes it. */
	usleep(PAUSE_MS * 1000);
	for (unsigned int n = 0; n < SENT; n++) {
		assert_ret(bus_receive(q, &m, SECOND), 0);
		assert_ret(bus_ack(q, &m), 0);
	}
	assert_ret(bus_queue_latency(q, &l), 0);
	assert_int_equal(l.count, SENT);
	assert_ordered(&l);
	assert_true(l.min_ns >= PAUSED_NS_LOW);
	assert_true(l.max_ns < 60ull * SECOND);

	/* Per consumer: ours has them all. */
	count = bus_queue_attachments(q, a, 8);
	assert_int_equal(count, 1);
	assert_int_equal(a[0].latency.count, SENT);

	/* Unstamped messages, and a consumer that turned it off, add
	 * nothing. */
	assert_ret(bus_queue_open(lt->bus, "lat", BUS_CONSUMER, &quiet,
				  &other),
		   0);
	run_producer(lt, false, true);
	run_producer(lt, false, false);
	for (unsigned int n = 0; n < 2 * SENT; n++) {
		assert_ret(bus_receive(n < SENT ? q : other, &m, SECOND), 0);
		assert_ret(bus_ack(n < SENT ? q : other, &m), 0);
	}
	assert_ret(bus_queue_latency(q, &l), 0);
	assert_int_equal(l.count, SENT);
	assert_ret(bus_queue_close(other), 0);

	/* By default one receive in BUS_LATENCY_EVERY_DEFAULT is counted. */
	assert_ret(bus_queue_open(lt->bus, "lat", BUS_CONSUMER, NULL, &other),
		   0);
	run_producer(lt, false, false);
	for (unsigned int n = 0; n < SENT; n++) {
		assert_ret(bus_receive(other, &m, SECOND), 0);
		assert_ret(bus_ack(other, &m), 0);
	}
	assert_ret(bus_queue_latency(q, &l), 0);
	assert_int_equal(l.count, SENT + SENT / BUS_LATENCY_EVERY_DEFAULT);
	assert_ret(bus_queue_close(other), 0);

	/* Kept after the consumer has gone: busd folds its histogram in. */
	assert_ret(bus_queue_open(lt->bus, "lat", BUS_OBSERVER, NULL, &other),
		   0);
	assert_ret(bus_queue_close(q), 0);
	assert_ret(bus_queue_latency(other, &l), 0);
	assert_int_equal(l.count, SENT + SENT / BUS_LATENCY_EVERY_DEFAULT);
	assert_ret(bus_queue_close(other), 0);
}

static void test_topic_latency(void **state)
{
	struct lt *lt = *state;
	struct bus_subscribe_options all = { .latency_every = 1 };
	struct bus_subscriber_stats stats;
	struct bus_latency l;
	bus_subscription_t *s;
	struct bus_message m;
	bus_topic_t *observer;

	assert_ret(bus_subscribe(lt->bus, "lat.t", &all, &s), 0);
	run_producer(lt, true, false);
	usleep(PAUSE_MS * 1000);
	for (unsigned int n = 0; n < SENT; n++)
		assert_ret(bus_subscription_receive(s, &m, NULL, SECOND), 0);
	assert_ret(bus_subscription_stats(s, &stats), 0);
	assert_int_equal(stats.latency.count, SENT);
	assert_ordered(&stats.latency);
	assert_true(stats.latency.min_ns >= PAUSED_NS_LOW);

	assert_ret(bus_topic_open(lt->bus, "lat.t", BUS_OBSERVER, NULL,
				  &observer),
		   0);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_latency(observer, &l), 0);
	assert_int_equal(l.count, SENT);
	assert_ret(bus_topic_close(observer), 0);
}

#define LT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, lt_setup, lt_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		LT_TEST(test_queue_latency),
		LT_TEST(test_topic_latency),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
