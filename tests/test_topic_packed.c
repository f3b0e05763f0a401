/* SPDX-License-Identifier: MIT */
/*
 * Packed topics (max_publishers = 1: payload, key and headers in the
 * segment's arena, include/bus/layout.h "Packed messages") through a real
 * busd, with publishers and subscribers in processes of their own.  Every
 * topic here has an arena smaller than slots x max_message, so records are
 * reused many times before cells are: the arena, not the ring, is what
 * the publisher waits for (block) or laps (overwrite).
 *
 * Payloads carry (publisher, sequence, checksum) (test_message.h), so a
 * record read from the wrong place, torn, or written over is caught.
 *
 * test_topic_packed [CASE]   every case, or those matching CASE (a cmocka
 * glob); exits 77 without busd.  Counts scale with $BUS_TEST_SCALE.
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
#define IDLE_LIMIT_NS (30ll * SECOND)
#define MAX_MESSAGE 1024u
#define KEY_MAX 32

/* Topics come from bus_topic_create() (ring_bytes is a setting). */
static const char config[] = "[queue unused]\n"
			     "slots = 16\n"
			     "max_message = 64\n";

struct scoreboard {
	_Atomic uint32_t ready;	    /* subscribers in */
	_Atomic uint32_t published; /* publishers done */
	_Atomic uint64_t progress;  /* messages a publisher committed */
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
	mp->board = mmap(NULL, sizeof(*mp->board), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mp->board == MAP_FAILED || test_bus_start(&mp->tb, config)) {
		if (mp->board != MAP_FAILED)
			munmap(mp->board, sizeof(*mp->board));
		free(mp);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int mp_teardown(void **state)
{
	struct mp *mp = *state;
	int ret = test_bus_stop(&mp->tb);

	munmap(mp->board, sizeof(*mp->board));
	free(mp);
	return ret;
}

/* A packed topic: one publisher, an arena of ring_bytes. */
static void create(struct mp *mp, const char *name, uint32_t slots,
		   uint32_t max_message, uint32_t ring_bytes, int overwrite,
		   uint32_t history)
{
	struct bus_topic_settings s;

	bus_topic_settings_default(&s);
	s.slots = slots;
	s.max_message = max_message;
	s.max_publishers = 1;
	s.max_subscribers = 8;
	s.history = history;
	s.ring_bytes = ring_bytes;
	s.slow_subscriber = overwrite ? BUS_SLOW_SUBSCRIBER_OVERWRITE
				      : BUS_SLOW_SUBSCRIBER_BLOCK;
	assert_ret(bus_topic_create(mp->tb.bus, name, &s), 0);
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

static void wait_ready(struct scoreboard *board, uint32_t n)
{
	uint64_t deadline = test_now_ns() + 20ull * SECOND;

	while (atomic_load(&board->ready) < n) {
		if (atomic_load(&board->failed) || test_now_ns() > deadline)
			child_fail(board, "subscribers not ready");
		usleep(1000);
	}
}

/* The key a message of this sequence carries: every third has one. */
static int key_of(uint64_t sequence, char *key)
{
	if (sequence % 3)
		return 0;
	return snprintf(key, KEY_MAX, "k.%" PRIu64, sequence % 1000);
}

struct publisher_job {
	const char *bus_name;
	const char *topic;
	uint32_t publisher; /* the id in the payloads */
	uint64_t first, count;
	uint32_t max_message;
	uint32_t wait_for;
	int keys;  /* loans with keys (block topics) */
	int loans; /* half by loan */
};

static int publish(bus_topic_t *topic, const struct publisher_job *job,
		   uint64_t sequence)
{
	uint32_t length = test_message_length(job->publisher, sequence,
					      job->max_message);
	uint8_t payload[MAX_MESSAGE];
	struct bus_message loan;
	char key[KEY_MAX];
	int key_length = job->keys ? key_of(sequence, key) : 0;
	int ret;

	if (!job->loans || ((sequence & 1) && !key_length)) {
		test_message_fill(payload, job->publisher, sequence, length);
		return bus_publish(topic, payload, length, 10ll * SECOND);
	}
	ret = bus_topic_loan(topic, &loan, 10ll * SECOND);
	if (ret)
		return ret;
	if (loan.capacity < length)
		return -EMSGSIZE;
	/* The key first: the commit moves it behind the payload. */
	if (key_length) {
		ret = bus_message_set_key(&loan, key);
		if (ret)
			return ret;
	}
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
	for (uint64_t sequence = job->first; sequence < job->count;
	     sequence++) {
		ret = publish(topic, job, sequence);
		if (ret)
			child_fail(board, "publisher at %" PRIu64 ": %s",
				   sequence, bus_strerror(ret));
		atomic_store(&board->progress, sequence + 1);
		if ((sequence & 255) == 0 && atomic_load(&board->failed))
			_exit(1);
	}
	atomic_fetch_add(&board->published, 1);
	bus_topic_close(topic);
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn_publisher(struct mp *mp, struct publisher_job job)
{
	pid_t pid = test_fork();

	job.bus_name = mp->tb.busd.bus_name;
	assert_true(pid >= 0);
	if (pid == 0)
		publisher_child(mp->board, &job);
	return pid;
}

struct subscriber_job {
	const char *topic;
	uint64_t count;	    /* the publisher's last sequence + 1 */
	uint32_t publisher; /* whose messages end the run */
	int copy;	    /* receive_copy rather than views */
	int slow;	    /* dawdles, to be lapped (overwrite) */
	int lossy;	    /* overwrite: losses allowed, counted exactly */
	int late;	    /* joins after the publisher started */
	int keys;	    /* check keys (every third message) */
};

/* A view's key, as key_of() made it; 0 or the failure's text. */
static const char *check_key(const struct bus_message *m, uint64_t sequence)
{
	char want[KEY_MAX], got[KEY_MAX];
	int want_length = key_of(sequence, want);
	int n = bus_message_key(m, got, sizeof(got));

	if (n < 0)
		return "bus_message_key failed";
	if (n != want_length || memcmp(got, want, (size_t)n))
		return "wrong key";
	return NULL;
}

static void subscriber_child(struct scoreboard *board, const char *bus_name,
			     const struct subscriber_job *job)
{
	bus_t *bus = child_connect(board, bus_name);
	uint64_t idle_since = test_now_ns();
	uint64_t next = UINT64_MAX, received = 0, lost_total = 0;
	struct bus_subscriber_stats stats;
	uint8_t copy[MAX_MESSAGE];
	bus_subscription_t *s;
	int ret;

	if (job->late)
		while (atomic_load(&board->progress) < job->count / 4)
			usleep(200);
	ret = bus_subscribe(bus, job->topic, NULL, &s);
	if (ret)
		child_fail(board, "bus_subscribe: %s", bus_strerror(ret));
	atomic_fetch_add(&board->ready, 1);
	for (;;) {
		struct bus_message m;
		uint64_t lost = 0, sequence = 0;
		uint32_t publisher = 0;
		const char *why;

		if (job->copy) {
			ret = bus_subscription_receive_copy(
				s, copy, sizeof(copy), &lost, 100ll * MS);
			m.payload = copy;
			m.length = ret > 0 ? (uint32_t)ret : 0;
			ret = ret < 0 ? ret : 0;
		} else {
			ret = bus_subscription_receive(s, &m, &lost,
						       100ll * MS);
		}
		if (ret == -ETIMEDOUT) {
			if (test_now_ns() - idle_since > IDLE_LIMIT_NS)
				child_fail(board,
					   "nothing for 30 s after %" PRIu64,
					   received);
			if (atomic_load(&board->failed))
				_exit(1);
			continue;
		}
		if (ret)
			child_fail(board, "receive: %s", bus_strerror(ret));
		idle_since = test_now_ns();
		if (test_message_check(m.payload, m.length, &publisher,
				       &sequence))
			child_fail(
				board,
				"corrupt message of %u bytes after %" PRIu64,
				m.length, next);
		if (lost && !job->lossy)
			child_fail(board, "lost %" PRIu64 " under block",
				   lost);
		/* In order; gaps only where a loss was reported, or where a
		 * replacement publisher took over (its own id). */
		if (next != UINT64_MAX && sequence != next &&
		    !(lost && sequence > next) && sequence != 0)
			child_fail(board,
				   "%" PRIu64 " after %" PRIu64
				   " (lost %" PRIu64 ")",
				   sequence, next - 1, lost);
		if (lost && next != UINT64_MAX && sequence - next != lost)
			child_fail(board,
				   "lost %" PRIu64 " but %" PRIu64
				   " are missing before %" PRIu64,
				   lost, sequence - next, sequence);
		if (job->keys && !job->copy &&
		    (why = check_key(&m, sequence)) != NULL)
			child_fail(board, "message %" PRIu64 ": %s", sequence,
				   why);
		next = sequence + 1;
		received++;
		lost_total += lost;
		if (job->slow && received % 32 == 0)
			usleep(2000);
		if (publisher == job->publisher && sequence + 1 == job->count)
			break;
	}
	bus_subscription_stats(s, &stats);
	if (stats.received != received || stats.lost != lost_total)
		child_fail(board,
			   "figures: %" PRIu64 " received, %" PRIu64
			   " lost; counted %" PRIu64 ", %" PRIu64,
			   stats.received, stats.lost, received, lost_total);
	if (job->lossy && !job->late && received + lost_total != job->count)
		child_fail(board,
			   "%" PRIu64 " received + %" PRIu64
			   " lost != %" PRIu64 " published",
			   received, lost_total, job->count);
	if (job->slow && !lost_total)
		child_fail(board, "the slow subscriber was never lapped");
	printf("%s subscriber: %" PRIu64 " received, %" PRIu64 " lost\n",
	       job->slow   ? "slow"
	       : job->late ? "late"
			   : "a",
	       received, lost_total);
	fflush(stdout);
	bus_unsubscribe(s);
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn_subscriber(struct mp *mp, struct subscriber_job job)
{
	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0)
		subscriber_child(mp->board, mp->tb.busd.bus_name, &job);
	return pid;
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

/* ---- block: variable sizes, keys, views and copies, a late joiner ----- */

static void test_topic_packed_block_sizes_keys_late_joiner(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(100000, 3000);
	pid_t pids[4];

	/* 64 slots of up to 1 KiB, in 8 KiB: ~16 records of the average. */
	create(mp, "packed", 64, MAX_MESSAGE, 8192, 0, 0);
	pids[0] = spawn_subscriber(
		mp, (struct subscriber_job){
			    .topic = "packed", .count = count, .keys = 1 });
	pids[1] = spawn_subscriber(
		mp, (struct subscriber_job){
			    .topic = "packed", .count = count, .copy = 1 });
	pids[2] = spawn_subscriber(mp,
				   (struct subscriber_job){ .topic = "packed",
							    .count = count,
							    .late = 1,
							    .keys = 1 });
	pids[3] = spawn_publisher(
		mp, (struct publisher_job){ .topic = "packed",
					    .count = count,
					    .max_message = MAX_MESSAGE,
					    .wait_for = 2,
					    .keys = 1,
					    .loans = 1 });
	wait_children(mp->board, pids, 4, 240 * 1000);

	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "packed");
	assert_int_equal(stats.published, count);
	assert_int_equal(stats.lost, 0);
	assert_true(stats.backpressure_waits > 0 || stats.tail == count);
}

/* ---- overwrite: exact losses when the arena laps before the cells ---- */

static void test_topic_packed_overwrite_exact_losses(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(200000, 5000);
	pid_t pids[4];

	/* 256 slots of up to 512 bytes, in 4 KiB: the arena holds ~16
	 * records, so a slow reader loses records long before cells. */
	create(mp, "lossy", 256, 512, 4096, 1, 0);
	pids[0] =
		spawn_subscriber(mp, (struct subscriber_job){ .topic = "lossy",
							      .count = count,
							      .lossy = 1,
							      .slow = 1 });
	pids[1] = spawn_subscriber(
		mp, (struct subscriber_job){
			    .topic = "lossy", .count = count, .lossy = 1 });
	pids[2] =
		spawn_subscriber(mp, (struct subscriber_job){ .topic = "lossy",
							      .count = count,
							      .lossy = 1,
							      .copy = 1 });
	pids[3] =
		spawn_publisher(mp, (struct publisher_job){ .topic = "lossy",
							    .count = count,
							    .max_message = 512,
							    .wait_for = 3,
							    .loans = 1 });
	wait_children(mp->board, pids, 4, 240 * 1000);

	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "lossy");
	assert_int_equal(stats.published, count);
	assert_int_equal(stats.received + stats.lost, 3 * count);
	assert_true(stats.lapped > 0);
}

/* ---- history and last value ------------------------------------------ */

static void expect_history(bus_t *bus, const char *topic, uint32_t history,
			   uint64_t first, uint64_t end, int exact)
{
	struct bus_subscribe_options options = { .history = history };
	uint8_t buf[MAX_MESSAGE];
	bus_subscription_t *s;
	uint64_t next = first, got = 0;

	assert_ret(bus_subscribe(bus, topic, &options, &s), 0);
	while (next < end) {
		uint64_t sequence = 0, lost = 9;
		uint32_t publisher;
		int n = bus_subscription_receive_copy(s, buf, sizeof(buf),
						      &lost, 5ll * SECOND);

		assert_true(n > 0);
		assert_ret(test_message_check(buf, (uint32_t)n, &publisher,
					      &sequence),
			   0);
		/* History whose record was reused is skipped, never
		 * delivered torn, and never counted lost. */
		assert_true(sequence >= next && sequence < end);
		if (exact)
			assert_int_equal(sequence, next);
		assert_int_equal(lost, 0);
		next = sequence + 1;
		got++;
	}
	assert_true(got > 0);
	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   -EAGAIN);
	assert_ret(bus_unsubscribe(s), 0);
}

static void expect_last(bus_t *bus, const char *topic, uint64_t sequence)
{
	struct bus_message_header header;
	uint8_t buf[MAX_MESSAGE];
	bus_topic_t *observer;
	uint64_t got = 0;
	uint32_t publisher;
	int n;

	assert_ret(bus_topic_open(bus, topic, BUS_OBSERVER, NULL, &observer),
		   0);
	n = bus_topic_last(observer, buf, sizeof(buf), &header);
	assert_true(n > 0);
	assert_int_equal(header.payload_length, (uint32_t)n);
	assert_ret(test_message_check(buf, (uint32_t)n, &publisher, &got), 0);
	assert_int_equal(got, sequence);
	assert_ret(bus_topic_close(observer), 0);
}

static void test_topic_packed_history_and_last_value(void **state)
{
	struct mp *mp = *state;
	pid_t pid;

	/* Room for every record of the history: all of it comes back. */
	create(mp, "roomy", 16, 256, 8192, 0, 8);
	pid = spawn_publisher(mp, (struct publisher_job){ .topic = "roomy",
							  .count = 40,
							  .max_message = 256,
							  .loans = 1 });
	wait_children(mp->board, &pid, 1, 20 * 1000);
	expect_history(mp->tb.bus, "roomy", 8, 32, 40, 1);
	expect_last(mp->tb.bus, "roomy", 39);

	/* 1 KiB holds 4 records of 256 bytes, or more smaller ones: the
	 * history's oldest may have lost theirs, never torn. */
	atomic_store(&mp->board->published, 0);
	create(mp, "tight", 16, 256, 1024, 1, 8);
	pid = spawn_publisher(mp,
			      (struct publisher_job){ .topic = "tight",
						      .count = 40,
						      .max_message = 256 });
	wait_children(mp->board, &pid, 1, 20 * 1000);
	expect_history(mp->tb.bus, "tight", 8, 32, 40, 0);
	expect_last(mp->tb.bus, "tight", 39);
}

/* ---- a publisher killed mid-stream, and its replacement --------------- */

static void test_topic_packed_killed_publisher_replaced(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(60000, 3000);
	uint64_t stop = count / 3;
	pid_t pids[3];
	int status;

	create(mp, "relay", 64, MAX_MESSAGE, 8192, 0, 0);
	pids[0] =
		spawn_subscriber(mp, (struct subscriber_job){ .topic = "relay",
							      .count = count,
							      .publisher = 1,
							      .keys = 1 });
	pids[1] =
		spawn_subscriber(mp, (struct subscriber_job){ .topic = "relay",
							      .count = count,
							      .publisher = 1,
							      .copy = 1 });
	/* The first publisher (id 0) would go on for ever: kill it. */
	pids[2] = spawn_publisher(
		mp, (struct publisher_job){ .topic = "relay",
					    .publisher = 0,
					    .count = UINT64_MAX / 2,
					    .max_message = MAX_MESSAGE,
					    .wait_for = 2,
					    .keys = 1,
					    .loans = 1 });
	while (atomic_load(&mp->board->progress) < stop &&
	       !atomic_load(&mp->board->failed))
		usleep(500);
	assert_int_equal(kill(pids[2], SIGKILL), 0);
	assert_ret(test_child_wait(pids[2], 10 * 1000, &status), 0);
	assert_true(WIFSIGNALED(status));
	/* busd pads its loan, if one was open; a replacement (id 1, its
	 * own sequence from 0) rebuilds the arena from the cells and must
	 * not write over a record the subscribers have not read. */
	pids[2] = spawn_publisher(
		mp, (struct publisher_job){ .topic = "relay",
					    .publisher = 1,
					    .count = count,
					    .max_message = MAX_MESSAGE,
					    .keys = 1,
					    .loans = 1 });
	wait_children(mp->board, pids, 3, 240 * 1000);

	struct bus_topic_stats stats = topic_stats(mp->tb.bus, "relay");
	assert_int_equal(stats.lost, 0);
	assert_true(stats.published >= stop + count);
}

#define MP_TEST(name) \
	cmocka_unit_test_setup_teardown(name, mp_setup, mp_teardown)

/* ---- a find that drops and then fails ---------------------------------- */

static void fill(uint8_t *b, uint32_t n, uint64_t sequence)
{
	memset(b, (int)('A' + sequence), n);
}

/*
 * A find that drops a record (GONE) and then stops at our own open loan
 * leaves the dropped bytes to the next find, which may drop nothing new:
 * overwritten must still go past the dropped message before its bytes are
 * written over (arena.overwrites is a running maximum), or a copy of
 * message 0 reads message 7's bytes and counts nothing lost, and a new
 * publisher finds two READY cells on one record.
 */
static void test_topic_packed_failed_find_keeps_overwrites(void **state)
{
	struct mp *mp = *state;
	uint8_t payload[128], copy[128];
	struct bus_message loan;
	bus_subscription_t *s;
	bus_topic_t *topic;
	uint64_t lost = 0;
	int got;

	/* 16 lines; a loan reserves 128 + 512 bytes: 10 lines. */
	create(mp, "dropfail", 64, 128, 1024, 1, 0);
	assert_ret(bus_topic_open(mp->tb.bus, "dropfail", BUS_PRODUCER, NULL,
				  &topic),
		   0);
	assert_ret(bus_subscribe(mp->tb.bus, "dropfail", NULL, &s), 0);
	fill(payload, 64, 0);
	assert_ret(bus_publish(topic, payload, 64, BUS_NOWAIT), 0); /* 0 */
	assert_ret(bus_topic_loan(topic, &loan, BUS_NOWAIT), 0);    /* 1..10 */
	for (uint64_t q = 2; q <= 6; q++) { /* lines 11..15 */
		fill(payload, 64, q);
		assert_ret(bus_publish(topic, payload, 64, BUS_NOWAIT), 0);
	}
	/* Two lines: drops position 0, then meets our loan. */
	fill(payload, 128, 7);
	assert_ret(bus_publish(topic, payload, 128, BUS_NOWAIT), -ENOBUFS);
	/* One line: fits where position 0 was. */
	fill(payload, 64, 7);
	assert_ret(bus_publish(topic, payload, 64, BUS_NOWAIT), 0);
	got = bus_subscription_receive_copy(s, copy, sizeof(copy), &lost,
					    BUS_NOWAIT);
	/* Position 0 intact ('A'), or counted lost: never 'H'. */
	assert_true(got < 0 || lost > 0 || copy[0] == 'A');
	bus_topic_close(topic);
	assert_ret(bus_topic_open(mp->tb.bus, "dropfail", BUS_PRODUCER, NULL,
				  &topic),
		   0);
	bus_topic_close(topic);
	bus_unsubscribe(s);
}

/* ---- a sized loan ------------------------------------------------------- */

/* bus_topic_loan_sized() reserves what it asks for: it fits beside an open
 * loan of max_message where bus_topic_loan() finds no room, holds its
 * capacity and no more, and its message arrives intact. */
static void test_topic_packed_sized_loan(void **state)
{
	struct mp *mp = *state;
	struct bus_message big, small, other;
	bus_subscription_t *s;
	bus_topic_t *topic;
	uint8_t copy[4096];
	char key[8];

	/* One loan of 4096 + 512, then 1,024 bytes: a small loan's room. */
	create(mp, "sized", 64, 4096, 4096 + 512 + 1024, 0, 0);
	assert_ret(bus_topic_open(mp->tb.bus, "sized", BUS_PRODUCER, NULL,
				  &topic),
		   0);
	assert_ret(bus_subscribe(mp->tb.bus, "sized", NULL, &s), 0);
	assert_ret(bus_topic_loan_sized(topic, &small, 4097, BUS_NOWAIT),
		   -EMSGSIZE);
	assert_ret(bus_topic_loan(topic, &big, BUS_NOWAIT), 0);
	assert_true(bus_topic_loan(topic, &other, BUS_NOWAIT) < 0);
	assert_ret(bus_topic_loan_sized(topic, &small, 100, BUS_NOWAIT), 0);
	assert_int_equal(small.capacity, 100);
	memset(small.payload, 's', 100);
	assert_ret(bus_message_set_key(&small, "k"), 0);
	assert_ret(bus_topic_commit(topic, &small, 101), -EMSGSIZE);
	memset(big.payload, 'b', 4096);
	assert_ret(bus_topic_commit(topic, &big, 4096), 0);
	assert_ret(bus_topic_commit(topic, &small, 100), 0);
	assert_ret(bus_subscription_receive_copy(s, copy, sizeof(copy), NULL,
						 BUS_NOWAIT),
		   4096);
	assert_int_equal(copy[4095], 'b');
	{
		struct bus_message m;

		assert_ret(bus_subscription_receive(s, &m, NULL, BUS_NOWAIT),
			   0);
		assert_int_equal(m.length, 100);
		assert_int_equal(((uint8_t *)m.payload)[0], 's');
		assert_int_equal(((uint8_t *)m.payload)[99], 's');
		assert_ret(bus_message_key(&m, key, sizeof(key)), 1);
		assert_string_equal(key, "k");
	}
	bus_unsubscribe(s);
	bus_topic_close(topic);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		MP_TEST(test_topic_packed_block_sizes_keys_late_joiner),
		MP_TEST(test_topic_packed_overwrite_exact_losses),
		MP_TEST(test_topic_packed_history_and_last_value),
		MP_TEST(test_topic_packed_killed_publisher_replaced),
		MP_TEST(test_topic_packed_failed_find_keeps_overwrites),
		MP_TEST(test_topic_packed_sized_loan),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("topic_packed", tests, NULL, NULL)
		       ? 1
		       : 0;
}
