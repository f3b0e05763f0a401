/* SPDX-License-Identifier: MIT */
/*
 * The cell protocol of a queue: who may move a cell from which state to
 * which, and why a crash at any point loses nothing.
 *
 * A queue is a ring of `slots` cells.  Position p (a counter that only
 * grows) maps to cell p % slots.  Each cell holds one 64-bit state word:
 *
 *     bits 63..16  position (48 bits, compared modulo 2^48)
 *     bits 15..3   owner: attachment index + 1, 0 for none
 *     bits  2..0   kind
 *
 *   FREE(p)          the producer that claims position p may write it
 *   WRITING(p, o)    producer o is writing the message of position p
 *   READY(p)         committed; the consumer at position p may take it
 *   HELD(p, o)       consumer o holds (leases) it, p is the last position
 *                    that passed over the cell
 *   REDELIVER(p)     nacked or orphaned; any consumer may take it ahead of
 *                    the ring, p as for HELD
 *   DEAD(p)          had max_deliveries deliveries: no consumer takes it;
 *                    busd moves it to the dead-letter queue, p as for HELD
 *
 * Transitions (the actor in brackets):
 *   FREE(p)      -> WRITING(p,o)   [producer o claims position p]
 *   WRITING(p,o) -> READY(p)       [o commits]
 *   WRITING(p,o) -> FREE(p+N)      [busd, after o died: padded over]
 *   READY(p)     -> HELD(p,c)      [consumer c takes it; or a drop-oldest
 *                                    producer, which frees it at once]
 *   HELD(x,c)    -> FREE(x+N)      [c acks]
 *   HELD(x,c)    -> REDELIVER(x)   [c nacks; or busd after c died]
 *   REDELIVER(x) -> HELD(x,c)      [consumer c takes it back]
 *   HELD(x,c)    -> DEAD(x)        [c nacks, or busd after c died, and
 *                                   the message had max_deliveries]
 *   HELD(x,c)    -> HELD(x,busd)   [busd takes a lease back after
 *                                   ack_timeout_ms; then HELD(x,busd) ->
 *                                   REDELIVER(x) or DEAD(x), by busd]
 *   DEAD(x)      -> FREE(x+N)      [busd, once the message is in the
 *                                   dead-letter queue]
 *   HELD(x,c) / REDELIVER(x) / DEAD(x) -> same with position p, p = x+N
 *                                  [the producer at p skips the occupied
 *                                   cell: position p carries no message]
 *
 * Only the actor named above changes a state, always by compare-and-swap
 * where another actor could change the same state at the same time (an ack
 * against a producer's skip, two consumers taking one cell).  A reader of
 * position p interprets the state it finds:
 *
 *   producer at p:  FREE(p) claim; HELD/REDELIVER(p-N) skip;
 *                   READY/WRITING(p-N) full; anything newer: stale, retry.
 *   consumer at p:  READY(p) take; FREE(p), WRITING(p) or older: empty;
 *                   anything else at p or newer: position p is done
 *                   (taken, skipped or padded), advance.
 *
 * Because a held message stays in its cell and the producer merely skips
 * it, a slow consumer never holds back the messages behind it, and the
 * capacity counts queued and held messages together.
 *
 * Crash safety: a dead producer leaves at most WRITING cells carrying its
 * owner index, which busd pads over; a dead consumer leaves HELD cells
 * carrying its index, which busd turns into REDELIVER.  busd finds both by
 * scanning the cells, so no separate lease table can disagree with them.
 */
#ifndef BUS_QUEUE_CELL_H
#define BUS_QUEUE_CELL_H

#include <stdint.h>

#include "bus/layout.h"

enum bus__cell_kind {
	BUS__CELL_FREE = 0,
	BUS__CELL_WRITING = 1,
	BUS__CELL_READY = 2,
	BUS__CELL_HELD = 3,
	BUS__CELL_REDELIVER = 4,
	BUS__CELL_DEAD = 5,
};

#define BUS__POSITION_BITS 48
#define BUS__POSITION_MASK ((UINT64_C(1) << BUS__POSITION_BITS) - 1)
#define BUS__OWNER_MAX 8191u
/*
 * The owner busd writes into the cells it works on itself: a dead-letter
 * queue's cell it writes (WRITING) and a lease it took back (HELD).  No
 * attachment has this index (at most BUS_QUEUE_ATTACHMENTS_MAX), so a
 * client's detach never touches these cells.
 */
#define BUS__OWNER_BUSD BUS__OWNER_MAX

static inline uint64_t bus__cell_state(uint64_t position, uint32_t owner,
				       enum bus__cell_kind kind)
{
	return (position << 16) | ((uint64_t)owner << 3) | (uint64_t)kind;
}

static inline uint64_t bus__cell_position(uint64_t state)
{
	return state >> 16;
}

static inline uint32_t bus__cell_owner(uint64_t state)
{
	return (uint32_t)(state >> 3) & BUS__OWNER_MAX;
}

static inline enum bus__cell_kind bus__cell_kind(uint64_t state)
{
	return (enum bus__cell_kind)(state & 7u);
}

/* The same state moved to another position (a producer's skip). */
static inline uint64_t bus__cell_moved(uint64_t state, uint64_t position)
{
	return (state & 0xffffu) | (position << 16);
}

/* a - b for 48-bit positions that may have wrapped. */
static inline int64_t bus__position_diff(uint64_t a, uint64_t b)
{
	return (int64_t)((a - b) << (64 - BUS__POSITION_BITS)) >>
	       (64 - BUS__POSITION_BITS);
}

static inline uint64_t bus__position_wrap(uint64_t position)
{
	return position & BUS__POSITION_MASK;
}

/*
 * The redelivery hint (bus_queue_control.redeliver_pending): raises count
 * in the low 32 bits; a consumer whose scan found nothing resets the count
 * and bumps the epoch in the high 32 bits, so that a reset based on a stale
 * reading cannot succeed after a newer raise brought the count back to the
 * same value (ABA).
 */
#define BUS__PENDING_COUNT_MASK UINT64_C(0xffffffff)

static inline int bus__pending_raised(uint64_t pending)
{
	return (pending & BUS__PENDING_COUNT_MASK) != 0;
}

/* The value that clears the count of `seen` and starts a new epoch. */
static inline uint64_t bus__pending_reset(uint64_t seen)
{
	return (seen | BUS__PENDING_COUNT_MASK) + 1;
}

/*
 * A delivery of a message we hold failed (nack, death, ack_timeout_ms):
 * 1 when it had max_deliveries deliveries and must go to the dead-letter
 * queue (its reason written; the count stays the number of deliveries it
 * had), else 0 with its count raised for the next delivery.  Only the
 * holder of the cell calls this, before the state change that hands it on.
 */
static inline int bus__delivery_failed(const struct bus_queue_settings *s,
				       struct bus_message_header *h,
				       enum bus_dead_letter_reason reason)
{
	if (s->max_deliveries && h->delivery_count >= s->max_deliveries) {
		h->dead_letter_reason = (uint16_t)reason;
		return 1;
	}
	h->delivery_count++;
	h->flags |= BUS_MESSAGE_REDELIVERED;
	return 0;
}

#endif /* BUS_QUEUE_CELL_H */
