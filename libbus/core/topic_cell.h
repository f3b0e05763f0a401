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
 * p - N.  It keeps the minimum it last computed, with the count of joins
 * (below) it saw before that scan, and scans the subscriber table again
 * only when that minimum says "full" or the count moved, so the scan costs
 * O(subscribers / slots) per message of each publisher (each publisher
 * scans on its own: a minimum shared between them could not say which
 * joins it saw).  Scans read each cursor with acquire
 * (pairs with the subscriber's release), so the publisher's writes to a
 * reused cell come after every read of its previous message.
 *
 * Joining.  A subscription gets every message committed after busd let it
 * in, in position order; a loan open at that moment counts as later, so
 * the subscription starts at the oldest position not yet committed
 * (first), which may lie below committed ones.  Under block, no publisher
 * may reuse a cell from first on before the subscriber read it, although
 * publishers hold minimums computed before the slot existed.  busd:
 *
 *   1. guard = the oldest position below the tail T_a not yet committed
 *      (WRITING, or a claim it does not see yet: the cell still shows an
 *      older lap), T_a if none; position = guard; role = live (release).
 *   2. joins += 1 (seq_cst), a full fence, T_b = the tail (seq_cst).
 *   3. first = the same look below T_b, with seq_cst loads of the cells;
 *      position = first (release; a raise, which is always safe); wake
 *      publishers that waited for the guard.
 *
 * Why no publisher passes the subscriber.  A publisher that scans after it
 * loaded the new count sees the slot (the raise of joins releases the
 * role), at guard or at first, both at most any position it wants.  One
 * that uses an older minimum must not reuse the cell of any position q
 * from first on.  To claim q + N the tail had to pass first + N, so some
 * publisher saw first committed or padded, which happened after busd's
 * step 3 look (it saw first uncommitted).  The claimer of q + N saw that
 * too: it is that publisher, or it acquired the tail from a release in
 * help_advance() that came after it.  Its loads of the cell's state and
 * then of joins are seq_cst, and the commit (seq_cst store) or busd's own
 * pad (after its raise of joins) happens before its load of joins: in
 * the single order that load comes after busd's raise, so it sees the new
 * count and scans.  Positions from T_b on, when first = T_b:
 * a publisher makes its position visible in the tail (a store or an RMW)
 * and then fences before it loads the live flags; by the store-buffer
 * argument either it sees the new slot, or busd's read of T_b sees its
 * position, so any minimum it computes stays <= T_b and it reuses only
 * cells below T_b.  The guard of step 1 covers the publishers that scan
 * between steps 1 and 3: every wanted position is at or above it, since a
 * position below T_a that is uncommitted at step 3 was so at step 1.
 * Loans are at most a lap old (an open loan at q stops every claim from
 * q + N on), so each look reads at most N cell states; it stops at the
 * first uncommitted one.  With no loan open a join thus reads every
 * cell's state twice, in busd's loop: microseconds for the default 1024
 * slots, in the order of ten milliseconds for a million.
 *
 * What the subscription gets: positions from first on, so also those
 * committed between first and T_b before it joined (at most a ring); with
 * history, up to that many below first too.  History is not protected by
 * its position: it reads those cells the overwrite way (copy, then check
 * the state again), and one overwritten meanwhile is no loss.
 *
 * Last value (bus_topic_last) is the newest committed message in position
 * order, the order subscribers read: a loan open below it that commits
 * later comes before it in the topic.  The high-water mark counts claimed
 * positions, open loans included (topic_high_water.h).  busd's adoption
 * after a restart keeps live subscribers' positions as they are and
 * computes none from cells; a busd killed between steps 1 and 3 leaves the
 * slot at its guard, at most first: it holds publishers back no further
 * than a finished join would, until the slot is freed with its client.
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
 * Packed topics (max_publishers = 1, layout.h "Packed messages").  The
 * cell holds state and header; the message's record lies in the arena at
 * header.record_offset, and its bytes may be reused before the cell is
 * (core/topic_arena.c says when, and why a join stays safe although the
 * bytes of q go before the tail reaches q + N).  In-place views (block)
 * are protected as before: the publisher reuses a record only once every
 * live subscriber passed it.  Copies (overwrite, history, last value) are
 * protected by a second line: the publisher raises overwritten past every
 * record it writes over, before the release fence after its claim; a
 * reader checks, after its acquire fence, the state and p >= overwritten,
 * and a record lost so counts as a lapped cell does.  A replacement
 * publisher rebuilds its arena from the READY cells of the last lap at or
 * above overwritten.
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
