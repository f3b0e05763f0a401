/* SPDX-License-Identifier: MIT */
/*
 * Packed messages (include/bus/layout.h, "Packed messages"): which
 * segments pack, how large their arena is, and where a message lies, for
 * packed segments and fixed cells alike.
 *
 * Which: spsc queues and topics with one publisher, when they ask for it
 * (ring_bytes) or their max_message is large (BUS__PACKED_ABOVE, which
 * says why not below).  Their single writer
 * allocates arena records in position order, so the arena is a FIFO of
 * records that it alone manages (libbus/core/arena.h).  mpmc queues and
 * topics with several publishers keep fixed cells: their producers claim
 * positions by compare-and-swap, each on its own, and a shared arena order
 * would need a second point of agreement per message, which a producer
 * killed between the two would leave half made.
 */
#ifndef BUS_PACKED_H
#define BUS_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"

/* Each kind's packing as a whole; 0 gives every segment fixed cells, as
 * in layout 5. */
#define BUS__PACKED_QUEUES 1
#define BUS__PACKED_TOPICS 1

/*
 * Which of those pack: the ones that ask (ring_bytes set), and the ones
 * whose max_message is over this, where cells of max_message would waste
 * memory.  Up to it, fixed cells cost at most this much per slot and are
 * faster: the payload shares the 128-byte pair of lines of its header,
 * which the hardware fetches together, where a record in the arena is one
 * more line to miss (perf/RESULTS.md, issue 20: 1.3-1.5x the busy round
 * trip, 0.6-0.75x the 64-byte streaming, measured with every spsc queue
 * packed).
 */
#define BUS__PACKED_ABOVE 1024u

/* Records start on a line of their own: a writer's next record never
 * shares a line with what a reader is reading. */
#define BUS__RECORD_ALIGN BUS_CACHE_LINE

static inline bool bus__queue_is_packed(const struct bus_queue_settings *s)
{
	return BUS__PACKED_QUEUES && s->type == BUS_QUEUE_SPSC &&
	       (s->ring_bytes || s->max_message > BUS__PACKED_ABOVE);
}

static inline bool bus__topic_is_packed(const struct bus_topic_settings *s)
{
	return BUS__PACKED_TOPICS && s->max_publishers == 1 &&
	       (s->ring_bytes || s->max_message > BUS__PACKED_ABOVE);
}

/* The most extension bytes (key, reply-to, headers) a packed message may
 * carry: header_room, or the default when it is 0. */
static inline uint32_t bus__packed_extension_limit(uint32_t header_room)
{
	return header_room ? header_room : BUS_PACKED_EXTENSION_DEFAULT;
}

/* The extension's offset from the payload's start (64-bit: a hostile
 * payload_length near 4 GiB must not wrap round to a small offset). */
static inline uint64_t bus__packed_extension_at(uint32_t payload_length)
{
	return ((uint64_t)payload_length + 7u) & ~(uint64_t)7u;
}

/* Bytes a record holding this much takes in the arena. */
static inline uint64_t bus__packed_record_length(uint32_t payload_length,
						 uint32_t extension_length)
{
	uint64_t end = extension_length
			       ? bus__packed_extension_at(payload_length) +
					 extension_length
			       : payload_length;

	/* An empty message still takes a line: records never coincide. */
	if (end == 0)
		end = 1;
	return (end + BUS__RECORD_ALIGN - 1) &
	       ~(uint64_t)(BUS__RECORD_ALIGN - 1);
}

/* Bytes one loan reserves until its commit: a payload of max_message and
 * the whole extension limit. */
static inline uint64_t bus__packed_reservation(uint32_t max_message,
					       uint32_t header_room)
{
	return bus__packed_record_length(
		max_message, bus__packed_extension_limit(header_room));
}

/*
 * The arena size of a packed segment: ring_bytes when set, else room for
 * slots messages of up to 1 KiB (max_message when smaller) and eight loans
 * of the largest size, but never more than slots such loans.
 */
uint64_t bus__packed_arena_bytes(uint32_t slots, uint32_t max_message,
				 uint32_t header_room, uint32_t ring_bytes);

/*
 * The cells of a queue or topic with these settings: packed, one line
 * each and an arena; fixed, a line, the header room and max_message each
 * (payload_offset from a cell's start), no arena.
 */
struct bus__cell_sizes {
	uint32_t payload_offset; /* 0 if packed */
	uint32_t stride;
	uint32_t arena_bytes; /* 0 unless packed */
};

void bus__cell_sizes(bool packed, uint32_t slots, uint32_t max_message,
		     uint32_t header_room, uint32_t ring_bytes,
		     struct bus__cell_sizes *sizes);

/*
 * Checks a ring_bytes setting: 0, or a multiple of 64 from one loan's
 * reservation to BUS_RING_BYTES_MAX (and 0 where packed is false).
 * 0, or -EINVAL with a sentence in detail.
 */
int bus__packed_ring_check(bool packed, uint32_t max_message,
			   uint32_t header_room, uint32_t ring_bytes,
			   char *detail, size_t detail_size);

/*
 * Where messages of a segment lie: the part of a queue's or a topic's
 * geometry that says so.  Fixed cells: payload at payload_offset in the
 * cell, extension room between the cell's first line and the payload.
 * Packed: arena records (layout.h).
 */
struct bus__message_area {
	uint8_t *arena;	      /* NULL for fixed cells */
	uint32_t arena_bytes; /* 0 for fixed cells */
	uint32_t payload_offset;
	uint32_t extension_limit; /* packed: the most extension bytes */
};

/* A message's bytes, as found from a private copy of its header. */
struct bus__record {
	uint8_t *payload;
	uint8_t *extension;
	/* Bytes of extension room there: fixed cells, the whole room;
	 * packed, extension_length (what the record holds). */
	uint32_t room;
};

/*
 * Finds the payload and extension of the message whose header fields are
 * given (copied once by the caller: a writer could change the shared
 * ones).  Packed: the record must lie inside the arena, -EBADMSG if it
 * does not (a corrupt or hostile header), as must payload_length fit
 * max_message and extension_length the room: the caller checks those as
 * it always did.
 */
int bus__message_locate(const struct bus__message_area *area,
			const struct bus_cell *cell, uint32_t record_offset,
			uint32_t payload_length, uint32_t extension_length,
			struct bus__record *record);

#endif /* BUS_PACKED_H */
