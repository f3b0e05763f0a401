/* SPDX-License-Identifier: MIT */
/*
 * busd's view of where a segment keeps its messages (libbus/core/packed.h):
 * the one helper its copiers share (the journal thread, the dead-letter
 * mover, the topic recorder, the journal refill).
 */
#ifndef BUSD_MESSAGE_AREA_H
#define BUSD_MESSAGE_AREA_H

#include <stdint.h>

#include "bus/layout.h"
#include "packed.h"

/*
 * The most key-and-headers bytes one message of the segment may carry:
 * the room between a fixed cell's first line and its payload, or a packed
 * segment's extension limit (header_room is a limit there, not room).
 */
static inline uint32_t busd_extension_room(const struct bus__message_area *a)
{
	return a->arena
		       ? a->extension_limit
		       : a->payload_offset - (uint32_t)sizeof(struct bus_cell);
}

/*
 * The header_room a dead-letter queue (mpmc, fixed cells) needs to take
 * every message of queue s: s's own header_room for fixed cells, or, for
 * a packed (spsc) source, whose header_room is a limit, that limit
 * (BUS_PACKED_EXTENSION_DEFAULT when 0).
 */
static inline uint32_t
busd_dead_letter_room_needed(const struct bus_queue_settings *s)
{
	return bus__queue_is_packed(s)
		       ? bus__packed_extension_limit(s->header_room)
		       : s->header_room;
}

#endif /* BUSD_MESSAGE_AREA_H */
