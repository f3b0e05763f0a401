/* SPDX-License-Identifier: MIT */
/*
 * Validating and mapping topic segments: the topic side of segment.h.
 * busd creates, lends and takes back their slots (busd/segment_lifecycle.h,
 * busd/topic_slots.h).
 */
#ifndef BUS_TOPIC_SEGMENT_H
#define BUS_TOPIC_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"
#include "packed.h"

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
	uint32_t payload_offset; /* from the start of a cell; 0 if packed */
	/* Where messages lie (packed.h); area.arena is NULL unless packed. */
	struct bus__message_area area;
};

/* 0 if the settings are valid; else -EINVAL and a sentence in detail. */
int bus__topic_settings_check(const struct bus_topic_settings *settings,
			      char *detail, size_t detail_size);

/* Offsets derived from the settings alone; never read from the segment. */
struct bus__topic_offsets {
	uint64_t subscribers;
	uint64_t publishers;
	uint64_t cells;
	uint64_t arena; /* packed: right after the cells */
	uint64_t latency;
	uint64_t size;
	uint32_t payload_offset;
	uint32_t stride;
	uint32_t arena_bytes; /* 0 unless packed */
};

/* Where each part of a topic segment with these (valid) settings lies. */
void bus__topic_offsets(const struct bus_topic_settings *settings,
			struct bus__topic_offsets *offsets);

/* Fills a geometry for a segment of size bytes at base from its offsets. */
void bus__topic_geometry_fill(struct bus__topic_geometry *g, void *base,
			      size_t size, const struct bus_topic_settings *s,
			      const struct bus__topic_offsets *o);

/* Bytes a topic with these (valid) settings needs. */
size_t bus__topic_segment_size(const struct bus_topic_settings *settings);

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

#endif /* BUS_TOPIC_SEGMENT_H */
