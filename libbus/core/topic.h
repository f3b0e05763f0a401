/* SPDX-License-Identifier: MIT */
/*
 * Topic handles: a publisher or observer (struct bus_topic) and a
 * subscription (struct bus_subscription), each tied to one mapped topic
 * segment.  Internal.
 */
#ifndef BUS_TOPIC_H
#define BUS_TOPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "bus/bus.h"
#include "clock.h"
#include "latency.h"
#include "topic_segment.h"

struct bus_topic {
	struct bus__topic_geometry geometry;
	struct bus_attachment *attachment; /* publisher: our slot */
	/* As in struct bus_queue: a wait that ran out is counted once,
	 * however many slices the caller waits the message in. */
	bool wait_counted;
	struct bus *bus;    /* NULL for a local handle */
	enum bus_role role; /* BUS_PRODUCER or BUS_OBSERVER */
	uint32_t index;	    /* publisher slot */
	uint32_t owner;	    /* index + 1, as in cell states */
	uint32_t client_id;
	uint64_t generation; /* busd's id of this incarnation of the topic */
	bool single;	     /* max_publishers == 1: the tail is ours */
	bool overwrite;	     /* slow_subscriber = overwrite */
	/* record = yes: claims pass busd's journal gate (topic_ring.c). */
	bool record;
	bool no_timestamp;
	struct bus__clock clock; /* publish stamps (clock.h) */
	enum bus_wait_strategy wait;
	uint32_t spin_ns;
	_Atomic int cancelled;

	/* Single publisher: the next position, kept privately. */
	uint64_t tail;
	/* Block policy: every live subscriber is at least this far, as far
	 * as we last looked; claims below minimum + slots need no look
	 * while busd has let no subscriber in since (joins). */
	uint64_t minimum;
	uint64_t joins; /* control->joins when we last looked */
	/* Recorded topic: positions below it may be claimed as far as the
	 * journal is concerned (journal_position + slots, as we last read
	 * it). */
	uint64_t journal_limit;

	/*
	 * Packed topic (max_publishers = 1, packed.h): the arena as we manage
	 * it (arena.h, core/topic_arena.c).  want: the record length the
	 * claim in progress needs (a loan's reservation, or what a copying
	 * publish sends).  loans: claims not yet committed; oldest_loan:
	 * none of ours is open below it.  overwritten: what we last stored
	 * in control->overwritten.
	 */
	bool packed;
	struct bus__arena arena;
	uint32_t want;
	uint32_t loans;
	uint64_t oldest_loan;
	uint64_t overwritten;

	struct bus_topic *next; /* the connection's list */
	char name[BUS_NAME_MAX + 1];
	/* A local handle (no bus: a test or fuzzer owns the segment): what
	 * closing it calls to take the slot back as busd would; NULL:
	 * nothing. */
	int (*local_detach)(const struct bus__topic_geometry *geometry,
			    uint32_t index);
};

struct bus_subscription {
	struct bus__topic_geometry geometry;
	struct bus_subscriber *slot;
	/* Our slot's latency histogram (latency.h). */
	struct bus__latency_meter latency;
	struct bus *bus; /* NULL for a local handle */
	uint32_t index;
	uint32_t client_id;
	uint64_t generation;
	bool from_reservation; /* busd reserved the slot for a wildcard */
	bool overwrite;
	/* Block policy: a view in place is out; our published position
	 * stays on it until it is released. */
	bool holding;
	enum bus_wait_strategy wait;
	uint32_t spin_ns;
	_Atomic int cancelled;

	uint64_t next; /* the next position to read */
	/* Positions below subscribed_from are history: delivered if still
	 * intact, never counted as lost. */
	uint64_t subscribed_from;
	/* Block policy: positions from here on are protected by our
	 * position and read in place; those below are copied and checked. */
	uint64_t protected_from;
	uint64_t published;  /* what slot->position says now */
	uint64_t lost;	     /* lost since the last delivery */
	uint64_t received;   /* mirror of slot->received */
	uint64_t lapped;     /* mirror of slot->lapped */
	uint64_t lost_total; /* mirror of slot->lost */
	/* The highest lag seen just before a read, mirrored in
	 * slot->high_water (topic_high_water.h). */
	uint32_t high_water;
	/* Copies: max_message bytes rounded up to 8, and the header.  A
	 * view's copy is laid out as a cell is, from its header on (header,
	 * header room, payload: bus__topic_copy_size()), so that keys and
	 * headers are found the same way in both. */
	uint64_t *buffer;
	struct bus_message_header header;

	/* A subscription from a sequence or a time (a recorded topic): the
	 * reader of its journal while it delivers from the disk, NULL once
	 * it reads the ring (libbus/topic_catch_up.h).  Then ring messages
	 * below skip_below, or stamped (publish_time_ns, non-zero) before
	 * skip_before_ns, are passed over: they came before from_value. */
	struct bus__catch_up *catch_up;
	uint64_t skip_below;
	uint64_t skip_before_ns;

	struct bus_subscription *next_handle; /* the connection's list */
	char name[BUS_NAME_MAX + 1];
	/* A local handle (no bus: a test or fuzzer owns the segment): what
	 * closing it calls to take the slot back as busd would; NULL:
	 * nothing. */
	int (*local_detach)(const struct bus__topic_geometry *geometry,
			    uint32_t index);
};

/* Bytes of header room in a copy of a message: a fixed cell's room, or
 * for a packed topic its extension limit (rounded so that the payload
 * after it stays 8-aligned): a copy is laid out as a fixed cell always. */
static inline uint32_t
bus__topic_copy_room(const struct bus__topic_geometry *geometry)
{
	if (geometry->area.arena)
		return (geometry->area.extension_limit + 7u) & ~7u;
	return geometry->payload_offset - (uint32_t)sizeof(struct bus_cell);
}

/* Bytes of a subscription's copy buffer: header, header room, payload. */
static inline size_t
bus__topic_copy_size(const struct bus__topic_geometry *geometry)
{
	return sizeof(struct bus_message_header) +
	       bus__topic_copy_room(geometry) + geometry->settings.max_message;
}

#endif /* BUS_TOPIC_H */
