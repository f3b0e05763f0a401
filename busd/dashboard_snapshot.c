/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's copy of the figures (dashboard_snapshot.h), taken as
 * metrics.c takes its own: under the registry lock, through a handle on
 * the stack that only carries busd's mapping, with the library's own
 * readers (relaxed loads: a figure may be a message behind, never torn).
 * The histograms are the receivers' own slots of the segment's latency
 * region, which bus_queue_latency() and its kin sum up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "registry.h"
#include "dashboard_snapshot.h"
#include "stats.h"

static void busd_dashboard_buckets(const struct bus_latency_histogram *h,
				   uint64_t *out)
{
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++)
		out[b] = bus__load_relaxed(&h->count[b]);
}

static struct busd_dashboard_reader *
busd_dashboard_readers(struct busd_dashboard_item *it, uint32_t live)
{
	uint32_t n = live < BUSD_DASHBOARD_READERS_MAX
			     ? live
			     : BUSD_DASHBOARD_READERS_MAX;

	it->reader_count = live;
	it->readers = n ? calloc(n, sizeof(*it->readers)) : NULL;
	return it->readers;
}

/* The consumers among the attachments, each with its histogram. */
static int busd_dashboard_consumers(const struct bus__queue_geometry *g,
				    struct busd_dashboard_item *it)
{
	struct bus_attachment_stats *a;
	uint32_t consumers = it->stats.queue.consumers;
	uint32_t live;

	if (!consumers || !g->attachment_count)
		return 0;
	a = calloc(g->attachment_count, sizeof(*a));
	if (!a || !busd_dashboard_readers(it, consumers)) {
		free(a);
		return -ENOMEM;
	}
	live = bus__queue_attachments_read(g, a, g->attachment_count);
	for (uint32_t i = 0; i < live && i < g->attachment_count; i++) {
		struct busd_dashboard_reader *r;

		if (a[i].role != BUS_CONSUMER)
			continue;
		/* One may have come since the count: it shows next time. */
		if (it->shown == BUSD_DASHBOARD_READERS_MAX ||
		    it->shown == consumers)
			break;
		r = &it->readers[it->shown];
		r->slot = a[i].slot;
		r->pid = a[i].pid;
		r->received = a[i].dequeued;
		r->acked = a[i].acked;
		r->held = a[i].leased;
		r->latency = a[i].latency;
		busd_dashboard_buckets(&g->latency[1 + a[i].slot], r->buckets);
		it->shown++;
	}
	free(a);
	return 0;
}

static int busd_dashboard_queue(const struct busd_queue *queue,
				struct busd_dashboard_item *it)
{
	snprintf(it->name, sizeof(it->name), "%s", queue->name);
	it->type = queue->geometry.settings.type;
	bus__queue_stats_read(&queue->geometry, &it->stats.queue);
	bus__queue_latency_read(&queue->geometry, &it->latency);
	return busd_dashboard_consumers(&queue->geometry, it);
}

static int busd_dashboard_topic(const struct busd_topic *topic,
				struct busd_dashboard_item *it)
{
	struct bus_subscriber_stats s[BUSD_DASHBOARD_READERS_MAX];
	const struct bus__topic_geometry *g = &topic->geometry;
	uint32_t live;

	snprintf(it->name, sizeof(it->name), "%s", topic->name);
	it->topic = true;
	bus__topic_stats_read(g, &it->stats.topic);
	bus__topic_latency_read(g, &it->latency);
	live = bus__topic_subscribers_read(g, s, BUSD_DASHBOARD_READERS_MAX);
	if (live == 0)
		return 0;
	if (!busd_dashboard_readers(it, live))
		return -ENOMEM;
	for (uint32_t i = 0; i < live && i < BUSD_DASHBOARD_READERS_MAX; i++) {
		struct busd_dashboard_reader *r = &it->readers[i];

		r->slot = s[i].slot;
		r->pid = s[i].pid;
		r->received = s[i].received;
		r->held = s[i].lag;
		r->lost = s[i].lost;
		r->latency = s[i].latency;
		busd_dashboard_buckets(&g->latency[1 + s[i].slot], r->buckets);
		it->shown++;
	}
	return 0;
}

static int busd_dashboard_read(const struct busd_registry *r,
			       struct busd_dashboard_snapshot *snap)
{
	unsigned int n = r->count + r->topic_count;
	int ret = 0;

	snap->items = calloc(n ? n : 1, sizeof(*snap->items));
	if (!snap->items)
		return -ENOMEM;
	snap->count = n;
	for (unsigned int i = 0; i < r->count && !ret; i++)
		ret = busd_dashboard_queue(r->queues[i], &snap->items[i]);
	for (unsigned int i = 0; i < r->topic_count && !ret; i++)
		ret = busd_dashboard_topic(r->topics[i],
					   &snap->items[r->count + i]);
	return ret;
}

int busd_dashboard_snapshot(const struct busd_registry *registry,
			    pthread_mutex_t *lock,
			    struct busd_dashboard_snapshot *snap)
{
	struct timespec now;
	int ret;

	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ret = busd_dashboard_read(registry, snap);
	pthread_mutex_unlock(lock);
	snap->now_ns =
		(uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	return ret;
}

void busd_dashboard_snapshot_free(struct busd_dashboard_snapshot *snap)
{
	for (unsigned int i = 0; i < snap->count && snap->items; i++)
		free(snap->items[i].readers);
	free(snap->items);
	memset(snap, 0, sizeof(*snap));
}
