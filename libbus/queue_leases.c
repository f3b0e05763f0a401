/* SPDX-License-Identifier: MIT */
/*
 * A consumer's leases: the messages it holds, in the order received.
 *
 * Two kinds.  A lease "held in the cell" has its cell in the HELD state
 * with our owner index (MPMC queues, redeliveries, and SPSC queues with
 * drop-oldest).  A lease "in the ring" belongs to a lazy SPSC consumer: it
 * took the message without writing the cell, which still says READY; the
 * producer keeps off it because it lies at or after the released position
 * the consumer publishes in its own line.  Acking in order then costs one
 * store to our own line instead of a write to the producer's cell, and a
 * batch of acks costs the same one store.
 *
 * The released position may only pass a message that has left the ring:
 * an out-of-order ack first moves the older leases still in the ring into
 * their cells (HELD), which the producer then skips; a nack moves the
 * message to REDELIVER.  Either store is made before the released position
 * that passes it (release ordering on that store), and the producer, the
 * only other party that could write those cells, reads the position with
 * acquire before it decides anything about a READY cell.
 *
 * When a lazy consumer dies, busd finds its messages in the ring between
 * the released position and its taken position and raises their delivery
 * counts; the next consumer starts at the released position.
 */
#include <errno.h>

#include "atomics.h"
#include "queue_cell.h"
#include "queue_leases.h"
#include "queue_ring.h"

#define IN_RING (UINT64_C(1) << 62)

static uint32_t slot_of(const struct bus_queue *q, uint32_t i)
{
	uint32_t slot = q->held_head + i;
	uint32_t size = q->geometry.settings.max_unacked;

	/* No division on this path. */
	return slot >= size ? slot - size : slot;
}

/* Entries hold position + 1 (0 marks a finished lease) and IN_RING. */
static uint64_t entry_position(uint64_t entry)
{
	return (entry & ~IN_RING) - 1;
}

bool bus__leases_full(const struct bus_queue *q)
{
	uint32_t live = 0;

	if (q->held_count < q->geometry.settings.max_unacked)
		return false;
	for (uint32_t i = 0; i < q->held_count; i++)
		live += q->held[slot_of(q, i)] != 0;
	return live == q->held_count;
}

/* Squeezes out finished entries, keeping the order. */
static void compact(struct bus_queue *q)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[slot_of(q, i)];

		if (entry)
			q->held[slot_of(q, kept++)] = entry;
	}
	q->held_count = kept;
}

void bus__leases_push(struct bus_queue *q, uint64_t position, bool in_ring)
{
	if (q->held_count == q->geometry.settings.max_unacked)
		compact(q);
	q->held[slot_of(q, q->held_count++)] =
		(position + 1) | (in_ring ? IN_RING : 0);
}

int bus__leases_find(const struct bus_queue *q, uint64_t position)
{
	/* Acks mostly come in the order of receipt: the oldest first. */
	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[slot_of(q, i)];

		if (entry && entry_position(entry) == position)
			return (int)i;
	}
	return -1;
}

uint64_t bus__leases_oldest(const struct bus_queue *q)
{
	return entry_position(q->held[q->held_head]);
}

/* Marks entry i finished and drops finished entries from the front, so
 * the front entry is always a live one. */
static void forget(struct bus_queue *q, uint32_t i)
{
	q->held[slot_of(q, i)] = 0;
	while (q->held_count && q->held[q->held_head] == 0) {
		q->held_head = slot_of(q, 1);
		q->held_count--;
	}
}

static struct bus_cell *cell_at(const struct bus_queue *q, uint64_t position)
{
	return bus__queue_cell(&q->geometry, position);
}

/* Moves the ring leases older than index i into their cells, so that the
 * released position can pass them. */
static void hold_older_in_cells(struct bus_queue *q, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++) {
		uint64_t *entry = &q->held[slot_of(q, j)];
		uint64_t position = entry_position(*entry);

		if (!(*entry & IN_RING))
			continue;
		/* Relaxed: we are the only writer of a READY cell at or
		 * after the released position; the release store of that
		 * position orders this before the producer can look. */
		bus__store_relaxed(&cell_at(q, position)->state,
				   bus__cell_state(position, q->owner,
						   BUS__CELL_HELD));
		*entry &= ~IN_RING;
	}
}

int bus__leases_ack(struct bus_queue *q, uint32_t i)
{
	uint64_t entry = q->held[slot_of(q, i)];
	int rc = 0;

	if (entry & IN_RING)
		hold_older_in_cells(q, i);
	else
		rc = bus__ring_release(q, entry_position(entry));
	forget(q, i);
	return rc;
}

int bus__leases_nack(struct bus_queue *q, uint32_t i)
{
	uint64_t entry = q->held[slot_of(q, i)];
	uint64_t position = entry_position(entry);
	struct bus_cell *cell = cell_at(q, position);
	int rc = 0;

	/* We hold the message: its header is ours to update until the
	 * state change below hands it back. */
	cell->header.delivery_count++;
	cell->header.flags |= BUS_MESSAGE_REDELIVERED;
	if (entry & IN_RING) {
		/* Release: the header update comes before whoever takes
		 * the message back. */
		bus__store_release(&cell->state,
				   bus__cell_state(position, 0,
						   BUS__CELL_REDELIVER));
		/* Raised after the state (see bus__ring_take_redelivery). */
		bus__fetch_add_seq_cst(
			&q->geometry.control->redeliver_pending, 1);
	} else {
		rc = bus__ring_return(q, position);
	}
	forget(q, i);
	return rc;
}

/* The oldest position still held in the ring, else the next one to take. */
static uint64_t releasable(const struct bus_queue *q)
{
	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[slot_of(q, i)];

		if (entry & IN_RING)
			return entry_position(entry);
	}
	return q->dequeue_position;
}

void bus__leases_publish(struct bus_queue *q)
{
	uint64_t position;

	if (!q->lazy)
		return;
	position = releasable(q);
	if (position == q->released)
		return;
	q->released = position;
	/* Release: our reads of the released payloads, and the state
	 * stores above, come before the producer's acquire load of this
	 * position.  seq_cst: the caller's wake-up check needs no fence
	 * (queue_ring.c). */
	bus__store_seq_cst(&q->geometry.control->dequeue_position, position);
}
