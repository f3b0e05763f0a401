/* SPDX-License-Identifier: MIT */
/*
 * What busctl says of a packed queue or topic (include/bus/layout.h,
 * "Packed messages"): whether its settings pack, the size of its arena
 * and how much key and headers one message may carry.  From the settings
 * alone, with libbus's own rules (libbus/core/packed.h), so that busctl
 * and the library never disagree.
 */
#include "busctl.h"
#include "core/packed.h"
#include "core/segment.h"
#include "core/topic_segment.h"

uint32_t busctl_queue_arena_bytes(const struct bus_queue_settings *s)
{
	struct bus__queue_offsets o;

	bus__queue_offsets(s, &o);
	return o.arena_bytes;
}

uint32_t busctl_topic_arena_bytes(const struct bus_topic_settings *s)
{
	struct bus__topic_offsets o;

	bus__topic_offsets(s, &o);
	return o.arena_bytes;
}

uint32_t busctl_queue_extension_room(const struct bus_queue_settings *s)
{
	return bus__queue_is_packed(s)
		       ? bus__packed_extension_limit(s->header_room)
		       : s->header_room;
}

uint32_t busctl_topic_extension_room(const struct bus_topic_settings *s)
{
	return bus__topic_is_packed(s)
		       ? bus__packed_extension_limit(s->header_room)
		       : s->header_room;
}
