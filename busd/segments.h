/* SPDX-License-Identifier: MIT */
/*
 * The POSIX shared-memory objects behind the queues: /dev/shm/shmbus.BUS:NAME,
 * created by busd, mapped by busd and by every client it hands the fd to.
 */
#ifndef BUSD_SEGMENTS_H
#define BUSD_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/*
 * Creates, sizes, maps and lays out the segment of a new queue.  Returns 0
 * and *out; -EEXIST if the object exists, -ENOSPC when /dev/shm cannot hold
 * it, another negative errno otherwise, with a sentence in detail.  The
 * settings must have passed bus__queue_settings_check().
 */
int busd_segment_create(const char *bus_name, const char *name,
			const struct bus_queue_settings *settings,
			struct busd_queue **out, char *detail,
			size_t detail_size);

/*
 * Marks the segment closed (waking its sleepers), unlinks the object and
 * frees the queue.  Clients keep their own mappings until they let go.
 */
void busd_segment_destroy(const char *bus_name, struct busd_queue *queue);

/* Lets go of the queue, leaving its segment as it is for the next busd. */
void busd_segment_release(struct busd_queue *queue);
/* The same for a topic. */
void busd_topic_segment_release(struct busd_topic *topic);

/*
 * The same for a topic (named like a queue: one namespace per bus).  The
 * settings must have passed bus__topic_settings_check().
 */
int busd_topic_segment_create(const char *bus_name, const char *name,
			      const struct bus_topic_settings *settings,
			      struct busd_topic **out, char *detail,
			      size_t detail_size);

/* Marks a topic's segment closed, unlinks it and frees the topic. */
void busd_topic_segment_destroy(const char *bus_name,
				struct busd_topic *topic);

/* 0 if /dev/shm has needed bytes free, else -ENOSPC; *available in bytes. */
int busd_segment_room(uint64_t needed, uint64_t *available);

/*
 * The room check of a queue or topic created at run time (kind: "queue"
 * or "topic"): 0, or -ENOSPC with the sentence "/dev/shm has N MiB free
 * but KIND 'NAME' needs M MiB" in detail.
 */
int busd_segment_room_for(uint64_t needed, const char *kind, const char *name,
			  char *detail, size_t detail_size);

/* Bytes in MiB, rounded down (what is free) or up (what is needed). */
static inline unsigned long long busd_mib_down(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

static inline unsigned long long busd_mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (UINT64_C(1) << 20) - 1) >> 20);
}

#endif /* BUSD_SEGMENTS_H */
