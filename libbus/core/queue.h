/* SPDX-License-Identifier: MIT */
/*
 * A queue handle: one attachment (producer, consumer or observer) of this
 * process to a mapped queue segment.  Internal.
 */
#ifndef BUS_QUEUE_H
#define BUS_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "bus/bus.h"
#include "clock.h"
#include "latency.h"
#include "segment.h"

struct bus_queue {
	struct bus__queue_geometry geometry;
	struct bus_attachment *attachment; /* our slot in the segment */
	/* The last loan waited for room and its wait ran out (a timeout
	 * slice, a signal): the next loan is that message's wait going on,
	 * already counted in backpressure_waits. */
	bool wait_counted;
	struct bus *bus; /* NULL for a local handle */
	enum bus_role role;
	uint32_t attachment_index;
	uint32_t owner; /* attachment_index + 1, as stored in cell states */
	uint32_t client_id;
	uint64_t generation; /* busd's id of this incarnation of the queue */
	bool spsc;
	bool no_timestamp;
	/* Consumer: our slot's latency histogram (latency.h). */
	struct bus__latency_meter latency;
	/* Producer: publish stamps (clock.h). */
	struct bus__clock clock;
	/* Producer: ttl_ms in nanoseconds, 0 when the queue has none, and
	 * what a loan starts message->extras with (BUS__EXTRAS_TTL or 0). */
	int64_t ttl_ns;
	uint32_t loan_extras;
	enum bus_wait_strategy wait;
	uint32_t spin_ns;
	_Atomic int cancelled;

	/* SPSC: the positions this side owns, kept privately. */
	uint64_t enqueue_position;
	uint64_t dequeue_position;

	/*
	 * SPSC without drop-oldest: the consumer takes a message without
	 * writing its cell and releases cells by publishing one position
	 * (queue_leases.c); the producer treats READY cells before that
	 * position as free.  released is the consumer's copy, and
	 * cached_released the producer's, refreshed only when the ring
	 * looks full.
	 */
	bool lazy;
	uint64_t released;
	uint64_t cached_released;

	/*
	 * Producer of a durable queue: our copy of busd's journal position
	 * (layout.h's journal line), refreshed only when the next position
	 * is a lap past it; and one past the last position we committed,
	 * which bus_flush() waits to see durable.
	 */
	bool durable;
	uint64_t cached_journal;
	uint64_t committed_through;

	/*
	 * Packed (spsc) queues (layout.h, "Packed messages"): the producer's
	 * arena, which it alone allocates (arena.h; core/queue_arena.c).
	 * Consumers only read records, through geometry.area.
	 */
	bool packed;
	struct bus__arena arena;

	/* Consumer: the messages it holds, in the order received (a ring of
	 * max_unacked entries, rounded up to a power of two so that an index
	 * wraps with held_mask; see queue_leases.c). */
	uint64_t *held;
	uint32_t held_mask;
	uint32_t held_head; /* oldest */
	uint32_t held_count;
	/* Consumer: the highest depth seen just before a take, mirrored in
	 * attachment->high_water (queue_high_water.h). */
	uint32_t high_water;

	/* The bus's queue list, for bus_disconnect. */
	struct bus_queue *next;
	char name[BUS_NAME_MAX + 1];
	/* A local handle (no bus: a test or fuzzer owns the segment): what
	 * bus_queue_close() calls to take the slot back as busd would;
	 * NULL: nothing. */
	int (*local_detach)(const struct bus__queue_geometry *geometry,
			    uint32_t index);
};

#endif /* BUS_QUEUE_H */
