/* SPDX-License-Identifier: MIT */
/*
 * Ring unit tests: one process, no busd.  Each case builds a fresh queue
 * segment in a memfd (tests/local_queue.c), marks attachment slots taken
 * the way busd would, and drives the public calls on the handles.  Every
 * case runs twice, once per queue type, through one cmocka group each.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "local_queue.h"
#include "queue_cell.h"
#include "test_common.h"

#define TEN_MS (10 * 1000 * 1000)

/* The type the running group tests; set by its group setup. */
static enum bus_queue_type ring_type;

struct ring {
	struct local_queue queue;
	bus_queue_t *producer[2];
	bus_queue_t *consumer[2];
};

static int ring_group_spsc(void **state)
{
	ring_type = BUS_QUEUE_SPSC;
	return 0;
}

static int ring_group_mpmc(void **state)
{
	ring_type = BUS_QUEUE_MPMC;
	return 0;
}

static int ring_setup(void **state)
{
	struct ring *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->queue.fd = -1;
	*state = r;
	return 0;
}

/* Runs after a failed assertion too, so nothing outlives a case. */
static int ring_teardown(void **state)
{
	struct ring *r = *state;

	for (int i = 0; i < 2; i++) {
		local_queue_forget(r->producer[i]);
		local_queue_forget(r->consumer[i]);
	}
	local_queue_destroy(&r->queue);
	free(r);
	return 0;
}

static void ring_open(struct ring *r, uint32_t slots, uint32_t max_message,
		      enum bus_overflow overflow, uint32_t max_unacked)
{
	struct bus_queue_settings settings;

	local_queue_settings(&settings, ring_type, slots, max_message,
			     overflow, max_unacked);
	assert_ret(local_queue_create(&r->queue, &settings), 0);
	assert_ret(local_queue_attach(&r->queue, BUS_PRODUCER, 0, NULL,
				      &r->producer[0]),
		   0);
	assert_ret(local_queue_attach(&r->queue, BUS_CONSUMER, 0, NULL,
				      &r->consumer[0]),
		   0);
}

/*
 * A consumer other than consumer[0]: the second consumer slot of an MPMC
 * queue, or for SPSC the one slot again, which must be free by now.
 */
static bus_queue_t *ring_attach_other_consumer(struct ring *r)
{
	uint32_t nth = ring_type == BUS_QUEUE_SPSC ? 0 : 1;
	bus_queue_t **slot = ring_type == BUS_QUEUE_SPSC ? &r->consumer[0]
							 : &r->consumer[1];

	assert_null(*slot);
	assert_ret(local_queue_attach(&r->queue, BUS_CONSUMER, nth, NULL,
				      slot),
		   0);
	return *slot;
}

static bus_queue_t *ring_attach_other_producer(struct ring *r)
{
	uint32_t nth = ring_type == BUS_QUEUE_SPSC ? 0 : 1;
	bus_queue_t **slot = ring_type == BUS_QUEUE_SPSC ? &r->producer[0]
							 : &r->producer[1];

	assert_null(*slot);
	assert_ret(local_queue_attach(&r->queue, BUS_PRODUCER, nth, NULL,
				      slot),
		   0);
	return *slot;
}

static int send_value(bus_queue_t *queue, uint32_t value)
{
	return bus_send(queue, &value, sizeof(value), BUS_NOWAIT);
}

static void send_values(bus_queue_t *queue, uint32_t first, uint32_t count)
{
	for (uint32_t v = first; v < first + count; v++)
		assert_ret(send_value(queue, v), 0);
}

static uint32_t message_value(const struct bus_message *message)
{
	uint32_t value;

	assert_int_equal(message->length, sizeof(value));
	memcpy(&value, message->payload, sizeof(value));
	return value;
}

/* Receives without waiting and checks the payload and delivery count. */
static void receive_value(bus_queue_t *queue, uint32_t value,
			  uint32_t delivery_count, struct bus_message *out)
{
	struct bus_message message;

	memset(&message, 0, sizeof(message));
	assert_ret(bus_receive(queue, &message, BUS_NOWAIT), 0);
	assert_non_null(message.header);
	if (message_value(&message) != value)
		fail_msg("received %u, expected %u", message_value(&message),
			 value);
	assert_int_equal(message.header->payload_length, sizeof(value));
	assert_int_equal(message.header->delivery_count, delivery_count);
	if (delivery_count > 1)
		assert_true(message.header->flags & BUS_MESSAGE_REDELIVERED);
	else
		assert_false(message.header->flags & BUS_MESSAGE_REDELIVERED);
	if (out)
		*out = message;
}

static void expect_and_ack(bus_queue_t *queue, uint32_t value)
{
	struct bus_message message;

	receive_value(queue, value, 1, &message);
	assert_ret(bus_ack(queue, &message), 0);
}

static void expect_empty(bus_queue_t *queue)
{
	struct bus_message message;

	assert_ret(bus_receive(queue, &message, BUS_NOWAIT), -EAGAIN);
}

static struct bus_queue_stats ring_stats(bus_queue_t *queue)
{
	struct bus_queue_stats stats;

	memset(&stats, 0xff, sizeof(stats));
	assert_ret(bus_queue_stats(queue, &stats), 0);
	return stats;
}

/* ---- empty and full ------------------------------------------------- */

static void test_queue_ring_receive_empty_gives_eagain(void **state)
{
	struct ring *r = *state;
	struct bus_message messages[4];
	char buf[16];
	uint64_t start;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	expect_empty(r->consumer[0]);
	assert_ret(bus_receive_batch(r->consumer[0], messages, 4, BUS_NOWAIT),
		   -EAGAIN);
	assert_ret(bus_receive_copy(r->consumer[0], buf, sizeof(buf),
				    BUS_NOWAIT),
		   -EAGAIN);

	start = test_now_ns();
	assert_ret(bus_receive(r->consumer[0], &messages[0], TEN_MS),
		   -ETIMEDOUT);
	assert_true(test_now_ns() - start >= TEN_MS);

	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.dequeued, 0);
	assert_int_equal(stats.capacity, 8);
}

static void fill(struct ring *r, uint32_t slots)
{
	send_values(r->producer[0], 0, slots);
	assert_int_equal(ring_stats(r->producer[0]).depth, slots);
}

static void test_queue_ring_full_reject_gives_enobufs(void **state)
{
	struct ring *r = *state;
	struct bus_message loan;

	ring_open(r, 4, 64, BUS_OVERFLOW_REJECT, 4);
	fill(r, 4);
	assert_ret(send_value(r->producer[0], 99), -ENOBUFS);
	/* reject never waits, whatever the timeout. */
	uint32_t value = 99;
	assert_ret(bus_send(r->producer[0], &value, sizeof(value), TEN_MS),
		   -ENOBUFS);
	assert_ret(bus_loan(r->producer[0], &loan, BUS_NOWAIT), -ENOBUFS);
	assert_true(ring_stats(r->producer[0]).rejected >= 2);

	/* Room again after one is consumed; nothing refused was queued. */
	expect_and_ack(r->consumer[0], 0);
	assert_ret(send_value(r->producer[0], 4), 0);
	for (uint32_t v = 1; v <= 4; v++)
		expect_and_ack(r->consumer[0], v);
	expect_empty(r->consumer[0]);
}

static void test_queue_ring_full_block_gives_enobufs_or_etimedout(void **state)
{
	struct ring *r = *state;
	struct bus_message loan;
	uint32_t value = 99;
	uint64_t start, elapsed;

	ring_open(r, 4, 64, BUS_OVERFLOW_BLOCK, 4);
	fill(r, 4);
	assert_ret(bus_send(r->producer[0], &value, sizeof(value), BUS_NOWAIT),
		   -ENOBUFS);
	assert_ret(bus_loan(r->producer[0], &loan, BUS_NOWAIT), -ENOBUFS);

	start = test_now_ns();
	assert_ret(bus_send(r->producer[0], &value, sizeof(value), TEN_MS),
		   -ETIMEDOUT);
	elapsed = test_now_ns() - start;
	assert_true(elapsed >= TEN_MS);
	assert_true(elapsed < 2000u * 1000 * 1000);
	assert_ret(bus_loan(r->producer[0], &loan, TEN_MS), -ETIMEDOUT);

	expect_and_ack(r->consumer[0], 0);
	assert_ret(bus_send(r->producer[0], &value, sizeof(value), TEN_MS), 0);
	for (uint32_t v = 1; v < 4; v++)
		expect_and_ack(r->consumer[0], v);
	expect_and_ack(r->consumer[0], 99);
}

/* ---- order and sizes ------------------------------------------------ */

static void test_queue_ring_wrap_around_keeps_fifo(void **state)
{
	struct ring *r = *state;
	uint32_t next_send = 0, next_receive = 0;
	uint64_t last_sequence = 0;
	int have_sequence = 0;

	ring_open(r, 8, 64, BUS_OVERFLOW_REJECT, 8);
	/* Bursts of 1 to 8 messages, so that the producer runs ahead of
	 * the consumer by varying amounts while both lap the ring ~1000
	 * times; payload lengths vary too. */
	for (uint32_t lap = 0; lap < 2000; lap++) {
		uint32_t burst = 1 + lap % 8;
		struct bus_message message;

		for (uint32_t i = 0; i < burst; i++, next_send++) {
			uint8_t payload[64];
			uint32_t length = 4 + next_send % 60;

			memset(payload, (int)(next_send & 0xff),
			       sizeof(payload));
			memcpy(payload, &next_send, sizeof(next_send));
			assert_ret(bus_send(r->producer[0], payload, length,
					    BUS_NOWAIT),
				   0);
		}
		for (uint32_t i = 0; i < burst; i++, next_receive++) {
			uint32_t value;

			assert_ret(bus_receive(r->consumer[0], &message,
					       BUS_NOWAIT),
				   0);
			assert_int_equal(message.length,
					 4 + next_receive % 60);
			memcpy(&value, message.payload, sizeof(value));
			if (value != next_receive)
				fail_msg("lap %u: received %u, expected %u",
					 lap, value, next_receive);
			const uint8_t *bytes = message.payload;

			for (uint32_t b = 4; b < message.length; b++)
				assert_int_equal(bytes[b],
						 next_receive & 0xff);
			if (have_sequence)
				assert_true(message.header->sequence >
					    last_sequence);
			last_sequence = message.header->sequence;
			have_sequence = 1;
			assert_ret(bus_ack(r->consumer[0], &message), 0);
		}
		expect_empty(r->consumer[0]);
	}
	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.enqueued, next_send);
	assert_int_equal(stats.dequeued, next_send);
	assert_int_equal(stats.acked, next_send);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.leased, 0);
}

#define ODD_MAX 1000u

static void test_queue_ring_largest_message_fits(void **state)
{
	struct ring *r = *state;
	static uint8_t payload[ODD_MAX];
	struct bus_message loan, message;

	ring_open(r, 4, ODD_MAX, BUS_OVERFLOW_REJECT, 4);
	for (uint32_t i = 0; i < ODD_MAX; i++)
		payload[i] = (uint8_t)(i * 7 + 3);

	assert_ret(bus_send(r->producer[0], payload, ODD_MAX, BUS_NOWAIT), 0);
	assert_ret(bus_loan(r->producer[0], &loan, BUS_NOWAIT), 0);
	/* The loan offers exactly max_message bytes, not the padded cell. */
	assert_int_equal(loan.capacity, ODD_MAX);
	memcpy(loan.payload, payload, ODD_MAX);
	assert_ret(bus_commit(r->producer[0], &loan, ODD_MAX), 0);

	for (int i = 0; i < 2; i++) {
		assert_ret(bus_receive(r->consumer[0], &message, BUS_NOWAIT),
			   0);
		assert_int_equal(message.length, ODD_MAX);
		assert_int_equal(message.header->payload_length, ODD_MAX);
		assert_memory_equal(message.payload, payload, ODD_MAX);
		assert_ret(bus_ack(r->consumer[0], &message), 0);
	}
}

static void test_queue_ring_oversize_gives_emsgsize(void **state)
{
	struct ring *r = *state;
	static uint8_t payload[ODD_MAX + 1];
	struct bus_buffer buffers[2] = {
		{ payload, ODD_MAX + 1 },
		{ payload, 1 },
	};
	struct bus_message loan;

	ring_open(r, 4, ODD_MAX, BUS_OVERFLOW_REJECT, 4);
	assert_ret(bus_send(r->producer[0], payload, ODD_MAX + 1, BUS_NOWAIT),
		   -EMSGSIZE);
	assert_ret(bus_send_batch(r->producer[0], buffers, 2, BUS_NOWAIT),
		   -EMSGSIZE);

	/* An oversize commit leaves the loan held, to be committed again. */
	assert_ret(bus_loan(r->producer[0], &loan, BUS_NOWAIT), 0);
	memset(loan.payload, 'x', ODD_MAX);
	assert_ret(bus_commit(r->producer[0], &loan, ODD_MAX + 1), -EMSGSIZE);
	assert_ret(bus_commit(r->producer[0], &loan, 5), 0);

	struct bus_message message;
	assert_ret(bus_receive(r->consumer[0], &message, BUS_NOWAIT), 0);
	assert_int_equal(message.length, 5);
	assert_memory_equal(message.payload, "xxxxx", 5);
	assert_ret(bus_ack(r->consumer[0], &message), 0);
	/* Nothing refused reached the queue. */
	expect_empty(r->consumer[0]);
	assert_int_equal(ring_stats(r->consumer[0]).enqueued, 1);
}

static void test_queue_ring_loans_commit_out_of_order_keep_fifo(void **state)
{
	struct ring *r = *state;
	struct bus_message first, second;
	uint32_t a = 1, b = 2;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	assert_ret(bus_loan(r->producer[0], &first, BUS_NOWAIT), 0);
	assert_ret(bus_loan(r->producer[0], &second, BUS_NOWAIT), 0);
	assert_true(first.payload != second.payload);
	memcpy(second.payload, &b, sizeof(b));
	assert_ret(bus_commit(r->producer[0], &second, sizeof(b)), 0);
	/* The later loan waits behind the earlier one. */
	expect_empty(r->consumer[0]);
	memcpy(first.payload, &a, sizeof(a));
	assert_ret(bus_commit(r->producer[0], &first, sizeof(a)), 0);
	expect_and_ack(r->consumer[0], 1);
	expect_and_ack(r->consumer[0], 2);
	expect_empty(r->consumer[0]);
	/* A token committed twice is refused. */
	assert_true(bus_commit(r->producer[0], &first, sizeof(a)) < 0);
	expect_empty(r->consumer[0]);
}

static void test_queue_ring_two_producers_two_consumers(void **state)
{
	struct ring *r = *state;
	uint32_t next[2] = { 0, 0 }, expected[2] = { 0, 0 };
	struct bus_message message;

	if (ring_type == BUS_QUEUE_SPSC)
		skip();
	ring_open(r, 16, 64, BUS_OVERFLOW_BLOCK, 16);
	ring_attach_other_producer(r);
	ring_attach_other_consumer(r);
	/* Producer p sends p * 1000 + i; each consumer takes turns. */
	for (uint32_t round = 0; round < 200; round++) {
		for (uint32_t i = 0; i < 4; i++) {
			uint32_t p = (round + i) & 1;

			assert_ret(send_value(r->producer[p],
					      p * 1000 + next[p]++ % 1000),
				   0);
		}
		for (uint32_t i = 0; i < 4; i++) {
			uint32_t value, p;

			assert_ret(bus_receive(r->consumer[i & 1], &message,
					       BUS_NOWAIT),
				   0);
			/* One thread takes turns, so per-producer order
			 * holds across both consumers. */
			value = message_value(&message);
			p = value / 1000;
			assert_true(p < 2);
			assert_int_equal(value % 1000, expected[p]++ % 1000);
			assert_ret(bus_ack(r->consumer[i & 1], &message), 0);
		}
		expect_empty(r->consumer[0]);
		expect_empty(r->consumer[1]);
	}
	struct bus_queue_stats stats = ring_stats(r->consumer[1]);
	assert_int_equal(stats.enqueued, 800);
	assert_int_equal(stats.acked, 800);
	assert_int_equal(stats.producers, 2);
	assert_int_equal(stats.consumers, 2);
}

/* ---- overflow policies and leases ----------------------------------- */

static void test_queue_ring_drop_oldest_never_drops_held(void **state)
{
	struct ring *r = *state;
	struct bus_message held[4];

	ring_open(r, 4, 64, BUS_OVERFLOW_DROP_OLDEST, 4);
	send_values(r->producer[0], 1, 4);
	receive_value(r->consumer[0], 1, 1, &held[0]);

	/* Cells: 1 held, 2 3 4 queued.  5 must replace 2, the oldest
	 * queued one, and leave the held 1 alone. */
	assert_ret(send_value(r->producer[0], 5), 0);
	assert_int_equal(ring_stats(r->producer[0]).dropped, 1);
	receive_value(r->consumer[0], 3, 1, &held[1]);
	receive_value(r->consumer[0], 4, 1, &held[2]);
	receive_value(r->consumer[0], 5, 1, &held[3]);
	assert_int_equal(message_value(&held[0]), 1);

	/* Every cell held: nothing may be dropped, so the queue is full. */
	assert_ret(send_value(r->producer[0], 6), -ENOBUFS);
	struct bus_queue_stats stats = ring_stats(r->producer[0]);
	assert_int_equal(stats.dropped, 1);
	assert_int_equal(stats.leased, 4);
	assert_int_equal(message_value(&held[0]), 1);

	for (int i = 0; i < 4; i++)
		assert_ret(bus_ack(r->consumer[0], &held[i]), 0);
	expect_empty(r->consumer[0]);
	assert_ret(send_value(r->producer[0], 6), 0);
	expect_and_ack(r->consumer[0], 6);
	expect_empty(r->consumer[0]);
	assert_int_equal(ring_stats(r->producer[0]).dropped, 1);
}

static void test_queue_ring_acks_out_of_order(void **state)
{
	struct ring *r = *state;
	struct bus_message held[4];
	static const int order[4] = { 2, 0, 3, 1 };

	ring_open(r, 4, 64, BUS_OVERFLOW_REJECT, 4);
	for (uint32_t round = 0; round < 3; round++) {
		send_values(r->producer[0], round * 4, 4);
		for (uint32_t i = 0; i < 4; i++)
			receive_value(r->consumer[0], round * 4 + i, 1,
				      &held[i]);
		for (int i = 0; i < 4; i++) {
			assert_ret(bus_ack(r->consumer[0], &held[order[i]]),
				   0);
			assert_int_equal(ring_stats(r->consumer[0]).leased,
					 3 - i);
		}
	}
	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.acked, 12);
	assert_int_equal(stats.leased, 0);
	assert_int_equal(stats.depth, 0);
}

static void test_queue_ring_held_message_does_not_block_delivery(void **state)
{
	struct ring *r = *state;
	struct bus_message held;

	ring_open(r, 4, 64, BUS_OVERFLOW_BLOCK, 4);
	send_values(r->producer[0], 1, 4);
	receive_value(r->consumer[0], 1, 1, &held);
	for (uint32_t v = 2; v <= 4; v++)
		expect_and_ack(r->consumer[0], v);

	/* The producer skips the held cell: three slots are free, and the
	 * fourth is the one still held, so capacity is 3 + 1. */
	send_values(r->producer[0], 5, 3);
	assert_ret(send_value(r->producer[0], 8), -ENOBUFS);
	struct bus_queue_stats stats = ring_stats(r->producer[0]);
	assert_int_equal(stats.depth, 3);
	assert_int_equal(stats.leased, 1);

	for (uint32_t v = 5; v <= 7; v++)
		expect_and_ack(r->consumer[0], v);
	assert_int_equal(message_value(&held), 1);
	assert_ret(bus_ack(r->consumer[0], &held), 0);
	send_values(r->producer[0], 8, 4);
	for (uint32_t v = 8; v < 12; v++)
		expect_and_ack(r->consumer[0], v);
	expect_empty(r->consumer[0]);
}

static void test_queue_ring_nack_redelivers_first_with_count_2(void **state)
{
	struct ring *r = *state;
	struct bus_message message;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 3);
	receive_value(r->consumer[0], 1, 1, &message);
	assert_ret(bus_nack(r->consumer[0], &message), 0);

	receive_value(r->consumer[0], 1, 2, &message);
	assert_ret(bus_ack(r->consumer[0], &message), 0);
	expect_and_ack(r->consumer[0], 2);
	expect_and_ack(r->consumer[0], 3);
	expect_empty(r->consumer[0]);

	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.nacked, 1);
	assert_int_equal(stats.redelivered, 1);
	assert_int_equal(stats.dequeued, 4);
	assert_int_equal(stats.acked, 3);
}

static void test_queue_ring_nack_twice_counts_3(void **state)
{
	struct ring *r = *state;
	struct bus_message message;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 2);
	receive_value(r->consumer[0], 1, 1, &message);
	assert_ret(bus_nack(r->consumer[0], &message), 0);
	receive_value(r->consumer[0], 1, 2, &message);
	assert_ret(bus_nack(r->consumer[0], &message), 0);
	receive_value(r->consumer[0], 1, 3, &message);
	assert_ret(bus_ack(r->consumer[0], &message), 0);
	expect_and_ack(r->consumer[0], 2);
}

static void test_queue_ring_max_unacked_gives_enolck(void **state)
{
	struct ring *r = *state;
	struct bus_message held[2], message;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 2);
	send_values(r->producer[0], 1, 3);
	receive_value(r->consumer[0], 1, 1, &held[0]);
	receive_value(r->consumer[0], 2, 1, &held[1]);
	assert_ret(bus_receive(r->consumer[0], &message, BUS_NOWAIT), -ENOLCK);
	assert_ret(bus_receive(r->consumer[0], &message, TEN_MS), -ENOLCK);
	assert_ret(bus_ack(r->consumer[0], &held[0]), 0);
	expect_and_ack(r->consumer[0], 3);
	assert_ret(bus_ack(r->consumer[0], &held[1]), 0);
}

/* With every lease taken the answer comes at once, message or not: a
 * receive never waits for a message it could not take. */
static void
test_queue_ring_max_unacked_empty_gives_enolck_at_once(void **state)
{
	struct ring *r = *state;
	struct bus_message held[2], message;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 2);
	send_values(r->producer[0], 1, 2);
	receive_value(r->consumer[0], 1, 1, &held[0]);
	receive_value(r->consumer[0], 2, 1, &held[1]);
	assert_ret(bus_receive(r->consumer[0], &message, BUS_FOREVER),
		   -ENOLCK);
	assert_ret(bus_ack(r->consumer[0], &held[1]), 0);
	assert_ret(bus_ack(r->consumer[0], &held[0]), 0);
	assert_ret(bus_receive(r->consumer[0], &message, BUS_NOWAIT), -EAGAIN);
}

static void test_queue_ring_ack_through_acks_in_receive_order(void **state)
{
	struct ring *r = *state;
	struct bus_message a, b, c, d;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 4);
	/* Receive order 2, 1, 3 differs from ring order 1, 2, 3. */
	receive_value(r->consumer[0], 1, 1, &a);
	receive_value(r->consumer[0], 2, 1, &b);
	assert_ret(bus_nack(r->consumer[0], &a), 0);
	receive_value(r->consumer[0], 1, 2, &a);
	receive_value(r->consumer[0], 3, 1, &c);
	receive_value(r->consumer[0], 4, 1, &d);

	assert_ret(bus_ack_through(r->consumer[0], &a), 2);
	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.acked, 2);
	assert_int_equal(stats.leased, 2);
	/* 3 is still held and its payload intact. */
	assert_int_equal(message_value(&c), 3);

	assert_ret(bus_ack(r->consumer[0], &d), 0);
	assert_ret(bus_ack_through(r->consumer[0], &c), 1);
	stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.acked, 4);
	assert_int_equal(stats.leased, 0);
	expect_empty(r->consumer[0]);
}

/* ---- batches and copies --------------------------------------------- */

static void test_queue_ring_batch_send_and_receive(void **state)
{
	struct ring *r = *state;
	uint32_t values[10];
	struct bus_buffer buffers[10];
	struct bus_message messages[10];

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 4);
	for (uint32_t i = 0; i < 10; i++) {
		values[i] = 100 + i;
		buffers[i].data = &values[i];
		buffers[i].length = sizeof(values[i]);
	}
	assert_ret(bus_send_batch(r->producer[0], buffers, 5, BUS_NOWAIT), 5);
	/* Only three slots left: a partial batch. */
	assert_ret(bus_send_batch(r->producer[0], buffers + 5, 5, BUS_NOWAIT),
		   3);
	assert_ret(bus_send_batch(r->producer[0], buffers + 8, 2, BUS_NOWAIT),
		   -ENOBUFS);

	/* max_unacked 4 bounds a batch receive. */
	assert_ret(bus_receive_batch(r->consumer[0], messages, 10, BUS_NOWAIT),
		   4);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(message_value(&messages[i]), 100 + i);
	/* One clock read per batch: its messages share the stamp. */
	assert_true(messages[0].header->publish_time_ns != 0);
	for (uint32_t i = 1; i < 4; i++)
		assert_int_equal(messages[i].header->publish_time_ns,
				 messages[0].header->publish_time_ns);
	assert_ret(bus_ack_through(r->consumer[0], &messages[3]), 4);
	assert_ret(bus_receive_batch(r->consumer[0], messages, 10, BUS_NOWAIT),
		   4);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(message_value(&messages[i]), 104 + i);
	assert_ret(bus_ack_through(r->consumer[0], &messages[3]), 4);
	assert_ret(bus_receive_batch(r->consumer[0], messages, 10, BUS_NOWAIT),
		   -EAGAIN);
}

/* Loans count slots, writes value + i into each in place, sets lengths. */
static int loan_values(bus_queue_t *queue, struct bus_message *messages,
		       unsigned int count, uint32_t value)
{
	int n = bus_loan_batch(queue, messages, count, BUS_NOWAIT);

	for (int i = 0; i < n; i++) {
		uint32_t v = value + (uint32_t)i;

		assert_true(messages[i].capacity >= sizeof(v));
		memcpy(messages[i].payload, &v, sizeof(v));
		messages[i].length = sizeof(v);
	}
	return n;
}

static void test_queue_ring_loan_and_commit_batches(void **state)
{
	struct ring *r = *state;
	struct bus_message loans[8], messages[8];

	ring_open(r, 8, 64, BUS_OVERFLOW_REJECT, 8);
	assert_ret(bus_loan_batch(r->producer[0], loans, 0, BUS_NOWAIT), 0);
	assert_ret(loan_values(r->producer[0], loans, 5, 10), 5);
	assert_ret(bus_commit_batch(r->producer[0], loans, 5), 5);
	/* Three slots left: a partial batch, and nothing counted as
	 * rejected for the two it could not have. */
	assert_ret(loan_values(r->producer[0], loans, 5, 15), 3);
	assert_int_equal(ring_stats(r->producer[0]).rejected, 0);
	/* Full: the first loan of a batch fails as bus_loan() would. */
	assert_ret(bus_loan_batch(r->producer[0], messages, 2, BUS_NOWAIT),
		   -ENOBUFS);
	assert_int_equal(ring_stats(r->producer[0]).rejected, 1);
	assert_ret(bus_commit_batch(r->producer[0], loans, 3), 3);
	/* Committed already: no longer a loan of ours. */
	assert_ret(bus_commit_batch(r->producer[0], loans, 1), -EINVAL);

	assert_ret(bus_receive_batch(r->consumer[0], messages, 8, BUS_NOWAIT),
		   8);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(message_value(&messages[i]), 10 + i);
	/* One stamp per commit batch. */
	assert_true(messages[0].header->publish_time_ns != 0);
	for (uint32_t i = 1; i < 8; i++)
		assert_int_equal(
			messages[i].header->publish_time_ns,
			messages[i < 5 ? 0 : 5].header->publish_time_ns);
	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.enqueued, 8);
	assert_int_equal(stats.dequeued, 8);
	assert_int_equal(stats.high_water, 8);
	assert_ret(bus_ack_through(r->consumer[0], &messages[7]), 8);
	/* Acked: its token no longer names a lease. */
	assert_ret(bus_ack_through(r->consumer[0], &messages[7]), -EINVAL);
	expect_empty(r->consumer[0]);
}

/* A failing commit stops the batch; it and the rest stay loaned. */
static void test_queue_ring_commit_batch_stops_at_a_bad_loan(void **state)
{
	struct ring *r = *state;
	struct bus_message loans[3];

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	assert_ret(bus_loan_batch(r->consumer[0], loans, 3, BUS_NOWAIT),
		   -EBADF);
	assert_ret(loan_values(r->producer[0], loans, 3, 1), 3);
	assert_ret(bus_commit_batch(r->consumer[0], loans, 3), -EBADF);
	loans[1].length = 65;
	assert_ret(bus_commit_batch(r->producer[0], loans, 3), 1);
	assert_ret(bus_commit_batch(r->producer[0], &loans[1], 2), -EMSGSIZE);
	loans[1].length = 4;
	assert_ret(bus_commit_batch(r->producer[0], &loans[1], 2), 2);
	expect_and_ack(r->consumer[0], 1);
	expect_and_ack(r->consumer[0], 2);
	expect_and_ack(r->consumer[0], 3);
	expect_empty(r->consumer[0]);
}

/* A batch receive ends at a corrupt message: dropped, as bus_receive()
 * drops it (there with -EBADMSG), and the messages after it are intact. */
static void test_queue_ring_batch_receive_stops_before_corrupt(void **state)
{
	struct ring *r = *state;
	struct bus_message messages[8];
	struct bus_cell *cell;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 4);
	/* A fresh queue holds message v at position v - 1. */
	cell = bus__queue_cell(&r->queue.geometry, 2);
	cell->header.payload_length = 65;
	assert_ret(bus_receive_batch(r->consumer[0], messages, 8, BUS_NOWAIT),
		   2);
	assert_int_equal(message_value(&messages[0]), 1);
	assert_int_equal(message_value(&messages[1]), 2);
	expect_and_ack(r->consumer[0], 4);
	assert_ret(bus_ack_through(r->consumer[0], &messages[1]), 2);
	assert_int_equal(ring_stats(r->consumer[0]).leased, 0);
	expect_empty(r->consumer[0]);
}

/* Under drop-oldest only a batch's first loan may drop a message. */
static void test_queue_ring_loan_batch_drops_at_most_one(void **state)
{
	struct ring *r = *state;
	struct bus_message loans[3];

	ring_open(r, 4, 64, BUS_OVERFLOW_DROP_OLDEST, 4);
	send_values(r->producer[0], 1, 4);
	assert_ret(loan_values(r->producer[0], loans, 3, 5), 1);
	assert_ret(bus_commit_batch(r->producer[0], loans, 1), 1);
	assert_int_equal(ring_stats(r->producer[0]).dropped, 1);
	expect_and_ack(r->consumer[0], 2);
	expect_and_ack(r->consumer[0], 3);
	expect_and_ack(r->consumer[0], 4);
	expect_and_ack(r->consumer[0], 5);
	expect_empty(r->consumer[0]);
}

/* A token whose lease entry would carry a flag bit names no lease. */
static void test_queue_ring_forged_token_gives_einval(void **state)
{
	struct ring *r = *state;
	struct bus_message message, forged;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 1);
	receive_value(r->consumer[0], 1, 1, &message);
	for (int bit = 61; bit <= 62; bit++) {
		forged = message;
		forged.token |= UINT64_C(1) << bit;
		assert_ret(bus_ack(r->consumer[0], &forged), -EINVAL);
		assert_ret(bus_nack(r->consumer[0], &forged), -EINVAL);
		assert_ret(bus_ack_through(r->consumer[0], &forged), -EINVAL);
	}
	assert_int_equal(ring_stats(r->consumer[0]).leased, 1);
	assert_ret(bus_ack_through(r->consumer[0], &message), 1);
	expect_empty(r->consumer[0]);
}

static void test_queue_ring_receive_copy_nacks_when_too_small(void **state)
{
	struct ring *r = *state;
	char buf[64];

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	assert_ret(bus_send(r->producer[0], "hello, world", 12, BUS_NOWAIT),
		   0);
	assert_ret(bus_receive_copy(r->consumer[0], buf, 5, BUS_NOWAIT),
		   -EMSGSIZE);
	assert_int_equal(ring_stats(r->consumer[0]).leased, 0);
	memset(buf, 0, sizeof(buf));
	assert_ret(bus_receive_copy(r->consumer[0], buf, sizeof(buf),
				    BUS_NOWAIT),
		   12);
	assert_string_equal(buf, "hello, world");
	struct bus_queue_stats stats = ring_stats(r->consumer[0]);
	assert_int_equal(stats.acked, 1);
	assert_int_equal(stats.redelivered, 1);
	assert_int_equal(stats.leased, 0);
	expect_empty(r->consumer[0]);
}

/* ---- detaching (what busd does for a closed or dead client) --------- */

static void test_queue_ring_detach_consumer_redelivers_held(void **state)
{
	struct ring *r = *state;
	struct bus_message held[2];
	bus_queue_t *other;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 4);
	receive_value(r->consumer[0], 1, 1, &held[0]);
	receive_value(r->consumer[0], 2, 1, &held[1]);
	expect_and_ack(r->consumer[0], 3);

	if (ring_type == BUS_QUEUE_MPMC)
		ring_attach_other_consumer(r);
	assert_ret(local_queue_detach(&r->queue, r->consumer[0]), 2);
	r->consumer[0] = NULL;
	other = ring_type == BUS_QUEUE_MPMC ? r->consumer[1]
					    : ring_attach_other_consumer(r);

	/* The orphans come first, then the queue resumes where it was. */
	struct bus_message message;
	receive_value(other, 1, 2, &message);
	assert_ret(bus_ack(other, &message), 0);
	receive_value(other, 2, 2, &message);
	assert_ret(bus_ack(other, &message), 0);
	expect_and_ack(other, 4);
	expect_empty(other);

	send_values(r->producer[0], 5, 8);
	for (uint32_t v = 5; v < 13; v++)
		expect_and_ack(other, v);
	struct bus_queue_stats stats = ring_stats(other);
	assert_int_equal(stats.enqueued, 12);
	assert_int_equal(stats.acked, 12);
	assert_int_equal(stats.leased, 0);
	assert_int_equal(stats.consumers, 1);
}

static void test_queue_ring_detach_producer_pads_its_loan(void **state)
{
	struct ring *r = *state;
	struct bus_message loan;
	bus_queue_t *other;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	send_values(r->producer[0], 1, 1);
	/* A loan it never commits, then two committed messages behind it. */
	assert_ret(bus_loan(r->producer[0], &loan, BUS_NOWAIT), 0);
	memset(loan.payload, 0xee, loan.capacity);
	send_values(r->producer[0], 2, 2);

	expect_and_ack(r->consumer[0], 1);
	/* FIFO: nothing behind the open loan is delivered yet. */
	expect_empty(r->consumer[0]);

	assert_ret(local_queue_detach(&r->queue, r->producer[0]), 0);
	r->producer[0] = NULL;
	expect_and_ack(r->consumer[0], 2);
	expect_and_ack(r->consumer[0], 3);
	expect_empty(r->consumer[0]);
	assert_int_equal(ring_stats(r->consumer[0]).reclaimed, 1);

	/* A new producer carries on; its messages and the lap after them
	 * arrive intact. */
	other = ring_attach_other_producer(r);
	send_values(other, 10, 8);
	for (uint32_t v = 10; v < 18; v++)
		expect_and_ack(r->consumer[0], v);
	send_values(other, 18, 8);
	for (uint32_t v = 18; v < 26; v++)
		expect_and_ack(r->consumer[0], v);
	expect_empty(r->consumer[0]);
}

/* ---- corruption ----------------------------------------------------- */

static void expect_invalid(struct ring *r, size_t size)
{
	struct bus__queue_geometry geometry;
	char detail[256] = "";

	assert_ret(bus__queue_segment_validate(r->queue.base, size, &geometry,
					       detail, sizeof(detail)),
		   -EPROTO);
	/* A sentence that says what is wrong. */
	assert_true(strlen(detail) > 10);
}

static void test_queue_ring_corrupt_header_gives_eproto(void **state)
{
	struct ring *r = *state;
	struct bus_segment_header *header;
	struct bus__queue_geometry geometry;
	uint64_t magic;
	uint32_t version, slots;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	header = r->queue.geometry.header;

	magic = atomic_load(&header->magic);
	atomic_store(&header->magic, magic ^ 1);
	expect_invalid(r, r->queue.size);
	atomic_store(&header->magic, 0);
	expect_invalid(r, r->queue.size);
	atomic_store(&header->magic, magic);

	version = header->layout_version;
	header->layout_version = BUS_LAYOUT_VERSION + 1;
	expect_invalid(r, r->queue.size);
	header->layout_version = version;

	/* A mapping shorter than the segment says it is. */
	expect_invalid(r, r->queue.size - 1);
	expect_invalid(r, r->queue.size / 2);
	expect_invalid(r, 64);

	/* Settings that disagree with the sizes, or are invalid. */
	slots = header->settings.slots;
	header->settings.slots = slots * 2;
	expect_invalid(r, r->queue.size);
	header->settings.slots = 3;
	expect_invalid(r, r->queue.size);
	header->settings.slots = slots;

	assert_ret(bus__queue_segment_validate(r->queue.base, r->queue.size,
					       &geometry, NULL, 0),
		   0);
}

static void test_queue_ring_corrupt_payload_length_gives_ebadmsg(void **state)
{
	struct ring *r = *state;
	struct bus_cell *cell;
	struct bus_message message;
	static const uint32_t bad[] = { 65, 0x7fffffff, 0xffffffff };

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	for (uint32_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t position = 2 * i;

		/* The fresh queue puts the i-th pair at positions 2i, 2i+1. */
		send_values(r->producer[0], 100 + i, 1);
		cell = bus__queue_cell(&r->queue.geometry, position);
		assert_int_equal(bus__cell_kind(atomic_load(&cell->state)),
				 BUS__CELL_READY);
		cell->header.payload_length = bad[i];
		send_values(r->producer[0], 200 + i, 1);

		assert_ret(bus_receive(r->consumer[0], &message, BUS_NOWAIT),
			   -EBADMSG);
		/* Skipped: the next message comes out intact. */
		expect_and_ack(r->consumer[0], 200 + i);
		expect_empty(r->consumer[0]);
	}
	assert_int_equal(ring_stats(r->consumer[0]).leased, 0);
}

/* ---- handles -------------------------------------------------------- */

static void test_queue_ring_cancel_wakes_and_fails(void **state)
{
	struct ring *r = *state;
	struct bus_message message;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	bus_queue_cancel(r->consumer[0]);
	assert_ret(bus_receive(r->consumer[0], &message, BUS_FOREVER),
		   -ECANCELED);
	bus_queue_uncancel(r->consumer[0]);
	assert_ret(bus_receive(r->consumer[0], &message, TEN_MS), -ETIMEDOUT);
}

static void *cancel_after_20_ms(void *queue)
{
	usleep(20 * 1000);
	bus_queue_cancel(queue);
	return NULL;
}

/* A timeout too long for the clock waits as BUS_FOREVER does (here until
 * another thread cancels), neither at once nor with a wrapped deadline. */
static void test_queue_ring_endless_timeout_waits(void **state)
{
	struct ring *r = *state;
	struct bus_message message;
	pthread_t canceller;
	uint64_t start;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	start = test_now_ns();
	assert_int_equal(pthread_create(&canceller, NULL, cancel_after_20_ms,
					r->consumer[0]),
			 0);
	assert_ret(bus_receive(r->consumer[0], &message, INT64_MAX),
		   -ECANCELED);
	assert_true(test_now_ns() - start >= TEN_MS);
	assert_int_equal(pthread_join(canceller, NULL), 0);
}

static void test_queue_ring_wrong_role_is_refused(void **state)
{
	struct ring *r = *state;
	struct bus_message message;
	uint32_t value = 1;

	ring_open(r, 8, 64, BUS_OVERFLOW_BLOCK, 8);
	assert_true(bus_send(r->consumer[0], &value, 4, BUS_NOWAIT) < 0);
	assert_true(bus_loan(r->consumer[0], &message, BUS_NOWAIT) < 0);
	assert_true(bus_receive(r->producer[0], &message, BUS_NOWAIT) < 0);
	/* A refused call left nothing behind. */
	expect_empty(r->consumer[0]);
}

static void test_queue_ring_settings_and_stats(void **state)
{
	struct ring *r = *state;
	const struct bus_queue_settings *settings;
	struct bus_message message;

	ring_open(r, 16, 128, BUS_OVERFLOW_REJECT, 4);
	settings = bus_queue_settings(r->consumer[0]);
	assert_non_null(settings);
	assert_int_equal(settings->type, ring_type);
	assert_int_equal(settings->slots, 16);
	assert_int_equal(settings->max_message, 128);
	assert_int_equal(settings->overflow, BUS_OVERFLOW_REJECT);
	assert_int_equal(settings->max_unacked, 4);

	send_values(r->producer[0], 0, 5);
	expect_and_ack(r->consumer[0], 0);
	receive_value(r->consumer[0], 1, 1, &message);
	struct bus_queue_stats stats = ring_stats(r->producer[0]);
	assert_int_equal(stats.enqueued, 5);
	assert_int_equal(stats.dequeued, 2);
	assert_int_equal(stats.acked, 1);
	assert_int_equal(stats.depth, 3);
	assert_int_equal(stats.leased, 1);
	assert_int_equal(stats.capacity, 16);
	assert_int_equal(stats.producers, 1);
	assert_int_equal(stats.consumers, 1);
	assert_int_equal(stats.dropped, 0);
	assert_int_equal(stats.rejected, 0);
	assert_ret(bus_ack(r->consumer[0], &message), 0);
}

/* A durable queue of 4 slots whose journal_position the test moves, as
 * busd's journal thread would. */
static void ring_open_durable(struct ring *r)
{
	struct bus_queue_settings settings;

	local_queue_settings(&settings, ring_type, 4, 16, BUS_OVERFLOW_REJECT,
			     4);
	settings.durable = 1;
	assert_ret(local_queue_create(&r->queue, &settings), 0);
	assert_ret(local_queue_attach(&r->queue, BUS_PRODUCER, 0, NULL,
				      &r->producer[0]),
		   0);
	assert_ret(local_queue_attach(&r->queue, BUS_CONSUMER, 0, NULL,
				      &r->consumer[0]),
		   0);
}

static void receive_and_ack(bus_queue_t *consumer, uint32_t count)
{
	struct bus_message m;

	for (uint32_t i = 0; i < count; i++) {
		assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
		assert_ret(bus_ack(consumer, &m), 0);
	}
}

/* A cell is not reused before busd's journal copied it, even once its
 * message was acked: the producer sees the queue full. */
static void test_queue_ring_durable_waits_for_the_journal(void **state)
{
	struct ring *r = *state;
	_Atomic uint64_t *journal;

	ring_open_durable(r);
	journal = &r->queue.geometry.control->journal_position;
	send_values(r->producer[0], 0, 4);
	receive_and_ack(r->consumer[0], 4);
	assert_ret(send_value(r->producer[0], 4), -ENOBUFS);
	atomic_store(journal, 2);
	send_values(r->producer[0], 4, 2);
	assert_ret(send_value(r->producer[0], 6), -ENOBUFS);
	atomic_store(journal, 6);
	receive_and_ack(r->consumer[0], 2);
	send_values(r->producer[0], 6, 4);
}

/* bus_flush: 0 once durable_position covers the producer's commits,
 * -ETIMEDOUT before, the journal's error when it failed, -EOPNOTSUPP on
 * a queue that is not durable, -EBADF on a consumer. */
static void test_queue_ring_flush_waits_for_durable_position(void **state)
{
	struct ring *r = *state;
	struct bus_queue_control *c;

	ring_open_durable(r);
	c = r->queue.geometry.control;
	assert_ret(bus_flush(r->producer[0], 0), 0);
	send_values(r->producer[0], 0, 3);
	assert_ret(bus_flush(r->producer[0], 0), -ETIMEDOUT);
	assert_ret(bus_flush(r->producer[0], 1), -ETIMEDOUT);
	atomic_store(&c->durable_position, 2);
	assert_ret(bus_flush(r->producer[0], 0), -ETIMEDOUT);
	atomic_store(&c->journal_error, -ENOSPC);
	assert_ret(bus_flush(r->producer[0], 0), -ENOSPC);
	atomic_store(&c->journal_error, 0);
	atomic_store(&c->durable_position, 3);
	assert_ret(bus_flush(r->producer[0], 0), 0);
	assert_ret(bus_flush(r->consumer[0], 0), -EBADF);
}

/* Loans committed out of order: bus_flush waits for the highest commit,
 * not the last one (review h21b item 3). */
static void test_queue_ring_flush_waits_for_highest_commit(void **state)
{
	struct ring *r = *state;
	struct bus_queue_control *c;
	struct bus_message first, second;

	ring_open_durable(r);
	c = r->queue.geometry.control;
	assert_ret(bus_loan(r->producer[0], &first, BUS_NOWAIT), 0);
	assert_ret(bus_loan(r->producer[0], &second, BUS_NOWAIT), 0);
	assert_ret(bus_commit(r->producer[0], &second, 1), 0);
	assert_ret(bus_commit(r->producer[0], &first, 1), 0);
	atomic_store(&c->durable_position, 1);
	assert_ret(bus_flush(r->producer[0], 0), -ETIMEDOUT);
	atomic_store(&c->durable_position, 2);
	assert_ret(bus_flush(r->producer[0], 0), 0);
}

static void test_queue_ring_flush_not_durable_gives_eopnotsupp(void **state)
{
	struct ring *r = *state;

	ring_open(r, 4, 16, BUS_OVERFLOW_REJECT, 4);
	send_values(r->producer[0], 0, 1);
	assert_ret(bus_flush(r->producer[0], 0), -EOPNOTSUPP);
}

#define RING_TEST(name) \
	cmocka_unit_test_setup_teardown(name, ring_setup, ring_teardown)

static const struct CMUnitTest ring_tests[] = {
	RING_TEST(test_queue_ring_receive_empty_gives_eagain),
	RING_TEST(test_queue_ring_full_reject_gives_enobufs),
	RING_TEST(test_queue_ring_full_block_gives_enobufs_or_etimedout),
	RING_TEST(test_queue_ring_wrap_around_keeps_fifo),
	RING_TEST(test_queue_ring_largest_message_fits),
	RING_TEST(test_queue_ring_oversize_gives_emsgsize),
	RING_TEST(test_queue_ring_loans_commit_out_of_order_keep_fifo),
	RING_TEST(test_queue_ring_two_producers_two_consumers),
	RING_TEST(test_queue_ring_drop_oldest_never_drops_held),
	RING_TEST(test_queue_ring_acks_out_of_order),
	RING_TEST(test_queue_ring_held_message_does_not_block_delivery),
	RING_TEST(test_queue_ring_nack_redelivers_first_with_count_2),
	RING_TEST(test_queue_ring_nack_twice_counts_3),
	RING_TEST(test_queue_ring_max_unacked_gives_enolck),
	RING_TEST(test_queue_ring_max_unacked_empty_gives_enolck_at_once),
	RING_TEST(test_queue_ring_ack_through_acks_in_receive_order),
	RING_TEST(test_queue_ring_batch_send_and_receive),
	RING_TEST(test_queue_ring_loan_and_commit_batches),
	RING_TEST(test_queue_ring_commit_batch_stops_at_a_bad_loan),
	RING_TEST(test_queue_ring_batch_receive_stops_before_corrupt),
	RING_TEST(test_queue_ring_loan_batch_drops_at_most_one),
	RING_TEST(test_queue_ring_forged_token_gives_einval),
	RING_TEST(test_queue_ring_receive_copy_nacks_when_too_small),
	RING_TEST(test_queue_ring_detach_consumer_redelivers_held),
	RING_TEST(test_queue_ring_detach_producer_pads_its_loan),
	RING_TEST(test_queue_ring_corrupt_header_gives_eproto),
	RING_TEST(test_queue_ring_corrupt_payload_length_gives_ebadmsg),
	RING_TEST(test_queue_ring_cancel_wakes_and_fails),
	RING_TEST(test_queue_ring_endless_timeout_waits),
	RING_TEST(test_queue_ring_wrong_role_is_refused),
	RING_TEST(test_queue_ring_settings_and_stats),
	RING_TEST(test_queue_ring_durable_waits_for_the_journal),
	RING_TEST(test_queue_ring_flush_waits_for_durable_position),
	RING_TEST(test_queue_ring_flush_waits_for_highest_commit),
	RING_TEST(test_queue_ring_flush_not_durable_gives_eopnotsupp),
};

int main(int argc, char **argv)
{
	int failed = 0;

	/* An optional argument picks cases by name (cmocka glob). */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	failed += cmocka_run_group_tests_name("spsc", ring_tests,
					      ring_group_spsc, NULL);
	failed += cmocka_run_group_tests_name("mpmc", ring_tests,
					      ring_group_mpmc, NULL);
	return failed ? 1 : 0;
}
