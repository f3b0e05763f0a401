/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "delete_guard.h"
#include "queue.h"
#include "topic.h"

/* busd's own mapping, read through a handle on the stack: the stats
 * functions only look at the geometry. */
static void busd_delete_guard_queue_stats(const struct busd_queue *queue,
					  struct bus_queue_stats *stats)
{
	struct bus_queue handle;

	memset(&handle, 0, sizeof(handle));
	handle.geometry = queue->geometry;
	bus_queue_stats(&handle, stats);
}

static void busd_delete_guard_topic_stats(const struct busd_topic *topic,
					  struct bus_topic_stats *stats)
{
	struct bus_topic handle;

	memset(&handle, 0, sizeof(handle));
	handle.geometry = topic->geometry;
	bus_topic_stats(&handle, stats);
}

int busd_delete_guard_queue(const struct busd_queue *queue, uint32_t flags,
			    char *detail, size_t detail_size)
{
	struct bus_queue_stats s;

	if (!flags)
		return 0;
	busd_delete_guard_queue_stats(queue, &s);
	if ((flags & BUS_DELETE_IF_EMPTY) && (s.depth || s.leased)) {
		snprintf(detail, detail_size, "queue '%s' holds %llu queued "
			 "and %llu leased messages (--if-empty)", queue->name,
			 (unsigned long long)s.depth,
			 (unsigned long long)s.leased);
		return -ENOTEMPTY;
	}
	if ((flags & BUS_DELETE_IF_UNUSED) && (s.producers || s.consumers)) {
		snprintf(detail, detail_size, "queue '%s' has %u producers "
			 "and %u consumers attached (--if-unused)",
			 queue->name, (unsigned int)s.producers,
			 (unsigned int)s.consumers);
		return -EBUSY;
	}
	return 0;
}

int busd_delete_guard_topic(const struct busd_topic *topic, uint32_t flags,
			    char *detail, size_t detail_size)
{
	struct bus_topic_stats s;

	if (!flags)
		return 0;
	busd_delete_guard_topic_stats(topic, &s);
	if ((flags & BUS_DELETE_IF_EMPTY) && s.max_lag) {
		snprintf(detail, detail_size, "topic '%s' has a subscriber "
			 "with %llu messages left to read (--if-empty)",
			 topic->name, (unsigned long long)s.max_lag);
		return -ENOTEMPTY;
	}
	if ((flags & BUS_DELETE_IF_UNUSED) &&
	    (s.publishers || s.subscribers)) {
		snprintf(detail, detail_size, "topic '%s' has %u publishers "
			 "and %u subscribers (--if-unused)", topic->name,
			 (unsigned int)s.publishers,
			 (unsigned int)s.subscribers);
		return -EBUSY;
	}
	return 0;
}
