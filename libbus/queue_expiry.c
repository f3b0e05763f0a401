/* SPDX-License-Identifier: MIT */
/*
 * Expiry on the consumer side: a message taken after its expiry deadline
 * (CLOCK_MONOTONIC, the same clock in every process of the host) is never
 * delivered.  It is counted in the queue's expired figure, and handed to
 * busd for the dead-letter queue when the queue has one (reason
 * BUS_DEAD_LETTER_EXPIRED, as a nack past max_deliveries would), else
 * dropped as an ack would drop it.
 */
#include "atomics.h"
#include "clock.h"
#include "message_keys.h"
#include "queue.h"
#include "queue_handle.h"
#include "queue_cell.h"
#include "queue_leases.h"
#include "queue_ring.h"

static int expired(const struct bus_cell *cell)
{
	/* Read once: a hostile producer could change it under us. */
	uint64_t expiry = *(const volatile uint64_t *)&cell->header.expiry_ns;

	return expiry && (uint64_t)bus__monotonic_ns() >= expiry;
}

int bus__queue_expire(struct bus_queue *q, uint64_t position)
{
	const struct bus__queue_geometry *g = &q->geometry;
	const struct bus_cell *cell =
		(const struct bus_cell *)(g->cells +
					  (size_t)(position & g->mask) *
						  g->stride);
	int i;

	if (!expired(cell))
		return 0;
	i = bus__leases_find(q, position);
	if (i < 0)
		return 0; /* not ours: deliver and let the caller find out */
	/* Relaxed: a figure; an atomic add, as several consumers (and busd,
	 * folding in others) write this line. */
	bus__fetch_add_relaxed(&g->control->retired.expired, 1);
	if (g->settings.dead_letter[0])
		bus__leases_bury(q, (uint32_t)i, BUS_DEAD_LETTER_EXPIRED);
	else
		bus__leases_ack(q, (uint32_t)i);
	bus__leases_publish(q);
	bus__ring_wake_space(q);
	return 1;
}
