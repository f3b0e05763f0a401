/* SPDX-License-Identifier: MIT */
/*
 * A queue handle: one attachment (producer, consumer or observer) of this
 * process to a mapped queue segment.  Internal.
 */
#ifndef BUS_QUEUE_H
#define BUS_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

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
	struct bus *bus;		   /* NULL for a local handle */
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
};

/*
 * Makes a handle for attachment slot index of an already validated
 * segment.  The caller (client.c after busd said so, or a unit test that
 * owns the segment) has marked the slot as taken.  The handle does not own
 * the mapping.
 */
int bus__queue_handle_create(const struct bus__queue_geometry *geometry,
			     enum bus_role role, uint32_t index,
			     uint32_t client_id,
			     const struct bus_queue_options *options,
			     struct bus_queue **out);

/* Frees the handle's private memory; the caller unmaps and detaches. */
void bus__queue_handle_destroy(struct bus_queue *queue);

/*
 * queue_expiry.c: 1 when the message at position, just taken by this
 * consumer, is past its expiry: it is then counted and dropped (acked
 * without delivery), and the caller takes the next.  0 otherwise.
 */
int bus__queue_expire(struct bus_queue *queue, uint64_t position);

/*
 * bus_queue_open() through another control op that answers as OPEN does
 * (client.c): BUS_CONTROL_PURGE gives a consumer slot to an admin.
 */
int bus__queue_open_op(struct bus *bus, const char *name, uint32_t op,
		       enum bus_role role,
		       const struct bus_queue_options *options,
		       struct bus_queue **out);

#endif /* BUS_QUEUE_H */
