/* SPDX-License-Identifier: MIT */
/* Laying out and validating queue segments; busd makes them
 * (busd/segment_lifecycle.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "bus/bus.h"
#include "futex.h"
#include "queue_cell.h"
#include "detail.h"
#include "segment.h"

/* Larger segments are refused: no sane queue needs a terabyte of RAM. */
#define BUS__SEGMENT_SIZE_MAX ((uint64_t)1 << 40)

void bus_queue_settings_default(struct bus_queue_settings *settings)
{
	*settings = (struct bus_queue_settings){
		.type = BUS_QUEUE_MPMC,
		.slots = 1024,
		.max_message = 256,
		.overflow = BUS_OVERFLOW_BLOCK,
		.max_unacked = 64,
		.max_producers = 64,
		.max_consumers = 64,
		.header_room = 0,
		.sync = BUS_SYNC_INTERVAL,
		.sync_interval_ms = 10,
	};
}

/* The keys of dead letters and ack timeouts, as far as they go alone;
 * busd checks that the dead-letter queue exists. */
static int bus__queue_dead_letter_check(const struct bus_queue_settings *s,
					char *detail, size_t detail_size)
{
	if (!memchr(s->dead_letter, '\0', sizeof(s->dead_letter)))
		return bus__detail(detail, detail_size, -EINVAL,
				   "dead_letter is longer than %d characters",
				   BUS_NAME_MAX);
	if (s->dead_letter[0] && bus_name_check(s->dead_letter))
		return bus__detail(
			detail, detail_size, -EINVAL,
			"dead_letter '%s' is not a valid queue name",
			s->dead_letter);
	if (s->max_deliveries && !s->dead_letter[0])
		return bus__detail(
			detail, detail_size, -EINVAL,
			"max_deliveries needs dead_letter, the queue "
			"that takes the messages that reach it");
	if (s->ack_timeout_ms > BUS_QUEUE_ACK_TIMEOUT_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"ack_timeout_ms must be at most %u (a day), "
			"not %u",
			BUS_QUEUE_ACK_TIMEOUT_MAX, s->ack_timeout_ms);
	return 0;
}

/* The keys of durable queues (busd's journal, busd/durable.h). */
static int bus__queue_durable_check(const struct bus_queue_settings *s,
				    char *detail, size_t detail_size)
{
	if (s->durable > 1)
		return bus__detail(detail, detail_size, -EINVAL,
				   "durable must be yes or no");
	if (!s->durable)
		return 0;
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
	/* Dropping a message nobody consumed is what durable rules out;
	 * and busd's copy may still need the oldest cell. */
	if (s->overflow == BUS_OVERFLOW_DROP_OLDEST)
		return bus__detail(detail, detail_size, -EINVAL,
				   "a durable queue cannot have overflow = "
				   "drop-oldest (it would drop messages it "
				   "promised to keep): use block or reject");
	return 0;
}

int bus__queue_settings_check(const struct bus_queue_settings *s, char *detail,
			      size_t detail_size)
{
	int ret = bus__queue_durable_check(s, detail, detail_size);

	if (ret)
		return ret;
	if (s->type != BUS_QUEUE_MPMC && s->type != BUS_QUEUE_SPSC)
		return bus__detail(detail, detail_size, -EINVAL,
				   "type must be mpmc or spsc");
	if (!bus__is_power_of_two(s->slots) ||
	    s->slots < BUS_QUEUE_SLOTS_MIN || s->slots > BUS_QUEUE_SLOTS_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"slots must be a power of two from %u to %u, "
			"not %u",
			BUS_QUEUE_SLOTS_MIN, BUS_QUEUE_SLOTS_MAX, s->slots);
	if (s->max_message < 1 || s->max_message > BUS_QUEUE_MESSAGE_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"max_message must be from 1 to %u bytes, not %u",
			BUS_QUEUE_MESSAGE_MAX, s->max_message);
	if (s->overflow > BUS_OVERFLOW_DROP_OLDEST)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"overflow must be block, reject or drop-oldest");
	if (s->max_unacked < 1 || s->max_unacked > s->slots)
		return bus__detail(detail, detail_size, -EINVAL,
				   "max_unacked must be from 1 to slots (%u), "
				   "not %u",
				   s->slots, s->max_unacked);
	if (s->max_producers < 1 || s->max_consumers < 1 ||
	    (uint64_t)s->max_producers + s->max_consumers >
		    BUS_QUEUE_ATTACHMENTS_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"max_producers and max_consumers must be at "
			"least 1 and add up to at most %u",
			BUS_QUEUE_ATTACHMENTS_MAX);
	if (s->type == BUS_QUEUE_SPSC &&
	    (s->max_producers != 1 || s->max_consumers != 1))
		return bus__detail(detail, detail_size, -EINVAL,
				   "an spsc queue has max_producers = "
				   "max_consumers = 1");
	if (s->header_room > BUS_QUEUE_HEADER_ROOM_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "header_room must be at most %u bytes",
				   BUS_QUEUE_HEADER_ROOM_MAX);
	ret = bus__packed_ring_check(bus__queue_is_packed(s), s->max_message,
				     s->header_room, s->ring_bytes, detail,
				     detail_size);
	if (ret)
		return ret;
	if (bus__queue_segment_size(s) > BUS__SEGMENT_SIZE_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"slots x max_message is too large (over 1 TiB)");
	return bus__queue_dead_letter_check(s, detail, detail_size);
}

void bus__queue_offsets(const struct bus_queue_settings *s,
			struct bus__queue_offsets *o)
{
	struct bus__cell_sizes cells;

	o->attachment_count = s->max_producers + s->max_consumers;
	o->attachments = bus__round_up(
		BUS_QUEUE_CONTROL_OFFSET + sizeof(struct bus_queue_control),
		BUS_CACHE_LINE);
	o->cells = bus__round_up(o->attachments +
					 (uint64_t)o->attachment_count *
						 sizeof(struct bus_attachment),
				 BUS_CACHE_LINE);
	bus__cell_sizes(bus__queue_is_packed(s), s->slots, s->max_message,
			s->header_room, s->ring_bytes, &cells);
	o->payload_offset = cells.payload_offset;
	o->stride = cells.stride;
	o->arena_bytes = cells.arena_bytes;
	o->arena = o->cells + (uint64_t)s->slots * o->stride;
	o->latency = o->arena + o->arena_bytes;
	o->size = o->latency + (uint64_t)(o->attachment_count + 1) *
				       sizeof(struct bus_latency_histogram);
}

size_t bus__queue_segment_size(const struct bus_queue_settings *settings)
{
	struct bus__queue_offsets o;

	bus__queue_offsets(settings, &o);
	return (size_t)o.size;
}

void bus__queue_geometry_fill(struct bus__queue_geometry *g, void *base,
			      size_t size, const struct bus_queue_settings *s,
			      const struct bus__queue_offsets *o)
{
	g->base = base;
	g->size = size;
	g->header = base;
	g->control = (struct bus_queue_control *)((uint8_t *)base +
						  BUS_QUEUE_CONTROL_OFFSET);
	g->attachments =
		(struct bus_attachment *)((uint8_t *)base + o->attachments);
	g->cells = (uint8_t *)base + o->cells;
	g->latency =
		(struct bus_latency_histogram *)((uint8_t *)base + o->latency);
	g->settings = *s;
	g->attachment_count = o->attachment_count;
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

static const char *kind_name(uint32_t kind)
{
	return kind == BUS_SEGMENT_TOPIC ? "topic" : "queue";
}

int bus__segment_check_header(const struct bus_segment_header *h,
			      uint32_t kind, char *detail, size_t detail_size)
{
	/* Acquire: pairs with the release store of the magic in the
	 * segment's init function; what we read next was written before. */
	if (bus__load_acquire(&h->magic) != BUS_SEGMENT_MAGIC)
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment has a bad magic number: not a "
				   "shmbus %s, or corrupt",
				   kind_name(kind));
	if (h->layout_version != BUS_LAYOUT_VERSION)
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment has layout version %u, this "
				   "library understands %u",
				   h->layout_version, BUS_LAYOUT_VERSION);
	if (h->kind != kind)
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment is not a %s (kind %u)",
				   kind_name(kind), h->kind);
	if (h->header_size != sizeof(*h) ||
	    h->message_header_size != sizeof(struct bus_message_header))
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment header sizes do not match this "
				   "library's");
	return 0;
}

int bus__queue_segment_validate(void *base, size_t size,
				struct bus__queue_geometry *geometry,
				char *detail, size_t detail_size)
{
	const struct bus_segment_header *h = base;
	struct bus_queue_settings settings;
	struct bus__queue_offsets o;
	char why[128];
	int ret;

	if (size < BUS_QUEUE_CONTROL_OFFSET + sizeof(struct bus_queue_control))
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment of %zu bytes is too small to be a "
				   "shmbus queue",
				   size);
	ret = bus__segment_check_header(h, BUS_SEGMENT_QUEUE, detail,
					detail_size);
	if (ret)
		return ret;
	memcpy(&settings, &h->settings, sizeof(settings));
	if (bus__queue_settings_check(&settings, why, sizeof(why)))
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment holds invalid settings: %s", why);
	bus__queue_offsets(&settings, &o);
	if (h->segment_size != o.size || o.size > size ||
	    h->attachments_offset != o.attachments ||
	    h->cells_offset != o.cells || h->cell_stride != o.stride ||
	    h->arena_bytes != o.arena_bytes ||
	    h->attachment_count != o.attachment_count)
		return bus__detail(detail, detail_size, -EPROTO,
				   "segment sizes disagree with its settings "
				   "(%zu bytes mapped, %llu needed)",
				   size, (unsigned long long)o.size);
	bus__queue_geometry_fill(geometry, base, size, &settings, &o);
	return 0;
}
