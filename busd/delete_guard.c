/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "delete_guard.h"
#include "stats.h"

int busd_delete_guard_queue(const struct busd_queue *queue, uint32_t flags,
			    char *detail, size_t detail_size)
{
	struct bus_queue_stats s;

	if (!flags)
		return 0;
	bus__queue_stats_read(&queue->geometry, &s);
	if ((flags & BUS_DELETE_IF_EMPTY) && (s.depth || s.leased)) {
		snprintf(detail, detail_size,
			 "queue '%s' holds %llu queued "
			 "and %llu leased messages (--if-empty)",
			 queue->name, (unsigned long long)s.depth,
			 (unsigned long long)s.leased);
		return -ENOTEMPTY;
	}
	if ((flags & BUS_DELETE_IF_UNUSED) && (s.producers || s.consumers)) {
		snprintf(detail, detail_size,
			 "queue '%s' has %u producers "
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
	bus__topic_stats_read(&topic->geometry, &s);
	if ((flags & BUS_DELETE_IF_EMPTY) && s.max_lag) {
		snprintf(detail, detail_size,
			 "topic '%s' has a subscriber "
			 "with %llu messages left to read (--if-empty)",
			 topic->name, (unsigned long long)s.max_lag);
		return -ENOTEMPTY;
	}
	if ((flags & BUS_DELETE_IF_UNUSED) &&
	    (s.publishers || s.subscribers)) {
		snprintf(detail, detail_size,
			 "topic '%s' has %u publishers "
			 "and %u subscribers (--if-unused)",
			 topic->name, (unsigned int)s.publishers,
			 (unsigned int)s.subscribers);
		return -EBUSY;
	}
	return 0;
}
