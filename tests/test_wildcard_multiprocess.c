/* SPDX-License-Identifier: MIT */
/*
 * Wildcard subscriptions and waitsets through a real busd, with publishers
 * in other processes (tests/bus_test_util.c starts a private busd).
 * Children never touch cmocka: they report through their exit status and
 * stderr.
 *
 * test_wildcard_multiprocess [CASE]   runs every case, or those matching
 * CASE (a cmocka glob).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "test_common.h"
#include "test_message.h"

#define MS (1000 * 1000)
#define SECOND (1000 * MS)
#define MAX_MESSAGE 64u
#define TOPICS 3u /* w.a, w.b (configured), w.c (created later) */
/* w.c's slots: its publisher fills them all before the wildcard has even
 * noticed w.c, and must then wait for it (busd reserved it a slot). */
#define W_C_SLOTS 64u

static const char config[] = "[topic w.a]\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic w.b]\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic w.a.deep]\n"
			     "slots = 64\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic other]\n"
			     "slots = 64\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue orders]\n"
			     "slots = 16\n"
			     "max_message = 64\n";

static const char *const topic_names[TOPICS] = { "w.a", "w.b", "w.c" };

static int mp_setup(void **state)
{
	return test_bus_setup(state, config);
}

__attribute__((format(printf, 1, 2), noreturn)) static void
child_fail(const char *format, ...)
{
	va_list args;

	fprintf(stderr, "child %d: ", (int)getpid());
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	_exit(1);
}

static void child_publish(bus_topic_t *topic, uint32_t publisher,
			  uint64_t sequence)
{
	uint32_t length =
		test_message_length(publisher, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	int ret;

	test_message_fill(payload, publisher, sequence, length);
	ret = bus_publish(topic, payload, length, 10ll * SECOND);
	if (ret)
		child_fail("publish %u/%" PRIu64 ": %s", publisher, sequence,
			   bus_strerror(ret));
}

/* Publishes count messages as publisher `publisher` to topic. */
static void publisher_child(const char *bus_name, const char *topic_name,
			    uint32_t publisher, uint64_t count)
{
	bus_topic_t *topic;
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	ret = bus_topic_open(bus, topic_name, BUS_PRODUCER, NULL, &topic);
	if (ret)
		child_fail("bus_topic_open(%s): %s", topic_name,
			   bus_strerror(ret));
	for (uint64_t sequence = 0; sequence < count; sequence++)
		child_publish(topic, publisher, sequence);
	bus_topic_close(topic);
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn_publisher(struct test_bus *mp, const char *topic,
			     uint32_t publisher, uint64_t count)
{
	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0)
		publisher_child(mp->busd.bus_name, topic, publisher, count);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	assert_int_equal(test_child_wait(pid, 60000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- a wildcard over existing and later topics ------------------------ */

static void test_wildcard_existing_and_later_topics(void **state)
{
	struct test_bus *mp = *state;
	uint64_t count = test_scaled(20000, 4 * W_C_SLOTS);
	struct bus_topic_settings settings;
	uint64_t next[TOPICS] = { 0 }, deadline;
	pid_t publishers[TOPICS + 1];
	struct bus_topic_stats stats = { 0 };
	bus_topic_t *observer;
	bus_wildcard_t *w;
	struct bus_message m;
	const char *from;
	uint64_t lost;

	/* w.* matches w.a and w.b but neither w.a.deep nor other. */
	assert_ret(bus_subscribe_pattern(mp->bus, "w.*", NULL, &w), 0);
	assert_ret(bus_wildcard_topics(w), 2);
	assert_ret(bus_wildcard_receive(w, &m, &from, NULL, BUS_NOWAIT),
		   -EAGAIN);
	assert_ret(bus_wildcard_receive(w, &m, &from, NULL, 20ll * MS),
		   -ETIMEDOUT);

	/* Created after we subscribed; its publisher starts at once. */
	bus_topic_settings_default(&settings);
	settings.slots = W_C_SLOTS;
	settings.max_message = MAX_MESSAGE;
	assert_ret(bus_topic_create(mp->bus, "w.c", &settings), 0);
	for (uint32_t i = 0; i < TOPICS; i++)
		publishers[i] = spawn_publisher(mp, topic_names[i], i, count);
	/* Never delivered: publisher 3 would fail the check below. */
	publishers[TOPICS] = spawn_publisher(mp, "other", TOPICS, 50);

	/* w.c's ring fills before we look, and its publisher must wait:
	 * busd gave the wildcard a slot when it created w.c, so the
	 * wildcard finds w.c afterwards and still gets every message. */
	assert_ret(bus_topic_open(mp->bus, "w.c", BUS_OBSERVER, NULL,
				  &observer),
		   0);
	deadline = test_now_ns() + 20ull * SECOND;
	while (!bus_topic_stats(observer, &stats) &&
	       stats.published < W_C_SLOTS && test_now_ns() < deadline)
		usleep(1000);
	assert_int_equal(stats.published, W_C_SLOTS);
	assert_int_equal(stats.subscribers, 1);
	usleep(50 * 1000);
	assert_ret(bus_topic_stats(observer, &stats), 0);
	assert_int_equal(stats.published, W_C_SLOTS);
	assert_ret(bus_topic_close(observer), 0);

	deadline = test_now_ns() + 120ull * SECOND;
	for (uint64_t got = 0; got < TOPICS * count;) {
		uint32_t publisher = 0;
		uint64_t sequence = 0;
		int ret = bus_wildcard_receive(w, &m, &from, &lost, SECOND);

		if (ret == -ETIMEDOUT && test_now_ns() < deadline)
			continue;
		assert_ret(ret, 0);
		assert_int_equal(lost, 0);
		assert_ret(test_message_check(m.payload, m.length, &publisher,
					      &sequence),
			   0);
		assert_true(publisher < TOPICS);
		/* From the topic it came from, in that topic's order. */
		assert_string_equal(from, topic_names[publisher]);
		if (sequence != next[publisher])
			fail_msg("%s: %" PRIu64 " after %" PRIu64, from,
				 sequence, next[publisher]);
		next[publisher]++;
		got++;
	}
	assert_ret(bus_wildcard_topics(w), 3);
	for (uint32_t i = 0; i <= TOPICS; i++)
		reap(publishers[i]);
	assert_ret(bus_wildcard_receive(w, &m, &from, NULL, 20ll * MS),
		   -ETIMEDOUT);

	/* A deleted member is dropped, not an error. */
	assert_ret(bus_topic_delete(mp->bus, "w.c"), 0);
	assert_ret(bus_wildcard_receive(w, &m, &from, NULL, 20ll * MS),
		   -ETIMEDOUT);
	assert_ret(bus_wildcard_topics(w), 2);
	assert_ret(bus_wildcard_close(w), 0);

	/* '>' reaches deeper; bad patterns are refused. */
	assert_ret(bus_subscribe_pattern(mp->bus, "w.>", NULL, &w), 0);
	assert_ret(bus_wildcard_topics(w), 3);
	assert_ret(bus_wildcard_close(w), 0);
	assert_ret(bus_subscribe_pattern(mp->bus, "w.>.a", NULL, &w), -EINVAL);
}

/* ---- waitsets ----------------------------------------------------------- */

/* After delay_ms, sends one message to the queue (to_queue) or publishes
 * one to the topic. */
static void poke_child(const char *bus_name, int to_queue, int delay_ms)
{
	bus_queue_t *q;
	bus_topic_t *t;
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	if (to_queue)
		ret = bus_queue_open(bus, "orders", BUS_PRODUCER, NULL, &q);
	else
		ret = bus_topic_open(bus, "w.b", BUS_PRODUCER, NULL, &t);
	if (ret)
		child_fail("open: %s", bus_strerror(ret));
	usleep((useconds_t)delay_ms * 1000);
	if (to_queue)
		ret = bus_send(q, "queued", 6, SECOND);
	else
		ret = bus_publish(t, "published", 9, SECOND);
	if (ret)
		child_fail("send: %s", bus_strerror(ret));
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn_poke(struct test_bus *mp, int to_queue, int delay_ms)
{
	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0)
		poke_child(mp->busd.bus_name, to_queue, delay_ms);
	return pid;
}

#define TAG_QUEUE ((void *)1)
#define TAG_TOPIC ((void *)2)
#define TAG_WILDCARD ((void *)3)

/* Waits for exactly one ready member and checks which. */
static void expect_ready(bus_waitset_t *ws, void *tag, uint64_t at_least_ns)
{
	uint64_t start = test_now_ns();
	void *ready[4];

	assert_ret(bus_waitset_wait(ws, 10ll * SECOND, ready, 4), 1);
	assert_ptr_equal(ready[0], tag);
	/* It slept until the other process sent. */
	assert_true(test_now_ns() - start >= at_least_ns);
}

static void test_waitset_queue_and_topic(void **state)
{
	struct test_bus *mp = *state;
	bus_subscription_t *s;
	bus_waitset_t *ws;
	bus_queue_t *q;
	struct bus_message m;
	void *ready[4];
	uint64_t start;
	char buf[16];

	assert_ret(bus_queue_open(mp->bus, "orders", BUS_CONSUMER, NULL, &q),
		   0);
	assert_ret(bus_subscribe(mp->bus, "w.b", NULL, &s), 0);
	assert_ret(bus_waitset_create(&ws), 0);
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), -EINVAL);
	assert_ret(bus_waitset_add_queue(ws, q, TAG_QUEUE), 0);
	assert_ret(bus_waitset_add_queue(ws, q, TAG_QUEUE), -EEXIST);
	assert_ret(bus_waitset_add_subscription(ws, s, TAG_TOPIC), 0);

	/* Neither has data. */
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), -EAGAIN);
	start = test_now_ns();
	assert_ret(bus_waitset_wait(ws, 50ll * MS, ready, 4), -ETIMEDOUT);
	assert_true(test_now_ns() - start >= 50ull * MS);

	/* A publish in another process wakes it... */
	reap(spawn_poke(mp, 0, 50));
	expect_ready(ws, TAG_TOPIC, 0);
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   9);
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), -EAGAIN);

	/* ...while we sleep, for the topic and for the queue. */
	pid_t pid = spawn_poke(mp, 0, 100);
	expect_ready(ws, TAG_TOPIC, 50ull * MS);
	reap(pid);
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   9);
	pid = spawn_poke(mp, 1, 100);
	expect_ready(ws, TAG_QUEUE, 50ull * MS);
	reap(pid);
	assert_ret(bus_receive(q, &m, BUS_NOWAIT), 0);
	assert_int_equal(m.length, 6);
	assert_ret(bus_ack(q, &m), 0);

	/* Both at once. */
	reap(spawn_poke(mp, 1, 0));
	reap(spawn_poke(mp, 0, 0));
	assert_ret(bus_waitset_wait(ws, SECOND, ready, 4), 2);
	assert_ret(bus_waitset_wait(ws, SECOND, ready, 1), 1);

	/* Cancelled; removal. */
	bus_waitset_cancel(ws);
	assert_ret(bus_waitset_remove(ws, q), 0);
	assert_ret(bus_waitset_remove(ws, q), -ENOENT);
	assert_ret(bus_waitset_wait(ws, SECOND, ready, 4), 1);
	assert_ptr_equal(ready[0], TAG_TOPIC);
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   9);
	assert_ret(bus_waitset_wait(ws, SECOND, ready, 4), -ECANCELED);
	bus_waitset_uncancel(ws);
	assert_ret(bus_waitset_wait(ws, 10ll * MS, ready, 4), -ETIMEDOUT);

	bus_waitset_destroy(ws);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_queue_close(q), 0);
}

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* The waitset's fd in a poll loop. */
static void test_waitset_fd(void **state)
{
	struct test_bus *mp = *state;
	bus_subscription_t *s;
	bus_waitset_t *ws;
	bus_queue_t *q;
	struct bus_message m;
	void *ready[4];
	char buf[16];
	int fd;

	assert_ret(bus_queue_open(mp->bus, "orders", BUS_CONSUMER, NULL, &q),
		   0);
	assert_ret(bus_subscribe(mp->bus, "w.b", NULL, &s), 0);
	assert_ret(bus_waitset_create(&ws), 0);
	assert_ret(bus_waitset_add_queue(ws, q, TAG_QUEUE), 0);
	assert_ret(bus_waitset_add_subscription(ws, s, TAG_TOPIC), 0);
	assert_ret(bus_waitset_arm(ws), -EINVAL); /* no fd yet */
	fd = bus_waitset_fd(ws);
	if (fd == -ENOSYS) {
		fprintf(stderr, "no io_uring FUTEX_WAITV here: fd part "
				"skipped\n");
		bus_waitset_destroy(ws);
		bus_unsubscribe(s);
		bus_queue_close(q);
		skip();
	}
	assert_true(fd >= 0);
	assert_ret(bus_waitset_fd(ws), fd);

	/* Armed with nothing there: not readable until a publish. */
	assert_ret(bus_waitset_arm(ws), 0);
	assert_false(readable(fd, 20));
	pid_t pid = spawn_poke(mp, 0, 50);
	assert_true(readable(fd, 10000));
	reap(pid);
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), 1);
	assert_ptr_equal(ready[0], TAG_TOPIC);
	assert_false(readable(fd, 0)); /* drained by the wait */

	/* Armed with data already there: readable at once. */
	assert_ret(bus_waitset_arm(ws), 0);
	assert_true(readable(fd, 1000));
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), 1);
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   9);

	/* The queue, from another process. */
	assert_ret(bus_waitset_arm(ws), 0);
	assert_false(readable(fd, 20));
	pid = spawn_poke(mp, 1, 50);
	assert_true(readable(fd, 10000));
	reap(pid);
	assert_ret(bus_waitset_wait(ws, BUS_NOWAIT, ready, 4), 1);
	assert_ptr_equal(ready[0], TAG_QUEUE);
	assert_ret(bus_receive(q, &m, BUS_NOWAIT), 0);
	assert_ret(bus_ack(q, &m), 0);

	/* Armed and then disarmed by a wait that times out: no leftovers. */
	assert_ret(bus_waitset_arm(ws), 0);
	assert_ret(bus_waitset_wait(ws, 10ll * MS, ready, 4), -ETIMEDOUT);
	assert_false(readable(fd, 0));
	/* Destroyed while armed. */
	assert_ret(bus_waitset_arm(ws), 0);
	bus_waitset_destroy(ws);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_queue_close(q), 0);
}

/* A wildcard member wakes the waitset when a matching topic is created
 * and then published to. */
static void test_waitset_wildcard_new_topic(void **state)
{
	struct test_bus *mp = *state;
	bus_wildcard_t *w;
	bus_waitset_t *ws;
	void *ready[4];
	const char *from;
	char buf[16];

	assert_ret(bus_subscribe_pattern(mp->bus, "x.>", NULL, &w), 0);
	assert_ret(bus_wildcard_topics(w), 0);
	assert_ret(bus_waitset_create(&ws), 0);
	assert_ret(bus_waitset_add_wildcard(ws, w, TAG_WILDCARD), 0);
	assert_ret(bus_waitset_wait(ws, 20ll * MS, ready, 4), -ETIMEDOUT);

	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		bus_topic_t *t;
		bus_t *bus;
		int ret = bus_connect(mp->busd.bus_name, &bus);

		usleep(100 * 1000);
		if (!ret)
			ret = bus_topic_create(bus, "x.y.z", NULL);
		if (!ret)
			ret = bus_topic_open(bus, "x.y.z", BUS_PRODUCER, NULL,
					     &t);
		if (!ret)
			ret = bus_publish(t, "new", 3, SECOND);
		if (ret)
			child_fail("x.y.z: %s", bus_strerror(ret));
		bus_disconnect(bus);
		_exit(0);
	}
	/* Woken by the creation (or the publish), whichever comes. */
	for (int rounds = 0;; rounds++) {
		int ret = bus_wildcard_receive_copy(w, buf, sizeof(buf), &from,
						    NULL, BUS_NOWAIT);

		if (ret == 3)
			break;
		assert_ret(ret, -EAGAIN);
		assert_true(rounds < 4);
		assert_ret(bus_waitset_wait(ws, 10ll * SECOND, ready, 4), 1);
		assert_ptr_equal(ready[0], TAG_WILDCARD);
	}
	reap(pid);
	assert_string_equal(from, "x.y.z");
	assert_memory_equal(buf, "new", 3);
	bus_waitset_destroy(ws);
	assert_ret(bus_wildcard_close(w), 0);
}

/* ---- reserved slots go back ------------------------------------------- */

/* Subscribers of name as an observer sees them; -1 on error. */
static int subscribers_of(struct test_bus *mp, const char *name)
{
	struct bus_topic_stats stats;
	bus_topic_t *observer;
	int ret = bus_topic_open(mp->bus, name, BUS_OBSERVER, NULL, &observer);

	if (ret)
		return -1;
	ret = bus_topic_stats(observer, &stats);
	bus_topic_close(observer);
	return ret ? -1 : (int)stats.subscribers;
}

/* A child holding a wildcard on x.* until it is killed. */
static void wildcard_holder_child(const char *bus_name, int ready_fd)
{
	bus_wildcard_t *w;
	bus_t *bus;

	if (bus_connect(bus_name, &bus) ||
	    bus_subscribe_pattern(bus, "x.*", NULL, &w))
		child_fail("cannot subscribe to x.*");
	if (write(ready_fd, "r", 1) != 1)
		child_fail("cannot say ready");
	for (;;)
		pause();
}

static void wait_subscribers(struct test_bus *mp, const char *name,
			     int expected)
{
	uint64_t deadline = test_now_ns() + 20ull * SECOND;

	while (subscribers_of(mp, name) != expected &&
	       test_now_ns() < deadline)
		usleep(1000);
	assert_int_equal(subscribers_of(mp, name), expected);
}

/*
 * The slots busd reserves for a wildcard in a new topic are given back
 * when the wildcard closes or its process dies without ever taking them,
 * so that a block topic's publisher is not held back by nobody.
 */
static void test_wildcard_reservation_given_back(void **state)
{
	struct test_bus *mp = *state;
	bus_wildcard_t *w;
	int ready[2], status;
	char byte;
	pid_t pid;

	assert_ret(bus_subscribe_pattern(mp->bus, "x.*", NULL, &w), 0);
	assert_ret(bus_topic_create(mp->bus, "x.one", NULL), 0);
	assert_int_equal(subscribers_of(mp, "x.one"), 1);
	assert_ret(bus_wildcard_close(w), 0);
	assert_int_equal(subscribers_of(mp, "x.one"), 0);

	assert_int_equal(pipe(ready), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		wildcard_holder_child(mp->busd.bus_name, ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	assert_ret(bus_topic_create(mp->bus, "x.two", NULL), 0);
	assert_int_equal(subscribers_of(mp, "x.two"), 1);
	/* A pattern that does not match reserves nothing. */
	assert_ret(bus_topic_create(mp->bus, "y.two", NULL), 0);
	assert_int_equal(subscribers_of(mp, "y.two"), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(test_child_wait(pid, 20000, &status), 0);
	/* busd notices the death through the pidfd; soon, not at once. */
	wait_subscribers(mp, "x.two", 0);
}

/*
 * A topic deleted and created again under the same name is a new topic:
 * the wildcard takes the slot reserved in it, though the old one was a
 * member when the new one appeared.
 */
static void test_wildcard_topic_created_again(void **state)
{
	struct test_bus *mp = *state;
	struct bus_topic_settings settings;
	bus_topic_t *publisher;
	struct bus_message m;
	bus_wildcard_t *w;
	const char *from;
	uint64_t n;

	bus_topic_settings_default(&settings);
	settings.slots = 8;
	settings.max_message = MAX_MESSAGE;
	assert_ret(bus_subscribe_pattern(mp->bus, "r.*", NULL, &w), 0);
	for (int round = 0; round < 2; round++) {
		assert_ret(bus_topic_create(mp->bus, "r.a", &settings), 0);
		assert_ret(bus_topic_open(mp->bus, "r.a", BUS_PRODUCER, NULL,
					  &publisher),
			   0);
		/* A whole ring: only a reserved slot keeps it. */
		for (n = 0; n < settings.slots; n++)
			assert_ret(bus_publish(publisher, &n, sizeof(n),
					       SECOND),
				   0);
		for (uint64_t want = 0; want < settings.slots; want++) {
			assert_ret(bus_wildcard_receive(w, &m, &from, NULL,
							SECOND),
				   0);
			memcpy(&n, m.payload, sizeof(n));
			assert_int_equal(n, want);
		}
		assert_ret(bus_topic_close(publisher), 0);
		assert_ret(bus_topic_delete(mp->bus, "r.a"), 0);
	}
	assert_ret(bus_wildcard_close(w), 0);
}

#define MP_TEST(name) \
	cmocka_unit_test_setup_teardown(name, mp_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		MP_TEST(test_wildcard_existing_and_later_topics),
		MP_TEST(test_waitset_queue_and_topic),
		MP_TEST(test_waitset_wildcard_new_topic),
		MP_TEST(test_waitset_fd),
		MP_TEST(test_wildcard_reservation_given_back),
		MP_TEST(test_wildcard_topic_created_again),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("wildcard_multiprocess", tests,
					   NULL, NULL)
		       ? 1
		       : 0;
}
