/* SPDX-License-Identifier: MIT */
/*
 * The high-water mark of a subscriber's lag: the most messages it ever had
 * yet to read, exact, measured by the subscriber alone.  The reasoning is
 * the queue's (queue_high_water.h): between two reads of one subscriber its
 * lag (tail - position) only grows, so the greatest lag is the lag just
 * before one of its reads, or the lag now, which the stats reader adds.
 *
 * About to read position p (READY), the subscriber looks at the cell of
 * p + high_water: only if it is claimed for exactly that position (READY,
 * PADDED: a position that carries no message still counts in the tail, or
 * WRITING: a loan still open counts too, as it does in the tail) can the
 * lag exceed the mark; then it walks on while each cell is claimed for its
 * position, up to slots.  In the steady state that is one relaxed load of a
 * cell line it reads soon anyway, and no store.  At the moment the walk saw
 * p + k claimed, the tail was past p + k and our position not past p: the
 * lag was at least k + 1.  Only we move our position, so no race can make
 * the figure too high.  (Walking over published cells only, a loan held
 * inside the lag cut the walk short and the mark missed the positions
 * above it.)
 *
 * The mark stops at slots: a subscriber further behind than the ring is
 * lapped (overwrite policy) and counts its losses in lost instead; the lag
 * at read time, which the stats reader adds, has no such bound.  busd folds
 * the mark of a departed subscriber into the topic's retired_high_water
 * with max() (topic_segment.c).
 */
#ifndef BUS_TOPIC_HIGH_WATER_H
#define BUS_TOPIC_HIGH_WATER_H

#include <stdint.h>

#include "atomics.h"
#include "topic.h"
#include "topic_cell.h"

/* 1 when the cell of position is claimed for exactly that position. */
static inline int bus__topic_claimed_at(const struct bus__topic_geometry *g,
					uint64_t position)
{
	const struct bus_cell *cell = bus__topic_cell(g, position);
	/* Relaxed: only the state word is read, not the message. */
	uint64_t state = bus__load_relaxed(&cell->state);
	enum bus__topic_cell_kind kind = bus__topic_kind(state);

	return bus__cell_position(state) == bus__position_wrap(position) &&
	       (kind == BUS__TOPIC_READY || kind == BUS__TOPIC_PADDED ||
		kind == BUS__TOPIC_WRITING);
}

/* Notes the lag seen about to read position p, if above the mark. */
static inline void bus__subscription_note_lag(struct bus_subscription *s,
					      uint64_t p)
{
	const struct bus__topic_geometry *g = &s->geometry;
	uint32_t lag = s->high_water;

	if (lag >= g->slots || !bus__topic_claimed_at(g, p + lag))
		return;
	lag++;
	while (lag < g->slots && bus__topic_claimed_at(g, p + lag))
		lag++;
	s->high_water = lag;
	/* Relaxed: a figure in our own cursor line. */
	bus__store_relaxed(&s->slot->high_water, lag);
}

#endif /* BUS_TOPIC_HIGH_WATER_H */
