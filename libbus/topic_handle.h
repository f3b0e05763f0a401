/* SPDX-License-Identifier: MIT */
/*
 * Making and ending topic handles and subscriptions (topic.c).  Internal
 * to the client library: the handles themselves are the core's
 * (core/topic.h), busd never makes one.
 */
#ifndef BUS_TOPIC_HANDLE_H
#define BUS_TOPIC_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "topic.h"

/*
 * Makes a publisher or observer handle for slot index of a validated
 * segment; the caller (client.c after busd said so, or a test that owns
 * the segment) has lent the slot.  The handle does not own the mapping.
 */
int bus__topic_handle_create(const struct bus__topic_geometry *geometry,
			     enum bus_role role, uint32_t index,
			     uint32_t client_id,
			     const struct bus_queue_options *options,
			     struct bus_topic **out);
void bus__topic_handle_destroy(struct bus_topic *topic);

/*
 * Makes a subscription for subscriber slot index, which the caller has
 * lent with busd_topic_subscriber_start().  options->history must already
 * be checked against the topic's history setting.
 */
int bus__subscription_create(const struct bus__topic_geometry *geometry,
			     uint32_t index, uint32_t client_id,
			     const struct bus_subscribe_options *options,
			     struct bus_subscription **out);
void bus__subscription_destroy(struct bus_subscription *subscription);

/*
 * A loan for a copy of length bytes, with room for the extension limit if
 * extension (routes copying into a topic): a packed topic reserves only
 * that much of its arena; fixed cells give a whole cell, as
 * bus_topic_loan().  The commit takes at most length bytes.
 */
int bus__topic_loan_sized(bus_topic_t *topic, struct bus_message *message,
			  int64_t timeout_ns, size_t length, bool extension);

/* The copy buffer (laid out as a cell, see above), made if missing:
 * 0 or -ENOMEM. */
int bus__subscription_copy_buffer(struct bus_subscription *subscription);

#endif /* BUS_TOPIC_HANDLE_H */
