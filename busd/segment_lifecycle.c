/* SPDX-License-Identifier: MIT */
/* Laying out, marking and closing segments: busd's writes to the header. */
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "bus/bus.h"
#include "queue_cell.h"
#include "segment_lifecycle.h"
#include "topic_cell.h"
#include "wake.h"

static void copy_name(char *dst, const char *src)
{
	strncpy(dst, src, BUS_NAME_MAX);
	dst[BUS_NAME_MAX] = '\0';
}

/* The header fields queues and topics share; the caller adds its kind's
 * settings, its cells, and then publishes with publish_header(). */
static void header_init(struct bus_segment_header *h, uint32_t kind,
			uint64_t size, uint64_t attachments_offset,
			uint64_t cells_offset, uint32_t attachment_count,
			uint32_t stride, const char *bus_name,
			const char *name)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	h->layout_version = BUS_LAYOUT_VERSION;
	h->kind = kind;
	h->segment_size = size;
	h->header_size = sizeof(*h);
	bus__store_relaxed(&h->state, BUS_SEGMENT_OPEN);
	h->created_ns = (uint64_t)now.tv_sec * 1000000000u + now.tv_nsec;
	h->attachments_offset = attachments_offset;
	h->cells_offset = cells_offset;
	h->attachment_count = attachment_count;
	h->cell_stride = stride;
	h->message_header_size = sizeof(struct bus_message_header);
	copy_name(h->bus_name, bus_name);
	copy_name(h->name, name);
}

static void publish_header(struct bus_segment_header *h)
{
	/* Publish: pairs with the acquire load of the magic in
	 * bus__segment_check_header(); a client that sees the magic sees
	 * every store before this one. */
	bus__store_release(&h->magic, BUS_SEGMENT_MAGIC);
}

void busd_queue_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_queue_settings *settings)
{
	struct bus__queue_offsets o;
	struct bus__queue_geometry g;
	struct bus_segment_header *h = base;

	bus__queue_offsets(settings, &o);
	bus__queue_geometry_fill(&g, base, size, settings, &o);
	header_init(h, BUS_SEGMENT_QUEUE, o.size, o.attachments, o.cells,
		    o.attachment_count, o.stride, bus_name, name);
	h->settings = *settings;
	h->arena_bytes = o.arena_bytes;
	/* Position p starts in cell p: every cell is free for its first lap. */
	for (uint32_t i = 0; i < g.slots; i++)
		bus__store_relaxed(&bus__queue_cell(&g, i)->state,
				   bus__cell_state(i, 0, BUS__CELL_FREE));
	publish_header(h);
}

void busd_topic_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_topic_settings *settings)
{
	struct bus_segment_header *h = base;
	struct bus__topic_geometry g;
	struct bus__topic_offsets o;

	bus__topic_offsets(settings, &o);
	bus__topic_geometry_fill(&g, base, size, settings, &o);
	header_init(h, BUS_SEGMENT_TOPIC, o.size, o.subscribers, o.cells,
		    settings->max_subscribers + settings->max_publishers,
		    o.stride, bus_name, name);
	h->topic_settings = *settings;
	h->arena_bytes = o.arena_bytes;
	/* Position p starts in cell p: every cell is free for its first lap. */
	for (uint32_t i = 0; i < g.slots; i++)
		bus__store_relaxed(&bus__topic_cell(&g, i)->state,
				   bus__topic_state(i, 0, BUS__TOPIC_FREE));
	publish_header(h);
}

void busd_segment_mark_deleted(struct bus_segment_header *header)
{
	/* Release: as the CLOSED store of the close that follows, which
	 * wakes the sleepers that then read it (acquire, wait.c). */
	bus__store_release(&header->state, BUS_SEGMENT_DELETED);
}

/* Sleepers re-check the state word after every wake-up; the seq_cst raises
 * of bus__wake_both order this store before their futex words change.
 * Relaxed load: busd alone writes the word; a DELETED mark stays. */
static void close_header(struct bus_segment_header *h)
{
	if (bus__load_relaxed(&h->state) == BUS_SEGMENT_OPEN)
		bus__store_release(&h->state, BUS_SEGMENT_CLOSED);
}

void busd_queue_close_segment(const struct bus__queue_geometry *g)
{
	close_header(g->header);
	bus__wake_both(&g->control->data_futex, &g->control->space_futex);
}

void busd_topic_close_segment(const struct bus__topic_geometry *g)
{
	close_header(g->header);
	bus__wake_both(&g->control->data_futex, &g->control->space_futex);
}
