/* SPDX-License-Identifier: MIT */
/*
 * Where a topic's live subscribers are, as a publisher sees them: the scan
 * of the block policy (topic_cell.h), which both the cell claim
 * (topic_ring.c) and the arena's judge (topic_arena.c) make.
 */
#ifndef BUS_TOPIC_SUBSCRIBERS_H
#define BUS_TOPIC_SUBSCRIBERS_H

#include <stdint.h>

#include "atomics.h"
#include "topic_segment.h"

/* The lowest position of a live subscriber, but at most `position`. */
static inline uint64_t
bus__topic_scan_subscribers(const struct bus__topic_geometry *g,
			    uint64_t position)
{
	uint64_t minimum = position;

	for (uint32_t i = 0; i < g->settings.max_subscribers; i++) {
		struct bus_subscriber *s = &g->subscribers[i];
		uint64_t at;

		/* Acquire: pairs with busd's release when it lends the slot,
		 * so the position read next is at least the one it set. */
		if (bus__load_acquire(&s->role) == 0)
			continue;
		/* Acquire: pairs with the subscriber's release of its
		 * position, made after its last read of the cells below it;
		 * our writes to those cells come after that read. */
		at = bus__load_acquire(&s->position);
		if (at < minimum)
			minimum = at;
	}
	return minimum;
}

#endif /* BUS_TOPIC_SUBSCRIBERS_H */
