/* SPDX-License-Identifier: MIT */
/*
 * Multi-process tests through a real busd: every case starts a private
 * busd (tests/bus_test_util.c) and forks producer and consumer processes,
 * each of which connects on its own.  Children never touch cmocka: they
 * report through their exit status, stderr and a shared scoreboard.
 *
 * test_multiprocess [CASE]   runs every case, or those matching CASE (a
 * cmocka glob); exits 77 when every case that ran was skipped.  Message
 * counts scale with $BUS_TEST_SCALE (a float, default 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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

static const char config[] = "[bus]\n"
			     "\n"
			     "[queue mpmc]\n"
			     "type = mpmc\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "overflow = block\n"
			     "max_unacked = 64\n"
			     "\n"
			     "[queue spsc]\n"
			     "type = spsc\n"
			     "slots = 1024\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue wake]\n"
			     "type = mpmc\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue nack]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue corrupt]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue killed]\n"
			     "slots = 64\n"
			     "max_message = 64\n"
			     "max_unacked = 16\n";

static int cases_run, cases_skipped;

#define test_skip()              \
	do {                     \
		cases_skipped++; \
		skip();          \
	} while (0)

/* What the processes of one case share: progress and the first error. */
struct scoreboard {
	_Atomic uint64_t acked_total;
	_Atomic int failed;
	char error[512];
	_Atomic uint8_t seen[]; /* per (producer, sequence) */
};

struct mp {
	struct test_bus tb;
	struct scoreboard *board;
	size_t board_size;
};

static int mp_setup(void **state)
{
	struct mp *mp = calloc(1, sizeof(*mp));

	if (!mp)
		return -1;
	*state = mp;
	cases_run++;
	if (test_bus_start(&mp->tb, config)) {
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

	if (mp->board)
		munmap(mp->board, mp->board_size);
	free(mp);
	return ret;
}

static struct scoreboard *board_make(struct mp *mp, size_t messages)
{
	mp->board_size = sizeof(struct scoreboard) + messages;
	mp->board = mmap(NULL, mp->board_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(mp->board != MAP_FAILED);
	return mp->board;
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
	if (board && !atomic_exchange(&board->failed, 1))
		memcpy(board->error, line, sizeof(line));
	_exit(1);
}

static bus_queue_t *child_open(struct scoreboard *board, const char *bus_name,
			       const char *queue_name, enum bus_role role,
			       enum bus_wait_strategy wait, bus_t **bus)
{
	struct bus_queue_options options = { .wait = wait, .spin_ns = 2000 };
	bus_queue_t *queue;
	int ret;

	ret = bus_connect(bus_name, bus);
	if (ret)
		child_fail(board, "bus_connect: %s", bus_strerror(ret));
	ret = bus_queue_open(*bus, queue_name, role, &options, &queue);
	if (ret)
		child_fail(board, "bus_queue_open(%s): %s (%s)", queue_name,
			   bus_strerror(ret), bus_error_detail(*bus));
	return queue;
}

static void child_leave(bus_t *bus, bus_queue_t *queue)
{
	int ret = bus_queue_close(queue);

	if (ret)
		child_fail(NULL, "bus_queue_close: %s", bus_strerror(ret));
	bus_disconnect(bus);
	_exit(0);
}

/* How a producer child writes its messages. */
enum produce_mode {
	PRODUCE_SEND,	    /* bus_send: a copy */
	PRODUCE_LOAN,	    /* bus_loan, write in place, bus_commit */
	PRODUCE_LOAN_BATCH, /* bus_loan_batch, in place, bus_commit_batch */
	PRODUCE_ROTATE,	    /* the three in turn */
};

struct producer_job {
	const char *bus_name;
	const char *queue_name;
	uint32_t producer;
	uint64_t count;
	enum produce_mode mode;
};

/* Up to 16 messages from sequence on, in place; how many, or an error. */
static int produce_batch(bus_queue_t *queue, const struct producer_job *job,
			 uint64_t sequence)
{
	struct bus_message loans[16];
	uint64_t left = job->count - sequence;
	int n = bus_loan_batch(queue, loans,
			       left < 16 ? (unsigned int)left : 16,
			       10ll * SECOND);

	for (int i = 0; i < n; i++) {
		uint32_t length = test_message_length(
			job->producer, sequence + (uint64_t)i, MAX_MESSAGE);

		if (loans[i].capacity < length)
			return -EMSGSIZE;
		test_message_fill(loans[i].payload, job->producer,
				  sequence + (uint64_t)i, length);
		loans[i].length = length;
	}
	if (n <= 0)
		return n ? n : -EIO;
	return bus_commit_batch(queue, loans, (unsigned int)n) == n ? n : -EIO;
}

/* The message of sequence (and more, in batch mode): how many, or an
 * error. */
static int produce(bus_queue_t *queue, const struct producer_job *job,
		   uint64_t sequence)
{
	uint32_t length =
		test_message_length(job->producer, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	struct bus_message loan;
	enum produce_mode mode = job->mode == PRODUCE_ROTATE
					 ? (enum produce_mode)(sequence % 3)
					 : job->mode;
	int ret;

	if (mode == PRODUCE_LOAN_BATCH)
		return produce_batch(queue, job, sequence);
	if (mode == PRODUCE_SEND) {
		test_message_fill(payload, job->producer, sequence, length);
		ret = bus_send(queue, payload, length, 10ll * SECOND);
		return ret < 0 ? ret : 1;
	}
	ret = bus_loan(queue, &loan, 10ll * SECOND);
	if (ret)
		return ret;
	if (loan.capacity < length)
		return -EMSGSIZE;
	test_message_fill(loan.payload, job->producer, sequence, length);
	ret = bus_commit(queue, &loan, length);
	return ret < 0 ? ret : 1;
}

static void producer_child(struct scoreboard *board,
			   const struct producer_job *job)
{
	bus_t *bus;
	bus_queue_t *queue = child_open(board, job->bus_name, job->queue_name,
					BUS_PRODUCER, BUS_WAIT_SPIN_FUTEX,
					&bus);
	uint64_t rounds = 0;

	for (uint64_t sequence = 0; sequence < job->count; rounds++) {
		int ret = produce(queue, job, sequence);

		if (ret < 0)
			child_fail(board, "producer %u at %" PRIu64 ": %s",
				   job->producer, sequence, bus_strerror(ret));
		sequence += (uint64_t)ret;
		if (board && (rounds & 1023) == 0 &&
		    atomic_load(&board->failed))
			_exit(1);
	}
	child_leave(bus, queue);
}

struct consumer_job {
	const char *bus_name;
	const char *queue_name;
	uint32_t producers;
	uint64_t count; /* per producer */
	int batch;	/* receive_batch + ack_through, else one by one */
};

/* Checks one delivery against the scoreboard and per-producer order. */
static void consumer_check(struct scoreboard *board,
			   const struct consumer_job *job,
			   const struct bus_message *message,
			   uint64_t *last_sequence)
{
	uint32_t producer;
	uint64_t sequence;

	if (test_message_check(message->payload, message->length, &producer,
			       &sequence) ||
	    producer >= job->producers || sequence >= job->count)
		child_fail(board, "corrupt message of %u bytes",
			   message->length);
	if (message->header->delivery_count != 1)
		child_fail(board,
			   "producer %u's %" PRIu64 " has delivery "
			   "count %u; nobody nacked or died",
			   producer, sequence,
			   message->header->delivery_count);
	if (last_sequence[producer] != UINT64_MAX &&
	    sequence <= last_sequence[producer])
		child_fail(board, "producer %u's %" PRIu64 " after %" PRIu64,
			   producer, sequence, last_sequence[producer]);
	last_sequence[producer] = sequence;
	if (atomic_fetch_add(&board->seen[producer * job->count + sequence],
			     1))
		child_fail(board, "producer %u's %" PRIu64 " delivered twice",
			   producer, sequence);
}

/* Receives what it can; returns how many it acked. */
static int consume_some(struct scoreboard *board,
			const struct consumer_job *job, bus_queue_t *queue,
			uint64_t *last_sequence)
{
	struct bus_message messages[16];
	int n, ret;

	if (job->batch)
		n = bus_receive_batch(queue, messages, 16, 100 * MS);
	else
		n = bus_receive(queue, messages, 100 * MS);
	if (!job->batch && n == 0)
		n = 1;
	if (n == -ETIMEDOUT || n == -EAGAIN)
		return 0;
	if (n < 0)
		child_fail(board, "receive: %s", bus_strerror(n));
	for (int i = 0; i < n; i++)
		consumer_check(board, job, &messages[i], last_sequence);
	ret = job->batch ? bus_ack_through(queue, &messages[n - 1])
			 : bus_ack(queue, &messages[0]);
	if (ret < 0 || (job->batch && ret != n))
		child_fail(board, "ack of %d: %d (%s)", n, ret,
			   bus_strerror(ret));
	return n;
}

static void consumer_child(struct scoreboard *board,
			   const struct consumer_job *job)
{
	uint64_t total = job->count * job->producers;
	uint64_t last_sequence[64];
	uint64_t idle_since = test_now_ns();
	bus_t *bus;
	bus_queue_t *queue = child_open(board, job->bus_name, job->queue_name,
					BUS_CONSUMER, BUS_WAIT_SPIN_FUTEX,
					&bus);

	for (uint32_t p = 0; p < 64; p++)
		last_sequence[p] = UINT64_MAX;
	while (atomic_load(&board->acked_total) < total) {
		int n = consume_some(board, job, queue, last_sequence);

		if (atomic_load(&board->failed))
			_exit(1);
		if (n) {
			atomic_fetch_add(&board->acked_total, (uint64_t)n);
			idle_since = test_now_ns();
		} else if (test_now_ns() - idle_since > IDLE_LIMIT_NS) {
			child_fail(board,
				   "nothing received for 30 s, %" PRIu64
				   " of %" PRIu64 " acked",
				   atomic_load(&board->acked_total), total);
		}
	}
	child_leave(bus, queue);
}

/*
 * Waits for every child.  The first one to fail ends the case: the others
 * are killed at once rather than left to notice.  Fails the case with the
 * first error unless all exit 0 within timeout_ms.
 */
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
				 board && board->error[0] ? board->error
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

static struct bus_queue_stats queue_stats(bus_t *bus, const char *name)
{
	struct bus_queue_stats stats;
	bus_queue_t *observer;

	assert_ret(bus_queue_open(bus, name, BUS_OBSERVER, NULL, &observer),
		   0);
	assert_ret(bus_queue_stats(observer, &stats), 0);
	assert_ret(bus_queue_close(observer), 0);
	return stats;
}

/* ---- cases ---------------------------------------------------------- */

#define PRODUCERS 4u
#define CONSUMERS 2u

static void test_multiprocess_mpmc_every_message_once(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(250000, 100);
	struct scoreboard *board = board_make(mp, PRODUCERS * count);
	pid_t pids[PRODUCERS + CONSUMERS];
	uint64_t start = test_now_ns();

	for (uint32_t c = 0; c < CONSUMERS; c++) {
		struct consumer_job job = {
			mp->tb.busd.bus_name, "mpmc", PRODUCERS, count, c & 1,
		};

		pids[c] = test_fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0)
			consumer_child(board, &job);
	}
	for (uint32_t p = 0; p < PRODUCERS; p++) {
		struct producer_job job = {
			mp->tb.busd.bus_name,	    "mpmc", p, count,
			(enum produce_mode)(p % 3),
		};

		pids[CONSUMERS + p] = test_fork();
		assert_true(pids[CONSUMERS + p] >= 0);
		if (pids[CONSUMERS + p] == 0)
			producer_child(board, &job);
	}
	wait_children(board, pids, PRODUCERS + CONSUMERS, 240 * 1000);

	for (uint64_t i = 0; i < PRODUCERS * count; i++) {
		if (atomic_load(&board->seen[i]) != 1)
			fail_msg("producer %" PRIu64 "'s %" PRIu64
				 " delivered %u times",
				 i / count, i % count,
				 atomic_load(&board->seen[i]));
	}
	struct bus_queue_stats stats = queue_stats(mp->tb.bus, "mpmc");
	assert_int_equal(stats.enqueued, PRODUCERS * count);
	assert_int_equal(stats.acked, PRODUCERS * count);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.leased, 0);
	printf("mpmc: %u producers x %" PRIu64 " messages, %u consumers: "
	       "%.2f s\n",
	       PRODUCERS, count, CONSUMERS,
	       (double)(test_now_ns() - start) / SECOND);
}

static void spsc_check(const struct bus_message *message, uint64_t expected)
{
	uint32_t producer = 0;
	uint64_t sequence = 0;

	if (test_message_check(message->payload, message->length, &producer,
			       &sequence))
		fail_msg("message %" PRIu64 " is corrupt", expected);
	if (sequence != expected || producer != 0)
		fail_msg("received %u's %" PRIu64 ", expected %" PRIu64,
			 producer, sequence, expected);
}

static void test_multiprocess_spsc_in_order(void **state)
{
	struct mp *mp = *state;
	uint64_t count = test_scaled(1000000, 100);
	struct bus_queue_options options = { .wait = BUS_WAIT_SPIN_FUTEX };
	struct producer_job job = { mp->tb.busd.bus_name, "spsc", 0, count,
				    PRODUCE_ROTATE };
	struct bus_message messages[32];
	bus_queue_t *consumer;
	uint64_t next = 0, start = test_now_ns();
	pid_t pid;

	assert_ret(bus_queue_open(mp->tb.bus, "spsc", BUS_CONSUMER, &options,
				  &consumer),
		   0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		producer_child(NULL, &job);

	while (next < count) {
		int n = bus_receive_batch(consumer, messages, 32,
					  30ll * SECOND);

		if (n < 0)
			fail_msg("receive after %" PRIu64 " of %" PRIu64
				 ": %s",
				 next, count, bus_strerror(n));
		for (int i = 0; i < n; i++)
			spsc_check(&messages[i], next++);
		assert_ret(bus_ack_through(consumer, &messages[n - 1]), n);
	}
	wait_children(NULL, &pid, 1, 30 * 1000);
	assert_ret(bus_receive(consumer, messages, BUS_NOWAIT), -EAGAIN);
	assert_ret(bus_queue_close(consumer), 0);
	printf("spsc: %" PRIu64 " messages in %.2f s\n", count,
	       (double)(test_now_ns() - start) / SECOND);
}

/* A child that sleeps, then sends one message. */
static void late_sender_child(const char *bus_name, const char *queue_name,
			      int delay_ms, const char *text)
{
	bus_t *bus;
	bus_queue_t *queue;
	int ret;

	usleep((useconds_t)delay_ms * 1000);
	queue = child_open(NULL, bus_name, queue_name, BUS_PRODUCER,
			   BUS_WAIT_FUTEX, &bus);
	ret = bus_send(queue, text, strlen(text), BUS_NOWAIT);
	if (ret)
		child_fail(NULL, "bus_send: %s", bus_strerror(ret));
	child_leave(bus, queue);
}

static void wake_round(struct mp *mp, enum bus_wait_strategy wait)
{
	struct bus_queue_options options = { .wait = wait, .spin_ns = 2000 };
	struct bus_message message;
	bus_queue_t *consumer;
	uint64_t start, elapsed;
	pid_t pid;

	assert_ret(bus_queue_open(mp->tb.bus, "wake", BUS_CONSUMER, &options,
				  &consumer),
		   0);
	start = test_now_ns();
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		late_sender_child(mp->tb.busd.bus_name, "wake", 300,
				  "wake up");

	/* Asleep on the futex long before the message comes. */
	assert_ret(bus_receive(consumer, &message, 10ll * SECOND), 0);
	elapsed = test_now_ns() - start;
	assert_int_equal(message.length, 7);
	assert_memory_equal(message.payload, "wake up", 7);
	assert_ret(bus_ack(consumer, &message), 0);
	if (elapsed < 250ull * MS)
		fail_msg("woke after %" PRIu64 " ms, before the send",
			 elapsed / MS);
	wait_children(NULL, &pid, 1, 10 * 1000);

	/* Nothing more: the deadline ends the wait. */
	start = test_now_ns();
	assert_ret(bus_receive(consumer, &message, 200ll * MS), -ETIMEDOUT);
	elapsed = test_now_ns() - start;
	if (elapsed < 200ull * MS || elapsed > 2ull * SECOND)
		fail_msg("a 200 ms timeout took %" PRIu64 " ms", elapsed / MS);
	assert_ret(bus_queue_close(consumer), 0);
}

static void
test_multiprocess_blocked_consumer_wakes_and_times_out(void **state)
{
	struct mp *mp = *state;

	wake_round(mp, BUS_WAIT_FUTEX);
	wake_round(mp, BUS_WAIT_SPIN_FUTEX);
}

/* A child that sleeps, then receives and acks one message. */
static void late_receiver_child(const char *bus_name, const char *queue_name,
				int delay_ms)
{
	struct bus_message message;
	bus_t *bus;
	bus_queue_t *queue;
	int ret;

	usleep((useconds_t)delay_ms * 1000);
	queue = child_open(NULL, bus_name, queue_name, BUS_CONSUMER,
			   BUS_WAIT_FUTEX, &bus);
	ret = bus_receive(queue, &message, 10ll * SECOND);
	if (ret)
		child_fail(NULL, "bus_receive: %s", bus_strerror(ret));
	ret = bus_ack(queue, &message);
	if (ret)
		child_fail(NULL, "bus_ack: %s", bus_strerror(ret));
	child_leave(bus, queue);
}

static void test_multiprocess_blocked_producer_wakes_on_ack(void **state)
{
	struct mp *mp = *state;
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	struct bus_queue_stats stats;
	bus_queue_t *producer;
	uint64_t start, elapsed;
	uint32_t value;
	pid_t pid;

	assert_ret(bus_queue_open(mp->tb.bus, "wake", BUS_PRODUCER, &options,
				  &producer),
		   0);
	for (value = 0; value < 16; value++)
		assert_ret(bus_send(producer, &value, sizeof(value),
				    BUS_NOWAIT),
			   0);
	assert_ret(bus_send(producer, &value, sizeof(value), BUS_NOWAIT),
		   -ENOBUFS);
	start = test_now_ns();
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		late_receiver_child(mp->tb.busd.bus_name, "wake", 300);

	/* Asleep on the full queue until the other process acks. */
	assert_ret(bus_send(producer, &value, sizeof(value), 10ll * SECOND),
		   0);
	elapsed = test_now_ns() - start;
	if (elapsed < 250ull * MS)
		fail_msg("sent after %" PRIu64 " ms, before the ack",
			 elapsed / MS);
	wait_children(NULL, &pid, 1, 10 * 1000);
	assert_ret(bus_send(producer, &value, sizeof(value), 100ll * MS),
		   -ETIMEDOUT);
	/* Both waits are counted; the sends that found room are not. */
	assert_ret(bus_queue_stats(producer, &stats), 0);
	assert_int_equal(stats.backpressure_waits, 2);
	assert_ret(bus_queue_close(producer), 0);
}

static void nack_receiver_child(const char *bus_name)
{
	struct bus_message message;
	bus_t *bus;
	bus_queue_t *queue = child_open(NULL, bus_name, "nack", BUS_CONSUMER,
					BUS_WAIT_FUTEX, &bus);
	int ret = bus_receive(queue, &message, 10ll * SECOND);

	if (ret)
		child_fail(NULL, "bus_receive: %s", bus_strerror(ret));
	if (message.length != 5 || memcmp(message.payload, "again", 5))
		child_fail(NULL, "received the wrong message");
	if (message.header->delivery_count != 2 ||
	    !(message.header->flags & BUS_MESSAGE_REDELIVERED))
		child_fail(NULL,
			   "delivery count %u, flags %#x; expected 2 "
			   "and REDELIVERED",
			   message.header->delivery_count,
			   message.header->flags);
	ret = bus_ack(queue, &message);
	if (ret)
		child_fail(NULL, "bus_ack: %s", bus_strerror(ret));
	child_leave(bus, queue);
}

static void test_multiprocess_nack_redelivers_with_count_2(void **state)
{
	struct mp *mp = *state;
	struct bus_message message;
	bus_queue_t *producer, *consumer;
	pid_t pid;

	assert_ret(bus_queue_open(mp->tb.bus, "nack", BUS_PRODUCER, NULL,
				  &producer),
		   0);
	assert_ret(bus_queue_open(mp->tb.bus, "nack", BUS_CONSUMER, NULL,
				  &consumer),
		   0);
	assert_ret(bus_send(producer, "again", 5, BUS_NOWAIT), 0);
	assert_ret(bus_receive(consumer, &message, BUS_NOWAIT), 0);
	assert_int_equal(message.header->delivery_count, 1);
	assert_ret(bus_nack(consumer, &message), 0);
	/* This handle steps aside so that the other process gets it. */
	assert_ret(bus_queue_close(consumer), 0);

	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		nack_receiver_child(mp->tb.busd.bus_name);
	wait_children(NULL, &pid, 1, 20 * 1000);

	struct bus_queue_stats stats = queue_stats(mp->tb.bus, "nack");
	assert_int_equal(stats.enqueued, 1);
	assert_int_equal(stats.nacked, 1);
	assert_int_equal(stats.redelivered, 1);
	assert_int_equal(stats.acked, 1);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.leased, 0);
	assert_ret(bus_queue_close(producer), 0);
}

static void test_multiprocess_unknown_queue_gives_enoent(void **state)
{
	struct mp *mp = *state;
	bus_queue_t *queue = NULL;

	assert_ret(bus_queue_open(mp->tb.bus, "no-such-queue", BUS_CONSUMER,
				  NULL, &queue),
		   -ENOENT);
	assert_null(queue);
	assert_non_null(bus_error_detail(mp->tb.bus));
	assert_ret(bus_queue_open(mp->tb.bus, "no-such-queue", BUS_PRODUCER,
				  NULL, &queue),
		   -ENOENT);
	assert_ret(bus_queue_open(mp->tb.bus, "bad/name", BUS_PRODUCER, NULL,
				  &queue),
		   -EINVAL);
}

static void test_multiprocess_full_table_gives_ebusy(void **state)
{
	struct mp *mp = *state;
	bus_queue_t *first, *second = NULL;

	/* An SPSC queue has one producer slot and one consumer slot. */
	assert_ret(bus_queue_open(mp->tb.bus, "spsc", BUS_PRODUCER, NULL,
				  &first),
		   0);
	assert_ret(bus_queue_open(mp->tb.bus, "spsc", BUS_PRODUCER, NULL,
				  &second),
		   -EBUSY);
	assert_null(second);
	assert_true(strlen(bus_error_detail(mp->tb.bus)) > 0);
	assert_ret(bus_queue_close(first), 0);
	/* The slot is free again once closed. */
	assert_ret(bus_queue_open(mp->tb.bus, "spsc", BUS_PRODUCER, NULL,
				  &second),
		   0);
	assert_ret(bus_queue_open(mp->tb.bus, "spsc", BUS_CONSUMER, NULL,
				  &first),
		   0);
	assert_ret(bus_send(second, "x", 1, BUS_NOWAIT), 0);
	assert_ret(bus_receive_copy(first, (char[8]){ 0 }, 8, BUS_NOWAIT), 1);
	assert_ret(bus_queue_close(first), 0);
	assert_ret(bus_queue_close(second), 0);
}

static void test_multiprocess_no_daemon_gives_enotconn(void **state)
{
	struct mp *mp = *state;
	struct bus_message message;
	bus_queue_t *consumer;
	bus_t *bus = NULL;
	char name[BUS_NAME_MAX + 1];

	/* A bus nobody ever served. */
	assert_true(snprintf(name, sizeof(name), "%s-none",
			     mp->tb.busd.bus_name) < (int)sizeof(name));
	assert_ret(bus_connect(name, &bus), -ENOTCONN);
	assert_null(bus);

	/* A bus whose busd stopped: its socket path may still exist. */
	assert_ret(bus_queue_open(mp->tb.bus, "wake", BUS_CONSUMER, NULL,
				  &consumer),
		   0);
	assert_ret(test_busd_stop(&mp->tb.busd), 0);
	assert_ret(bus_connect(mp->tb.busd.bus_name, &bus), -ENOTCONN);
	/* A handle of the stopped bus says so rather than waiting on. */
	assert_ret(bus_receive(consumer, &message, 100ll * MS), -ENOTCONN);
}

static void test_multiprocess_corrupt_segment_gives_eproto(void **state)
{
	struct mp *mp = *state;
	char path[256];
	struct bus_segment_header *header;
	bus_queue_t *queue = NULL;
	uint64_t magic;
	uint32_t version;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/shmbus.%s:corrupt",
		 mp->tb.busd.bus_name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		fprintf(stderr, "%s: %s; skipped\n", path, strerror(errno));
		test_skip();
	}
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	header = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(header != MAP_FAILED);

	magic = atomic_load(&header->magic);
	assert_true(magic == BUS_SEGMENT_MAGIC);
	atomic_store(&header->magic, UINT64_C(0xdeadbeef));
	assert_ret(bus_queue_open(mp->tb.bus, "corrupt", BUS_CONSUMER, NULL,
				  &queue),
		   -EPROTO);
	assert_true(strlen(bus_error_detail(mp->tb.bus)) > 0);
	atomic_store(&header->magic, magic);

	version = header->layout_version;
	header->layout_version = BUS_LAYOUT_VERSION + 7;
	assert_ret(bus_queue_open(mp->tb.bus, "corrupt", BUS_PRODUCER, NULL,
				  &queue),
		   -EPROTO);
	header->layout_version = version;

	/* Repaired, the queue opens again. */
	assert_ret(bus_queue_open(mp->tb.bus, "corrupt", BUS_CONSUMER, NULL,
				  &queue),
		   0);
	assert_ret(bus_queue_close(queue), 0);
	munmap(header, 4096);
}

/* Takes `hold` messages, tells the parent, then waits to be killed. */
static void holder_child(const char *bus_name, int hold, int ready_fd)
{
	struct bus_message message;
	bus_t *bus;
	bus_queue_t *queue = child_open(NULL, bus_name, "killed", BUS_CONSUMER,
					BUS_WAIT_FUTEX, &bus);

	for (int i = 0; i < hold; i++) {
		int ret = bus_receive(queue, &message, 10ll * SECOND);

		if (ret)
			child_fail(NULL, "bus_receive: %s", bus_strerror(ret));
	}
	if (write(ready_fd, "r", 1) != 1)
		child_fail(NULL, "write: %s", strerror(errno));
	for (;;)
		pause();
}

static void wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&p, 1, timeout_ms) != 1 || read(fd, &byte, 1) != 1)
		fail_msg("the child did not report ready within %d ms",
			 timeout_ms);
}

#define KILLED_SENT 10
#define KILLED_HELD 5

static void
test_multiprocess_killed_consumer_messages_redelivered(void **state)
{
	struct mp *mp = *state;
	struct bus_message message;
	bus_queue_t *producer, *consumer;
	int redelivered[KILLED_SENT] = { 0 };
	int pipe_fds[2], status, got = 0;
	uint64_t deadline;
	pid_t pid;

	assert_ret(bus_queue_open(mp->tb.bus, "killed", BUS_PRODUCER, NULL,
				  &producer),
		   0);
	for (uint32_t v = 0; v < KILLED_SENT; v++)
		assert_ret(bus_send(producer, &v, sizeof(v), BUS_NOWAIT), 0);
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		holder_child(mp->tb.busd.bus_name, KILLED_HELD, pipe_fds[1]);
	close(pipe_fds[1]);
	wait_readable(pipe_fds[0], 20 * 1000);
	close(pipe_fds[0]);

	/* The held messages do not hold back the ones behind them. */
	assert_ret(bus_queue_open(mp->tb.bus, "killed", BUS_CONSUMER, NULL,
				  &consumer),
		   0);
	for (uint32_t v = KILLED_HELD; v < KILLED_SENT; v++) {
		uint32_t value;

		assert_ret(bus_receive(consumer, &message, BUS_NOWAIT), 0);
		memcpy(&value, message.payload, sizeof(value));
		assert_int_equal(value, v);
		assert_ret(bus_ack(consumer, &message), 0);
	}
	assert_ret(bus_receive(consumer, &message, BUS_NOWAIT), -EAGAIN);

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);

	/* busd sees the death and hands the held ones back (5 s bound). */
	deadline = test_now_ns() + 5ull * SECOND;
	while (got < KILLED_HELD && test_now_ns() < deadline) {
		uint32_t value;
		int ret = bus_receive(consumer, &message, 100ll * MS);

		if (ret == -ETIMEDOUT)
			continue;
		assert_ret(ret, 0);
		memcpy(&value, message.payload, sizeof(value));
		assert_true(value < KILLED_HELD);
		assert_int_equal(redelivered[value], 0);
		assert_int_equal(message.header->delivery_count, 2);
		assert_true(message.header->flags & BUS_MESSAGE_REDELIVERED);
		redelivered[value] = 1;
		got++;
		assert_ret(bus_ack(consumer, &message), 0);
	}
	if (got != KILLED_HELD)
		fail_msg("%d of %d held messages redelivered within 5 s", got,
			 KILLED_HELD);
	assert_ret(bus_receive(consumer, &message, BUS_NOWAIT), -EAGAIN);
	struct bus_queue_stats stats = queue_stats(mp->tb.bus, "killed");
	assert_int_equal(stats.acked, KILLED_SENT);
	assert_int_equal(stats.leased, 0);
	assert_int_equal(stats.depth, 0);
	assert_ret(bus_queue_close(consumer), 0);
	assert_ret(bus_queue_close(producer), 0);
}

#define MP_TEST(name) \
	cmocka_unit_test_setup_teardown(name, mp_setup, mp_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		MP_TEST(test_multiprocess_mpmc_every_message_once),
		MP_TEST(test_multiprocess_spsc_in_order),
		MP_TEST(test_multiprocess_blocked_consumer_wakes_and_times_out),
		MP_TEST(test_multiprocess_blocked_producer_wakes_on_ack),
		MP_TEST(test_multiprocess_nack_redelivers_with_count_2),
		MP_TEST(test_multiprocess_unknown_queue_gives_enoent),
		MP_TEST(test_multiprocess_full_table_gives_ebusy),
		MP_TEST(test_multiprocess_no_daemon_gives_enotconn),
		MP_TEST(test_multiprocess_corrupt_segment_gives_eproto),
		MP_TEST(test_multiprocess_killed_consumer_messages_redelivered),
	};
	int failed;

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	/* A child killed by a test must not take the parent with it. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	failed =
		cmocka_run_group_tests_name("multiprocess", tests, NULL, NULL);
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
