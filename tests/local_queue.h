/* SPDX-License-Identifier: MIT */
/*
 * A queue segment that lives in this process alone, for tests that drive
 * the rings without busd: a memfd sized and laid out exactly as busd would,
 * with attachment slots marked taken by the test itself.
 */
#ifndef BUS_TEST_LOCAL_QUEUE_H
#define BUS_TEST_LOCAL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "queue.h"
#include "queue_handle.h"
#include "queue_recovery.h"
#include "segment.h"
#include "segment_lifecycle.h"

struct local_queue {
	struct bus_queue_settings settings;
	struct bus__queue_geometry geometry;
	void *base;
	size_t size;
	int fd;
};

/*
 * Settings for a small test queue of the given type: the library defaults,
 * then slots, max_message, overflow and max_unacked, and room for two
 * producers and two consumers on an MPMC queue.
 */
void local_queue_settings(struct bus_queue_settings *settings,
			  enum bus_queue_type type, uint32_t slots,
			  uint32_t max_message, enum bus_overflow overflow,
			  uint32_t max_unacked);

/* Creates, lays out and validates a segment.  0 or a negative errno. */
int local_queue_create(struct local_queue *queue,
		       const struct bus_queue_settings *settings);

/* Unmaps and closes; safe twice, and on a queue whose fd is -1. */
void local_queue_destroy(struct local_queue *queue);

/* The attachment index of the nth producer or consumer. */
uint32_t local_queue_index(const struct local_queue *queue, enum bus_role role,
			   uint32_t nth);

/*
 * Marks the nth producer or consumer slot taken, as busd does, and makes a
 * handle for it.  0 or a negative errno.
 */
int local_queue_attach(struct local_queue *queue, enum bus_role role,
		       uint32_t nth, const struct bus_queue_options *options,
		       bus_queue_t **out);

/*
 * Does what busd does when a client closes a handle or dies: frees the
 * handle's private memory and detaches its slot (pads loans, redelivers
 * held messages).  Returns what busd_queue_slot_detach() returns.
 */
int local_queue_detach(struct local_queue *queue, bus_queue_t *handle);

/* Frees a handle without detaching (the segment is about to go anyway). */
void local_queue_forget(bus_queue_t *handle);

#endif /* BUS_TEST_LOCAL_QUEUE_H */
