/* SPDX-License-Identifier: MIT */
/*
 * Laying out and validating topic segments: the topic side of segment.c.
 * busd lays them out (busd/segment_lifecycle.c) and takes slots back
 * (busd/topic_slots.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "bus/bus.h"
#include "futex.h"
#include "latency.h"
#include "topic_cell.h"
#include "detail.h"
#include "segment.h"
#include "topic_segment.h"

/* Larger segments are refused, as for queues. */
#define BUS__TOPIC_SIZE_MAX ((uint64_t)1 << 40)

/* Page-aligned cells. */
#define BUS__TOPIC_CELLS_ALIGN 4096u

void bus_topic_settings_default(struct bus_topic_settings *settings)
{
	*settings = (struct bus_topic_settings){
		.slots = 1024,
		.max_message = 256,
		.slow_subscriber = BUS_SLOW_SUBSCRIBER_BLOCK,
		.max_subscribers = 64,
		.max_publishers = 64,
		.history = 0,
		.sync = BUS_SYNC_INTERVAL,
		.sync_interval_ms = 10,
	};
}

/* The keys of recorded topics (busd's journal, busd/topic_record.h). */
static int check_record(const struct bus_topic_settings *s, char *detail,
			size_t detail_size)
{
	if (s->record > 1)
		return bus__detail(detail, detail_size, -EINVAL,
				   "record must be yes or no");
	if (s->sync > BUS_SYNC_ALWAYS)
		return bus__detail(detail, detail_size, -EINVAL,
				   "sync must be none, interval or always");
	if (s->sync_interval_ms > BUS_SYNC_INTERVAL_MAX_MS)
		return bus__detail(detail, detail_size, -EINVAL,
				   "sync_interval_ms must be at most %u, "
				   "not %u",
				   BUS_SYNC_INTERVAL_MAX_MS,
				   (unsigned int)s->sync_interval_ms);
	if (s->segment_kib && s->segment_kib < BUS_JOURNAL_SEGMENT_KIB_MIN)
		return bus__detail(detail, detail_size, -EINVAL,
				   "segment_bytes must be at least %u KiB",
				   BUS_JOURNAL_SEGMENT_KIB_MIN);
	if (!s->record && (s->retain_mib || s->retain_age_s))
		return bus__detail(detail, detail_size, -EINVAL,
				   "retain_bytes and retain_age are for "
				   "recorded topics: set record = yes too");
	return 0;
}

/* The bounds of each field, in the order a config file lists them. */
static int check_sizes(const struct bus_topic_settings *s, char *detail,
		       size_t detail_size)
{
	if (!bus__is_power_of_two(s->slots) ||
	    s->slots < BUS_QUEUE_SLOTS_MIN || s->slots > BUS_QUEUE_SLOTS_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"slots must be a power of two from %u to %u, "
			"not %u",
			BUS_QUEUE_SLOTS_MIN, BUS_QUEUE_SLOTS_MAX, s->slots);
	if (s->max_message < 1 || s->max_message > BUS_QUEUE_MESSAGE_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "max_message must be from 1 to %u bytes, "
				   "not %u",
				   BUS_QUEUE_MESSAGE_MAX, s->max_message);
	if (s->slow_subscriber > BUS_SLOW_SUBSCRIBER_OVERWRITE)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"slow_subscriber must be block or overwrite");
	return 0;
}

int bus__topic_settings_check(const struct bus_topic_settings *s, char *detail,
			      size_t detail_size)
{
	int ret = check_sizes(s, detail, detail_size);

	if (!ret)
		ret = check_record(s, detail, detail_size);
	if (ret)
		return ret;
	if (s->max_subscribers < 1 ||
	    s->max_subscribers > BUS_TOPIC_SUBSCRIBERS_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"max_subscribers must be from 1 to %u, not %u",
			BUS_TOPIC_SUBSCRIBERS_MAX, s->max_subscribers);
	if (s->max_publishers < 1 ||
	    s->max_publishers > BUS_TOPIC_PUBLISHERS_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"max_publishers must be from 1 to %u, not %u",
			BUS_TOPIC_PUBLISHERS_MAX, s->max_publishers);
	if (s->history > s->slots)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"history must be at most slots (%u), not %u", s->slots,
			s->history);
	if (s->header_room > BUS_QUEUE_HEADER_ROOM_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "header_room must be at most %u bytes",
				   BUS_QUEUE_HEADER_ROOM_MAX);
	ret = bus__packed_ring_check(bus__topic_is_packed(s), s->max_message,
				     s->header_room, s->ring_bytes, detail,
				     detail_size);
	if (ret)
		return ret;
	if (bus__topic_segment_size(s) > BUS__TOPIC_SIZE_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "slots x max_message is too large (over 1 "
				   "TiB)");
	return 0;
}

void bus__topic_offsets(const struct bus_topic_settings *s,
			struct bus__topic_offsets *o)
{
	struct bus__cell_sizes cells;

	o->subscribers = bus__round_up(
		BUS_TOPIC_CONTROL_OFFSET + sizeof(struct bus_topic_control),
		BUS_CACHE_LINE);
	o->publishers = o->subscribers + (uint64_t)s->max_subscribers *
						 sizeof(struct bus_subscriber);
	o->cells = bus__round_up(o->publishers +
					 (uint64_t)s->max_publishers *
						 sizeof(struct bus_attachment),
				 BUS__TOPIC_CELLS_ALIGN);
	/* The payload starts on the line after the state and header, and
	 * the header room if any (0 in segments made before it existed). */
	bus__cell_sizes(bus__topic_is_packed(s), s->slots, s->max_message,
			s->header_room, s->ring_bytes, &cells);
	o->payload_offset = cells.payload_offset;
	o->stride = cells.stride;
	o->arena_bytes = cells.arena_bytes;
	o->arena = o->cells + (uint64_t)s->slots * o->stride;
	o->latency = o->arena + o->arena_bytes;
	o->size = o->latency + (uint64_t)(s->max_subscribers + 1) *
				       sizeof(struct bus_latency_histogram);
}

size_t bus__topic_segment_size(const struct bus_topic_settings *settings)
{
	struct bus__topic_offsets o;

	bus__topic_offsets(settings, &o);
	return (size_t)o.size;
}

void bus__topic_geometry_fill(struct bus__topic_geometry *g, void *base,
			      size_t size, const struct bus_topic_settings *s,
			      const struct bus__topic_offsets *o)
{
	g->base = base;
	g->size = size;
	g->header = base;
	g->control = (struct bus_topic_control *)((uint8_t *)base +
						  BUS_TOPIC_CONTROL_OFFSET);
	g->subscribers =
		(struct bus_subscriber *)((uint8_t *)base + o->subscribers);
	g->publishers =
		(struct bus_attachment *)((uint8_t *)base + o->publishers);
	g->cells = (uint8_t *)base + o->cells;
	g->latency =
		(struct bus_latency_histogram *)((uint8_t *)base + o->latency);
	g->settings = *s;
	g->slots = s->slots;
	g->mask = s->slots - 1;
	g->stride = o->stride;
	g->payload_offset = o->payload_offset;
	g->area = (struct bus__message_area){
		.arena = o->arena_bytes ? (uint8_t *)base + o->arena : NULL,
		.arena_bytes = o->arena_bytes,
		.payload_offset = o->payload_offset,
		.extension_limit = bus__packed_extension_limit(s->header_room),
	};
}

/* The header fields that do not depend on the settings. */
int bus__topic_segment_validate(void *base, size_t size,
				struct bus__topic_geometry *geometry,
				char *detail, size_t detail_size)
{
	const struct bus_segment_header *h = base;
	struct bus_topic_settings settings;
	struct bus__topic_offsets o;
	char why[128];
	int ret;

	if (size < BUS_TOPIC_CONTROL_OFFSET + sizeof(struct bus_topic_control))
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment of %zu bytes is too small to be a "
				   "shmbus topic",
				   size);
	ret = bus__segment_check_header(h, BUS_SEGMENT_TOPIC, detail,
					detail_size);
	if (ret)
		return ret;
	memcpy(&settings, &h->topic_settings, sizeof(settings));
	if (bus__topic_settings_check(&settings, why, sizeof(why)))
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment holds invalid settings: %s", why);
	bus__topic_offsets(&settings, &o);
	if (h->segment_size != o.size || o.size > size ||
	    h->attachments_offset != o.subscribers ||
	    h->cells_offset != o.cells || h->cell_stride != o.stride ||
	    h->arena_bytes != o.arena_bytes ||
	    h->attachment_count !=
		    settings.max_subscribers + settings.max_publishers)
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment sizes disagree with its settings "
				   "(%zu bytes mapped, %llu needed)",
				   size, (unsigned long long)o.size);
	bus__topic_geometry_fill(geometry, base, size, &settings, &o);
	return 0;
}
