/* SPDX-License-Identifier: MIT */
/*
 * The high-water mark of a queue: the greatest depth it ever had, exact,
 * measured by its consumers at no cost to producers and with no new shared
 * write on the hot path.
 *
 * Why it is exact.  Between two takes the depth only grows: producers add
 * messages, and nothing but a take removes one (a drop-oldest producer
 * removes one and adds one).  So the greatest depth since the previous take
 * is the depth just before the next take, and
 *
 *     high water = max(max over takes of "depth just before the take",
 *                      the depth now)
 *
 * The consumer measures the first term; whoever reads the figures adds the
 * second (queue_stats.c counts the cells).
 *
 * How a consumer measures it cheaply.  It keeps its own mark, `high_water`
 * in its handle, mirrored (relaxed) into the figures line of its attachment
 * whenever it rises.  About to take position p, it looks at the state of
 * the cell of position p + high_water (if that is below p + slots): only if
 * a producer claimed exactly that position (READY, WRITING, or a skipped
 * held message now under it) can the depth exceed the mark, and then it
 * walks on, p + high_water + 1, ..., while each cell is claimed for its
 * position, up to slots, and keeps the new mark.  In the steady
 * state that is one load of a cell line the consumer reads soon anyway,
 * and no store.  The loads are relaxed: only the state word is used, never
 * the message it guards.
 *
 * Why the figure is a depth the queue really had at one instant.  Let the
 * walk find positions p + high_water .. p + k claimed, each at its own
 * moment, all before the take of p.
 *   SPSC: one producer claims in position order, so when p + k was
 *   claimed so was everything before it; the one consumer is us, and p
 *   stays untaken until our take (a drop-oldest producer may take it
 *   first, but only from position p + slots: the queue was full then, a
 *   depth at least as high as any walk finds).  At the moment the walk saw
 *   p + k, positions p .. p + k were all claimed and untaken: k + 1.
 *   MPMC: the mark is looked at before the CAS that takes p, and kept only
 *   when that CAS succeeds.  Consumers take in position order (a consumer
 *   takes p only from a dequeue position that reached p, which happens
 *   only after p - 1 is done), so if p was untaken at the CAS, every
 *   position after it was untaken before the CAS, when the walk looked.
 *   At the moment it saw p + k, positions p .. p + k were claimed by
 *   producers and untaken: the depth in positions (enqueue position minus
 *   dequeue position) was at least k + 1.
 *   A lazy SPSC consumer's run of takes (queue.c, take_lazy_run): its
 *   takes leave the cells READY and are seen by nobody until it stores
 *   its taken position after the walk, so the whole run counts as taken
 *   at that store, and the walk, made before it from p, finds a depth the
 *   queue had at the walk's last load, as above.
 *
 * What it counts: positions (enqueue position minus dequeue position),
 * exactly.  That equals queued messages but in two cases: a claimed
 * position still being written counts (it is on its way), and so does a
 * position a producer skipped because the cell still held a message a
 * slow consumer had not acked (queue_cell.h), which carries none.  Nacked and
 * orphaned messages waiting for redelivery sit outside the ring order and
 * are counted only by the current depth at read time.
 *
 * Exact also after the consumer has gone: busd folds its mark into the
 * retired figures with max(), not a sum (queue_recovery.c).
 */
#ifndef BUS_QUEUE_HIGH_WATER_H
#define BUS_QUEUE_HIGH_WATER_H

#include <stdint.h>

#include "atomics.h"
#include "queue.h"
#include "queue_cell.h"

/*
 * 1 when a producer has claimed exactly this position: the cell says
 * READY or WRITING for it, or a held message a producer skipped sits there
 * under it.  Not yet taken either way: consumers take in position order
 * and the caller is about to take an earlier one.
 */
static inline int bus__queue_ready_at(const struct bus_queue *q,
				      uint64_t position)
{
	const struct bus_cell *cell = bus__queue_cell(&q->geometry, position);
	/* Relaxed: only the state word is read, not the message. */
	uint64_t state = bus__load_relaxed(&cell->state);

	return bus__cell_position(state) == bus__position_wrap(position) &&
	       bus__cell_kind(state) != BUS__CELL_FREE;
}

/*
 * The queue's depth in positions as seen about to take position p (READY),
 * if it exceeds this consumer's mark; else the mark.  Changes nothing.
 */
static inline uint32_t bus__queue_depth_seen(const struct bus_queue *q,
					     uint64_t p)
{
	uint32_t depth = q->high_water;
	uint32_t slots = q->geometry.slots;

	if (depth >= slots || !bus__queue_ready_at(q, p + depth))
		return depth;
	depth++;
	while (depth < slots && bus__queue_ready_at(q, p + depth))
		depth++;
	return depth;
}

/* Keeps a depth seen just before a take that succeeded. */
static inline void bus__queue_note_depth(struct bus_queue *q, uint32_t depth)
{
	if (depth <= q->high_water)
		return;
	q->high_water = depth;
	/* Relaxed: a figure in our own line, read by stats and busd. */
	bus__store_relaxed(&q->attachment->high_water, depth);
}

#endif /* BUS_QUEUE_HIGH_WATER_H */
