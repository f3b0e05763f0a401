/* SPDX-License-Identifier: MIT */
/* The figures of a handle's queue or topic: the core reads its segment. */
#include <errno.h>

#include "bus/bus.h"
#include "queue.h"
#include "stats.h"
#include "topic.h"

int bus_queue_stats(const bus_queue_t *q, struct bus_queue_stats *s)
{
	if (!q || !s)
		return -EINVAL;
	bus__queue_stats_read(&q->geometry, s);
	return 0;
}

int bus_queue_attachments(const bus_queue_t *q,
			  struct bus_attachment_stats *out, uint32_t count)
{
	if (!q || (!out && count))
		return -EINVAL;
	return (int)bus__queue_attachments_read(&q->geometry, out, count);
}

int bus_queue_latency(const bus_queue_t *q, struct bus_latency *latency)
{
	if (!q || !latency)
		return -EINVAL;
	bus__queue_latency_read(&q->geometry, latency);
	return 0;
}

int bus_topic_stats(const bus_topic_t *t, struct bus_topic_stats *s)
{
	if (!t || !s)
		return -EINVAL;
	bus__topic_stats_read(&t->geometry, s);
	return 0;
}

int bus_topic_subscribers(const bus_topic_t *t,
			  struct bus_subscriber_stats *out, uint32_t count)
{
	if (!t || (!out && count))
		return -EINVAL;
	return (int)bus__topic_subscribers_read(&t->geometry, out, count);
}

int bus_subscription_stats(const bus_subscription_t *s,
			   struct bus_subscriber_stats *stats)
{
	if (!s || !stats)
		return -EINVAL;
	bus__subscriber_stats_read(&s->geometry, s->index, stats);
	return 0;
}

int bus_topic_latency(const bus_topic_t *t, struct bus_latency *latency)
{
	if (!t || !latency)
		return -EINVAL;
	bus__topic_latency_read(&t->geometry, latency);
	return 0;
}
