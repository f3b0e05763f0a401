/* SPDX-License-Identifier: MIT */
/*
 * Creating, validating and recovering topic segments: the topic side of
 * segment.h.  Internal to libbus and busd (busd links the static library).
 */
#ifndef BUS_TOPIC_SEGMENT_H
#define BUS_TOPIC_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"

/*
 * What a process knows about a topic segment after validating it.  As for
 * queues, every size is a private copy computed from the settings, never
 * read again from shared memory.
 */
struct bus__topic_geometry {
	uint8_t *base;
	size_t size;
	struct bus_segment_header *header;
	struct bus_topic_control *control;
	struct bus_subscriber *subscribers;
	struct bus_attachment *publishers;
	uint8_t *cells;
	/* [0]: departed subscribers, folded in by busd; [1 + i]: slot i's. */
	struct bus_latency_histogram *latency;
	struct bus_topic_settings settings;
	uint32_t slots;
	uint32_t mask;
	uint32_t stride;
	uint32_t payload_offset; /* from the start of a cell */
};

/* 0 if the settings are valid; else -EINVAL and a sentence in detail. */
int bus__topic_settings_check(const struct bus_topic_settings *settings,
			      char *detail, size_t detail_size);

/* Bytes a topic with these (valid) settings needs. */
size_t bus__topic_segment_size(const struct bus_topic_settings *settings);

/*
 * Lays out a new segment in zeroed memory of bus__topic_segment_size()
 * bytes and publishes it by writing the magic last (release).
 */
void bus__topic_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_topic_settings *settings);

/*
 * Checks a mapped segment (magic with acquire, version, kind, sizes) and
 * fills *geometry.  -EPROTO with a sentence in detail when anything is off.
 */
int bus__topic_segment_validate(void *base, size_t size,
				struct bus__topic_geometry *geometry,
				char *detail, size_t detail_size);

/* The cell at a position. */
static inline struct bus_cell *
bus__topic_cell(const struct bus__topic_geometry *g, uint64_t position)
{
	return (struct bus_cell *)(g->cells +
				   (size_t)(position & g->mask) * g->stride);
}

/* Who takes a slot, as busd writes it into the identity line. */
struct bus__topic_identity {
	uint32_t client_id;
	int32_t pid;
	uint32_t uid;
	uint64_t start_time;
};

/*
 * Lends publisher slot index (free, as busd's own table says): identity,
 * cleared figures, then the role with release.
 */
void bus__topic_publisher_start(const struct bus__topic_geometry *g,
				uint32_t index,
				const struct bus__topic_identity *who);

/*
 * Lends subscriber slot index: sets its position so that no publisher
 * passes it (the joining protocol of topic_cell.h) and its first position
 * (the oldest loan still being written when it joined), then returns.
 */
void bus__topic_subscriber_start(const struct bus__topic_geometry *g,
				 uint32_t index,
				 const struct bus__topic_identity *who);

/*
 * Takes a publisher slot back after its client closed it or died: pads its
 * open loans, folds its figures into the retired ones, uncounts it if it
 * died asleep, wakes everybody.  Only busd (or a test owning the segment)
 * calls these, and only for a client that can no longer act on the slot.
 * Returns the number of loans padded, or -EINVAL.
 */
int bus__topic_publisher_detach(const struct bus__topic_geometry *g,
				uint32_t index);

/*
 * Takes a subscriber slot back: publishers stop waiting for it (and are
 * woken), its figures are folded in.  0 or -EINVAL.
 */
int bus__topic_subscriber_detach(const struct bus__topic_geometry *g,
				 uint32_t index);

/* Marks the segment closed and wakes every sleeper (-ENOTCONN). */
void bus__topic_close_segment(const struct bus__topic_geometry *g);

#endif /* BUS_TOPIC_SEGMENT_H */
