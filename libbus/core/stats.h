/* SPDX-License-Identifier: MIT */
/*
 * The figures of a mapped queue or topic segment, read without disturbing
 * it: from its geometry alone, so that a client (through its handle,
 * libbus/stats.c) and busd (its metrics, dashboard and delete guard) read
 * them alike.  Each fills the whole of its output.
 */
#ifndef BUS_STATS_H
#define BUS_STATS_H

#include <stdint.h>

#include "bus/bus.h"
#include "segment.h"
#include "topic_segment.h"

/* Messages queued or leased in the ring, from the cells (busd decides by
 * it whether a clean stop keeps the queue). */
uint64_t bus__queue_messages(const struct bus__queue_geometry *g);

/* bus_queue_stats(), bus_queue_attachments() (how many live attachments
 * there are; up to count written) and bus_queue_latency() of a segment. */
void bus__queue_stats_read(const struct bus__queue_geometry *g,
			   struct bus_queue_stats *stats);
uint32_t bus__queue_attachments_read(const struct bus__queue_geometry *g,
				     struct bus_attachment_stats *out,
				     uint32_t count);
void bus__queue_latency_read(const struct bus__queue_geometry *g,
			     struct bus_latency *latency);

/* The same for topics: bus_topic_stats(), bus_topic_subscribers(),
 * bus_subscription_stats() of subscriber slot index, bus_topic_latency(). */
void bus__topic_stats_read(const struct bus__topic_geometry *g,
			   struct bus_topic_stats *stats);
uint32_t bus__topic_subscribers_read(const struct bus__topic_geometry *g,
				     struct bus_subscriber_stats *out,
				     uint32_t count);
void bus__subscriber_stats_read(const struct bus__topic_geometry *g,
				uint32_t index,
				struct bus_subscriber_stats *stats);
void bus__topic_latency_read(const struct bus__topic_geometry *g,
			     struct bus_latency *latency);

#endif /* BUS_STATS_H */
