/* SPDX-License-Identifier: MIT */
/*
 * A consumer's private record of the messages it holds (received, not yet
 * acked or nacked), in the order it received them.  Internal.
 */
#ifndef BUS_QUEUE_LEASES_H
#define BUS_QUEUE_LEASES_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"
#include "queue.h"

/*
 * A lease entry holds position + 1 (0 marks a finished lease), with
 * BUS__LEASE_IN_RING for a lazy take whose cell still says READY and
 * BUS__LEASE_STALE for a lease busd took back.
 */
#define BUS__LEASE_IN_RING (UINT64_C(1) << 62)
#define BUS__LEASE_STALE (UINT64_C(1) << 61)

static inline uint64_t bus__lease_position(uint64_t entry)
{
	return (entry & ~(BUS__LEASE_IN_RING | BUS__LEASE_STALE)) - 1;
}

/* False for a token no lease can hold: one whose entry would carry a flag
 * bit.  Checked first, so a forged token cannot match a flagged entry. */
static inline bool bus__lease_token_valid(uint64_t token)
{
	return !((token + 1) & (BUS__LEASE_IN_RING | BUS__LEASE_STALE));
}

/* The slot of the lease at index i (0 is the oldest). */
static inline uint32_t bus__leases_slot(const struct bus_queue *q, uint32_t i)
{
	return (q->held_head + i) & q->held_mask;
}

/* Drops the oldest entry, then the finished ones behind it, so the front
 * entry is always a live one. */
static inline void bus__leases_pop(struct bus_queue *q)
{
	do {
		q->held_head = bus__leases_slot(q, 1);
		q->held_count--;
	} while (q->held_count && q->held[q->held_head] == 0);
}

/* Marks entry i finished; the front one goes at once (bus__leases_pop). */
static inline void bus__leases_forget(struct bus_queue *q, uint32_t i)
{
	if (i == 0)
		bus__leases_pop(q);
	else
		q->held[bus__leases_slot(q, i)] = 0;
}

/*
 * The lazy consumer's fast path (queue.c): a take recorded in the
 * ring, when the caller checked that a lease is free (no squeeze needed)
 * and the queue has no ack_timeout_ms (lazy queues never do).
 */
static inline void bus__leases_push_in_ring(struct bus_queue *q,
					    uint64_t position)
{
	q->held[bus__leases_slot(q, q->held_count++)] = (position + 1) |
							BUS__LEASE_IN_RING;
}

/*
 * The in-order ack of a lazy take: true, and the lease gone, when the
 * oldest lease is the one of position and still in the ring; else false
 * and nothing changed (the caller takes the general way).  Nothing is
 * written to the cell, as bus__leases_ack() would not either.
 */
static inline bool bus__leases_ack_oldest_in_ring(struct bus_queue *q,
						  uint64_t position)
{
	if (!q->held_count ||
	    q->held[q->held_head] != ((position + 1) | BUS__LEASE_IN_RING))
		return false;
	bus__leases_pop(q);
	return true;
}

/*
 * bus_ack_through()'s common case: drops the oldest leases while they are
 * lazy takes still in the ring (nothing to write to their cells, as
 * bus__leases_ack() would not), through the one of position.  Returns how
 * many; *reached says whether that one was among them.  The caller acks
 * the rest, if any, the general way.
 */
static inline uint32_t bus__leases_drop_in_ring_through(struct bus_queue *q,
							uint64_t position,
							bool *reached)
{
	uint32_t dropped = 0;

	*reached = false;
	while (q->held_count && !*reached) {
		uint64_t entry = q->held[q->held_head];

		if ((entry & (BUS__LEASE_IN_RING | BUS__LEASE_STALE)) !=
		    BUS__LEASE_IN_RING)
			break;
		*reached = bus__lease_position(entry) == position;
		q->held_head = bus__leases_slot(q, 1);
		q->held_count--;
		dropped++;
	}
	/* The front is always a live lease (bus__leases_forget). */
	while (q->held_count && q->held[q->held_head] == 0) {
		q->held_head = bus__leases_slot(q, 1);
		q->held_count--;
	}
	return dropped;
}

/* True when the consumer holds max_unacked messages. */
bool bus__leases_full(const struct bus_queue *q);

/*
 * Records a message taken at position.  in_ring: the cell still says READY
 * (a lazy SPSC take), else we hold it as HELD in the cell.
 */
void bus__leases_push(struct bus_queue *q, uint64_t position, bool in_ring);

/* The index of the lease for position (0 is the oldest), or -1. */
int bus__leases_find(const struct bus_queue *q, uint64_t position);

/*
 * Acks the lease at index: its cell becomes free.  A lazy consumer's
 * released position is only published by bus__leases_publish(), so a
 * batch of acks costs one store.  0, or a negative errno from the ring.
 */
int bus__leases_ack(struct bus_queue *q, uint32_t index);

/*
 * Hands the lease at index back for redelivery, its delivery count raised.
 * The caller publishes and wakes.
 */
int bus__leases_nack(struct bus_queue *q, uint32_t index);
/* Hands the held message at index to busd for the dead-letter queue at
 * once, with reason (an expired one, say); -ESTALE as for a nack. */
int bus__leases_bury(struct bus_queue *q, uint32_t index,
		     enum bus_dead_letter_reason reason);

/* The oldest position still held in the ring, else the next one to take. */
uint64_t bus__leases_releasable(const struct bus_queue *q);

/*
 * Lazy SPSC consumer: moves the released position up to the oldest message
 * still held in the ring.  No-op otherwise.  The caller then wakes a
 * sleeping producer with bus__ring_wake_space().  Inline: an in-order ack
 * holds nothing afterwards, and needs no walk over the leases.
 */
static inline void bus__leases_publish(struct bus_queue *q)
{
	uint64_t position;

	if (!q->lazy)
		return;
	position = q->held_count ? bus__leases_releasable(q)
				 : q->dequeue_position;
	if (position == q->released)
		return;
	q->released = position;
	/* Release: our reads of the released payloads, and the state
	 * stores before, come before the producer's acquire load of this
	 * position.  seq_cst: the caller's wake-up check needs no fence
	 * (queue_ring.c). */
	bus__store_seq_cst(&q->geometry.control->dequeue_position, position);
}

#endif /* BUS_QUEUE_LEASES_H */
