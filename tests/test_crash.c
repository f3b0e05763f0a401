/* SPDX-License-Identifier: MIT */
/*
 * test_crash [SECONDS [PRODUCERS [CONSUMERS [mpmc|spsc]]]]
 *
 * Processes killed at random moments lose no message.  PRODUCERS and
 * CONSUMERS processes (default 3 and 3; an spsc queue has 1 and 1), each
 * connected to a private busd on its own, exchange sequence-numbered,
 * checksummed messages through one queue while this driver SIGKILLs a
 * random one every few milliseconds and starts a replacement.  After
 * SECONDS (0 or left out: 20, scaled by $BUS_TEST_SCALE, at least 5) the
 * kills stop, the producers finish, the consumers drain the queue, and the
 * driver checks:
 *
 *   - every committed message was delivered at least once, and none was
 *     delivered that was never sent;
 *   - no payload was corrupt or torn (a loan killed mid-write never shows);
 *   - a message was delivered again only after a nack or after the
 *     consumer incarnation holding it was killed, never after an ack;
 *   - each producer's messages sit in the queue in the order it sent
 *     them, and a consumer receives queued messages in queue order (apart
 *     from redeliveries, which go first);
 *   - the queue ends empty with nothing leased, within a time limit (a
 *     stall is a failure).
 *
 * What is committed: a producer records, in memory shared with the driver
 * (MAP_SHARED, set up before any fork), the end of the sequences it hands
 * to libbus before the call, and how far they were committed after it
 * returns.  A producer killed between the two leaves those sequences "in
 * doubt": they may or may not have been committed, so they may be missing,
 * and its replacement continues after them.  Consumers record each
 * delivery, ack and nack per message in the same memory, with the
 * incarnation that held it; the driver marks an incarnation killed before
 * it sends the signal.
 *
 * Every process and /dev/shm segment is removed on the way out, whatever
 * happened.  Exit 0 pass, 1 fail, 2 bad arguments, 77 skip (no busd).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "test_common.h"
#include "test_message.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

#define QUEUE_MPMC "crash"
#define QUEUE_SPSC "crash-spsc"
#define MAX_MESSAGE 128u
#define HOLD_MAX 8u /* messages a consumer holds before acking */
#define BATCH_MAX 4u
#define WORKERS_MAX 24u		 /* of each kind; test_fork() tracks 64 */
#define SEQUENCES_MAX (1u << 22) /* per producer: 32 MiB of records */
#define INCARNATIONS_MAX (1u << 22)
#define CALL_TIMEOUT_NS (100 * MS)
#define STALL_LIMIT_NS (30 * SECOND)
#define DRAIN_LIMIT_NS (60 * SECOND)
#define EXIT_LIMIT_MS (30 * 1000)
#define KILL_GAP_MIN_MS 5
#define KILL_GAP_MAX_MS 80
#define BUSD_RESTART_GAP_NS (2 * SECOND) /* with "restart" */
#define BUSD_DOWN_NS (30 * MS)

static const char config[] = "[queue " QUEUE_MPMC "]\n"
			     "type = mpmc\n"
			     "slots = 256\n"
			     "max_message = 128\n"
			     "overflow = block\n"
			     "max_unacked = 16\n"
			     "max_producers = 64\n"
			     "max_consumers = 64\n"
			     "\n"
			     "[queue " QUEUE_SPSC "]\n"
			     "type = spsc\n"
			     "slots = 256\n"
			     "max_message = 128\n"
			     "overflow = block\n"
			     "max_unacked = 16\n";

/* The queue of this run; set before any fork, so every worker has it. */
static const char *queue_name = QUEUE_MPMC;

/*
 * One message's history in 64 bits, so that a consumer updates it with one
 * compare-and-swap:
 *   bits  0..5   deliveries recorded (saturating)
 *   bits  6..7   what the last recorded holder did: enum outcome
 *   bit   8      in doubt: its producer was killed while sending it
 *   bit   9      position known
 *   bits 10..31  the consumer incarnation that last recorded it
 *   bits 32..63  the low 32 bits of its queue position
 */
#define RECORD_DELIVERIES 0x3fu
#define RECORD_OUTCOME_SHIFT 6
#define RECORD_IN_DOUBT (UINT64_C(1) << 8)
#define RECORD_POSITION_KNOWN (UINT64_C(1) << 9)
#define RECORD_HOLDER_SHIFT 10
#define RECORD_HOLDER_MASK ((UINT64_C(1) << 22) - 1)
#define RECORD_POSITION_SHIFT 32

enum outcome { OUTCOME_HELD = 0, OUTCOME_ACKED = 1, OUTCOME_NACKED = 2 };

struct producer_record {
	/* Sequences below next were committed (or are in doubt). */
	_Atomic uint64_t next;
	/* Sequences below attempt_end have been handed to libbus. */
	_Atomic uint64_t attempt_end;
};

/* The memory that the driver and every worker share. */
struct shared {
	_Atomic int failed;
	_Atomic int stop_producing;
	_Atomic int stop_consuming;
	char error[512];
	int64_t start_ns; /* CLOCK_MONOTONIC when producing began */
	double rate;	  /* messages per second per producer */
	uint32_t producers;
	_Atomic uint64_t acked; /* progress */
	_Atomic uint64_t deliveries;
	_Atomic uint64_t redeliveries;
	_Atomic uint64_t nacks;
	struct producer_record producer[WORKERS_MAX];
	_Atomic uint8_t *killed;    /* per consumer incarnation */
	_Atomic uint64_t *messages; /* producer * SEQUENCES_MAX + sequence */
	size_t size;
};

static struct shared *shared;

/* ---- shared memory ------------------------------------------------------ */

static struct shared *shared_make(uint32_t producers)
{
	size_t head = (sizeof(struct shared) + 4095) & ~(size_t)4095;
	size_t killed = INCARNATIONS_MAX;
	size_t messages = (size_t)producers * SEQUENCES_MAX * sizeof(uint64_t);
	size_t size = head + killed + messages;
	/* NORESERVE: pages are touched only as far as the run gets. */
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			     0);
	struct shared *s;

	if (base == MAP_FAILED)
		return NULL;
	s = (struct shared *)base;
	s->killed = (_Atomic uint8_t *)(base + head);
	s->messages = (_Atomic uint64_t *)(base + head + killed);
	s->size = size;
	s->producers = producers;
	return s;
}

static _Atomic uint64_t *record_of(uint32_t producer, uint64_t sequence)
{
	return &shared->messages[(size_t)producer * SEQUENCES_MAX + sequence];
}

static unsigned int record_deliveries(uint64_t r)
{
	return (unsigned int)(r & RECORD_DELIVERIES);
}

static enum outcome record_outcome(uint64_t r)
{
	return (enum outcome)((r >> RECORD_OUTCOME_SHIFT) & 3u);
}

static uint32_t record_holder(uint64_t r)
{
	return (uint32_t)((r >> RECORD_HOLDER_SHIFT) & RECORD_HOLDER_MASK);
}

static uint32_t record_position(uint64_t r)
{
	return (uint32_t)(r >> RECORD_POSITION_SHIFT);
}

static uint64_t record_with(uint64_t r, unsigned int deliveries,
			    enum outcome outcome, uint32_t holder)
{
	r &= RECORD_IN_DOUBT | RECORD_POSITION_KNOWN |
	     (UINT64_C(0xffffffff) << RECORD_POSITION_SHIFT);
	return r | deliveries | ((uint64_t)outcome << RECORD_OUTCOME_SHIFT) |
	       ((uint64_t)holder << RECORD_HOLDER_SHIFT);
}

/* ---- reporting ---------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * SECOND + now.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = { (time_t)(ns / SECOND), (long)(ns % SECOND) };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* The first failure wins the error line; every one is printed. */
static void record_failure(const char *who, const char *format, va_list args)
{
	char line[sizeof(shared->error)];

	vsnprintf(line, sizeof(line), format, args);
	fprintf(stderr, "test_crash: %s: %s\n", who, line);
	if (shared && !atomic_exchange(&shared->failed, 1))
		memcpy(shared->error, line, sizeof(line));
}

__attribute__((format(printf, 1, 2), noreturn)) static void
child_fail(const char *format, ...)
{
	char who[32];
	va_list args;

	snprintf(who, sizeof(who), "pid %d", (int)getpid());
	va_start(args, format);
	record_failure(who, format, args);
	va_end(args);
	_exit(1);
}

__attribute__((format(printf, 1, 2))) static void
driver_fail(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	record_failure("driver", format, args);
	va_end(args);
}

static uint64_t next_random(uint64_t *state)
{
	*state += UINT64_C(0x9e3779b97f4a7c15);
	return test_mix(*state);
}

static bus_queue_t *child_open(enum bus_role role, enum bus_wait_strategy wait,
			       bus_t **bus, const char *bus_name)
{
	struct bus_queue_options options = { .wait = wait, .spin_ns = 2000 };
	bus_queue_t *queue;
	int ret;

	int64_t deadline = now_ns() + EXIT_LIMIT_MS * MS;

	/* busd may be restarting (the "restart" mode): try again. */
	while ((ret = bus_connect(bus_name, bus)) == -ENOTCONN &&
	       now_ns() < deadline)
		sleep_ns(MS);
	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	/* An spsc queue's one slot is free again only once busd has seen
	 * our predecessor die. */
	while (((ret = bus_queue_open(*bus, queue_name, role, &options,
				      &queue)) == -EBUSY ||
		ret == -ENOTCONN) &&
	       now_ns() < deadline)
		sleep_ns(MS);
	if (ret)
		child_fail("bus_queue_open: %s (%s)", bus_strerror(ret),
			   bus_error_detail(*bus));
	return queue;
}

/* ---- producers ---------------------------------------------------------- */

struct producer {
	uint32_t id;
	bus_queue_t *queue;
	uint64_t random;
	struct producer_record *record;
};

/* Paced so that SEQUENCES_MAX records last the whole run: a long run
 * sends slower rather than run out. */
static void producer_pace(const struct producer *p, uint64_t next)
{
	while (shared->rate > 0 && !atomic_load(&shared->stop_producing)) {
		double allowed = (double)(now_ns() - shared->start_ns) /
				 SECOND * shared->rate;

		if ((double)next < allowed)
			return;
		sleep_ns(MS);
	}
}

/* A loan written in pieces, so that kills land in the middle of it. */
static int producer_loan(struct producer *p, uint64_t sequence)
{
	uint32_t length = test_message_length(p->id, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	struct bus_message loan;
	int ret;

	test_message_fill(payload, p->id, sequence, length);
	ret = bus_loan(p->queue, &loan, CALL_TIMEOUT_NS);
	if (ret)
		return ret;
	if (loan.capacity < length)
		child_fail("loan of %u bytes, need %u", loan.capacity, length);
	for (uint32_t at = 0; at < length; at += 16) {
		uint32_t n = length - at < 16 ? length - at : 16;

		memcpy((uint8_t *)loan.payload + at, payload + at, n);
		if (next_random(&p->random) % 4 == 0)
			sched_yield();
	}
	ret = bus_commit(p->queue, &loan, length);
	if (ret)
		child_fail("bus_commit: %s", bus_strerror(ret));
	return 1;
}

static int producer_send(struct producer *p, uint64_t sequence)
{
	uint32_t length = test_message_length(p->id, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	int ret;

	test_message_fill(payload, p->id, sequence, length);
	ret = bus_send(p->queue, payload, length, CALL_TIMEOUT_NS);
	return ret ? ret : 1;
}

static int producer_batch(struct producer *p, uint64_t sequence,
			  unsigned int count)
{
	uint8_t payloads[BATCH_MAX][MAX_MESSAGE];
	struct bus_buffer buffers[BATCH_MAX];

	for (unsigned int i = 0; i < count; i++) {
		uint32_t length =
			test_message_length(p->id, sequence + i, MAX_MESSAGE);

		test_message_fill(payloads[i], p->id, sequence + i, length);
		buffers[i] = (struct bus_buffer){ payloads[i], length };
	}
	return bus_send_batch(p->queue, buffers, count, CALL_TIMEOUT_NS);
}

/*
 * One attempt: hands up to a few sequences to libbus, having said so in
 * attempt_end first, and records how many were committed.
 */
static void producer_step(struct producer *p)
{
	uint64_t next = atomic_load(&p->record->next);
	uint64_t choice = next_random(&p->random) % 8;
	unsigned int count =
		choice == 0 ? 1 + (unsigned int)(next_random(&p->random) %
						 BATCH_MAX)
			    : 1;
	int ret;

	if (next + count > SEQUENCES_MAX) {
		/* Out of records: stay connected, send no more. */
		sleep_ns(10 * MS);
		return;
	}
	producer_pace(p, next);
	/* Release: a consumer that receives one of these sequences reads
	 * attempt_end after its acquire of the cell, which this precedes. */
	atomic_store_explicit(&p->record->attempt_end, next + count,
			      memory_order_release);
	if (choice == 0)
		ret = producer_batch(p, next, count);
	else if (choice < 4)
		ret = producer_loan(p, next);
	else
		ret = producer_send(p, next);
	if (ret == -ETIMEDOUT || ret == -ENOBUFS)
		return; /* full: try again */
	if (ret < 0)
		child_fail("producer %u at %" PRIu64 ": %s", p->id, next,
			   bus_strerror(ret));
	atomic_store(&p->record->next, next + (uint64_t)ret);
}

__attribute__((noreturn)) static void producer_main(const char *bus_name,
						    uint32_t id, uint64_t seed)
{
	struct producer p = {
		.id = id,
		.random = seed,
		.record = &shared->producer[id],
	};
	bus_t *bus;
	int ret;

	p.queue =
		child_open(BUS_PRODUCER, BUS_WAIT_SPIN_FUTEX, &bus, bus_name);
	while (!atomic_load(&shared->stop_producing)) {
		if (atomic_load(&shared->failed))
			_exit(1);
		producer_step(&p);
	}
	ret = bus_queue_close(p.queue);
	if (ret)
		child_fail("bus_queue_close: %s", bus_strerror(ret));
	bus_disconnect(bus);
	_exit(0);
}

/* ---- consumers ---------------------------------------------------------- */

struct consumer {
	uint32_t incarnation;
	bus_queue_t *queue;
	uint64_t random;
	uint64_t max_position; /* of what it received, +1; 0: nothing */
	struct held {
		struct bus_message message;
		uint32_t producer;
		uint64_t sequence;
	} held[HOLD_MAX];
	unsigned int held_count;
	unsigned int hold; /* how many to gather before finishing them */
};

/* Checks a received payload; returns its producer and sequence. */
static void consumer_check_payload(const struct bus_message *m,
				   uint32_t *producer, uint64_t *sequence)
{
	uint64_t attempt_end;

	if (test_message_check(m->payload, m->length, producer, sequence))
		child_fail("corrupt or torn message at queue position %" PRIu64
			   " (%u bytes, delivery %u)",
			   m->header->sequence, m->length,
			   m->header->delivery_count);
	if (*producer >= shared->producers || *sequence >= SEQUENCES_MAX)
		child_fail("message from producer %u, sequence %" PRIu64
			   ": no such producer or sequence",
			   *producer, *sequence);
	/* Acquire: pairs with the producer's release before it sent. */
	attempt_end =
		atomic_load_explicit(&shared->producer[*producer].attempt_end,
				     memory_order_acquire);
	if (*sequence >= attempt_end)
		child_fail("message %u/%" PRIu64 " received before its "
			   "producer sent it (sent up to %" PRIu64 ")",
			   *producer, *sequence, attempt_end);
}

/*
 * A queued message comes from the ring in position order; only a
 * redelivery may come from behind, and every redelivery has its delivery
 * count raised (by a nack, or by busd when the holder died), so a count of
 * 1 behind a position already received is a message out of order.
 */
static void consumer_check_order(struct consumer *c,
				 const struct bus_message *m)
{
	uint64_t position = m->header->sequence;

	if (position + 1 > c->max_position) {
		c->max_position = position + 1;
		return;
	}
	if (m->header->delivery_count <= 1)
		child_fail("queue position %" PRIu64 " came after %" PRIu64
			   " with delivery count %u: out of order, or a "
			   "redelivery whose count was not raised",
			   position, c->max_position - 1,
			   m->header->delivery_count);
}

static void consumer_record_delivery(struct consumer *c,
				     const struct bus_message *m,
				     uint32_t producer, uint64_t sequence)
{
	_Atomic uint64_t *record = record_of(producer, sequence);
	uint32_t position = (uint32_t)m->header->sequence;
	uint64_t old = atomic_load(record), new;
	unsigned int seen;

	do {
		seen = record_deliveries(old);
		if (seen && record_outcome(old) == OUTCOME_ACKED)
			child_fail("message %u/%" PRIu64 " delivered again "
				   "after incarnation %u acked it",
				   producer, sequence, record_holder(old));
		if (seen && record_outcome(old) == OUTCOME_HELD &&
		    !atomic_load(&shared->killed[record_holder(old)]))
			child_fail("message %u/%" PRIu64 " delivered again "
				   "while incarnation %u, alive, holds it",
				   producer, sequence, record_holder(old));
		if ((old & RECORD_POSITION_KNOWN) &&
		    record_position(old) != position)
			child_fail("message %u/%" PRIu64 " came back at queue "
				   "position %u, first at %u",
				   producer, sequence, position,
				   record_position(old));
		if (m->header->delivery_count < seen + 1)
			child_fail("message %u/%" PRIu64 " has delivery count "
				   "%u after %u recorded deliveries",
				   producer, sequence,
				   m->header->delivery_count, seen);
		new = record_with(old,
				  seen < RECORD_DELIVERIES ? seen + 1 : seen,
				  OUTCOME_HELD, c->incarnation);
		new |= RECORD_POSITION_KNOWN |
		       ((uint64_t)position << RECORD_POSITION_SHIFT);
	} while (!atomic_compare_exchange_weak(record, &old, new));
	atomic_fetch_add(&shared->deliveries, 1);
	if (seen)
		atomic_fetch_add(&shared->redeliveries, 1);
}

/* The outcome of a message we hold, before a nack or after an ack. */
static void consumer_record_outcome(struct consumer *c,
				    const struct held *held,
				    enum outcome outcome)
{
	_Atomic uint64_t *record = record_of(held->producer, held->sequence);
	uint64_t old = atomic_load(record), new;

	do {
		if (record_holder(old) != c->incarnation ||
		    record_outcome(old) != OUTCOME_HELD)
			child_fail("message %u/%" PRIu64 " is no longer ours "
				   "(holder %u, outcome %d)",
				   held->producer, held->sequence,
				   record_holder(old),
				   (int)record_outcome(old));
		new = record_with(old, record_deliveries(old), outcome,
				  c->incarnation);
	} while (!atomic_compare_exchange_weak(record, &old, new));
}

static void consumer_take(struct consumer *c, const struct bus_message *m)
{
	uint32_t producer;
	uint64_t sequence;

	consumer_check_payload(m, &producer, &sequence);
	consumer_check_order(c, m);
	consumer_record_delivery(c, m, producer, sequence);
	/* The ids are kept: after an ack the payload is no longer ours. */
	c->held[c->held_count++] = (struct held){ *m, producer, sequence };
}

static void consumer_receive(struct consumer *c)
{
	struct bus_message messages[BATCH_MAX];
	unsigned int room = c->hold - c->held_count;
	unsigned int want = 1;
	int ret;

	if (room > 1 && next_random(&c->random) % 4 == 0)
		want = 1 +
		       (unsigned int)(next_random(&c->random) %
				      (room < BATCH_MAX ? room : BATCH_MAX));
	if (want == 1)
		ret = bus_receive(c->queue, &messages[0], CALL_TIMEOUT_NS);
	else
		ret = bus_receive_batch(c->queue, messages, want,
					CALL_TIMEOUT_NS);
	if (ret == -ETIMEDOUT || ret == -EAGAIN)
		return;
	if (ret < 0)
		child_fail("receive: %s", bus_strerror(ret));
	for (int i = 0; i < (want == 1 ? 1 : ret); i++)
		consumer_take(c, &messages[i]);
}

/* held[] stays in receive order, as the handle's own list is. */
static void consumer_forget(struct consumer *c, unsigned int i)
{
	memmove(&c->held[i], &c->held[i + 1],
		(c->held_count - i - 1) * sizeof(c->held[0]));
	c->held_count--;
}

static void consumer_ack(struct consumer *c, unsigned int i)
{
	int ret = bus_ack(c->queue, &c->held[i].message);

	if (ret)
		child_fail("bus_ack: %s", bus_strerror(ret));
	/* Recorded after: killed before the ack, the message comes back
	 * and must not look acked. */
	consumer_record_outcome(c, &c->held[i], OUTCOME_ACKED);
	atomic_fetch_add(&shared->acked, 1);
	consumer_forget(c, i);
}

/* Acks held[0..last] with one call. */
static void consumer_ack_through(struct consumer *c, unsigned int last)
{
	int ret = bus_ack_through(c->queue, &c->held[last].message);

	if (ret != (int)last + 1)
		child_fail("bus_ack_through returned %d, expected %u", ret,
			   last + 1);
	for (unsigned int i = 0; i <= last; i++)
		consumer_record_outcome(c, &c->held[i], OUTCOME_ACKED);
	atomic_fetch_add(&shared->acked, last + 1);
	for (unsigned int i = 0; i <= last; i++)
		consumer_forget(c, 0);
}

static void consumer_nack(struct consumer *c, unsigned int i)
{
	int ret;

	/* Recorded first: once handed back, the message may reach another
	 * consumer at once. */
	consumer_record_outcome(c, &c->held[i], OUTCOME_NACKED);
	ret = bus_nack(c->queue, &c->held[i].message);
	if (ret)
		child_fail("bus_nack: %s", bus_strerror(ret));
	atomic_fetch_add(&shared->nacks, 1);
	consumer_forget(c, i);
}

/* Finishes everything held: now and then a nack, an ack_through of some,
 * the rest acked one by one in random order. */
static void consumer_finish(struct consumer *c, bool nack_some)
{
	if (nack_some && c->held_count && next_random(&c->random) % 16 == 0)
		consumer_nack(c, (unsigned int)(next_random(&c->random) %
						c->held_count));
	if (c->held_count > 1 && next_random(&c->random) % 4 == 0)
		consumer_ack_through(c,
				     (unsigned int)(next_random(&c->random) %
						    c->held_count));
	while (c->held_count)
		consumer_ack(c, (unsigned int)(next_random(&c->random) %
					       c->held_count));
	c->hold = 1 + (unsigned int)(next_random(&c->random) % HOLD_MAX);
}

__attribute__((noreturn)) static void
consumer_main(const char *bus_name, uint32_t incarnation, uint64_t seed)
{
	struct consumer c = {
		.incarnation = incarnation,
		.random = seed,
		.hold = 1,
	};
	enum bus_wait_strategy wait = seed & 1 ? BUS_WAIT_FUTEX
					       : BUS_WAIT_SPIN_FUTEX;
	bus_t *bus;
	int ret;

	c.queue = child_open(BUS_CONSUMER, wait, &bus, bus_name);
	while (!atomic_load(&shared->stop_consuming)) {
		if (atomic_load(&shared->failed))
			_exit(1);
		consumer_receive(&c);
		if (c.held_count == c.hold ||
		    (c.held_count && next_random(&c.random) % 8 == 0))
			consumer_finish(&c, true);
	}
	consumer_finish(&c, false);
	ret = bus_queue_close(c.queue);
	if (ret)
		child_fail("bus_queue_close: %s", bus_strerror(ret));
	bus_disconnect(bus);
	_exit(0);
}

/* ---- the driver --------------------------------------------------------- */

struct worker {
	pid_t pid; /* 0 when not running */
	bool producer;
	uint32_t id;	      /* producer: its id */
	uint32_t incarnation; /* consumer: this run of it */
};

struct driver {
	struct test_busd busd;
	bus_t *bus;
	bus_queue_t *observer;
	struct worker workers[2 * WORKERS_MAX];
	uint32_t producers;
	uint32_t consumers;
	uint32_t incarnations; /* consumer incarnations so far */
	uint64_t random;
	uint64_t producer_kills;
	uint64_t consumer_kills;
	int64_t seconds;
	bool restart_busd; /* kill -9 busd now and then, and restart it */
	int64_t next_restart_ns;
	uint64_t busd_restarts;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int signal)
{
	interrupted = signal;
}

static const char *worker_kind(const struct worker *w)
{
	return w->producer ? "producer" : "consumer";
}

static int worker_start(struct driver *d, struct worker *w)
{
	uint64_t seed = next_random(&d->random);
	pid_t pid;

	if (!w->producer)
		w->incarnation = ++d->incarnations;
	pid = test_fork();
	if (pid < 0) {
		driver_fail("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (w->producer)
			producer_main(d->busd.bus_name, w->id, seed);
		consumer_main(d->busd.bus_name, w->incarnation, seed);
	}
	w->pid = pid;
	return 0;
}

/*
 * After a producer's death: what it had handed to libbus beyond what it
 * saw committed is in doubt, and its replacement starts after it.
 */
static void producer_settle(uint32_t id)
{
	struct producer_record *r = &shared->producer[id];
	uint64_t next = atomic_load(&r->next);
	uint64_t end = atomic_load(&r->attempt_end);

	for (uint64_t s = next; s < end; s++)
		atomic_fetch_or(record_of(id, s), RECORD_IN_DOUBT);
	if (end > next)
		atomic_store(&r->next, end);
}

static int worker_kill(struct driver *d, struct worker *w)
{
	int status;

	/* Marked before the signal: a consumer that gets one of its
	 * messages again must find it marked. */
	if (!w->producer)
		atomic_store(&shared->killed[w->incarnation], 1);
	if (kill(w->pid, SIGKILL)) {
		driver_fail("kill %d: %s", (int)w->pid, strerror(errno));
		return -1;
	}
	if (test_child_wait(w->pid, EXIT_LIMIT_MS, &status)) {
		driver_fail("%s %d did not die of SIGKILL", worker_kind(w),
			    (int)w->pid);
		return -1;
	}
	w->pid = 0;
	if (!WIFSIGNALED(status)) {
		driver_fail("%s exited (status %#x) before it was killed",
			    worker_kind(w), status);
		return -1;
	}
	if (w->producer) {
		producer_settle(w->id);
		d->producer_kills++;
	} else {
		d->consumer_kills++;
	}
	return 0;
}

/* A worker that exits by itself during the run has failed. */
static int workers_check(struct driver *d)
{
	for (uint32_t i = 0; i < d->producers + d->consumers; i++) {
		struct worker *w = &d->workers[i];
		int status;

		if (w->pid && test_child_wait(w->pid, 0, &status) == 0) {
			w->pid = 0;
			if (!atomic_load(&shared->failed))
				driver_fail("%s exited with status %#x",
					    worker_kind(w), status);
			return -1;
		}
	}
	if (interrupted) {
		driver_fail("interrupted by signal %d", (int)interrupted);
		return -1;
	}
	return atomic_load(&shared->failed) ? -1 : 0;
}

static int workers_start(struct driver *d)
{
	for (uint32_t i = 0; i < d->producers + d->consumers; i++) {
		struct worker *w = &d->workers[i];

		w->producer = i < d->producers;
		w->id = w->producer ? i : 0;
		if (worker_start(d, w))
			return -1;
	}
	return 0;
}

static void print_stats(const char *when, const struct bus_queue_stats *s)
{
	fprintf(stderr,
		"test_crash: queue %s: depth %" PRIu64 ", leased %" PRIu64
		", enqueued %" PRIu64 ", dequeued %" PRIu64 ", acked %" PRIu64
		", redelivered %" PRIu64 ", reclaimed %" PRIu64
		", producers %u, consumers %u\n",
		when, s->depth, s->leased, s->enqueued, s->dequeued, s->acked,
		s->redelivered, s->reclaimed, s->producers, s->consumers);
}

static struct bus_queue_stats queue_stats(struct driver *d)
{
	struct bus_queue_stats stats = { 0 };

	bus_queue_stats(d->observer, &stats);
	return stats;
}

/*
 * busd dies with SIGKILL; the workers go on through their mappings while
 * it is down; a new busd adopts the queue and the live workers' slots.
 */
static int restart_busd(struct driver *d)
{
	int status;

	if (kill(d->busd.pid, SIGKILL) ||
	    waitpid(d->busd.pid, &status, 0) != d->busd.pid) {
		driver_fail("cannot kill busd: %s", strerror(errno));
		return -1;
	}
	d->busd.pid = 0;
	sleep_ns(BUSD_DOWN_NS);
	if (test_busd_start(&d->busd, config)) {
		driver_fail("busd did not start again");
		return -1;
	}
	d->busd_restarts++;
	d->next_restart_ns = now_ns() + BUSD_RESTART_GAP_NS;
	return 0;
}

/* Kills a random worker every few milliseconds and starts another. */
static int kill_phase(struct driver *d)
{
	int64_t end = now_ns() + d->seconds * SECOND;
	int64_t progress_at = now_ns();
	uint64_t acked = 0;

	while (now_ns() < end) {
		uint32_t gap = KILL_GAP_MIN_MS +
			       (uint32_t)(next_random(&d->random) %
					  (KILL_GAP_MAX_MS - KILL_GAP_MIN_MS));
		struct worker *w;

		sleep_ns(gap * MS);
		if (workers_check(d))
			return -1;
		w = &d->workers[next_random(&d->random) %
				(d->producers + d->consumers)];
		if (!w->producer && d->incarnations + 1 >= INCARNATIONS_MAX)
			continue;
		if (worker_kill(d, w) || worker_start(d, w))
			return -1;
		if (d->restart_busd && now_ns() >= d->next_restart_ns &&
		    restart_busd(d))
			return -1;
		if (atomic_load(&shared->acked) != acked) {
			acked = atomic_load(&shared->acked);
			progress_at = now_ns();
		} else if (now_ns() - progress_at > STALL_LIMIT_NS) {
			struct bus_queue_stats stats = queue_stats(d);

			print_stats("stalled", &stats);
			driver_fail(
				"no message acked for %lld s while killing",
				STALL_LIMIT_NS / SECOND);
			return -1;
		}
	}
	return 0;
}

/* Waits for every worker of one kind to leave by itself, status 0. */
static int workers_leave(struct driver *d, bool producers)
{
	for (uint32_t i = 0; i < d->producers + d->consumers; i++) {
		struct worker *w = &d->workers[i];
		int status;

		if (w->producer != producers || !w->pid)
			continue;
		if (test_child_wait(w->pid, EXIT_LIMIT_MS, &status)) {
			driver_fail("%s %d did not stop within %d ms",
				    worker_kind(w), (int)w->pid,
				    EXIT_LIMIT_MS);
			return -1;
		}
		w->pid = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (!atomic_load(&shared->failed))
				driver_fail("%s stopped with status %#x",
					    worker_kind(w), status);
			return -1;
		}
	}
	return 0;
}

/* No more kills: producers stop, consumers empty the queue, then stop. */
static int drain_phase(struct driver *d)
{
	int64_t deadline;
	struct bus_queue_stats stats;

	atomic_store(&shared->stop_producing, 1);
	if (workers_leave(d, true))
		return -1;
	deadline = now_ns() + DRAIN_LIMIT_NS;
	for (;;) {
		if (workers_check(d))
			return -1;
		stats = queue_stats(d);
		if (stats.depth == 0 && stats.leased == 0)
			break;
		if (now_ns() > deadline) {
			print_stats("not drained", &stats);
			driver_fail("the queue still holds %" PRIu64 " queued "
				    "and %" PRIu64 " leased messages %lld s "
				    "after the last kill",
				    stats.depth, stats.leased,
				    DRAIN_LIMIT_NS / SECOND);
			return -1;
		}
		sleep_ns(10 * MS);
	}
	atomic_store(&shared->stop_consuming, 1);
	if (workers_leave(d, false))
		return -1;
	print_stats("at the end", &stats);
	return 0;
}

/* ---- the final check ---------------------------------------------------- */

struct tally {
	uint64_t committed;
	uint64_t in_doubt;
	uint64_t lost;
	uint64_t bad;
};

/* Prints the first few problems of a kind, counts them all. */
__attribute__((format(printf, 2, 3))) static void
tally_bad(struct tally *t, const char *format, ...)
{
	va_list args;

	if (t->bad++ < 10) {
		va_start(args, format);
		fprintf(stderr, "test_crash: ");
		vfprintf(stderr, format, args);
		fprintf(stderr, "\n");
		va_end(args);
	}
}

static void check_message(struct tally *t, uint32_t p, uint64_t s, uint64_t r)
{
	if (r & RECORD_IN_DOUBT)
		t->in_doubt++;
	if (record_deliveries(r) == 0) {
		if (!(r & RECORD_IN_DOUBT)) {
			t->lost++;
			tally_bad(t,
				  "message %u/%" PRIu64 " was committed "
				  "and never delivered",
				  p, s);
		}
		return;
	}
	switch (record_outcome(r)) {
	case OUTCOME_ACKED:
		break;
	case OUTCOME_HELD:
		/* Killed after its ack and before recording it: fine; had
		 * the ack not happened, the queue would not have drained. */
		if (!atomic_load(&shared->killed[record_holder(r)]))
			tally_bad(t,
				  "message %u/%" PRIu64 " is still held by "
				  "incarnation %u, which stopped cleanly",
				  p, s, record_holder(r));
		break;
	case OUTCOME_NACKED:
		t->lost++;
		tally_bad(t,
			  "message %u/%" PRIu64 " was nacked and never "
			  "delivered again",
			  p, s);
		break;
	}
}

/* Every committed message delivered; positions follow sequences. */
static int check_records(struct driver *d, struct tally *t)
{
	for (uint32_t p = 0; p < d->producers; p++) {
		uint64_t next = atomic_load(&shared->producer[p].next);
		uint64_t previous = 0;
		bool have_previous = false;
		uint32_t previous_position = 0;

		t->committed += next;
		for (uint64_t s = 0; s < next; s++) {
			uint64_t r = atomic_load(record_of(p, s));
			uint32_t position = record_position(r);

			check_message(t, p, s, r);
			if (!(r & RECORD_POSITION_KNOWN))
				continue;
			if (have_previous &&
			    (int32_t)(position - previous_position) <= 0)
				tally_bad(t,
					  "producer %u: sequence %" PRIu64
					  " sits at queue position %u, not "
					  "after sequence %" PRIu64 " at %u",
					  p, s, position, previous,
					  previous_position);
			previous = s;
			previous_position = position;
			have_previous = true;
		}
	}
	return t->bad ? -1 : 0;
}

/* ---- main --------------------------------------------------------------- */

static int parse_count(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || *end || end == text || value < min || value > max)
		return -EINVAL;
	*out = value;
	return 0;
}

static int parse_arguments(struct driver *d, int argc, char **argv)
{
	long seconds = 0, producers = 3, consumers = 3;
	bool spsc = argc > 4 && !strcmp(argv[4], "spsc");

	d->restart_busd = argc > 5 && !strcmp(argv[5], "restart");
	if ((argc > 5 && !d->restart_busd) || argc > 6 ||
	    (argc > 1 && parse_count(argv[1], 0, 1000000000L, &seconds)) ||
	    (argc > 2 && parse_count(argv[2], 1, WORKERS_MAX, &producers)) ||
	    (argc > 3 && parse_count(argv[3], 1, WORKERS_MAX, &consumers)) ||
	    (argc > 4 && !spsc && strcmp(argv[4], "mpmc")) ||
	    (spsc && (producers != 1 || consumers != 1))) {
		fprintf(stderr,
			"usage: test_crash [SECONDS [PRODUCERS "
			"[CONSUMERS [mpmc|spsc [restart]]]]]   (1 to "
			"%u of each; spsc: 1 and 1; restart: kill -9 "
			"busd every 2 s and start it again)\n",
			WORKERS_MAX);
		return -EINVAL;
	}
	if (spsc)
		queue_name = QUEUE_SPSC;
	d->seconds = seconds ? seconds : (long)test_scaled(20, 5);
	d->producers = (uint32_t)producers;
	d->consumers = (uint32_t)consumers;
	return 0;
}

static int run(struct driver *d)
{
	struct tally t = { 0 };
	int ret;

	ret = test_busd_prepare(&d->busd);
	if (!ret)
		ret = test_busd_start(&d->busd, config);
	if (!ret)
		ret = bus_connect(d->busd.bus_name, &d->bus);
	if (!ret)
		ret = bus_queue_open(d->bus, queue_name, BUS_OBSERVER, NULL,
				     &d->observer);
	if (ret) {
		driver_fail("set-up: %s", bus_strerror(ret));
		return -1;
	}
	/* Producers are paced so that the records last the whole run (see
	 * producer_pace); 20 s allow more than they manage on two cores. */
	shared->rate = 0.8 * SEQUENCES_MAX / (double)d->seconds;
	shared->start_ns = now_ns();
	d->next_restart_ns = now_ns() + BUSD_RESTART_GAP_NS;
	if (workers_start(d) || kill_phase(d) || drain_phase(d) ||
	    check_records(d, &t))
		return -1;
	printf("test_crash: %s, %lld s, %u producers, %u consumers: %" PRIu64
	       " committed (%" PRIu64 " in doubt), %" PRIu64
	       " deliveries (%" PRIu64 " again, %" PRIu64 " nacks), %" PRIu64
	       " producer and %" PRIu64 " consumer kills, %" PRIu64
	       " busd restarts\n",
	       queue_name, (long long)d->seconds, d->producers, d->consumers,
	       t.committed, t.in_doubt,
	       (uint64_t)atomic_load(&shared->deliveries),
	       (uint64_t)atomic_load(&shared->redeliveries),
	       (uint64_t)atomic_load(&shared->nacks), d->producer_kills,
	       d->consumer_kills, d->busd_restarts);
	return 0;
}

/* Whatever happened: every child, busd, /dev/shm, the runtime dir. */
static int finish(struct driver *d, int ret)
{
	test_children_kill();
	if (d->observer)
		bus_queue_close(d->observer);
	bus_disconnect(d->bus);
	if (test_busd_stop(&d->busd))
		ret = -1;
	test_busd_cleanup(&d->busd);
	if (ret && shared->error[0])
		fprintf(stderr, "test_crash: FAILED: %s\n", shared->error);
	munmap(shared, shared->size);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct driver d = { 0 };
	struct sigaction action = { .sa_handler = on_signal };

	if (parse_arguments(&d, argc, argv))
		return 2;
	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	/* Children killed under our feet must not take the driver along. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	shared = shared_make(d.producers);
	if (!shared) {
		fprintf(stderr, "test_crash: mmap: %s\n", strerror(errno));
		return 1;
	}
	d.random = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	return finish(&d, run(&d));
}
