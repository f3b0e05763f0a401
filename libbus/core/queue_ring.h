/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking operations on the cells of a queue (protocol in
 * queue_cell.h).  Each returns at once; waiting is wait.c's business.
 *
 * Sharing modes: the _spsc functions keep the position of their side in
 * the handle and need no compare-and-swap on it, so they may only be used
 * by the single producer or the single consumer of an SPSC queue.  The
 * _mpmc functions are lock-free: a thread that is stopped or killed at any
 * point never prevents the others from progressing, because every position
 * can be advanced by any party that sees its cell claimed.
 */
#ifndef BUS_QUEUE_RING_H
#define BUS_QUEUE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"
#include "queue.h"
#include "queue_cell.h"

/*
 * Claims the cell of the next position for writing (state WRITING).
 * 0 and *position, or -ENOBUFS when the queue is full.  With the
 * drop-oldest policy a full queue gives up its oldest queued message
 * instead (*dropped is set), unless dropped is NULL.
 */
int bus__ring_claim_spsc(struct bus_queue *q, uint64_t *position,
			 int *dropped);
int bus__ring_claim_mpmc(struct bus_queue *q, uint64_t *position,
			 int *dropped);

/* The SPSC producer claimed position p: its own copy and, relaxed, the
 * shared one (read only by a replacement producer after busd saw us go). */
static inline void bus__ring_spsc_advance(struct bus_queue *q, uint64_t p)
{
	q->enqueue_position = p + 1;
	bus__store_relaxed(&q->geometry.control->enqueue_position, p + 1);
}

/*
 * A durable queue: may a producer claim (or skip) position p?  Only when
 * busd's journal thread copied the message of the cell's previous lap,
 * p - slots, i.e. p < journal_position + slots.  The shared position is
 * read only when our copy says no: once per lap at most while busd keeps
 * up.  false: the queue is full for now (the journal is behind: disk
 * back-pressure); the caller waits for room as for a full ring, and busd
 * wakes space sleepers when it advances the position.
 */
static inline bool bus__ring_journal_allows(struct bus_queue *q, uint64_t p)
{
	if (!q->durable ||
	    (int64_t)(p - q->cached_journal) < (int64_t)q->geometry.slots)
		return true;
	/* Acquire: pairs with the journal thread's seq_cst store of the
	 * position after it copied the cells (busd/durable_ring.c), so its
	 * reads of a cell come before our writes to it. */
	q->cached_journal =
		bus__load_acquire(&q->geometry.control->journal_position);
	return (int64_t)(p - q->cached_journal) < (int64_t)q->geometry.slots;
}

/*
 * The SPSC producer's common case, inline in bus_loan(): its next cell is
 * free for this lap, or holds the previous lap's message and our copy of
 * the lazy consumer's released position (full counters, no wrap) says it
 * let that go.  true when claimed; false: bus__ring_claim_spsc() looks
 * closer (it refreshes the copy, skips, drops or says full).
 */
static inline bool bus__ring_claim_spsc_fast(struct bus_queue *q,
					     uint64_t *position)
{
	uint64_t p = q->enqueue_position;
	uint64_t lap = p - q->geometry.slots;
	struct bus_cell *cell = bus__queue_cell(&q->geometry, p);
	/* Acquire: pairs with the release of the consumer that freed the
	 * cell.  For a released cell the pairing was the acquire load that
	 * refreshed cached_released (released_by_lazy_consumer), which
	 * already ordered the consumer's reads of the old payload first. */
	uint64_t found = bus__load_acquire(&cell->state);

	if (q->durable &&
	    (int64_t)(p - q->cached_journal) >= (int64_t)q->geometry.slots)
		return false;
	if (found != bus__cell_state(p, 0, BUS__CELL_FREE) &&
	    !(q->lazy && found == bus__cell_state(lap, 0, BUS__CELL_READY) &&
	      (int64_t)(lap - q->cached_released) < 0))
		return false;
	/* Nobody else acts on a free or released cell: a plain store.  The
	 * release fence after it orders it before our writes of the cell,
	 * for the journal thread's re-check of a copy (pairs with its
	 * acquire fence, busd/durable_ring.c).  Free on x86. */
	bus__store_relaxed(&cell->state,
			   bus__cell_state(p, q->owner, BUS__CELL_WRITING));
	bus__fence_release();
	bus__ring_spsc_advance(q, p);
	*position = p;
	return true;
}

/*
 * Makes a claimed cell READY.  After bus__ring_publish (release; cheaper
 * for a batch) wake sleepers with bus__ring_wake_data(), which fences;
 * after bus__ring_publish_seq_cst with bus__ring_wake_data_after_seq_cst().
 */
void bus__ring_publish(struct bus_queue *q, uint64_t position);
void bus__ring_publish_seq_cst(struct bus_queue *q, uint64_t position);

/* Takes the next READY cell (state HELD by us).  0 or -EAGAIN. */
int bus__ring_take_spsc(struct bus_queue *q, uint64_t *position);
int bus__ring_take_mpmc(struct bus_queue *q, uint64_t *position);

/*
 * 1 when a take (or a redelivery) might find a message, 0 when it would
 * say -EAGAIN; changes nothing.  For waitsets.
 */
int bus__queue_pending(const struct bus_queue *q);
/* Takes a nacked or orphaned cell, if any.  0, or -EAGAIN. */
int bus__ring_take_redelivery(struct bus_queue *q, uint64_t *position);

/* Frees a cell we hold (ack), or hands it back for redelivery (nack).
 * -ESTALE if we do not hold it (any more: ack_timeout_ms). */
int bus__ring_release(struct bus_queue *q, uint64_t position);
int bus__ring_return(struct bus_queue *q, uint64_t position);
/* Hands a cell we hold to busd for the dead-letter queue (DEAD), the
 * header already updated; raises the dead-letter hint.  As above. */
int bus__ring_bury(struct bus_queue *q, uint64_t position);

/* Frees a cell we claimed for writing without publishing it. */
void bus__ring_abandon(struct bus_queue *q, uint64_t position);

/* Wake-ups, each issued only when somebody sleeps (a futex syscall). */
void bus__ring_wake_data(struct bus_queue *q);
void bus__ring_wake_data_after_seq_cst(struct bus_queue *q);
/* Only right after bus__ring_release (a seq_cst CAS). */
void bus__ring_wake_space(struct bus_queue *q);

#endif /* BUS_QUEUE_RING_H */
