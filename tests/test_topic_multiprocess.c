/* SPDX-License-Identifier: MIT */
/*
 * Multi-process tests of topics through a real busd: every case starts a
 * private busd (tests/bus_test_util.c) and forks publisher and subscriber
 * processes, each of which connects on its own.  Children never touch
 * cmocka: they report through their exit status, stderr and a shared
 * scoreboard.
 *
 * test_topic_multiprocess [CASE]   runs every case, or those matching CASE
 * (a cmocka glob); exits 77 when every case that ran was skipped.  Message
 * counts scale with $BUS_TEST_SCALE (a float, default 1).
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
/* A child that sees nothing move for this long gives up. */
#define IDLE_LIMIT_NS (30ll * SECOND)
#define MAX_PUBLISHERS 4u

static const char config[] = "[topic fanout]\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic lossy]\n"
			     "slots = 256\n"
			     "max_message = 64\n"
			     "slow_subscriber = overwrite\n"
			     "\n"
			     "[topic late]\n"
			     "slots = 64\n"
			     "max_message = 64\n"
			     "history = 8\n"
			     "\n"
			     "[topic held]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic pair]\n"
			     "slots = 256\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic small]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "max_subscribers = 2\n"
			     "max_publishers = 1\n"
			     "\n"
			     "[queue orders]\n"
			     "slots = 16\n"
			     "max_message = 64\n";

static int cases_run, cases_skipped;

/* What the processes of one case share. */
struct scoreboard {
	_Atomic uint32_t ready;	    /* subscribers subscribed */
	_Atomic uint32_t published; /* publishers done */
	_Atomic int failed;
	char error[512];
};

struct mp {
	struct test_bus tb;
	struct scoreboard *board;
};

static int mp_setup(void **state)
{
	struct mp *mp = calloc(1, sizeof(*mp));

	if (!mp)
		return -1;
	*state = mp;
	cases_run++;
	mp->board = mmap(NULL, sizeof(*mp->board), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mp->board == MAP_FAILED || test_bus_start(&mp->tb, config)) {
		/* cmocka skips the teardown of a failed set-up. */
		if (mp->board != MAP_FAILED)
			munmap(mp->board, sizeof(*mp->board));
		free(mp);
		*state = NULL;
		return -1;
	}
	return 0;
}

/* Runs after failures too: children, busd, /dev/shm, runtime dir. */
static int mp_teardown(void **state)
{
	struct mp *mp = *state;
	/* busd must stop cleanly and unlink every segment. */
	int ret = test_bus_stop(&mp->tb);

	munmap(mp->board, sizeof(*mp->board));
	free(mp);
	return ret;
}

/* ---- children ------------------------------------------------------- */

static void child_fail(struct scoreboard *board, const char *format, ...)
{
	char line[sizeof(board->error)];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	fprintf(stderr, "child %d: %s\n", (int)getpid(), line);
	if (!atomic_exchange(&board->failed, 1))
		memcpy(board->error, line, sizeof(line));
	_exit(1);
}

static bus_t *child_connect(struct scoreboard *board, const char *bus_name)
{
	bus_t *bus;
	int ret = bus_connect(bus_name, &bus);

	if (ret)
		child_fail(board, "bus_connect: %s", bus_strerror(ret));
	return bus;
}

static bus_subscription_t *child_subscribe(struct scoreboard *board,
					   bus_t *bus, const char *topic)
{
	bus_subscription_t *s;
	int ret = bus_subscribe(bus, topic, NULL, &s);

	if (ret)
		child_fail(board, "bus_subscribe(%s): %s (%s)", topic,
			   bus_strerror(ret), bus_error_detail(bus));
	atomic_fetch_add(&board->ready, 1);
	return s;
}

/* Waits (a child or the parent) until n subscribers are in. */
static void wait_ready(struct scoreboard *board, uint32_t n)
{
	uint64_t deadline = test_now_ns() + 20ull * SECOND;

	while (atomic_load(&board->ready) < n) {
		if (atomic_load(&board->failed) || test_now_ns() > deadline)
			child_fail(board, "subscribers not ready");
		usleep(1000);
	}
}

struct publisher_job {
	const char *bus_name;
	const char *topic;
	uint32_t publisher;
	uint64_t count;
	uint32_t wait_for; /* subscribers to wait for first */
};

static int publish(bus_topic_t *topic, const struct publisher_job *job,
		   uint64_t sequence)
{
	uint32_t length =
		test_message_length(job->publisher, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	struct bus_message loan;
	int ret;

	/* Half by copy, half by loan. */
	if (sequence & 1) {
		test_message_fill(payload, job->publisher, sequence, length);
		return bus_publish(topic, payload, length, 10ll * SECOND);
	}
	ret = bus_topic_loan(topic, &loan, 10ll * SECOND);
	if (ret)
		return ret;
	test_message_fill(loan.payload, job->publisher, sequence, length);
	return bus_topic_commit(topic, &loan, length);
}

static void publisher_child(struct scoreboard *board,
			    const struct publisher_job *job)
{
	bus_t *bus = child_connect(board, job->bus_name);
	bus_topic_t *topic;
	int ret;

	ret = bus_topic_open(bus, job->topic, BUS_PRODUCER, NULL, &topic);
	if (ret)
		child_fail(board, "bus_topic_open(%s): %s (%s)", job->topic,
			   bus_strerror(ret), bus_error_detail(bus));
	wait_ready(board, job->wait_for);
	for (uint64_t sequence = 0; sequence < job->count; sequence++) {
		ret = publish(topic, job, sequence);
		if (ret)
			child_fail(board, "publisher %u at %" PRIu64 ": %s",
				   job->publisher, sequence,
				   bus_strerror(ret));
		if ((sequence & 1023) == 0 && atomic_load(&board->failed))
			_exit(1);
	}
	atomic_fetch_add(&board->published, 1);
	bus_topic_close(topic);
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn_publisher(struct mp *mp, const char *topic,
			     uint32_t publisher, uint64_t count,
			     uint32_t wait_for)
{
	struct publisher_job job = { mp->tb.busd.bus_name, topic, publisher,
				     count, wait_for };
	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0)
		publisher_child(mp->board, &job);
	return pid;
}

/* What a subscriber saw. */
struct tally {
	uint64_t next[MAX_PUBLISHERS]; /* per publisher */
	int gap_allowed[MAX_PUBLISHERS];
	uint64_t received;
	uint64_t lost;
};

/*
 * Checks one message: intact, and per publisher the next one, unless a
 * loss was reported since that publisher's last message.
 */
static void tally_check(struct scoreboard *board, struct tally *t,
			const struct bus_message *m, uint64_t lost,
			uint32_t publishers, uint64_t count)
{
	uint32_t publisher;
	uint64_t sequence;

	if (test_message_check(m->payload, m->length, &publisher, &sequence) ||
	    publisher >= publishers || sequence >= count)
		child_fail(board, "corrupt message of %u bytes", m->length);
	if (lost)
		for (uint32_t p = 0; p < MAX_PUBLISHERS; p++)
			t->gap_allowed[p] = 1;
	if (sequence < t->next[publisher] ||
	    (sequence != t->next[publisher] && !t->gap_allowed[publisher]))
		child_fail(board,
			   "publisher %u's %" PRIu64 " after %" PRIu64
			   " (lost %" PRIu64 ")",
			   publisher, sequence, t->next[publisher], lost);
	t->next[publisher] = sequence + 1;
	t->gap_allowed[publisher] = 0;
	t->received++;
	t->lost += lost;
}

/* ---- block: fan-out in order ----------------------------------------- */

#define FANOUT_SUBSCRIBERS 4u

static void fanout_subscriber_child(struct scoreboard *board,
				    const char *bus_name, uint64_t count)
{
	bus_t *bus = child_connect(board, bus_name);
	bus_subscription_t *s = child_subscribe(board, bus, "fanout");
	uint64_t idle_since = test_now_ns();
	struct tally t = { 0 };
	struct bus_message m;

	while (t.received < count) {
		uint64_t lost = 0;
		int ret = bus_subscription_receive(s, &m, &lost, 100ll * MS);

		if (ret == -ETIMEDOUT) {
			if (test_now_ns() - idle_since > IDLE_LIMIT_NS)
				child_fail(board,
					   "nothing for 30 s after %" PRIu64,
					   t.received);
			if (atomic_load(&board->failed))
				_exit(1);
			continue;
		}
		if (ret)
			child_fail(board, "receive: %s", bus_strerror(ret));
		if (lost)
			child_fail(board, "lost %" PRIu64 " under block",
				   lost);
		tally_check(board, &t, &m, 0, 1, count);
		idle_since = test_now_ns();
	}
	bus_unsubscribe(s);
	bus_disconnect(bus);
	_exit(0);
}

static void wait_children(struct scoreboard *board, pid_t *pids,
			  unsigned int count, int timeout_ms)
{
	uint64_t deadline = test_now_ns() + (uint64_t)timeout_ms * MS;
	unsigned int left = count;

	while (left) {
		for (unsigned int i = 0; i < count; i++) {
			int status;

			if (!pids[i] || test_child_wait(pids[i], 0, &status))
				continue;
			pids[i] = 0;
			left--;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				continue;
			test_children_kill();
			fail_msg("child %u ended with status %#x: %s", i,
				 status,
				 board->error[0] ? board->error
						 : "see its stderr");
		}
		if (left && test_now_ns() > deadline) {
			test_children_kill();
			fail_msg("children still running after %d s",
				 timeout_ms / 1000);
		}
		usleep(1000);
	}
}

static struct bus_topic_stats topic_stats(bus_t *bus, const char *name)
{
	struct bus_topic_stats stats;
	bus_topic_t *observer;

	assert_ret(bus_topic_open(bus, name, BUS_OBSERVER, NULL, &observer),
		   0);
	assert_ret(bus_topic_stats(observer, &stats), 0);
	assert_ret(bus_topic_close(observer), 0);
	return stats;
}

static void test_topic_multiprocess_block_fan_out_in_order(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(1000000, 1000);
	pid_t pids[FANOUT_SUBSCRIBERS + 1];
	uint64_t start = test_now_ns();

	for (uint32_t i = 0; i < FANOUT_SUBSCRIBERS; i++) {
		pids[i] = test_fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			fanout_subscriber_child(mp->board,
						mp->tb.busd.bus_name, count);
	}
	pids[FANOUT_SUBSCRIBERS] =
		spawn_publisher(mp, "fanout", 0, count, FANOUT_SUBSCRIBERS);
	wait_children(mp->board, pids, FANOUT_SUBSCRIBERS + 1, 280 * 1000);

	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "fanout");
	assert_int_equal(stats.published, count);
	assert_int_equal(stats.received, FANOUT_SUBSCRIBERS * count);
	assert_int_equal(stats.lost, 0);
	assert_int_equal(stats.subscribers, 0);
	printf("fan-out: %" PRIu64 " messages to %u subscribers in %.2f s\n",
	       count, FANOUT_SUBSCRIBERS,
	       (double)(test_now_ns() - start) / SECOND);
}

/* ---- overwrite: received + lost == published ------------------------- */

static void lossy_subscriber_child(struct scoreboard *board,
				   const char *bus_name, uint64_t count,
				   int slow)
{
	bus_t *bus = child_connect(board, bus_name);
	bus_subscription_t *s = child_subscribe(board, bus, "lossy");
	struct bus_subscriber_stats stats;
	struct tally t = { 0 };
	struct bus_message m;

	for (;;) {
		/* Read the flag first: a publisher done before we look is
		 * done before our next receive too. */
		int done = atomic_load(&board->published) == 1;
		uint64_t lost = 0;
		int ret = bus_subscription_receive(
			s, &m, &lost, done ? BUS_NOWAIT : 10ll * MS);

		if (ret == -EAGAIN && done)
			break;
		if (ret == -ETIMEDOUT || ret == -EAGAIN)
			continue;
		if (ret)
			child_fail(board, "receive: %s", bus_strerror(ret));
		tally_check(board, &t, &m, lost, 1, count);
		/* The slow one dawdles: it must be lapped. */
		if (slow && t.received % 64 == 0)
			usleep(2000);
	}
	if (t.received + t.lost != count)
		child_fail(board,
			   "%s subscriber: %" PRIu64 " received + %" PRIu64
			   " lost != %" PRIu64 " published",
			   slow ? "slow" : "fast", t.received, t.lost, count);
	if (slow && !t.lost)
		child_fail(board, "the slow subscriber was never lapped");
	bus_subscription_stats(s, &stats);
	if (stats.received != t.received || stats.lost != t.lost ||
	    (t.lost && !stats.lapped))
		child_fail(board,
			   "figures: %" PRIu64 " received, %" PRIu64
			   " lost, %" PRIu64 " lapped",
			   stats.received, stats.lost, stats.lapped);
	printf("%s subscriber: %" PRIu64 " received, %" PRIu64
	       " lost in %" PRIu64 " laps\n",
	       slow ? "slow" : "fast", t.received, t.lost, stats.lapped);
	fflush(stdout);
	bus_unsubscribe(s);
	bus_disconnect(bus);
	_exit(0);
}

static void test_topic_multiprocess_overwrite_counts_every_loss(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(200000, 2000);
	pid_t pids[3];

	for (int i = 0; i < 2; i++) {
		pids[i] = test_fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			lossy_subscriber_child(mp->board, mp->tb.busd.bus_name,
					       count, i == 0);
	}
	pids[2] = spawn_publisher(mp, "lossy", 0, count, 2);
	wait_children(mp->board, pids, 3, 120 * 1000);

	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "lossy");
	assert_int_equal(stats.published, count);
	assert_int_equal(stats.received + stats.lost, 2 * count);
	assert_true(stats.lapped > 0);
}

/* ---- joining late ----------------------------------------------------- */

static void expect_values(bus_subscription_t *s, uint64_t first, uint64_t end)
{
	uint8_t buf[MAX_MESSAGE];

	for (uint64_t v = first; v < end; v++) {
		uint32_t publisher;
		uint64_t sequence, lost = 9;
		int n = bus_subscription_receive_copy(s, buf, sizeof(buf),
						      &lost, 5ll * SECOND);

		assert_true(n > 0);
		assert_ret(test_message_check(buf, (uint32_t)n, &publisher,
					      &sequence),
			   0);
		assert_int_equal(sequence, v);
		assert_int_equal(lost, 0);
	}
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   -EAGAIN);
}

static void
test_topic_multiprocess_late_subscriber_sees_newer_or_history(void **state)
{
	struct mp *mp = *state;
	struct bus_subscribe_options history = { .history = 5 };
	struct bus_subscribe_options too_much = { .history = 9 };
	bus_subscription_t *plain, *with_history, *refused = NULL;
	pid_t pid;

	pid = spawn_publisher(mp, "late", 0, 20, 0);
	wait_children(mp->board, &pid, 1, 20 * 1000);

	assert_ret(bus_subscribe(mp->tb.bus, "late", NULL, &plain), 0);
	assert_ret(bus_subscribe(mp->tb.bus, "late", &history, &with_history),
		   0);
	assert_ret(bus_subscribe(mp->tb.bus, "late", &too_much, &refused),
		   -EINVAL);
	assert_null(refused);
	assert_non_null(strstr(bus_error_detail(mp->tb.bus), "history"));

	/* Only newer ones: none yet.  With history: the last 5. */
	expect_values(plain, 0, 0);
	expect_values(with_history, 15, 20);

	/* A second publisher process starts its own sequence at 0. */
	pid = spawn_publisher(mp, "late", 0, 3, 0);
	wait_children(mp->board, &pid, 1, 20 * 1000);
	expect_values(plain, 0, 3);
	expect_values(with_history, 0, 3);
	assert_ret(bus_unsubscribe(plain), 0);
	assert_ret(bus_unsubscribe(with_history), 0);
}

/* ---- a subscriber that goes frees its slot --------------------------- */

/*
 * Subscribes to "held", says so and reads nothing.  Then it waits to be
 * killed, or for the parent's word (board->published) to exit without
 * unsubscribing: busd notices the exit either way.
 */
static void idle_subscriber_child(struct scoreboard *board,
				  const char *bus_name, int linger)
{
	bus_t *bus = child_connect(board, bus_name);

	child_subscribe(board, bus, "held");
	while (linger || !atomic_load(&board->published))
		usleep(1000);
	_exit(0);
}

/* Fills "held" (16 slots) for one subscriber that reads nothing, then
 * shows the publisher is held until that subscriber goes. */
static void held_round(struct mp *mp, bus_topic_t *publisher, int kill_it)
{
	uint64_t start, elapsed;
	uint32_t value = 7;
	int status;
	pid_t pid;

	atomic_store(&mp->board->ready, 0);
	atomic_store(&mp->board->published, 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		idle_subscriber_child(mp->board, mp->tb.busd.bus_name,
				      kill_it);
	wait_ready(mp->board, 1);
	for (int i = 0; i < 16; i++)
		assert_ret(bus_publish(publisher, &value, sizeof(value),
				       BUS_NOWAIT),
			   0);
	assert_ret(bus_publish(publisher, &value, sizeof(value), BUS_NOWAIT),
		   -ENOBUFS);
	/* Waits for the idle subscriber, in vain: a counted wait. */
	assert_ret(bus_publish(publisher, &value, sizeof(value), 20ll * MS),
		   -ETIMEDOUT);
	if (kill_it) {
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
	} else {
		atomic_store(&mp->board->published, 1);
	}
	/* busd sees the exit and frees the slot; the publisher wakes. */
	start = test_now_ns();
	assert_ret(bus_publish(publisher, &value, sizeof(value),
			       10ll * SECOND),
		   0);
	elapsed = test_now_ns() - start;
	if (elapsed > 5ull * SECOND)
		fail_msg("the publisher was held %" PRIu64 " ms",
			 elapsed / MS);
	if (!kill_it)
		assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
}

static void
test_topic_multiprocess_gone_subscriber_frees_publisher(void **state)
{
	struct mp *mp = *state;
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	bus_topic_t *publisher;

	assert_ret(bus_topic_open(mp->tb.bus, "held", BUS_PRODUCER, &options,
				  &publisher),
		   0);
	held_round(mp, publisher, 0);
	held_round(mp, publisher, 1);
	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "held");
	assert_int_equal(stats.subscribers, 0);
	assert_int_equal(stats.rejected, 4);
	/* The timed-out publish of each round waited, and the last one
	 * may have (if busd had not freed the slot yet); NOWAIT ones do
	 * not count. */
	assert_in_range(stats.backpressure_waits, 2, 4);
	assert_ret(bus_topic_close(publisher), 0);
}

/* ---- two publishers keep their order ---------------------------------- */

static void test_topic_multiprocess_two_publishers_keep_order(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(100000, 1000);
	bus_subscription_t *s;
	struct tally t = { 0 };
	struct bus_message m;
	pid_t pids[2];

	assert_ret(bus_subscribe(mp->tb.bus, "pair", NULL, &s), 0);
	for (uint32_t p = 0; p < 2; p++)
		pids[p] = spawn_publisher(mp, "pair", p, count, 0);
	while (t.received < 2 * count) {
		uint64_t lost = 0;
		int ret =
			bus_subscription_receive(s, &m, &lost, 30ll * SECOND);

		if (ret)
			fail_msg("receive after %" PRIu64 ": %s", t.received,
				 bus_strerror(ret));
		assert_int_equal(lost, 0);
		tally_check(mp->board, &t, &m, 0, 2, count);
	}
	wait_children(mp->board, pids, 2, 60 * 1000);
	assert_int_equal(t.next[0], count);
	assert_int_equal(t.next[1], count);
	assert_ret(bus_unsubscribe(s), 0);
}

/* ---- a publisher killed mid-loan -------------------------------------- */

static void loan_holder_child(struct scoreboard *board, const char *bus_name)
{
	bus_t *bus = child_connect(board, bus_name);
	struct bus_message loan;
	bus_topic_t *topic;
	int ret = bus_topic_open(bus, "pair", BUS_PRODUCER, NULL, &topic);

	if (ret == 0)
		ret = bus_topic_loan(topic, &loan, BUS_NOWAIT);
	if (ret)
		child_fail(board, "loan: %s", bus_strerror(ret));
	memset(loan.payload, 0xee, loan.capacity); /* half-written */
	atomic_fetch_add(&board->ready, 1);
	for (;;)
		pause();
}

static void
test_topic_multiprocess_killed_publisher_loan_is_padded(void **state)
{
	struct mp *mp = *state;
	bus_topic_t *publisher;
	bus_subscription_t *s;
	char buf[MAX_MESSAGE];
	int status;
	pid_t pid;

	assert_ret(bus_subscribe(mp->tb.bus, "pair", NULL, &s), 0);
	assert_ret(bus_topic_open(mp->tb.bus, "pair", BUS_PRODUCER, NULL,
				  &publisher),
		   0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		loan_holder_child(mp->board, mp->tb.busd.bus_name);
	wait_ready(mp->board, 1);
	assert_ret(bus_publish(publisher, "after", 5, BUS_NOWAIT), 0);
	/* The open loan comes first in the ring: nothing to read yet. */
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   -EAGAIN);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
	/* busd pads the loan: the torn message is never delivered. */
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 5ll * SECOND),
		   5);
	assert_memory_equal(buf, "after", 5);
	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "pair");
	assert_int_equal(stats.padded, 1);
	assert_int_equal(stats.published, 1);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(publisher), 0);
}

/* ---- limits, names, last value, delete -------------------------------- */

static void test_topic_multiprocess_limits_and_names(void **state)
{
	struct mp *mp = *state;
	bus_subscription_t *a, *b, *c = NULL;
	bus_topic_t *p1, *p2 = NULL;
	bus_queue_t *queue = NULL;
	char name[BUS_NAME_MAX + 1];
	uint32_t kind, topics = 0;

	assert_ret(bus_subscribe(mp->tb.bus, "small", NULL, &a), 0);
	assert_ret(bus_subscribe(mp->tb.bus, "small", NULL, &b), 0);
	assert_ret(bus_subscribe(mp->tb.bus, "small", NULL, &c), -EBUSY);
	assert_null(c);
	assert_non_null(
		strstr(bus_error_detail(mp->tb.bus), "max_subscribers"));
	assert_ret(bus_unsubscribe(a), 0);
	assert_ret(bus_subscribe(mp->tb.bus, "small", NULL, &c), 0);
	assert_ret(bus_topic_open(mp->tb.bus, "small", BUS_PRODUCER, NULL,
				  &p1),
		   0);
	assert_ret(bus_topic_open(mp->tb.bus, "small", BUS_PRODUCER, NULL,
				  &p2),
		   -EBUSY);
	assert_non_null(
		strstr(bus_error_detail(mp->tb.bus), "max_publishers"));

	/* One namespace for queues and topics. */
	assert_ret(bus_topic_open(mp->tb.bus, "orders", BUS_PRODUCER, NULL,
				  &p2),
		   -ENOENT);
	assert_non_null(strstr(bus_error_detail(mp->tb.bus), "is a queue"));
	assert_ret(bus_queue_open(mp->tb.bus, "small", BUS_PRODUCER, NULL,
				  &queue),
		   -ENOENT);
	assert_non_null(strstr(bus_error_detail(mp->tb.bus), "is a topic"));
	assert_ret(bus_queue_create(mp->tb.bus, "small", NULL), -EEXIST);
	assert_ret(bus_topic_create(mp->tb.bus, "orders", NULL), -EEXIST);
	assert_ret(bus_topic_open(mp->tb.bus, "small", BUS_CONSUMER, NULL,
				  &p2),
		   -EINVAL);
	for (uint32_t i = 0; bus_list(mp->tb.bus, i, name, &kind) == 0; i++)
		topics += kind == BUS_SEGMENT_TOPIC;
	assert_int_equal(topics, 6);

	assert_ret(bus_unsubscribe(b), 0);
	assert_ret(bus_unsubscribe(c), 0);
	assert_ret(bus_topic_close(p1), 0);
}

static void test_topic_multiprocess_create_last_value_delete(void **state)
{
	struct mp *mp = *state;
	struct bus_topic_settings settings;
	struct bus_message_header header;
	bus_topic_t *publisher, *observer;
	bus_subscription_t *s;
	struct bus_message m;
	char buf[16];

	bus_topic_settings_default(&settings);
	settings.slots = 3;
	assert_ret(bus_topic_create(mp->tb.bus, "made", &settings), -EINVAL);
	assert_non_null(strstr(bus_error_detail(mp->tb.bus), "slots"));
	settings.slots = 8;
	settings.slow_subscriber = BUS_SLOW_SUBSCRIBER_OVERWRITE;
	assert_ret(bus_topic_create(mp->tb.bus, "made", &settings), 0);
	assert_ret(bus_topic_create(mp->tb.bus, "made", &settings), -EEXIST);

	assert_ret(bus_topic_open(mp->tb.bus, "made", BUS_PRODUCER, NULL,
				  &publisher),
		   0);
	assert_ret(bus_topic_open(mp->tb.bus, "made", BUS_OBSERVER, NULL,
				  &observer),
		   0);
	assert_ret(bus_subscribe(mp->tb.bus, "made", NULL, &s), 0);
	assert_ret(bus_topic_last(observer, buf, sizeof(buf), NULL), -EAGAIN);
	assert_ret(bus_publish(publisher, "one", 3, BUS_NOWAIT), 0);
	assert_ret(bus_publish(publisher, "two", 3, BUS_NOWAIT), 0);
	assert_ret(bus_topic_last(observer, buf, sizeof(buf), &header), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(header.sequence, 1);
	assert_ret(bus_topic_settings(observer)->slow_subscriber,
		   BUS_SLOW_SUBSCRIBER_OVERWRITE);

	/* Deleted: what is there is still read, then -EIDRM ("deleted",
	 * not -ENOTCONN, "no busd"). */
	assert_ret(bus_topic_delete(mp->tb.bus, "made"), 0);
	assert_ret(bus_publish(publisher, "three", 5, BUS_NOWAIT), -EIDRM);
	assert_ret(bus_subscription_receive(s, &m, NULL, BUS_NOWAIT), 0);
	assert_ret(bus_subscription_receive(s, &m, NULL, BUS_NOWAIT), 0);
	assert_ret(bus_subscription_receive(s, &m, NULL, 100ll * MS), -EIDRM);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(observer), 0);
	assert_ret(bus_topic_close(publisher), 0);
	assert_ret(bus_topic_delete(mp->tb.bus, "made"), -ENOENT);
}

#define MP_TEST(name) \
	cmocka_unit_test_setup_teardown(name, mp_setup, mp_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		MP_TEST(test_topic_multiprocess_block_fan_out_in_order),
		MP_TEST(test_topic_multiprocess_overwrite_counts_every_loss),
		MP_TEST(test_topic_multiprocess_late_subscriber_sees_newer_or_history),
		MP_TEST(test_topic_multiprocess_gone_subscriber_frees_publisher),
		MP_TEST(test_topic_multiprocess_two_publishers_keep_order),
		MP_TEST(test_topic_multiprocess_killed_publisher_loan_is_padded),
		MP_TEST(test_topic_multiprocess_limits_and_names),
		MP_TEST(test_topic_multiprocess_create_last_value_delete),
	};
	int failed;

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	/* A child killed by a test must not take the parent with it. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	failed = cmocka_run_group_tests_name("topic_multiprocess", tests, NULL,
					     NULL);
	if (failed)
		return 1;
	if (!cases_run) {
		fprintf(stderr, "no case matches '%s'\n",
			argc > 1 ? argv[1] : "");
		return 1;
	}
	if (cases_skipped == cases_run)
		return TEST_SKIP_EXIT;
	return 0;
}
