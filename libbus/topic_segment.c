/* SPDX-License-Identifier: MIT */
/*
 * Laying out, validating and recovering topic segments: the topic side of
 * segment.c and queue_recovery.c.
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
	};
}

/* The bounds of each field, in the order a config file lists them. */
static int check_sizes(const struct bus_topic_settings *s, char *detail,
		       size_t detail_size)
{
	if (!bus__is_power_of_two(s->slots) || s->slots < BUS_QUEUE_SLOTS_MIN ||
	    s->slots > BUS_QUEUE_SLOTS_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "slots must be a power of two from %u to %u, "
				  "not %u",
				  BUS_QUEUE_SLOTS_MIN, BUS_QUEUE_SLOTS_MAX,
				  s->slots);
	if (s->max_message < 1 || s->max_message > BUS_QUEUE_MESSAGE_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "max_message must be from 1 to %u bytes, "
				  "not %u",
				  BUS_QUEUE_MESSAGE_MAX, s->max_message);
	if (s->slow_subscriber > BUS_SLOW_SUBSCRIBER_OVERWRITE)
		return bus__detail(detail, detail_size, -EINVAL,
				  "slow_subscriber must be block or overwrite");
	return 0;
}

int bus__topic_settings_check(const struct bus_topic_settings *s,
			      char *detail, size_t detail_size)
{
	int ret = check_sizes(s, detail, detail_size);

	if (ret)
		return ret;
	if (s->max_subscribers < 1 ||
	    s->max_subscribers > BUS_TOPIC_SUBSCRIBERS_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "max_subscribers must be from 1 to %u, not %u",
				  BUS_TOPIC_SUBSCRIBERS_MAX,
				  s->max_subscribers);
	if (s->max_publishers < 1 ||
	    s->max_publishers > BUS_TOPIC_PUBLISHERS_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "max_publishers must be from 1 to %u, not %u",
				  BUS_TOPIC_PUBLISHERS_MAX, s->max_publishers);
	if (s->history > s->slots)
		return bus__detail(detail, detail_size, -EINVAL,
				  "history must be at most slots (%u), not %u",
				  s->slots, s->history);
	if (s->header_room > BUS_QUEUE_HEADER_ROOM_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "header_room must be at most %u bytes",
				  BUS_QUEUE_HEADER_ROOM_MAX);
	if (s->reserved)
		return bus__detail(detail, detail_size, -EINVAL,
				  "reserved settings must be 0");
	if (bus__topic_segment_size(s) > BUS__TOPIC_SIZE_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				  "slots x max_message is too large (over 1 "
				  "TiB)");
	return 0;
}

/* Offsets derived from the settings alone; never read from the segment. */
struct topic_offsets {
	uint64_t subscribers;
	uint64_t publishers;
	uint64_t cells;
	uint64_t latency;
	uint64_t size;
	uint32_t payload_offset;
	uint32_t stride;
};

static void topic_offsets(const struct bus_topic_settings *s,
			  struct topic_offsets *o)
{
	o->subscribers = bus__round_up(BUS_TOPIC_CONTROL_OFFSET +
					  sizeof(struct bus_topic_control),
				  BUS_CACHE_LINE);
	o->publishers = o->subscribers + (uint64_t)s->max_subscribers *
						 sizeof(struct bus_subscriber);
	o->cells = bus__round_up(o->publishers + (uint64_t)s->max_publishers *
						    sizeof(struct bus_attachment),
			    BUS__TOPIC_CELLS_ALIGN);
	/* The payload starts on the line after the state and header, and
	 * the header room if any (0 in segments made before it existed). */
	o->payload_offset = sizeof(struct bus_cell) +
			    (uint32_t)bus__round_up(s->header_room,
						    BUS_CACHE_LINE);
	o->stride = (uint32_t)bus__round_up((uint64_t)o->payload_offset +
					       s->max_message,
				       BUS_CACHE_LINE);
	o->latency = o->cells + (uint64_t)s->slots * o->stride;
	o->size = o->latency + (uint64_t)(s->max_subscribers + 1) *
				       sizeof(struct bus_latency_histogram);
}

size_t bus__topic_segment_size(const struct bus_topic_settings *settings)
{
	struct topic_offsets o;

	topic_offsets(settings, &o);
	return (size_t)o.size;
}

static void geometry_fill(struct bus__topic_geometry *g, void *base,
			  size_t size, const struct bus_topic_settings *s,
			  const struct topic_offsets *o)
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
	g->latency = (struct bus_latency_histogram *)((uint8_t *)base +
						      o->latency);
	g->settings = *s;
	g->slots = s->slots;
	g->mask = s->slots - 1;
	g->stride = o->stride;
	g->payload_offset = o->payload_offset;
}

static void copy_name(char *dst, const char *src)
{
	strncpy(dst, src, BUS_NAME_MAX);
	dst[BUS_NAME_MAX] = '\0';
}

void bus__topic_segment_init(void *base, size_t size, const char *bus_name,
			     const char *name,
			     const struct bus_topic_settings *settings)
{
	struct bus_segment_header *h = base;
	struct bus__topic_geometry g;
	struct topic_offsets o;
	struct timespec now;

	topic_offsets(settings, &o);
	geometry_fill(&g, base, size, settings, &o);
	clock_gettime(CLOCK_REALTIME, &now);

	h->layout_version = BUS_LAYOUT_VERSION;
	h->kind = BUS_SEGMENT_TOPIC;
	h->segment_size = o.size;
	h->header_size = sizeof(*h);
	bus__store_relaxed(&h->state, BUS_SEGMENT_OPEN);
	h->created_ns = (uint64_t)now.tv_sec * 1000000000u + now.tv_nsec;
	h->attachments_offset = o.subscribers;
	h->cells_offset = o.cells;
	h->attachment_count =
		settings->max_subscribers + settings->max_publishers;
	h->cell_stride = o.stride;
	h->message_header_size = sizeof(struct bus_message_header);
	h->topic_settings = *settings;
	copy_name(h->bus_name, bus_name);
	copy_name(h->name, name);

	/* Position p starts in cell p: every cell is free for its first lap. */
	for (uint32_t i = 0; i < g.slots; i++)
		bus__store_relaxed(&bus__topic_cell(&g, i)->state,
				   bus__topic_state(i, 0, BUS__TOPIC_FREE));

	/* Publish: pairs with the acquire load in
	 * bus__topic_segment_validate(). */
	bus__store_release(&h->magic, BUS_SEGMENT_MAGIC);
}

/* The header fields that do not depend on the settings. */
int bus__topic_segment_validate(void *base, size_t size,
				struct bus__topic_geometry *geometry,
				char *detail, size_t detail_size)
{
	const struct bus_segment_header *h = base;
	struct bus_topic_settings settings;
	struct topic_offsets o;
	char why[128];
	int ret;

	if (size < BUS_TOPIC_CONTROL_OFFSET + sizeof(struct bus_topic_control))
		return bus__detail(detail, detail_size, -EPROTO,
				  "segment of %zu bytes is too small to be a "
				  "shmbus topic", size);
	ret = bus__segment_check_header(h, BUS_SEGMENT_TOPIC, detail,
					detail_size);
	if (ret)
		return ret;
	memcpy(&settings, &h->topic_settings, sizeof(settings));
	if (bus__topic_settings_check(&settings, why, sizeof(why)))
		return bus__detail(detail, detail_size, -EPROTO,
				  "segment holds invalid settings: %s", why);
	topic_offsets(&settings, &o);
	if (h->segment_size != o.size || o.size > size ||
	    h->attachments_offset != o.subscribers ||
	    h->cells_offset != o.cells || h->cell_stride != o.stride ||
	    h->attachment_count !=
		    settings.max_subscribers + settings.max_publishers)
		return bus__detail(detail, detail_size, -EPROTO,
				  "segment sizes disagree with its settings "
				  "(%zu bytes mapped, %llu needed)",
				  size, (unsigned long long)o.size);
	geometry_fill(geometry, base, size, &settings, &o);
	return 0;
}

/* ---- lending slots (busd) ------------------------------------------------ */

void bus__topic_publisher_start(const struct bus__topic_geometry *g,
				uint32_t index,
				const struct bus__topic_identity *who)
{
	struct bus_attachment *a = &g->publishers[index];

	a->client_id = who->client_id;
	a->pid = who->pid;
	a->uid = who->uid;
	a->start_time = who->start_time;
	/* Relaxed: nobody writes the figures of a free slot, and the role
	 * below publishes them. */
	bus__store_relaxed(&a->enqueued, 0);
	bus__store_relaxed(&a->rejected, 0);
	bus__store_relaxed(&a->backpressure_waits, 0);
	bus__store_relaxed(&a->sleeping, 0);
	/* Pairs with the acquire load of role by whoever reads identity
	 * lines (stats, a restarted busd); the client itself learns its slot
	 * from busd's reply, sent after this store. */
	bus__store_release(&a->role, (uint32_t)BUS_PRODUCER);
}

/*
 * The oldest position below tail whose message may still be committed: a
 * loan still open (WRITING there), or a claim we do not see yet (the cell
 * still shows an older lap).  tail when there is none.  Loans are at most a
 * lap old: an open loan at q stops every claim from q + N on.  Walks
 * forward and stops at the first such position, so a join with no loan
 * open reads every cell's state once.
 */
static uint64_t oldest_uncommitted(const struct bus__topic_geometry *g,
				   uint64_t tail)
{
	uint64_t q = tail > g->slots ? tail - g->slots : 0;

	for (; q < tail; q++) {
		/* seq_cst: the final look of a join must come after its raise
		 * of joins in the single order (topic_cell.h); the first look
		 * could be relaxed, but costs the same on x86-64. */
		uint64_t state = bus__load_seq_cst(&bus__topic_cell(g, q)->state);
		int64_t d = bus__position_diff(bus__cell_position(state),
					       bus__position_wrap(q));

		if (d < 0 || (d == 0 && bus__topic_kind(state) !=
						BUS__TOPIC_READY &&
			      bus__topic_kind(state) != BUS__TOPIC_PADDED))
			break;
	}
	return q;
}

static void wake_publishers(struct bus_topic_control *c)
{
	/* seq_cst raise: a publisher that read the word before it does not
	 * sleep (wait.c); one asleep is woken and scans again. */
	bus__fetch_add_seq_cst(&c->space_futex, 1);
	bus__futex_wake_all(&c->space_futex);
}

void bus__topic_subscriber_start(const struct bus__topic_geometry *g,
				 uint32_t index,
				 const struct bus__topic_identity *who)
{
	struct bus_subscriber *s = &g->subscribers[index];
	struct bus_topic_control *c = g->control;
	uint64_t guard, first;

	s->client_id = who->client_id;
	s->pid = who->pid;
	s->uid = who->uid;
	s->start_time = who->start_time;
	bus__store_relaxed(&s->received, 0);
	bus__store_relaxed(&s->lapped, 0);
	bus__store_relaxed(&s->lost, 0);
	bus__store_relaxed(&s->expired, 0);
	bus__store_relaxed(&s->high_water, 0);
	bus__store_relaxed(&s->sleeping, 0);
	/* A first look (topic_cell.h, "Joining"): no message we will want is
	 * older than this.  Relaxed tail: a stale one is only older. */
	guard = oldest_uncommitted(g, bus__load_relaxed(&c->tail));
	s->first_position = guard;
	/* Relaxed, published by the role's release. */
	bus__store_relaxed(&s->position, guard);
	/* Pairs with the acquire load of role in a publisher's scan. */
	bus__store_release(&s->role, (uint32_t)BUS_CONSUMER);
	/* Release: a publisher that loads the new count sees the slot.
	 * seq_cst: before our second look at the cells in the single order,
	 * so that a publisher that loads the old count after it saw a cell
	 * committed, saw one committed before that look. */
	bus__fetch_add_seq_cst(&c->joins, 1);
	/* The tail half: pairs with the fence a publisher issues after
	 * making its position visible and before it scans.  Either it sees
	 * the slot, or we see its position below. */
	bus__fence_seq_cst();
	first = oldest_uncommitted(g, bus__load_seq_cst(&c->tail));
	if (first < guard) /* only with corrupt cells */
		first = guard;
	s->first_position = first;
	/* Release: raised past what we may skip (committed before we
	 * looked); a publisher that reads it reads the identity with it.
	 * The subscriber reads both after our reply. */
	bus__store_release(&s->position, first);
	/* Some may have waited for the guard. */
	if (first != guard)
		wake_publishers(c);
}

/* ---- taking slots back (busd) ------------------------------------------- */

static void wake_everybody(struct bus_topic_control *c)
{
	/* seq_cst raise: a sleeper that read the word before it does not
	 * sleep; one asleep is woken and looks again. */
	bus__fetch_add_seq_cst(&c->data_futex, 1);
	bus__futex_wake_all(&c->data_futex);
	wake_publishers(c);
}

/* Adds a departed client's figure to a retired one: busd alone writes
 * those, and the client that wrote the figure is gone. */
static void retire(_Atomic uint64_t *total, _Atomic uint64_t *figure)
{
	bus__store_relaxed(total, bus__load_relaxed(total) +
					  bus__load_relaxed(figure));
	bus__store_relaxed(figure, 0);
}

/* Pads the WRITING cells of owner; returns how many. */
static uint64_t pad_loans(const struct bus__topic_geometry *g, uint32_t owner)
{
	uint64_t padded = 0;

	for (uint32_t i = 0; i < g->slots; i++) {
		struct bus_cell *cell = bus__topic_cell(g, i);
		/* Acquire: the departed publisher's writes come before ours. */
		uint64_t state = bus__load_acquire(&cell->state);

		if (bus__topic_kind(state) != BUS__TOPIC_WRITING ||
		    bus__cell_owner(state) != owner)
			continue;
		/* CAS: the publisher may have closed after a commit we race
		 * with (a local handle); a READY state must survive.
		 * Release: readers that see PADDED see nothing else of it. */
		if (bus__cas_acq_rel(&cell->state, &state,
				     bus__topic_state(bus__cell_position(state),
						      0, BUS__TOPIC_PADDED)))
			padded++;
	}
	return padded;
}

int bus__topic_publisher_detach(const struct bus__topic_geometry *g,
				uint32_t index)
{
	struct bus_topic_control *c = g->control;
	struct bus_attachment *a;
	uint64_t padded;

	if (index >= g->settings.max_publishers)
		return -EINVAL;
	a = &g->publishers[index];
	padded = pad_loans(g, index + 1);
	if (bus__load_relaxed(&a->sleeping) & BUS_ATTACHMENT_SLEEPING_SPACE)
		bus__fetch_sub_seq_cst(&c->publishers_sleeping, 1);
	bus__store_relaxed(&a->sleeping, 0);
	retire(&c->retired.published, &a->enqueued);
	retire(&c->retired.rejected, &a->rejected);
	retire(&c->retired.backpressure_waits, &a->backpressure_waits);
	bus__store_relaxed(&c->retired.padded,
			   bus__load_relaxed(&c->retired.padded) + padded);
	/* Release: the slot's next owner sees it clean. */
	bus__store_release(&a->role, 0);
	wake_everybody(c);
	return (int)padded;
}

int bus__topic_subscriber_detach(const struct bus__topic_geometry *g,
				 uint32_t index)
{
	struct bus_topic_control *c = g->control;
	struct bus_subscriber *s;

	if (index >= g->settings.max_subscribers)
		return -EINVAL;
	s = &g->subscribers[index];
	if (bus__load_relaxed(&s->sleeping) & BUS_ATTACHMENT_SLEEPING_DATA)
		bus__fetch_sub_seq_cst(&c->subscribers_sleeping, 1);
	bus__store_relaxed(&s->sleeping, 0);
	retire(&c->retired.received, &s->received);
	retire(&c->retired.lapped, &s->lapped);
	retire(&c->retired.lost, &s->lost);
	retire(&c->retired.expired, &s->expired);
	/* A maximum, not a sum (topic_high_water.h). */
	bus__store_relaxed(&c->retired_high_water,
			   (uint32_t)bus__max_u64(
				   bus__load_relaxed(&c->retired_high_water),
				   bus__load_relaxed(&s->high_water)));
	bus__store_relaxed(&s->high_water, 0);
	bus__latency_merge(&g->latency[0], &g->latency[1 + index]);
	/* Publishers stop waiting for this position: the raises in
	 * wake_everybody (seq_cst) order this store before their next scan
	 * after they wake. */
	bus__store_release(&s->role, 0);
	wake_everybody(c);
	return 0;
}

void bus__topic_close_segment(const struct bus__topic_geometry *g)
{
	/* Sleepers look at the state word after every wake-up.  Relaxed
	 * load: busd alone writes the word; a DELETED mark stays. */
	if (bus__load_relaxed(&g->header->state) == BUS_SEGMENT_OPEN)
		bus__store_release(&g->header->state, BUS_SEGMENT_CLOSED);
	wake_everybody(g->control);
}
