/* SPDX-License-Identifier: MIT */
/*
 * The input format of fuzz_queue_segment, shared with the seed generator.
 *
 *   byte 0            mode, taken modulo FUZZ_MODE_COUNT
 *
 *   FUZZ_MODE_RAW     the rest is a whole segment, as a peer could leave
 *                     it: copied into a buffer of exactly that size.
 *   FUZZ_MODE_OVERWRITE
 *                     8 settings bytes (below) make a valid segment; the
 *                     rest of the input is copied over it from the control
 *                     block on (the header stays as busd wrote it).
 *   FUZZ_MODE_SCRIPT  8 settings bytes make a valid segment; the rest is
 *                     a script of operations: calls of the four handles
 *                     and writes into the segment between them, as a
 *                     hostile peer would make.
 *
 * Settings bytes s[0..7]:
 *   s[0]  bit 0 type (mpmc, spsc); (s[0] >> 1) % 3 overflow policy
 *   s[1]  slots = 2 << (s[1] % 6): 2 to 64
 *   s[2]  max_message = 1 + s[2]
 *   s[3]  max_unacked = 1 + s[3] % slots
 *   s[4]  max_producers = 1 + s[4] % 3 (spsc: 1)
 *   s[5]  max_consumers = 1 + s[5] % 3 (spsc: 1)
 *   s[6]  header_room = s[6] % 128; bit 7: a packed (spsc) queue gets
 *         the smallest arena it may have, one loan (ring_bytes), so that
 *         records wrap and the arena fills; else the default arena
 *   s[7]  messages sent before the script, s[7] % (slots + 1)
 *
 * Each operation is an opcode byte (modulo FUZZ_OP_COUNT) and its operand
 * bytes, as listed beside each code; an input that ends early reads zeros.
 */
#ifndef BUS_FUZZ_QUEUE_FORMAT_H
#define BUS_FUZZ_QUEUE_FORMAT_H

#include <stdint.h>

#include "bus/bus.h"
#include "packed.h"

enum fuzz_mode {
	FUZZ_MODE_RAW = 0,
	FUZZ_MODE_OVERWRITE = 1,
	FUZZ_MODE_SCRIPT = 2,
	FUZZ_MODE_COUNT = 3,
};

#define FUZZ_SETTINGS_BYTES 8

enum fuzz_op {
	FUZZ_OP_RECEIVE,	 /* who */
	FUZZ_OP_RECEIVE_BATCH,	 /* who, count */
	FUZZ_OP_ACK,		 /* which held message */
	FUZZ_OP_NACK,		 /* which */
	FUZZ_OP_ACK_THROUGH,	 /* which */
	FUZZ_OP_RECEIVE_COPY,	 /* who, buffer size */
	FUZZ_OP_SEND,		 /* who, length (u16) */
	FUZZ_OP_SEND_BATCH,	 /* who, count */
	FUZZ_OP_LOAN,		 /* who */
	FUZZ_OP_COMMIT,		 /* which loan, length (u16) */
	FUZZ_OP_STATS,		 /* who */
	FUZZ_OP_SET_CELL,	 /* cell, kind, owner, lap (i8) */
	FUZZ_OP_SET_CELL_RAW,	 /* cell, state (u64) */
	FUZZ_OP_POKE_CONTROL,	 /* offset (u16), value (u64) */
	FUZZ_OP_POKE_CELL,	 /* cell, offset (u16), length, bytes */
	FUZZ_OP_POKE_ATTACHMENT, /* offset (u16), value (u64) */
	FUZZ_OP_POKE_ANY,	 /* offset (u32), byte */
	FUZZ_OP_DETACH,		 /* attachment index */
	FUZZ_OP_TOUCH,		 /* (none): reads every view held */
	FUZZ_OP_COUNT,
};

/* The settings that s[0..7] stand for. */
static inline void fuzz_settings_from(const uint8_t s[FUZZ_SETTINGS_BYTES],
				      struct bus_queue_settings *settings)
{
	bus_queue_settings_default(settings);
	settings->type = s[0] & 1 ? BUS_QUEUE_SPSC : BUS_QUEUE_MPMC;
	settings->overflow = (uint32_t)(s[0] >> 1) % 3;
	settings->slots = 2u << (s[1] % 6);
	settings->max_message = 1u + s[2];
	settings->max_unacked = 1u + s[3] % settings->slots;
	settings->max_producers = 1u + s[4] % 3;
	settings->max_consumers = 1u + s[5] % 3;
	if (settings->type == BUS_QUEUE_SPSC)
		settings->max_producers = settings->max_consumers = 1;
	settings->header_room = s[6] % 128;
	if ((s[6] & 0x80) && bus__queue_is_packed(settings))
		settings->ring_bytes = (uint32_t)bus__packed_reservation(
			settings->max_message, settings->header_room);
}

#endif /* BUS_FUZZ_QUEUE_FORMAT_H */
