/* SPDX-License-Identifier: MIT */
/*
 * Validating and mapping queue segments: the core both sides link.  busd
 * creates and closes them (busd/segment_lifecycle.h).
 */
#ifndef BUS_SEGMENT_H
#define BUS_SEGMENT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"
#include "packed.h"

/*
 * What a process knows about a queue segment after validating it.  Sizes
 * are private copies: nothing here is read again from shared memory, so a
 * peer that scribbles over the header cannot make us index out of bounds.
 */
struct bus__queue_geometry {
	uint8_t *base;
	size_t size;
	struct bus_segment_header *header;
	struct bus_queue_control *control;
	struct bus_attachment *attachments;
	uint8_t *cells;
	/* [0]: departed consumers, folded in by busd; [1 + i]: slot i's. */
	struct bus_latency_histogram *latency;
	struct bus_queue_settings settings;
	uint32_t attachment_count;
	uint32_t slots;
	uint32_t mask;
	uint32_t stride;
	uint32_t payload_offset; /* from the start of a cell; 0 if packed */
	/* Where messages lie (packed.h); area.arena is NULL unless packed. */
	struct bus__message_area area;
};

/*
 * 0 if the settings are valid; else -EINVAL and a sentence naming the field
 * in detail.
 */
int bus__queue_settings_check(const struct bus_queue_settings *settings,
			      char *detail, size_t detail_size);

/* Offsets derived from the settings alone; never read from the segment. */
struct bus__queue_offsets {
	uint64_t attachments;
	uint64_t cells;
	uint64_t arena; /* packed: right after the cells */
	uint64_t latency;
	uint64_t size;
	uint32_t attachment_count;
	uint32_t payload_offset;
	uint32_t stride;
	uint32_t arena_bytes; /* 0 unless packed */
};

/* Where each part of a queue segment with these (valid) settings lies. */
void bus__queue_offsets(const struct bus_queue_settings *settings,
			struct bus__queue_offsets *offsets);

/* Fills a geometry for a segment of size bytes at base from its offsets. */
void bus__queue_geometry_fill(struct bus__queue_geometry *g, void *base,
			      size_t size, const struct bus_queue_settings *s,
			      const struct bus__queue_offsets *o);

/* Bytes a queue with these (valid) settings needs. */
size_t bus__queue_segment_size(const struct bus_queue_settings *settings);

/*
 * Checks a mapped segment: magic (acquire; pairs with the release in
 * busd_queue_segment_init), version, kind, and that every size agrees with
 * what the settings imply and fits in size bytes.  Fills *geometry.
 * -EPROTO with a sentence in detail when anything is off.
 */
int bus__queue_segment_validate(void *base, size_t size,
				struct bus__queue_geometry *geometry,
				char *detail, size_t detail_size);

/*
 * Checks what every segment opens with: magic (acquire), layout version,
 * kind (enum bus_segment_kind) and header sizes.  0, or -EPROTO with a
 * sentence in detail.  For queues and topics alike.
 */
int bus__segment_check_header(const struct bus_segment_header *h,
			      uint32_t kind, char *detail, size_t detail_size);

/*
 * True when an spsc consumer takes messages without writing their cells
 * (libbus/queue_leases.c).  Not with drop-oldest, whose producer takes
 * queued cells itself, nor with ack_timeout_ms, whose leases busd must be
 * able to take back from the cells.
 */
static inline int bus__queue_lazy(const struct bus_queue_settings *s)
{
	return s->type == BUS_QUEUE_SPSC &&
	       s->overflow != BUS_OVERFLOW_DROP_OLDEST && !s->ack_timeout_ms;
}

/* The cell at a position. */
static inline struct bus_cell *
bus__queue_cell(const struct bus__queue_geometry *g, uint64_t position)
{
	return (struct bus_cell *)(g->cells +
				   (size_t)(position & g->mask) * g->stride);
}

/* What a call on a segment that is no longer OPEN returns: -EIDRM when it
 * was deleted, -ENOTCONN when busd stopped. */
static inline int bus__segment_gone(uint32_t state)
{
	return state == BUS_SEGMENT_DELETED ? -EIDRM : -ENOTCONN;
}

#endif /* BUS_SEGMENT_H */
