/* SPDX-License-Identifier: MIT */
/*
 * A topic segment that lives in this process alone, for tests that drive
 * the topic ring without busd: a memfd sized and laid out exactly as busd
 * would, with slots lent by the test itself through the same functions
 * busd calls.
 */
#ifndef BUS_TEST_LOCAL_TOPIC_H
#define BUS_TEST_LOCAL_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "segment_lifecycle.h"
#include "topic.h"
#include "topic_handle.h"
#include "topic_segment.h"
#include "topic_slots.h"

struct local_topic {
	struct bus_topic_settings settings;
	struct bus__topic_geometry geometry;
	void *base;
	size_t size;
	int fd;
};

/* The defaults, then slots, max_message, the policy, max_publishers and
 * history; max_subscribers 8. */
void local_topic_settings(struct bus_topic_settings *settings, uint32_t slots,
			  uint32_t max_message,
			  enum bus_slow_subscriber policy,
			  uint32_t max_publishers, uint32_t history);

/* Creates, lays out and validates a segment.  0 or a negative errno. */
int local_topic_create(struct local_topic *topic,
		       const struct bus_topic_settings *settings);

/* Unmaps and closes; safe twice. */
void local_topic_destroy(struct local_topic *topic);

/*
 * Lends publisher slot nth (as busd does) and makes a handle for it.
 * bus_topic_close() on the handle detaches the slot (pads open loans).
 */
int local_topic_publisher(struct local_topic *topic, uint32_t nth,
			  const struct bus_queue_options *options,
			  bus_topic_t **out);

/* An observer handle: no slot. */
int local_topic_observer(struct local_topic *topic, bus_topic_t **out);

/*
 * Lends subscriber slot nth (the joining protocol) and makes a
 * subscription; bus_unsubscribe() detaches the slot.
 */
int local_topic_subscribe(struct local_topic *topic, uint32_t nth,
			  const struct bus_subscribe_options *options,
			  bus_subscription_t **out);

#endif /* BUS_TEST_LOCAL_TOPIC_H */
