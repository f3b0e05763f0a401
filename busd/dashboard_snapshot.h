/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's copy of the figures (dashboard.h): what the metrics
 * snapshot has, plus every live consumer and subscriber with its own
 * latency histogram.  Plain memory, read without any lock once taken.
 */
#ifndef BUSD_DASHBOARD_SNAPSHOT_H
#define BUSD_DASHBOARD_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "bus/layout.h"

/* A reader of a queue or topic beyond this many is counted, not shown:
 * a topic may have thousands of subscribers, and the copy is made under
 * the lock the control loop waits for. */
#define BUSD_DASHBOARD_READERS_MAX 32u

/* One consumer of a queue or subscriber of a topic. */
struct busd_dashboard_reader {
	uint32_t slot;
	int32_t pid;
	uint64_t received; /* deliveries to it */
	uint64_t acked;	   /* a consumer's acks */
	uint64_t held;	   /* a consumer's leases; a subscriber's lag */
	uint64_t lost;	   /* a subscriber's messages lost to overwrite */
	struct bus_latency latency;
	uint64_t buckets[BUS_LATENCY_BUCKETS];
};

struct busd_dashboard_item {
	char name[BUS_NAME_MAX + 1];
	bool topic;
	union {
		struct bus_queue_stats queue;
		struct bus_topic_stats topic;
	} stats;
	struct bus_latency latency; /* every reader so far */
	uint32_t type;		    /* a queue's: BUS_QUEUE_SPSC or MPMC */
	uint32_t reader_count;	    /* live ones, maybe more than shown */
	uint32_t shown;		    /* entries of readers */
	struct busd_dashboard_reader *readers;
};

struct busd_dashboard_snapshot {
	uint64_t now_ns; /* CLOCK_MONOTONIC when it was taken */
	struct busd_dashboard_item *items;
	unsigned int count;
};

struct busd_registry;

/* Takes the copy under lock.  0 or -ENOMEM. */
int busd_dashboard_snapshot(const struct busd_registry *registry,
			    pthread_mutex_t *lock,
			    struct busd_dashboard_snapshot *snap);
void busd_dashboard_snapshot_free(struct busd_dashboard_snapshot *snap);

#endif /* BUSD_DASHBOARD_SNAPSHOT_H */
