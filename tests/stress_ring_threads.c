/* SPDX-License-Identifier: MIT */
/*
 * stress_ring_threads TYPE PRODUCERS CONSUMERS COUNT [MAX_MESSAGE]
 *
 * Producers and consumers as threads of one process, sharing one mapping of
 * a local queue segment (no busd), so that ThreadSanitizer sees every access
 * to the ring: it cannot see across processes.  Each producer sends COUNT
 * messages (scaled by $BUS_TEST_SCALE) carrying (producer, sequence,
 * checksum); the program checks that every message is acked exactly once,
 * that first deliveries keep per-producer order, and that no payload is
 * corrupt.  Odd consumers nack a fraction of what they get; every consumer
 * holds several messages and acks them out of order.  Producers use the
 * three sending calls in turn.  MAX_MESSAGE (default 96, at most 4096):
 * payloads vary from 24 bytes to it, so that an spsc queue's arena (packed
 * messages) holds records of every size, wrapping at its end and going
 * round held ones.  Exit 0 on success, 1 on a failure, 2 on bad
 * arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "local_queue.h"
#include "test_message.h"

#define MAX_MESSAGE_LIMIT 4096u
/* The queue's max_message (argument 5, default 96). */
static uint32_t max_message = 96;
#define MAX_MESSAGE max_message
#define SLOTS 256u
#define MAX_UNACKED 16u
#define HOLD_MAX 8u /* messages a consumer holds before acking */
#define CALL_TIMEOUT_NS (20 * 1000 * 1000)
#define STALL_LIMIT_NS (30ull * 1000 * 1000 * 1000)

struct stress {
	struct local_queue queue;
	uint32_t producers;
	uint32_t consumers;
	uint64_t count; /* per producer */
	uint64_t total;
	/* Per message: acks seen, and first deliveries seen. */
	_Atomic uint8_t *acked;
	_Atomic uint8_t *first_delivered;
	_Atomic uint64_t acked_total;
	_Atomic uint64_t progress; /* anything done, for the stall check */
	_Atomic int failed;
	_Atomic uint32_t running;
};

struct worker {
	struct stress *stress;
	bus_queue_t *handle;
	uint32_t index;
	pthread_t thread;
	uint64_t rng;
	uint64_t *last_sequence; /* consumer: per producer, first deliveries */
	int nacker;		 /* consumer: hands back some new messages */
};

static void stress_fail(struct stress *s, const char *format, ...)
{
	va_list args;

	/* Only the first failure is printed: the rest follow from it. */
	if (atomic_exchange(&s->failed, 1))
		return;
	va_start(args, format);
	fprintf(stderr, "stress_ring_threads: ");
	vfprintf(stderr, format, args);
	fprintf(stderr, "\n");
	va_end(args);
}

static uint64_t next_random(struct worker *w)
{
	w->rng = w->rng * UINT64_C(6364136223846793005) +
		 UINT64_C(1442695040888963407);
	return w->rng >> 33;
}

static uint64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* ---- producers ------------------------------------------------------ */

static int produce_loan(struct worker *w, uint64_t sequence)
{
	uint32_t length = test_message_length(w->index, sequence, MAX_MESSAGE);
	struct bus_message loan;
	int ret;

	do
		ret = bus_loan(w->handle, &loan, CALL_TIMEOUT_NS);
	while (ret == -ETIMEDOUT && !atomic_load(&w->stress->failed));
	if (ret)
		return ret;
	test_message_fill(loan.payload, w->index, sequence, length);
	return bus_commit(w->handle, &loan, length);
}

static int produce_send(struct worker *w, uint64_t sequence)
{
	uint8_t payload[MAX_MESSAGE_LIMIT];
	uint32_t length = test_message_length(w->index, sequence, MAX_MESSAGE);
	int ret;

	test_message_fill(payload, w->index, sequence, length);
	do
		ret = bus_send(w->handle, payload, length, CALL_TIMEOUT_NS);
	while (ret == -ETIMEDOUT && !atomic_load(&w->stress->failed));
	return ret;
}

/* Sends up to 8 messages from sequence on; returns how many went. */
static int produce_batch(struct worker *w, uint64_t sequence)
{
	uint8_t payloads[8][MAX_MESSAGE_LIMIT];
	struct bus_buffer buffers[8];
	uint64_t left = w->stress->count - sequence;
	unsigned int n = left < 8 ? (unsigned int)left : 8;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		uint32_t length = test_message_length(w->index, sequence + i,
						      MAX_MESSAGE);

		test_message_fill(payloads[i], w->index, sequence + i, length);
		buffers[i].data = payloads[i];
		buffers[i].length = length;
	}
	do
		ret = bus_send_batch(w->handle, buffers, n, CALL_TIMEOUT_NS);
	while (ret == -ETIMEDOUT && !atomic_load(&w->stress->failed));
	return ret;
}

/* Loans up to 8 slots from sequence on, writes them in place, commits
 * them together; returns how many went. */
static int produce_loan_batch(struct worker *w, uint64_t sequence)
{
	struct bus_message loans[8];
	uint64_t left = w->stress->count - sequence;
	int n;

	do
		n = bus_loan_batch(w->handle, loans,
				   left < 8 ? (unsigned int)left : 8,
				   CALL_TIMEOUT_NS);
	while (n == -ETIMEDOUT && !atomic_load(&w->stress->failed));
	if (n <= 0)
		return n ? n : -EIO;
	for (int i = 0; i < n; i++) {
		loans[i].length = test_message_length(
			w->index, sequence + (uint64_t)i, MAX_MESSAGE);
		test_message_fill(loans[i].payload, w->index,
				  sequence + (uint64_t)i, loans[i].length);
	}
	return bus_commit_batch(w->handle, loans, (unsigned int)n) == n ? n
									: -EIO;
}

static void *producer_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->stress;
	uint64_t sequence = 0;
	unsigned int calls = 0;

	while (sequence < s->count && !atomic_load(&s->failed)) {
		/* Every producer takes turns with each way to send. */
		unsigned int mode = (w->index + calls++) % 4;
		int ret;

		switch (mode) {
		case 0:
			ret = produce_loan(w, sequence);
			break;
		case 1:
			ret = produce_send(w, sequence);
			break;
		case 2:
			ret = produce_batch(w, sequence);
			break;
		default:
			ret = produce_loan_batch(w, sequence);
			break;
		}
		if (ret < 0) {
			if (!atomic_load(&s->failed))
				stress_fail(s,
					    "producer %u at %" PRIu64 ": %s",
					    w->index, sequence,
					    bus_strerror(ret));
			break;
		}
		sequence += mode >= 2 ? (uint64_t)ret : 1;
		atomic_fetch_add_explicit(&s->progress, 1,
					  memory_order_relaxed);
	}
	atomic_fetch_sub(&s->running, 1);
	return NULL;
}

/* ---- consumers ------------------------------------------------------ */

static int ack_one(struct worker *w, const struct bus_message *message)
{
	struct stress *s = w->stress;
	uint32_t producer;
	uint64_t sequence;
	int ret;

	/* Read before the ack: after it the cell belongs to a producer. */
	if (test_message_check(message->payload, message->length, &producer,
			       &sequence))
		return -EBADMSG;
	ret = bus_ack(w->handle, message);
	if (ret)
		return ret;
	if (atomic_fetch_add(&s->acked[producer * s->count + sequence], 1)) {
		stress_fail(s, "producer %u message %" PRIu64 " acked twice",
			    producer, sequence);
		return -EBADMSG;
	}
	atomic_fetch_add(&s->acked_total, 1);
	atomic_fetch_add_explicit(&s->progress, 1, memory_order_relaxed);
	return 0;
}

/* Acks the held messages in a random order. */
static int ack_held(struct worker *w, struct bus_message *held,
		    unsigned int *count)
{
	while (*count) {
		unsigned int i = (unsigned int)(next_random(w) % *count);
		int ret = ack_one(w, &held[i]);

		if (ret)
			return ret;
		held[i] = held[--*count];
	}
	return 0;
}

/*
 * Checks a delivery.  Returns 1 if the consumer should nack it, 0 to keep
 * it, negative on a failure.
 */
static int check_delivery(struct worker *w, const struct bus_message *m)
{
	struct stress *s = w->stress;
	uint32_t producer;
	uint64_t sequence;

	if (test_message_check(m->payload, m->length, &producer, &sequence) ||
	    producer >= s->producers || sequence >= s->count) {
		stress_fail(s, "consumer %u: corrupt message of %u bytes",
			    w->index, m->length);
		return -EBADMSG;
	}
	if (m->header->payload_length != m->length ||
	    m->header->delivery_count < 1) {
		stress_fail(s,
			    "consumer %u: header disagrees (length %u/%u, "
			    "delivery count %u)",
			    w->index, m->header->payload_length, m->length,
			    m->header->delivery_count);
		return -EBADMSG;
	}
	if (m->header->delivery_count > 1)
		return 0; /* redelivered: order and uniqueness do not apply */
	if (atomic_fetch_add(
		    &s->first_delivered[producer * s->count + sequence], 1)) {
		stress_fail(s,
			    "producer %u message %" PRIu64
			    " delivered twice as new",
			    producer, sequence);
		return -EBADMSG;
	}
	if (w->last_sequence[producer] != UINT64_MAX &&
	    sequence <= w->last_sequence[producer]) {
		stress_fail(s,
			    "consumer %u: producer %u's %" PRIu64
			    " after %" PRIu64,
			    w->index, producer, sequence,
			    w->last_sequence[producer]);
		return -EBADMSG;
	}
	w->last_sequence[producer] = sequence;
	/* A nacking consumer hands back one in sixteen new messages. */
	return w->nacker && next_random(w) % 16 == 0;
}

static int consume_one(struct worker *w, struct bus_message *held,
		       unsigned int *count)
{
	struct bus_message message;
	int ret = bus_receive(w->handle, &message, CALL_TIMEOUT_NS);

	if (ret == -ETIMEDOUT || ret == -EAGAIN)
		return ack_held(w, held, count);
	if (ret)
		return ret;
	ret = check_delivery(w, &message);
	if (ret < 0)
		return ret;
	if (ret)
		return bus_nack(w->handle, &message);
	held[(*count)++] = message;
	if (*count == HOLD_MAX)
		return ack_held(w, held, count);
	return 0;
}

/* Even consumers also use the batch calls: receive many, ack up to one. */
static int consume_batch(struct worker *w)
{
	struct bus_message messages[HOLD_MAX];
	int n = bus_receive_batch(w->handle, messages, HOLD_MAX,
				  CALL_TIMEOUT_NS);
	struct stress *s = w->stress;

	if (n == -ETIMEDOUT || n == -EAGAIN)
		return 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		uint32_t producer = 0;
		uint64_t sequence = 0;

		/* No nacks here: a batch is acked through its last. */
		if (check_delivery(w, &messages[i]) < 0)
			return -EBADMSG;
		test_message_check(messages[i].payload, messages[i].length,
				   &producer, &sequence);
		if (atomic_fetch_add(&s->acked[producer * s->count + sequence],
				     1)) {
			stress_fail(s,
				    "producer %u message %" PRIu64
				    " acked twice",
				    producer, sequence);
			return -EBADMSG;
		}
	}
	int acked = bus_ack_through(w->handle, &messages[n - 1]);
	if (acked != n) {
		stress_fail(s, "consumer %u: ack_through acked %d of %d",
			    w->index, acked, n);
		return -EBADMSG;
	}
	atomic_fetch_add(&s->acked_total, (uint64_t)n);
	atomic_fetch_add_explicit(&s->progress, 1, memory_order_relaxed);
	return 0;
}

static void *consumer_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->stress;
	struct bus_message held[HOLD_MAX];
	unsigned int count = 0;
	uint64_t round = 0;

	while (atomic_load(&s->acked_total) < s->total &&
	       !atomic_load(&s->failed)) {
		int ret;

		/* The others alternate single and batch receives. */
		if (!w->nacker && (round++ & 64) && count == 0)
			ret = consume_batch(w);
		else
			ret = consume_one(w, held, &count);
		if (ret) {
			if (!atomic_load(&s->failed))
				stress_fail(s, "consumer %u: %s", w->index,
					    bus_strerror(ret));
			break;
		}
	}
	if (!atomic_load(&s->failed) && count)
		stress_fail(s, "consumer %u: %u messages left held", w->index,
			    count);
	atomic_fetch_sub(&s->running, 1);
	return NULL;
}

/* ---- main ----------------------------------------------------------- */

static int parse_args(struct stress *s, int argc, char **argv,
		      enum bus_queue_type *type)
{
	const char *scale_text = getenv("BUS_TEST_SCALE");
	double scale = scale_text && *scale_text ? strtod(scale_text, NULL)
						 : 1;

	if (argc != 5 && argc != 6)
		return -EINVAL;
	if (argc == 6) {
		max_message = (uint32_t)strtoul(argv[5], NULL, 10);
		if (max_message < TEST_MESSAGE_MIN ||
		    max_message > MAX_MESSAGE_LIMIT)
			return -EINVAL;
	}
	if (!strcmp(argv[1], "spsc"))
		*type = BUS_QUEUE_SPSC;
	else if (!strcmp(argv[1], "mpmc"))
		*type = BUS_QUEUE_MPMC;
	else
		return -EINVAL;
	s->producers = (uint32_t)strtoul(argv[2], NULL, 10);
	s->consumers = (uint32_t)strtoul(argv[3], NULL, 10);
	s->count = strtoull(argv[4], NULL, 10);
	if (scale > 0 && scale < 1)
		s->count = (uint64_t)((double)s->count * scale);
	if (s->count < 1)
		s->count = 1;
	if (s->producers < 1 || s->consumers < 1 || s->producers > 64 ||
	    s->consumers > 64)
		return -EINVAL;
	if (*type == BUS_QUEUE_SPSC &&
	    (s->producers != 1 || s->consumers != 1))
		return -EINVAL;
	s->total = s->count * s->producers;
	return 0;
}

static int stress_open(struct stress *s, enum bus_queue_type type)
{
	struct bus_queue_settings settings;

	local_queue_settings(&settings, type, SLOTS, MAX_MESSAGE,
			     BUS_OVERFLOW_BLOCK, MAX_UNACKED);
	settings.max_producers = s->producers;
	settings.max_consumers = s->consumers;
	s->acked = calloc(s->total, 1);
	s->first_delivered = calloc(s->total, 1);
	if (!s->acked || !s->first_delivered)
		return -ENOMEM;
	return local_queue_create(&s->queue, &settings);
}

static int start_worker(struct worker *w, struct stress *s, enum bus_role role,
			uint32_t index)
{
	/* Consumer 0 sleeps on the futex at once; the rest spin first. */
	int futex_only = role == BUS_CONSUMER && index == 0;
	struct bus_queue_options options = {
		.wait = futex_only ? BUS_WAIT_FUTEX : BUS_WAIT_SPIN_FUTEX,
		.spin_ns = 2000,
	};
	int ret;

	w->stress = s;
	w->index = index;
	w->rng = index * 7919 + (role == BUS_CONSUMER ? 1 : 0) + 1;
	if (role == BUS_CONSUMER) {
		/* Odd consumers nack, and a lone consumer does too. */
		w->nacker = (index & 1) || s->consumers == 1;
		w->last_sequence = malloc(s->producers * sizeof(uint64_t));
		if (!w->last_sequence)
			return -ENOMEM;
		for (uint32_t p = 0; p < s->producers; p++)
			w->last_sequence[p] = UINT64_MAX;
	}
	ret = local_queue_attach(&s->queue, role, index, &options, &w->handle);
	if (ret)
		return ret;
	atomic_fetch_add(&s->running, 1);
	ret = -pthread_create(
		&w->thread, NULL,
		role == BUS_PRODUCER ? producer_main : consumer_main, w);
	if (ret) {
		atomic_fetch_sub(&s->running, 1);
		local_queue_forget(w->handle);
		w->handle = NULL;
	}
	return ret;
}

/* Waits for the workers; fails the run when nothing moves for a while. */
static void watch(struct stress *s)
{
	uint64_t last_progress = 0, last_change = now_ns();

	while (atomic_load(&s->running)) {
		uint64_t progress = atomic_load(&s->progress);

		if (progress != last_progress) {
			last_progress = progress;
			last_change = now_ns();
		} else if (now_ns() - last_change > STALL_LIMIT_NS) {
			stress_fail(s,
				    "no progress for 30 s: %" PRIu64
				    " of %" PRIu64 " acked",
				    atomic_load(&s->acked_total), s->total);
			/* Blocked threads may never return: leave now. */
			fflush(stderr);
			_exit(1);
		}
		usleep(10000);
	}
}

static int verify(struct stress *s, bus_queue_t *handle)
{
	struct bus_queue_stats stats;
	int ret;

	for (uint64_t i = 0; i < s->total; i++) {
		if (atomic_load(&s->acked[i]) != 1) {
			stress_fail(s,
				    "producer %" PRIu64 " message %" PRIu64
				    " acked %u times",
				    i / s->count, i % s->count,
				    atomic_load(&s->acked[i]));
			return -EBADMSG;
		}
	}
	ret = bus_queue_stats(handle, &stats);
	if (ret) {
		stress_fail(s, "bus_queue_stats: %s", bus_strerror(ret));
		return ret;
	}
	if (stats.depth || stats.leased || stats.acked != s->total ||
	    stats.enqueued != s->total) {
		stress_fail(s,
			    "after the run: depth %" PRIu64 ", leased %" PRIu64
			    ", enqueued %" PRIu64 ", acked %" PRIu64,
			    stats.depth, stats.leased, stats.enqueued,
			    stats.acked);
		return -EBADMSG;
	}
	printf("stress_ring_threads: %" PRIu64 " messages, %u producers, %u "
	       "consumers: enqueued %" PRIu64 " dequeued %" PRIu64
	       " acked %" PRIu64 " nacked %" PRIu64 " redelivered %" PRIu64
	       "\n",
	       s->total, s->producers, s->consumers, stats.enqueued,
	       stats.dequeued, stats.acked, stats.nacked, stats.redelivered);
	return 0;
}

int main(int argc, char **argv)
{
	static struct stress s;
	enum bus_queue_type type;
	struct worker *producers, *consumers;
	int ret;

	s.queue.fd = -1;
	if (parse_args(&s, argc, argv, &type)) {
		fprintf(stderr,
			"usage: stress_ring_threads spsc|mpmc "
			"PRODUCERS CONSUMERS COUNT [MAX_MESSAGE]\n(spsc "
			"takes 1 1; "
			"$BUS_TEST_SCALE below 1 scales COUNT)\n");
		return 2;
	}
	ret = stress_open(&s, type);
	producers = calloc(s.producers, sizeof(*producers));
	consumers = calloc(s.consumers, sizeof(*consumers));
	if (ret || !producers || !consumers) {
		fprintf(stderr, "stress_ring_threads: set-up: %s\n",
			bus_strerror(ret ? ret : -ENOMEM));
		return 1;
	}
	for (uint32_t i = 0; i < s.consumers && !ret; i++)
		ret = start_worker(&consumers[i], &s, BUS_CONSUMER, i);
	for (uint32_t i = 0; i < s.producers && !ret; i++)
		ret = start_worker(&producers[i], &s, BUS_PRODUCER, i);
	if (ret)
		stress_fail(&s, "starting threads: %s", bus_strerror(ret));
	watch(&s);
	for (uint32_t i = 0; i < s.producers; i++)
		if (producers[i].handle)
			pthread_join(producers[i].thread, NULL);
	for (uint32_t i = 0; i < s.consumers; i++)
		if (consumers[i].handle)
			pthread_join(consumers[i].thread, NULL);
	if (!atomic_load(&s.failed))
		verify(&s, consumers[0].handle);
	for (uint32_t i = 0; i < s.producers; i++)
		local_queue_forget(producers[i].handle);
	for (uint32_t i = 0; i < s.consumers; i++) {
		local_queue_forget(consumers[i].handle);
		free(consumers[i].last_sequence);
	}
	local_queue_destroy(&s.queue);
	free(producers);
	free(consumers);
	free((void *)s.acked);
	free((void *)s.first_delivered);
	return atomic_load(&s.failed) ? 1 : 0;
}
