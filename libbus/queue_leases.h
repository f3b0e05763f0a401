/* SPDX-License-Identifier: MIT */
/*
 * A consumer's private record of the messages it holds (received, not yet
 * acked or nacked), in the order it received them.  Internal.
 */
#ifndef BUS_QUEUE_LEASES_H
#define BUS_QUEUE_LEASES_H

#include <stdbool.h>
#include <stdint.h>

#include "queue.h"

/* True when the consumer holds max_unacked messages. */
bool bus__leases_full(const struct bus_queue *q);

/*
 * Records a message taken at position.  in_ring: the cell still says READY
 * (a lazy SPSC take), else we hold it as HELD in the cell.
 */
void bus__leases_push(struct bus_queue *q, uint64_t position, bool in_ring);

/* The index of the lease for position (0 is the oldest), or -1. */
int bus__leases_find(const struct bus_queue *q, uint64_t position);

/* The position of the oldest lease; the caller checks one exists. */
uint64_t bus__leases_oldest(const struct bus_queue *q);

/*
 * Acks the lease at index: its cell becomes free.  A lazy consumer's
 * released position is only published by bus__leases_publish(), so a
 * batch of acks costs one store.  0, or a negative errno from the ring.
 */
int bus__leases_ack(struct bus_queue *q, uint32_t index);

/*
 * Hands the lease at index back for redelivery, its delivery count raised.
 * The caller publishes and wakes.
 */
int bus__leases_nack(struct bus_queue *q, uint32_t index);
/* Hands the held message at index to busd for the dead-letter queue at
 * once, with reason (an expired one, say); -ESTALE as for a nack. */
int bus__leases_bury(struct bus_queue *q, uint32_t index,
		     enum bus_dead_letter_reason reason);

/*
 * Lazy SPSC consumer: moves the released position up to the oldest message
 * still held in the ring.  No-op otherwise.  The caller then wakes a
 * sleeping producer with bus__ring_wake_space().
 */
void bus__leases_publish(struct bus_queue *q);

#endif /* BUS_QUEUE_LEASES_H */
