/* SPDX-License-Identifier: MIT */
/*
 * Cell operations of a queue; the protocol is described in queue_cell.h.
 *
 * Who writes what:
 *   cell state      producers (claim, publish, skip), consumers (take,
 *                   ack, nack), busd (pad a dead producer's claim, orphan
 *                   a dead consumer's messages, move DEAD ones and take
 *                   leases back: queue_dead_letter.c): always by CAS where
 *                   two of them may meet, by a plain store where only one
 *                   can.
 *   enqueue pos.    MPMC: any producer, by CAS, "helping" (a producer that
 *                   finds position p claimed moves the counter past it).
 *                   SPSC: the producer alone, a mirror of its own copy.
 *   dequeue pos.    the same for consumers.
 *
 * Ordering: a cell's payload is handed over by its state word.  The writer
 * of the payload stores the next state with release; the next owner loads
 * or CASes it with acquire.  The positions carry no data and are relaxed:
 * a stale position is detected by the state it finds and only costs a
 * retry.
 */
#include <errno.h>
#include <stdbool.h>

#include "atomics.h"
#include "futex.h"
#include "queue_cell.h"
#include "queue_high_water.h"
#include "queue_ring.h"
#include "wake.h"

/*
 * Every loop below ends within this many steps.  A well-behaved run needs
 * at most a lap of positions or a few lost races; more means a peer wrote
 * nonsense into the segment, and we answer -EBADMSG rather than spin
 * forever on memory we must not trust.
 */
#define RING_STEPS_MAX (1u << 20)

static struct bus_cell *cell_at(const struct bus_queue *q, uint64_t position)
{
	return bus__queue_cell(&q->geometry, position);
}

/* Moves a shared position past p unless somebody already did. */
static void help_advance(_Atomic uint64_t *counter, uint64_t p)
{
	/* Relaxed: positions carry no data (see the top of this file). */
	bus__cas_relaxed(counter, &p, p + 1);
}

/* Fetches a line in the exclusive state, ready to be written. */
static inline void prefetch_for_write(const void *address)
{
#if defined(__x86_64__)
	/* PREFETCHW: since Broadwell on Intel, long on AMD; older Intel
	 * cores decode it as a no-op. */
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)address));
#else
	__builtin_prefetch(address, 1, 3);
#endif
}

/*
 * An SPSC producer knows its next cell: fetch its payload line for writing
 * now, while the application does something else, instead of missing on
 * it in the next loan.  Not the state line: a consumer that caught up
 * spins on it, and taking it away would cost that consumer a miss on every
 * look.  Only a hint; it changes no state.
 */
static void prefetch_next_cell(const struct bus_queue *q, uint64_t position)
{
	const uint8_t *cell;

	if (!q->spsc)
		return;
	cell = (const uint8_t *)cell_at(q, position + 1);
	prefetch_for_write(cell + q->geometry.payload_offset);
}

static uint64_t next_lap(const struct bus_queue *q, uint64_t state)
{
	return bus__cell_position(state) + q->geometry.slots;
}

/*
 * What a producer at position p finds in its cell.  `older` means the
 * state still belongs to the previous lap.
 */
enum producer_view { CLAIMABLE, OCCUPIED, FULL, PASSED };

static enum producer_view producer_view(uint64_t state, uint64_t p)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(p));
	enum bus__cell_kind kind = bus__cell_kind(state);

	if (d == 0 && kind == BUS__CELL_FREE)
		return CLAIMABLE;
	if (d < 0 && (kind == BUS__CELL_HELD || kind == BUS__CELL_REDELIVER ||
		      kind == BUS__CELL_DEAD))
		return OCCUPIED;
	if (d < 0)
		return FULL; /* READY or WRITING of the previous lap */
	return PASSED;	     /* position p was claimed or skipped already */
}

/* Skips an occupied cell: position p carries no message.  Races with the
 * holder's ack, hence CAS; acq_rel because on failure we act on the new
 * state (a FREE cell we then overwrite). */
static bool skip_occupied(struct bus_cell *cell, uint64_t *state, uint64_t p)
{
	return bus__cas_acq_rel(&cell->state, state,
				bus__cell_moved(*state,
						bus__position_wrap(p)));
}

/*
 * The queue is full at p and its cell holds the oldest queued message.
 * With drop-oldest the producer takes the cell for its own message in one
 * CAS; the consumer at the dropped position sees a newer state and moves
 * on.  Returns 1 when dropped, 0 to look at the cell again (it changed),
 * -ENOBUFS when the queue is full for good.
 */
static int drop_oldest(struct bus_queue *q, struct bus_cell *cell,
		       uint64_t *state, uint64_t p)
{
	if (q->geometry.settings.overflow != BUS_OVERFLOW_DROP_OLDEST ||
	    bus__cell_kind(*state) != BUS__CELL_READY)
		return -ENOBUFS;
	/* Acquire, as for a claim: a consumer may have freed it before. */
	return bus__cas_acq_rel(&cell->state, state,
				bus__cell_state(p, q->owner,
						BUS__CELL_WRITING));
}

/*
 * A READY cell of the previous lap is free if a lazy consumer released its
 * position already (queue_leases.c).  The producer's copy of the released
 * position is refreshed only here, when the ring looks full: one read of
 * the consumer's line per lap at most, not one per message.
 *
 * After a refresh the cell is read again: the consumer may have moved the
 * message into the cell (HELD) just before it released the position, and
 * the state we read first predates that.  Without a refresh no re-read is
 * needed: a position we saw released was released before we read the cell,
 * and the consumer never moves a released message.
 */
static bool released_by_lazy_consumer(struct bus_queue *q,
				      struct bus_cell *cell, uint64_t state)
{
	uint64_t position = bus__cell_position(state);

	if (!q->lazy || bus__cell_kind(state) != BUS__CELL_READY)
		return false;
	if (bus__position_diff(position,
			       bus__position_wrap(q->cached_released)) < 0)
		return true;
	/* Acquire: pairs with the release in bus__leases_publish, so the
	 * consumer's reads of the old payload, and its state changes, come
	 * before what we do next. */
	q->cached_released =
		bus__load_acquire(&q->geometry.control->dequeue_position);
	return bus__position_diff(
		       position, bus__position_wrap(q->cached_released)) < 0 &&
	       bus__load_acquire(&cell->state) == state;
}

int bus__ring_claim_spsc(struct bus_queue *q, uint64_t *position, int *dropped)
{
	uint64_t p = q->enqueue_position;
	uint32_t skipped = 0;

	if (bus__ring_claim_spsc_fast(q, position))
		return 0;
	for (uint32_t steps = 0;; steps++) {
		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		if (!bus__ring_journal_allows(q, p)) {
			q->enqueue_position = p;
			return -ENOBUFS;
		}
		struct bus_cell *cell = cell_at(q, p);
		/* Acquire: pairs with the release of the consumer that freed
		 * the cell, so its reads of the old payload come first. */
		uint64_t state = bus__load_acquire(&cell->state);

		switch (producer_view(state, p)) {
		case CLAIMABLE:
			/* Nobody else acts on a FREE cell: a plain store. */
			bus__store_relaxed(&cell->state,
					   bus__cell_state(p, q->owner,
							   BUS__CELL_WRITING));
			goto claimed;
		case OCCUPIED:
			if (++skipped > q->geometry.slots)
				return -ENOBUFS;
			if (skip_occupied(cell, &state, p))
				p++;
			continue;
		case FULL: {
			int rc;

			if (released_by_lazy_consumer(q, cell, state)) {
				/* Nobody else writes a released cell. */
				bus__store_relaxed(
					&cell->state,
					bus__cell_state(p, q->owner,
							BUS__CELL_WRITING));
				goto claimed;
			}
			/* No dropped: the caller may not drop (a batch's
			 * later loans); full is full. */
			rc = dropped ? drop_oldest(q, cell, &state, p)
				     : -ENOBUFS;

			if (rc == 1) {
				*dropped = 1;
				goto claimed;
			}
			q->enqueue_position = p;
			if (rc < 0)
				return rc;
			continue;
		}
		case PASSED:
			/* Only after busd padded a dead predecessor's claim. */
			p++;
			continue;
		}
	}
claimed:
	/* Release fence: the relaxed WRITING store above comes before our
	 * writes of the cell, for the journal thread that may be copying
	 * the cell's old message (its acquire fence and re-check,
	 * busd/durable_ring.c).  Free on x86. */
	bus__fence_release();
	*position = p;
	bus__ring_spsc_advance(q, p);
	return 0;
}

int bus__ring_claim_mpmc(struct bus_queue *q, uint64_t *position, int *dropped)
{
	_Atomic uint64_t *enqueue = &q->geometry.control->enqueue_position;
	uint32_t skipped = 0;

	for (uint32_t steps = 0;; steps++) {
		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		uint64_t p = bus__load_relaxed(enqueue);

		/* Before the cell: a skip needs the journal's copy too. */
		if (!bus__ring_journal_allows(q, p)) {
			/* A stale p may look blocked: only a current one is. */
			if (bus__load_relaxed(enqueue) != p)
				continue;
			return -ENOBUFS;
		}
		struct bus_cell *cell = cell_at(q, p);
		/* Acquire: pairs with the release of the consumer that freed
		 * the cell (see bus__ring_release). */
		uint64_t state = bus__load_acquire(&cell->state);
		uint64_t claim =
			bus__cell_state(p, q->owner, BUS__CELL_WRITING);

		switch (producer_view(state, p)) {
		case CLAIMABLE:
			/* Claim the cell first, then the position: whoever
			 * sees the cell claimed helps the position along, so
			 * dying between the two stalls nobody. */
			if (!bus__cas_acq_rel(&cell->state, &state, claim))
				continue;
			help_advance(enqueue, p);
			*position = p;
			return 0;
		case OCCUPIED:
			if (++skipped > q->geometry.slots)
				return -ENOBUFS;
			if (skip_occupied(cell, &state, p))
				help_advance(enqueue, p);
			continue;
		case FULL: {
			int rc;

			/* A stale p looks full too: only a current one is. */
			if (bus__load_relaxed(enqueue) != p)
				continue;
			rc = dropped ? drop_oldest(q, cell, &state, p)
				     : -ENOBUFS;
			if (rc < 0)
				return rc;
			if (rc == 0)
				continue;
			help_advance(enqueue, p);
			*dropped = 1;
			*position = p;
			return 0;
		}
		case PASSED:
			help_advance(enqueue, p);
			continue;
		}
	}
}

void bus__ring_publish(struct bus_queue *q, uint64_t position)
{
	/* Release: pairs with the consumer's acquire load or CAS of the
	 * state; the message header and payload become visible with it. */
	bus__store_release(&cell_at(q, position)->state,
			   bus__cell_state(position, 0, BUS__CELL_READY));
}

void bus__ring_publish_seq_cst(struct bus_queue *q, uint64_t position)
{
	/* As bus__ring_publish, and seq_cst so that the wake-up check after
	 * it needs no fence (see wake.h). */
	bus__store_seq_cst(&cell_at(q, position)->state,
			   bus__cell_state(position, 0, BUS__CELL_READY));
	prefetch_next_cell(q, position);
}

void bus__ring_abandon(struct bus_queue *q, uint64_t position)
{
	struct bus_cell *cell = cell_at(q, position);
	uint64_t state = bus__load_relaxed(&cell->state);

	/* Pad over our own claim as busd would after our death. */
	bus__store_release(&cell->state, bus__cell_state(next_lap(q, state), 0,
							 BUS__CELL_FREE));
}

/*
 * What a consumer at position p finds.  Everything at p or newer that is
 * not READY(p), FREE(p) or WRITING(p) means position p is finished.
 */
enum consumer_view { TAKEABLE, EMPTY, DONE };

static enum consumer_view consumer_view(uint64_t state, uint64_t p)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(p));
	enum bus__cell_kind kind = bus__cell_kind(state);

	if (d < 0)
		return EMPTY;
	if (d == 0 && kind == BUS__CELL_READY)
		return TAKEABLE;
	if (d == 0 && (kind == BUS__CELL_FREE || kind == BUS__CELL_WRITING))
		return EMPTY;
	return DONE;
}

/*
 * Takes the READY cell at p for the single consumer.  A lazy consumer
 * (queue_leases.c) leaves the cell untouched; otherwise only a drop-oldest
 * producer competes for it, which needs a CAS.
 */
static bool take_spsc(struct bus_queue *q, struct bus_cell *cell,
		      uint64_t *state, uint64_t p)
{
	uint64_t held = bus__cell_state(p, q->owner, BUS__CELL_HELD);

	bus__queue_note_depth(q, bus__queue_depth_seen(q, p));
	if (q->lazy)
		return true;
	/* Acquire: as the load that found READY. */
	return bus__cas_acq_rel(&cell->state, state, held);
}

int bus__ring_take_spsc(struct bus_queue *q, uint64_t *position)
{
	uint64_t p = q->dequeue_position;
	struct bus_cell *next = cell_at(q, p);
	uint64_t ready = bus__cell_state(p, 0, BUS__CELL_READY);

	/* The common case: the next position is ready.  Acquire: pairs with
	 * the release in bus__ring_publish. */
	if (bus__load_acquire(&next->state) == ready &&
	    take_spsc(q, next, &ready, p))
		goto taken;

	for (uint32_t steps = 0;; steps++) {
		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		struct bus_cell *cell = cell_at(q, p);
		/* Acquire: pairs with the release in bus__ring_publish. */
		uint64_t state = bus__load_acquire(&cell->state);

		switch (consumer_view(state, p)) {
		case TAKEABLE:
			if (!take_spsc(q, cell, &state, p))
				continue;
			goto taken;
		case EMPTY:
			q->dequeue_position = p;
			return -EAGAIN;
		case DONE:
			p++;
			continue;
		}
	}
taken:
	*position = p;
	q->dequeue_position = p + 1;
	/* Relaxed: read only by busd after we are gone, or by our
	 * replacement after busd; the socket round trip orders them.  A lazy
	 * consumer publishes its released position separately. */
	if (q->lazy)
		bus__store_relaxed(&q->geometry.control->taken_position,
				   p + 1);
	else
		bus__store_relaxed(&q->geometry.control->dequeue_position,
				   p + 1);
	return 0;
}

int bus__ring_take_mpmc(struct bus_queue *q, uint64_t *position)
{
	_Atomic uint64_t *dequeue = &q->geometry.control->dequeue_position;
	uint64_t walked = UINT64_MAX; /* the position depth was seen for */
	uint32_t depth = 0;

	for (uint32_t steps = 0;; steps++) {
		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		uint64_t p = bus__load_relaxed(dequeue);
		struct bus_cell *cell = cell_at(q, p);
		/* Acquire: pairs with the release in bus__ring_publish. */
		uint64_t state = bus__load_acquire(&cell->state);

		switch (consumer_view(state, p)) {
		case TAKEABLE:
			/* One walk per position, not per lost race: a peer
			 * that keeps changing the cell must not make us walk
			 * the ring again and again. */
			if (p != walked) {
				depth = bus__queue_depth_seen(q, p);
				walked = p;
			}
			/* Take the cell first, then help the position on. */
			if (!bus__cas_acq_rel(&cell->state, &state,
					      bus__cell_state(p, q->owner,
							      BUS__CELL_HELD)))
				continue;
			bus__queue_note_depth(q, depth);
			help_advance(dequeue, p);
			*position = p;
			return 0;
		case EMPTY:
			/* A stale p may look empty: only a current one is. */
			if (bus__load_relaxed(dequeue) != p)
				continue;
			return -EAGAIN;
		case DONE:
			help_advance(dequeue, p);
			continue;
		}
	}
}

int bus__queue_pending(const struct bus_queue *q)
{
	uint64_t p = q->spsc ? q->dequeue_position
			     : bus__load_relaxed(
				       &q->geometry.control->dequeue_position);
	/* Acquire: pairs with the release in bus__ring_publish, so that a
	 * caller that sees 1 and then takes finds the message. */
	uint64_t state = bus__load_acquire(&cell_at(q, p)->state);

	if (consumer_view(state, p) != EMPTY)
		return 1;
	/* Acquire: as in bus__ring_take_redelivery. */
	return bus__pending_raised(
		bus__load_acquire(&q->geometry.control->redeliver_pending));
}

/*
 * Redelivery: a nacked or orphaned cell is REDELIVER until a consumer
 * takes it.  redeliver_pending is a hint: it is raised (release) after a
 * cell becomes REDELIVER and reset only by a consumer whose scan, made
 * after reading the value (acquire), found none; a raise that comes later
 * makes the reset fail or leaves the hint set, and the epoch in the word
 * (queue_cell.h) keeps a reset from an old reading from succeeding.  The scan costs O(slots) per
 * redelivered message, which only nacks and deaths pay.
 */
int bus__ring_take_redelivery(struct bus_queue *q, uint64_t *position)
{
	_Atomic uint64_t *pending = &q->geometry.control->redeliver_pending;
	/* Acquire: pairs with the release raise in bus__ring_return and
	 * busd's detach, so the scan sees their REDELIVER states. */
	uint64_t seen = bus__load_acquire(pending);
	const struct bus__queue_geometry *g = &q->geometry;

	if (!bus__pending_raised(seen))
		return -EAGAIN;
	for (uint32_t steps = 0;; steps++) {
		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		struct bus_cell *oldest = NULL;
		uint64_t oldest_state = 0;

		for (uint32_t i = 0; i < g->slots; i++) {
			struct bus_cell *cell = bus__queue_cell(g, i);
			uint64_t state = bus__load_relaxed(&cell->state);

			if (bus__cell_kind(state) != BUS__CELL_REDELIVER)
				continue;
			if (!oldest ||
			    bus__position_diff(
				    bus__cell_position(state),
				    bus__cell_position(oldest_state)) < 0) {
				oldest = cell;
				oldest_state = state;
			}
		}
		if (!oldest) {
			/* The epoch makes a reset from a stale reading fail. */
			bus__cas_relaxed(pending, &seen,
					 bus__pending_reset(seen));
			return -EAGAIN;
		}
		/* Acquire: the message was written before it was published
		 * and the nacker's release handed it back to the queue. */
		if (bus__cas_acq_rel(
			    &oldest->state, &oldest_state,
			    bus__cell_state(bus__cell_position(oldest_state),
					    q->owner, BUS__CELL_HELD))) {
			*position = bus__cell_position(oldest_state);
			return 0;
		}
	}
}

/*
 * Moves a cell we hold to `next`, racing with a producer's skip.  A cell
 * that is no longer HELD by us was taken back by busd after ack_timeout_ms
 * (or a peer scribbled on it): -ESTALE, and we leave it alone.
 */
static int release_held(struct bus_queue *q, uint64_t position,
			enum bus__cell_kind next_kind)
{
	struct bus_cell *cell = cell_at(q, position);
	uint64_t state = bus__load_relaxed(&cell->state);

	for (uint32_t steps = 0;; steps++) {
		uint64_t next;

		if (steps > RING_STEPS_MAX)
			return -EBADMSG;
		if (bus__cell_kind(state) != BUS__CELL_HELD ||
		    bus__cell_owner(state) != q->owner)
			return -ESTALE;
		if (next_kind == BUS__CELL_FREE)
			next = bus__cell_state(next_lap(q, state), 0,
					       BUS__CELL_FREE);
		else
			next = bus__cell_state(bus__cell_position(state), 0,
					       next_kind);
		/* Release: our reads of the payload (ack) or our header
		 * updates (nack) come before the next owner's acquire.
		 * seq_cst: bus__ring_wake_space() relies on it. */
		if (bus__cas_seq_cst(&cell->state, &state, next))
			return 0;
	}
}

int bus__ring_release(struct bus_queue *q, uint64_t position)
{
	return release_held(q, position, BUS__CELL_FREE);
}

int bus__ring_return(struct bus_queue *q, uint64_t position)
{
	int rc = release_held(q, position, BUS__CELL_REDELIVER);

	if (rc == 0)
		/* Release: pairs with the acquire in take_redelivery. */
		bus__fetch_add_seq_cst(&q->geometry.control->redeliver_pending,
				       1);
	return rc;
}

int bus__ring_bury(struct bus_queue *q, uint64_t position)
{
	int rc = release_held(q, position, BUS__CELL_DEAD);

	if (rc == 0)
		/* Release: pairs with busd's acquire load of the hint, so
		 * its scan sees the DEAD state and our header update. */
		bus__fetch_add_seq_cst(&q->geometry.control->dead_pending, 1);
	return rc;
}

/* Wake-ups: wake.h says why a seq_cst load of the count suffices. */
void bus__ring_wake_data(struct bus_queue *q)
{
	struct bus_queue_control *c = q->geometry.control;

	bus__fence_seq_cst(); /* after release stores: see above */
	bus__wake_if_sleeping(&c->consumers_sleeping, &c->data_futex);
}

void bus__ring_wake_data_after_seq_cst(struct bus_queue *q)
{
	struct bus_queue_control *c = q->geometry.control;

	bus__wake_if_sleeping(&c->consumers_sleeping, &c->data_futex);
}

void bus__ring_wake_space(struct bus_queue *q)
{
	struct bus_queue_control *c = q->geometry.control;

	/* Producers sleep only under the block policy.  No fence: what
	 * freed room before this was a seq_cst CAS (release_held), store
	 * (bus__leases_publish) or read-modify-write. */
	if (q->geometry.settings.overflow == BUS_OVERFLOW_BLOCK)
		bus__wake_if_sleeping(&c->producers_sleeping, &c->space_futex);
}
