/* SPDX-License-Identifier: MIT */
/*
 * The cell protocol of a topic: one ring written by publishers and read by
 * every subscriber, each at its own position.
 *
 * A topic is a ring of `slots` (N) cells.  Position p (a counter that only
 * grows) maps to cell p % N.  The state word is encoded as for queues
 * (queue_cell.h: position in bits 63..16, owner in 15..3, kind in 2..0):
 *
 *   FREE(p)        never written: the publisher that claims position p may
 *                  write it (only on the first lap, p < N)
 *   WRITING(p, o)  publisher o is writing the message of position p
 *   READY(p)       committed; it stays readable until a publisher claims
 *                  position p + N for the cell
 *   PADDED(p)      position p carries no message: its publisher died or
 *                  closed with the loan open; subscribers step over it
 *
 * Transitions (the actor in brackets):
 *   FREE(p)               -> WRITING(p,o)  [publisher o claims position p]
 *   READY/PADDED(p-N)     -> WRITING(p,o)  [publisher o claims position p:
 *                                           block policy only once every
 *                                           live subscriber is past p-N]
 *   WRITING(p,o)          -> READY(p)      [o commits]
 *   WRITING(p,o)          -> PADDED(p)     [busd after o died or closed, or
 *                                           o itself dropping a loan]
 *
 * Subscribers never write a cell: they read it in place (block policy) or
 * copy it out and look at the state again (overwrite policy), so any number
 * of them costs the publisher nothing per message.  What a reader at
 * position p makes of the state it loads (acquire):
 *
 *   READY(p)                   deliver
 *   PADDED(p)                  step over p, nothing lost
 *   FREE(p), WRITING(p), older nothing yet: wait
 *   anything newer than p      lapped: the cell was reused for p + kN, so
 *                              the messages from p up to the oldest one
 *                              that may still be intact are lost
 *
 * What a publisher at position p makes of it:
 *
 *   FREE(p), READY/PADDED(p-N) claim (block: if the slowest subscriber
 *                              is past p-N)
 *   WRITING(p-N, any)          full: another publisher (or this one, with
 *                              N loans open) still writes the previous lap
 *   anything at p or newer     position p is taken: move on
 *
 * Block policy.  Each subscriber publishes, in its cursor line, the oldest
 * position it still needs (release, after its last read of that cell).  A
 * publisher may claim p only when every live subscriber's position is past
 * p - N.  It keeps the minimum it last computed and scans the subscriber
 * table again only when that minimum says "full", so the scan costs
 * O(subscribers / slots) per message.  Scans read each cursor with acquire
 * (pairs with the subscriber's release), so the publisher's writes to a
 * reused cell come after every read of its previous message.
 *
 * Joining.  busd lends a slot with position = the tail T_a, marks it live,
 * issues a full fence and reads the tail again (T_b), then sets position =
 * T_b.  A publisher scanning makes its own position visible (a store or
 * RMW on the tail) and then fences before it loads the live flags.  By the
 * store-buffer argument either it sees the new slot, or busd's second read
 * sees its position, so any minimum it computes stays <= T_b: no publisher
 * can pass the new subscriber.  Messages below T_b that the subscriber
 * wants (history, and loans still being written when it joined) are not
 * protected by its position; it reads them the overwrite way (copy, then
 * check the state again).
 *
 * Overwrite policy.  A publisher claims whatever the cell holds except a
 * WRITING state, never waiting for subscribers.  A reader copies header and
 * payload with relaxed 8-byte loads, issues an acquire fence and loads the
 * state again: if it still says READY(p) the copy is whole, else the
 * message was overwritten during the copy and counts as lost.  The writer
 * side is the seqlock's: claim (the state store), a release fence, then
 * the header and payload as relaxed 8-byte stores, then READY with release.
 * If a copy read any word of the new message, the fences make the claim
 * visible to the reader's second load.
 *
 * Crash safety.  A dead publisher leaves at most WRITING cells carrying its
 * owner index; busd pads them (CAS, so a late commit cannot be lost in a
 * race).  A dead subscriber leaves its slot live; busd marks it free, so
 * publishers ignore its position, and wakes publishers that wait for it.
 * Neither ever writes where another process reads without the state word
 * saying so.
 */
#ifndef BUS_TOPIC_CELL_H
#define BUS_TOPIC_CELL_H

#include "queue_cell.h"

/* The kinds a topic cell uses.  FREE, WRITING and READY mean what they
 * mean in a queue; a queue never holds PADDED. */
enum bus__topic_cell_kind {
	BUS__TOPIC_FREE = BUS__CELL_FREE,
	BUS__TOPIC_WRITING = BUS__CELL_WRITING,
	BUS__TOPIC_READY = BUS__CELL_READY,
	BUS__TOPIC_PADDED = 5,
};

static inline uint64_t bus__topic_state(uint64_t position, uint32_t owner,
					enum bus__topic_cell_kind kind)
{
	return bus__cell_state(bus__position_wrap(position), owner,
			       (enum bus__cell_kind)kind);
}

static inline enum bus__topic_cell_kind bus__topic_kind(uint64_t state)
{
	return (enum bus__topic_cell_kind)(state & 7u);
}

#endif /* BUS_TOPIC_CELL_H */
