/* SPDX-License-Identifier: MIT */
/*
 * busd's writes to a segment's header: laying a new segment out, marking
 * it deleted, closing it.  busd alone writes the header; clients validate
 * it (core/segment.h, core/topic_segment.h).
 */
#ifndef BUSD_SEGMENT_LIFECYCLE_H
#define BUSD_SEGMENT_LIFECYCLE_H

#include <stddef.h>

#include "bus/layout.h"
#include "segment.h"
#include "topic_segment.h"

/*
 * Lays out a new segment in zeroed memory of bus__queue_segment_size()
 * (bus__topic_segment_size()) bytes and publishes it by writing the magic
 * last (release; pairs with the acquire in bus__segment_check_header).
 */
void busd_queue_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_queue_settings *settings);
void busd_topic_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_topic_settings *settings);

/*
 * Marks a queue's or topic's header DELETED before busd closes it (which
 * keeps that mark): its clients then answer -EIDRM, "deleted", rather
 * than -ENOTCONN, "no busd".
 */
void busd_segment_mark_deleted(struct bus_segment_header *header);

/*
 * Marks the segment closed (state word) and wakes every sleeper so that
 * blocked clients return -ENOTCONN.
 */
void busd_queue_close_segment(const struct bus__queue_geometry *g);
void busd_topic_close_segment(const struct bus__topic_geometry *g);

#endif /* BUSD_SEGMENT_LIFECYCLE_H */
