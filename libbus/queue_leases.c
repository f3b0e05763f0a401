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
 *
 * With ack_timeout_ms busd may take a lease back from under us (the cell
 * becomes HELD by busd, then REDELIVER); an ack or nack then finds the cell
 * not ours and answers -ESTALE.  If we take the same cell again before we
 * ack the old lease, the older entry is marked stale at once, so that an
 * ack of it can never free the newer delivery.  Only queues with
 * ack_timeout_ms pay for that look (a scan of our own private table).
 */
#include <errno.h>

#include "atomics.h"
#include "queue_cell.h"
#include "queue_leases.h"
#include "queue_ring.h"

bool bus__leases_full(const struct bus_queue *q)
{
	uint32_t live = 0;

	if (q->held_count < q->geometry.settings.max_unacked)
		return false;
	for (uint32_t i = 0; i < q->held_count; i++)
		live += q->held[bus__leases_slot(q, i)] != 0;
	return live == q->held_count;
}

/* Squeezes out finished entries, keeping the order. */
static void compact(struct bus_queue *q)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[bus__leases_slot(q, i)];

		if (entry)
			q->held[bus__leases_slot(q, kept++)] = entry;
	}
	q->held_count = kept;
}

/* A lease of the cell we just took again can only be one busd took back. */
static void mark_stale(struct bus_queue *q, uint64_t position)
{
	uint32_t mask = q->geometry.mask;

	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t *entry = &q->held[bus__leases_slot(q, i)];

		if (*entry &&
		    ((bus__lease_position(*entry) ^ position) & mask) == 0)
			*entry |= BUS__LEASE_STALE;
	}
}

void bus__leases_push(struct bus_queue *q, uint64_t position, bool in_ring)
{
	if (q->geometry.settings.ack_timeout_ms)
		mark_stale(q, position);
	if (q->held_count == q->geometry.settings.max_unacked)
		compact(q);
	q->held[bus__leases_slot(q, q->held_count++)] =
		(position + 1) | (in_ring ? BUS__LEASE_IN_RING : 0);
}

int bus__leases_find(const struct bus_queue *q, uint64_t position)
{
	int stale = -1;

	/* Acks mostly come in the order of receipt: the oldest first.  A
	 * live lease wins over a stale one of the same position. */
	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[bus__leases_slot(q, i)];

		if (!entry || bus__lease_position(entry) != position)
			continue;
		if (!(entry & BUS__LEASE_STALE))
			return (int)i;
		if (stale < 0)
			stale = (int)i;
	}
	return stale;
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
		uint64_t *entry = &q->held[bus__leases_slot(q, j)];
		uint64_t position = bus__lease_position(*entry);

		if (!(*entry & BUS__LEASE_IN_RING))
			continue;
		/* Relaxed: we are the only writer of a READY cell at or
		 * after the released position; the release store of that
		 * position orders this before the producer can look. */
		bus__store_relaxed(&cell_at(q, position)->state,
				   bus__cell_state(position, q->owner,
						   BUS__CELL_HELD));
		*entry &= ~BUS__LEASE_IN_RING;
	}
}

int bus__leases_ack(struct bus_queue *q, uint32_t i)
{
	uint64_t entry = q->held[bus__leases_slot(q, i)];
	int rc = 0;

	if (entry & BUS__LEASE_STALE)
		rc = -ESTALE;
	else if (entry & BUS__LEASE_IN_RING)
		hold_older_in_cells(q, i);
	else
		rc = bus__ring_release(q, bus__lease_position(entry));
	bus__leases_forget(q, i);
	return rc;
}

/*
 * With ack_timeout_ms busd may have taken the lease back: then the header
 * is no longer ours to write.  A take-back between this look and the state
 * change is possible (a nack at the very moment of the timeout); it can
 * only raise the delivery count once more, and the nack then answers
 * -ESTALE.  Without ack_timeout_ms nobody takes a lease back: no look.
 */
static bool still_ours(const struct bus_queue *q, uint64_t entry)
{
	uint64_t state;

	if (!q->geometry.settings.ack_timeout_ms)
		return true;
	/* Relaxed: only a hint; the state change after it is a CAS. */
	state = bus__load_relaxed(
		&cell_at(q, bus__lease_position(entry))->state);
	return bus__cell_kind(state) == BUS__CELL_HELD &&
	       bus__cell_owner(state) == q->owner;
}

/* A lazy consumer's nack of a message still READY in the ring: nobody else
 * writes it, so a plain store hands it on. */
static void nack_in_ring(struct bus_queue *q, struct bus_cell *cell,
			 uint64_t position, int dead)
{
	_Atomic uint64_t *hint =
		dead ? &q->geometry.control->dead_pending
		     : &q->geometry.control->redeliver_pending;

	/* Release: the header update comes before whoever takes the message
	 * (a consumer, or busd for a DEAD one). */
	bus__store_release(&cell->state,
			   bus__cell_state(position, 0,
					   dead ? BUS__CELL_DEAD
						: BUS__CELL_REDELIVER));
	/* Raised after the state (see bus__ring_take_redelivery). */
	bus__fetch_add_seq_cst(hint, 1);
}

int bus__leases_nack(struct bus_queue *q, uint32_t i)
{
	uint64_t entry = q->held[bus__leases_slot(q, i)];
	uint64_t position = bus__lease_position(entry);
	struct bus_cell *cell = cell_at(q, position);
	int dead, rc = 0;

	if ((entry & BUS__LEASE_STALE) || !still_ours(q, entry)) {
		bus__leases_forget(q, i);
		return -ESTALE;
	}
	/* We hold the message: its header is ours to update until the
	 * state change below hands it on (but see still_ours). */
	dead = bus__delivery_failed(&q->geometry.settings, &cell->header,
				    BUS_DEAD_LETTER_NACKED);
	if (entry & BUS__LEASE_IN_RING)
		nack_in_ring(q, cell, position, dead);
	else if (dead)
		rc = bus__ring_bury(q, position);
	else
		rc = bus__ring_return(q, position);
	bus__leases_forget(q, i);
	return rc;
}

int bus__leases_bury(struct bus_queue *q, uint32_t i,
		     enum bus_dead_letter_reason reason)
{
	uint64_t entry = q->held[bus__leases_slot(q, i)];
	uint64_t position = bus__lease_position(entry);
	struct bus_cell *cell = cell_at(q, position);
	int rc = 0;

	if ((entry & BUS__LEASE_STALE) || !still_ours(q, entry)) {
		bus__leases_forget(q, i);
		return -ESTALE;
	}
	/* Ours, as in a nack: the header until the state change below. */
	cell->header.dead_letter_reason = (uint16_t)reason;
	if (entry & BUS__LEASE_IN_RING)
		nack_in_ring(q, cell, position, 1);
	else
		rc = bus__ring_bury(q, position);
	bus__leases_forget(q, i);
	return rc;
}

/* The oldest position still held in the ring, else the next one to take. */
uint64_t bus__leases_releasable(const struct bus_queue *q)
{
	for (uint32_t i = 0; i < q->held_count; i++) {
		uint64_t entry = q->held[bus__leases_slot(q, i)];

		if (entry & BUS__LEASE_IN_RING)
			return bus__lease_position(entry);
	}
	return q->dequeue_position;
}
