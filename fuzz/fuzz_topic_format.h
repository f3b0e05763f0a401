/* SPDX-License-Identifier: MIT */
/*
 * The input format of fuzz_topic_segment, shared with the seed generator.
 * The modes are those of fuzz_queue_format.h:
 *
 *   byte 0            mode, taken modulo FUZZ_TOPIC_MODE_COUNT
 *
 *   FUZZ_TOPIC_MODE_RAW
 *                     the rest is a whole segment, as a peer could leave
 *                     it: copied into a buffer of exactly that size.
 *   FUZZ_TOPIC_MODE_OVERWRITE
 *                     8 settings bytes (below) make a valid segment with
 *                     publishers and subscribers; the rest of the input is
 *                     copied over it from the control block on (the header
 *                     stays as busd wrote it): tail, subscriber and
 *                     publisher lines, cell states, headers and payloads.
 *   FUZZ_TOPIC_MODE_SCRIPT
 *                     8 settings bytes make a valid segment; the rest is
 *                     a script of operations: calls of the handles and
 *                     writes into the segment between them, as a hostile
 *                     peer would make.
 *
 * Settings bytes s[0..7]:
 *   s[0]  bit 0 slow_subscriber (block, overwrite)
 *   s[1]  slots = 2 << (s[1] % 6): 2 to 64
 *   s[2]  max_message = 1 + s[2]
 *   s[3]  max_subscribers = 1 + s[3] % 4
 *   s[4]  max_publishers = 1 + s[4] % 3 (1: the single-publisher path)
 *   s[5]  history = s[5] % (slots + 1)
 *   s[6]  header_room = s[6] % 128; bit 7: a packed (single-publisher)
 *         topic gets the smallest arena it may have, one loan
 *         (ring_bytes), so that records wrap and overwrite; else the
 *         default arena
 *   s[7]  messages published before the script, s[7] % (2 * slots + 1):
 *         the first subscription is made before them, the others after
 *         (with history), so a prefill past a lap loses some or blocks.
 *
 * Each operation is an opcode byte (modulo FUZZ_TOPIC_OP_COUNT) and its
 * operand bytes, as listed beside each code; an input that ends early
 * reads zeros.
 */
#ifndef BUS_FUZZ_TOPIC_FORMAT_H
#define BUS_FUZZ_TOPIC_FORMAT_H

#include <stdint.h>

#include "bus/bus.h"
#include "packed.h"

enum fuzz_topic_mode {
	FUZZ_TOPIC_MODE_RAW = 0,
	FUZZ_TOPIC_MODE_OVERWRITE = 1,
	FUZZ_TOPIC_MODE_SCRIPT = 2,
	FUZZ_TOPIC_MODE_COUNT = 3,
};

#define FUZZ_TOPIC_SETTINGS_BYTES 8

enum fuzz_topic_op {
	FUZZ_TOP_RECEIVE,	   /* who */
	FUZZ_TOP_RECEIVE_COPY,	   /* who, buffer size */
	FUZZ_TOP_READ,		   /* who, how (bit 0: into a buffer, bit 1:
				 * publish the position), buffer size */
	FUZZ_TOP_RELEASE,	   /* who */
	FUZZ_TOP_PUBLISH_POSITION, /* who */
	FUZZ_TOP_PENDING,	   /* who */
	FUZZ_TOP_LAST,		   /* buffer size */
	FUZZ_TOP_KEYS,		   /* who: the key and headers of its view */
	FUZZ_TOP_PUBLISH,	   /* who, length (u16) */
	FUZZ_TOP_LOAN,		   /* who, extras (bits: key, reply, hdr) */
	FUZZ_TOP_COMMIT,	   /* which loan, length (u16) */
	FUZZ_TOP_STATS,		   /* who */
	FUZZ_TOP_SUBSCRIBE,	   /* slot, history, how (bit 0: scribbled) */
	FUZZ_TOP_DETACH_PUBLISHER, /* who */
	FUZZ_TOP_SET_CELL,	   /* cell, kind, owner, lap (i8) */
	FUZZ_TOP_SET_CELL_RAW,	   /* cell, state (u64) */
	FUZZ_TOP_SET_TAIL,	   /* delta (i16) from the tail, not below 0 */
	FUZZ_TOP_SET_SLOT,	   /* slot, field, delta (i8): as SET_TAIL */
	FUZZ_TOP_POKE_CONTROL,	   /* offset (u16), value (u64) */
	FUZZ_TOP_POKE_CELL,	   /* cell, offset (u16), length, bytes */
	FUZZ_TOP_POKE_SUBSCRIBER,  /* offset (u16), value (u64) */
	FUZZ_TOP_POKE_PUBLISHER,   /* offset (u16), value (u64) */
	FUZZ_TOP_POKE_ANY,	   /* offset (u32), byte */
	FUZZ_TOP_TOUCH,		   /* (none): reads every view held */
	FUZZ_TOPIC_OP_COUNT,
};

/* The settings that s[0..7] stand for. */
static inline void
fuzz_topic_settings_from(const uint8_t s[FUZZ_TOPIC_SETTINGS_BYTES],
			 struct bus_topic_settings *settings)
{
	bus_topic_settings_default(settings);
	settings->slow_subscriber = s[0] & 1 ? BUS_SLOW_SUBSCRIBER_OVERWRITE
					     : BUS_SLOW_SUBSCRIBER_BLOCK;
	settings->slots = 2u << (s[1] % 6);
	settings->max_message = 1u + s[2];
	settings->max_subscribers = 1u + s[3] % 4;
	settings->max_publishers = 1u + s[4] % 3;
	settings->history = s[5] % (settings->slots + 1);
	settings->header_room = s[6] % 128;
	if ((s[6] & 0x80) && bus__topic_is_packed(settings))
		settings->ring_bytes = (uint32_t)bus__packed_reservation(
			settings->max_message, settings->header_room);
}

/* How many messages the build publishes before the script. */
static inline unsigned int
fuzz_topic_prefill(const uint8_t s[FUZZ_TOPIC_SETTINGS_BYTES],
		   const struct bus_topic_settings *settings)
{
	return s[7] % (2 * settings->slots + 1);
}

#endif /* BUS_FUZZ_TOPIC_FORMAT_H */
