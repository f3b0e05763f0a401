/* SPDX-License-Identifier: MIT */
/*
 * Creating, validating and mapping queue segments.  Internal to libbus and
 * busd (busd links the static library).
 */
#ifndef BUS_SEGMENT_H
#define BUS_SEGMENT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"

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
	uint32_t payload_offset; /* from the start of a cell */
};

/*
 * 0 if the settings are valid; else -EINVAL and a sentence naming the field
 * in detail.
 */
int bus__queue_settings_check(const struct bus_queue_settings *settings,
			      char *detail, size_t detail_size);

/* Bytes a queue with these (valid) settings needs. */
size_t bus__queue_segment_size(const struct bus_queue_settings *settings);

/*
 * Lays out a new segment in zeroed memory of bus__queue_segment_size()
 * bytes and publishes it by writing the magic last (release).
 */
void bus__queue_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_queue_settings *settings);

/*
 * Checks a mapped segment: magic (acquire; pairs with the release in
 * bus__queue_segment_init), version, kind, and that every size agrees with
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

/*
 * Frees attachment slot index after its client closed it or died: pads
 * over its uncommitted loans, turns the messages it held into redeliveries,
 * folds its figures into the retired ones, wakes sleepers.  Only busd calls
 * this, and only for a client that can no longer act on the queue.
 * Returns the number of messages made deliverable again.
 */
int bus__queue_detach(const struct bus__queue_geometry *g, uint32_t index);

/* Messages queued or leased in the ring, from the cells (busd decides by
 * it whether a clean stop keeps the queue). */
uint64_t bus__queue_messages(const struct bus__queue_geometry *g);

/*
 * Marks the segment closed (state word) and wakes every sleeper so that
 * blocked clients return -ENOTCONN.
 */
void bus__queue_close_segment(const struct bus__queue_geometry *g);

/*
 * Marks a queue's or topic's header DELETED before busd closes it (which
 * keeps that mark): its clients then answer -EIDRM, "deleted", rather
 * than -ENOTCONN, "no busd".  busd alone writes the state word.
 */
void bus__segment_mark_deleted(struct bus_segment_header *header);

/* What a call on a segment that is no longer OPEN returns: -EIDRM when it
 * was deleted, -ENOTCONN when busd stopped. */
static inline int bus__segment_gone(uint32_t state)
{
	return state == BUS_SEGMENT_DELETED ? -EIDRM : -ENOTCONN;
}

/* "/shmbus.BUS:NAME" into buf; -ENAMETOOLONG or -EINVAL for bad names. */
int bus__shm_name(char *buf, size_t size, const char *bus_name,
		  const char *name);

/* RUNTIME_DIR/BUS.sock and RUNTIME_DIR/BUS.lock. */
int bus__socket_path(char *buf, size_t size, const char *bus_name);
int bus__lock_path(char *buf, size_t size, const char *bus_name);

/* Where a root busd (the system bus) listens: /run/shmbus. */
#define BUS_SYSTEM_RUNTIME_DIR "/run/shmbus"

/*
 * The system bus's socket, where clients look when their own runtime
 * directory has no busd: $BUS_SYSTEM_RUNTIME_DIR/BUS.sock if that is set
 * (tests), else /run/shmbus/BUS.sock.  Returns the length, -EINVAL or
 * -ENAMETOOLONG.
 */
int bus__system_socket_path(char *buf, size_t size, const char *bus_name);

#endif /* BUS_SEGMENT_H */
