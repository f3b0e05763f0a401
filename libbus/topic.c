/* SPDX-License-Identifier: MIT */
/*
 * The public publish and subscribe calls on top of the cell operations of
 * topic_ring.c.  As for queues, the fast path (room, or a message, there)
 * makes no system call and no allocation; a publisher's cost does not
 * depend on how many subscribers there are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "clock.h"
#include "futex.h"
#include "latency.h"
#include "message_keys.h"
#include "packed.h"
#include "topic.h"
#include "topic_arena.h"
#include "topic_catch_up.h"
#include "topic_cell.h"
#include "topic_handle.h"
#include "topic_ring.h"
#include "wait.h"
#include "wake.h"

#define BUS__SPIN_NS_DEFAULT 2000

static int wait_valid(enum bus_wait_strategy wait)
{
	return wait == BUS_WAIT_SPIN_FUTEX || wait == BUS_WAIT_BUSY ||
	       wait == BUS_WAIT_FUTEX;
}

/* Figures live in lines only their writer writes: load, add, store. */
static void count(_Atomic uint64_t *figure, uint64_t n)
{
	bus__store_relaxed(figure, bus__load_relaxed(figure) + n);
}

/* Relaxed, as for queues: the state word changes once, at delete. */
static int closed(const struct bus__topic_geometry *g)
{
	return bus__load_relaxed(&g->header->state) != BUS_SEGMENT_OPEN;
}

/* Why a closed topic answers no more: -EIDRM deleted, -ENOTCONN. */
static int gone(const struct bus__topic_geometry *g)
{
	return bus__segment_gone(bus__load_relaxed(&g->header->state));
}

static void wake_all(struct bus_topic_control *c)
{
	bus__wake_both(&c->data_futex, &c->space_futex);
}

/* ---- publisher and observer handles ------------------------------------ */

int bus__topic_handle_create(const struct bus__topic_geometry *geometry,
			     enum bus_role role, uint32_t index,
			     uint32_t client_id,
			     const struct bus_queue_options *options,
			     struct bus_topic **out)
{
	struct bus_topic *t;

	if (role != BUS_PRODUCER && role != BUS_OBSERVER)
		return -EINVAL;
	if (role == BUS_PRODUCER && index >= geometry->settings.max_publishers)
		return -EINVAL;
	if (options && !wait_valid(options->wait))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->geometry = *geometry;
	t->role = role;
	t->index = index;
	t->owner = index + 1;
	t->client_id = client_id;
	t->single = geometry->settings.max_publishers == 1;
	t->overwrite = geometry->settings.slow_subscriber ==
		       BUS_SLOW_SUBSCRIBER_OVERWRITE;
	t->record = geometry->settings.record != 0;
	t->wait = options ? options->wait : BUS_WAIT_SPIN_FUTEX;
	t->spin_ns = options && options->spin_ns ? options->spin_ns
						 : BUS__SPIN_NS_DEFAULT;
	t->no_timestamp = options && options->no_timestamp;
	if (role == BUS_PRODUCER)
		t->attachment = &geometry->publishers[index];
	/* Relaxed: our predecessor left it before busd lent us the slot,
	 * and the socket round trip orders that. */
	t->tail = bus__load_relaxed(&geometry->control->tail);
	/* A packed topic's publisher manages its arena, from what the
	 * cells say a predecessor left there (topic_arena.c). */
	t->packed = role == BUS_PRODUCER && geometry->area.arena;
	if (t->packed) {
		int ret = bus__topic_arena_open(t);

		if (ret < 0) {
			free(t);
			return ret;
		}
	}
	*out = t;
	return 0;
}

void bus__topic_handle_destroy(struct bus_topic *t)
{
	if (t && t->packed)
		bus__topic_arena_close(t);
	free(t);
}

const struct bus_topic_settings *bus_topic_settings(const bus_topic_t *t)
{
	return t ? &t->geometry.settings : NULL;
}

int bus_topic_set_wait(bus_topic_t *t, enum bus_wait_strategy wait,
		       uint32_t spin_ns)
{
	if (!t || !wait_valid(wait))
		return -EINVAL;
	t->wait = wait;
	t->spin_ns = spin_ns ? spin_ns : BUS__SPIN_NS_DEFAULT;
	return 0;
}

void bus_topic_cancel(bus_topic_t *t)
{
	/* Relaxed flag; the futex raises (seq_cst) make a sleeper look.  An
	 * observer never sleeps, and its mapping is read-only. */
	bus__store_relaxed(&t->cancelled, 1);
	if (t->role != BUS_OBSERVER)
		wake_all(t->geometry.control);
}

void bus_topic_uncancel(bus_topic_t *t)
{
	bus__store_relaxed(&t->cancelled, 0);
}

/* ---- publishing ---------------------------------------------------------- */

struct claim_context {
	struct bus_topic *t;
	uint64_t position;
};

static int try_claim(void *context)
{
	struct claim_context *c = context;

	if (c->t->single)
		return bus__topic_claim_single(c->t, &c->position);
	return bus__topic_claim_multi(c->t, &c->position);
}

static int wait_for_room(struct bus_topic *t, struct claim_context *c,
			 int64_t timeout_ns)
{
	struct bus_topic_control *control = t->geometry.control;
	struct bus__wait_target target = {
		.sleepers = &control->publishers_sleeping,
		.word = &control->space_futex,
		.sleeping = &t->attachment->sleeping,
		.flag = BUS_ATTACHMENT_SLEEPING_SPACE,
		.not_yet = -ENOBUFS,
		.cancelled = &t->cancelled,
		.segment_state = &t->geometry.header->state,
		.strategy = t->wait,
		.spin_ns = t->spin_ns,
		.attempt = try_claim,
		.context = c,
	};

	return bus__wait_for(&target, timeout_ns);
}

/*
 * A recorded topic that is full because busd cannot write its journal
 * (a full disk): its error (-ENOSPC, -EIO) says why better than "full".
 * A full ring with a journal that works is a slow subscriber or busd
 * behind: ret as it was.
 */
static int journal_failure(const struct bus_topic *t, int ret)
{
	/* Acquire: pairs with busd's release store of the error
	 * (busd/topic_record_thread.c). */
	int32_t error = bus__load_acquire(&t->geometry.control->journal_error);

	return error < 0 ? error : ret;
}

/*
 * A loan whose message holds at most capacity bytes and, with keys, the
 * extension limit (packed topics reserve that much of the arena; fixed
 * cells ignore it).  bus_topic_loan() asks for max_message and the limit,
 * bus_publish() for what it sends.
 */
static int loan(bus_topic_t *t, struct bus_message *m, uint32_t capacity,
		bool keys, int64_t timeout_ns)
{
	const struct bus__topic_geometry *g = &t->geometry;
	struct claim_context c = { t, 0 };
	struct bus_cell *cell;
	int ret;

	if (t->packed)
		t->want = (uint32_t)bus__packed_record_length(
			capacity, keys ? g->area.extension_limit : 0);
	if (closed(g))
		return gone(g);
	ret = try_claim(&c);
	if (ret == -ENOBUFS) {
		if (timeout_ns != BUS_NOWAIT && !t->wait_counted)
			count(&t->attachment->backpressure_waits, 1);
		ret = wait_for_room(t, &c, timeout_ns);
		t->wait_counted = timeout_ns != BUS_NOWAIT &&
				  (ret == -ETIMEDOUT || ret == -EINTR);
	} else {
		t->wait_counted = false;
	}
	if (ret < 0) {
		if (ret == -ENOBUFS || ret == -ETIMEDOUT)
			count(&t->attachment->rejected, 1);
		if ((ret == -ENOBUFS || ret == -ETIMEDOUT) && t->record)
			ret = journal_failure(t, ret);
		return ret;
	}
	cell = bus__topic_cell(g, c.position);
	m->length = 0;
	m->header = &cell->header;
	m->token = c.position;
	m->extras = 0;
	if (t->packed) {
		const struct bus__arena_extent *e =
			bus__topic_arena_extent(t, c.position);

		/* Ours: take() just put it at the FIFO's back; anything
		 * else is a broken arena, and the claim goes back. */
		if (!e) {
			bus__topic_abandon(t, c.position);
			/* Not open any more: take() counted it. */
			if (t->loans)
				t->loans--;
			return -EPROTO;
		}
		m->payload = g->area.arena + e->start;
		m->capacity = capacity;
		m->room = keys ? g->area.extension_limit : 0;
		m->extras = keys ? BUS__EXTRAS_PACKED : 0;
		return 0;
	}
	m->payload = (uint8_t *)cell + g->payload_offset;
	m->capacity = g->settings.max_message;
	m->room = 0;
	return 0;
}

int bus__topic_loan_sized(bus_topic_t *t, struct bus_message *m,
			  int64_t timeout_ns, size_t length, bool extension)
{
	if (!t || !m)
		return -EINVAL;
	if (t->role != BUS_PRODUCER)
		return -EBADF;
	if (length > t->geometry.settings.max_message)
		return -EMSGSIZE;
	return loan(t, m, (uint32_t)length, extension, timeout_ns);
}

int bus_topic_loan_sized(bus_topic_t *t, struct bus_message *m, size_t size,
			 int64_t timeout_ns)
{
	return bus__topic_loan_sized(t, m, timeout_ns, size, true);
}

int bus_topic_loan(bus_topic_t *t, struct bus_message *m, int64_t timeout_ns)
{
	if (!t || !m)
		return -EINVAL;
	if (t->role != BUS_PRODUCER)
		return -EBADF;
	return loan(t, m, t->geometry.settings.max_message, true, timeout_ns);
}

/*
 * Packed: the record of our loan at m->token now holds length bytes of
 * payload and the extension the setters wrote: that moves from the loan's
 * place (payload + round8(capacity)) to its own (payload + round8(length)),
 * and the record shrinks to what it holds (arena.h).  header gets its
 * offset.  -EINVAL for a message that is not our loan as we made it.
 */
static int commit_record(struct bus_topic *t, const struct bus_message *m,
			 uint32_t length, struct bus_message_header *header)
{
	const struct bus__topic_geometry *g = &t->geometry;
	const struct bus__arena_extent *e =
		bus__topic_arena_extent(t, m->token);
	uint32_t extension = header->extension_length;
	uint32_t from = bus__packed_extension_at(m->capacity);
	uint32_t to = bus__packed_extension_at(length);
	uint64_t need = bus__packed_record_length(length, extension);
	uint8_t *payload = m->payload;

	if (!e || payload != g->area.arena + e->start ||
	    length > m->capacity || need > e->length ||
	    (extension &&
	     (extension > m->room ||
	      bus__packed_record_length(m->capacity, extension) > e->length)))
		return -EINVAL;
	if (extension && from != to) {
		uint8_t moved[BUS_QUEUE_HEADER_ROOM_MAX];

		/* Relaxed word stores (topic_ring.h): a lapped reader may
		 * be copying what these bytes held. */
		memcpy(moved, payload + from, extension);
		bus__topic_write_payload(payload + to, moved, extension);
	}
	header->record_offset = e->start;
	bus__topic_arena_shrink(t, m->token, (uint32_t)need);
	return 0;
}

/* True if position is a cell we claimed and have not committed. */
static int is_our_loan(const struct bus_topic *t, uint64_t position)
{
	/* Relaxed: our own claim, written by this thread. */
	uint64_t state = bus__load_relaxed(
		&bus__topic_cell(&t->geometry, position)->state);

	return bus__topic_kind(state) == BUS__TOPIC_WRITING &&
	       bus__cell_owner(state) == t->owner &&
	       bus__cell_position(state) == bus__position_wrap(position);
}

int bus_topic_commit(bus_topic_t *t, struct bus_message *m, uint32_t length)
{
	struct bus_message_header header = {
		.header_length = sizeof(header),
		.header_version = BUS_MESSAGE_HEADER_VERSION,
		.payload_length = length,
		.delivery_count = 1,
	};

	if (!t || !m)
		return -EINVAL;
	if (t->role != BUS_PRODUCER)
		return -EBADF;
	if (!is_our_loan(t, m->token))
		return -EINVAL;
	/* A packed loan holds its capacity (a sized loan's size), no more:
	 * as for queues, -EMSGSIZE, and the loan stays held. */
	if (length > t->geometry.settings.max_message ||
	    (t->packed && length > m->capacity))
		return -EMSGSIZE;
	/* Key, headers, correlation or expiry set on the loan. */
	if (__builtin_expect(m->extras & BUS__EXTRAS_SET, 0))
		bus__message_extras_keep(m->header, &header);
	if (t->packed) {
		int ret = commit_record(t, m, length, &header);

		if (ret < 0)
			return ret;
	}
	header.sequence = m->token;
	header.publish_time_ns =
		t->no_timestamp ? 0 : bus__clock_now_ns(&t->clock);
	header.producer_id = t->client_id;
	bus__topic_write_header(bus__topic_cell(&t->geometry, m->token),
				&header);
	bus__topic_publish(t, m->token);
	count(&t->attachment->enqueued, 1);
	return 0;
}

int bus_publish(bus_topic_t *t, const void *data, size_t length,
		int64_t timeout_ns)
{
	struct bus_message m;
	int ret;

	if (!t || (!data && length))
		return -EINVAL;
	if (t->role != BUS_PRODUCER)
		return -EBADF;
	if (length > t->geometry.settings.max_message)
		return -EMSGSIZE;
	/* Packed: a record of what we send, not of max_message. */
	ret = loan(t, &m, (uint32_t)length, false, timeout_ns);
	if (ret < 0)
		return ret;
	/* A reader may copy the cell while we write it and then discard the
	 * copy: a lapped one under overwrite, and under either policy one
	 * reading history (topic_cell.h).
	 * Relaxed atomic stores keep that from being a data race; on x86-64
	 * they are plain moves. */
	bus__topic_write_payload(m.payload, data, (uint32_t)length);
	return bus_topic_commit(t, &m, (uint32_t)length);
}

int bus_topic_last(bus_topic_t *t, void *buf, size_t size,
		   struct bus_message_header *header)
{
	if (!t || (!buf && size))
		return -EINVAL;
	return bus__topic_read_last(&t->geometry, buf, size, header);
}

/* ---- subscriptions -------------------------------------------------------- */

/* Where a subscription starts reading: history below the first position
 * that counts as published after it, but nothing a ring older than where
 * busd put it (those cells hold later messages). */
static uint64_t start_position(const struct bus__topic_geometry *g,
			       uint64_t first, uint64_t position,
			       uint32_t history)
{
	uint64_t start = first - (history < first ? history : first);

	if (position > g->slots && start < position - g->slots)
		start = position - g->slots;
	return start;
}

int bus__subscription_create(const struct bus__topic_geometry *geometry,
			     uint32_t index, uint32_t client_id,
			     const struct bus_subscribe_options *options,
			     struct bus_subscription **out)
{
	uint32_t history = options ? options->history : 0;
	struct bus_subscription *s;
	uint64_t position, first;

	if (index >= geometry->settings.max_subscribers ||
	    history > geometry->settings.history ||
	    (options && !wait_valid(options->wait)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->geometry = *geometry;
	s->slot = &geometry->subscribers[index];
	bus__latency_meter_init(&s->latency, &geometry->latency[1 + index],
				options && options->no_latency,
				options ? options->latency_every : 0);
	s->index = index;
	s->client_id = client_id;
	s->overwrite = geometry->settings.slow_subscriber ==
		       BUS_SLOW_SUBSCRIBER_OVERWRITE;
	s->wait = options ? options->wait : BUS_WAIT_SPIN_FUTEX;
	s->spin_ns = options && options->spin_ns ? options->spin_ns
						 : BUS__SPIN_NS_DEFAULT;
	/* Relaxed and plain: busd wrote both before its reply (or the test
	 * that owns the segment, in this thread). */
	position = bus__load_relaxed(&s->slot->position);
	first = s->slot->first_position;
	if (first > position) /* corrupt: trust nothing below position */
		first = position;
	s->protected_from = position;
	s->subscribed_from = first;
	s->published = position;
	s->next = start_position(geometry, first, position, history);
	/* A buffer only where copies happen: overwrite, or history. */
	if ((s->overwrite || s->next < position) &&
	    bus__subscription_copy_buffer(s)) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int bus__subscription_copy_buffer(struct bus_subscription *s)
{
	if (!s->buffer)
		s->buffer =
			calloc((bus__topic_copy_size(&s->geometry) + 7) / 8,
			       sizeof(*s->buffer));
	return s->buffer ? 0 : -ENOMEM;
}

void bus__subscription_destroy(struct bus_subscription *s)
{
	if (!s)
		return;
	bus__catch_up_destroy(s);
	free(s->buffer);
	free(s);
}

const struct bus_topic_settings *
bus_subscription_settings(const bus_subscription_t *s)
{
	return s ? &s->geometry.settings : NULL;
}

int bus_subscription_set_wait(bus_subscription_t *s,
			      enum bus_wait_strategy wait, uint32_t spin_ns)
{
	if (!s || !wait_valid(wait))
		return -EINVAL;
	s->wait = wait;
	s->spin_ns = spin_ns ? spin_ns : BUS__SPIN_NS_DEFAULT;
	return 0;
}

void bus_subscription_cancel(bus_subscription_t *s)
{
	bus__store_relaxed(&s->cancelled, 1);
	wake_all(s->geometry.control);
}

void bus_subscription_uncancel(bus_subscription_t *s)
{
	bus__store_relaxed(&s->cancelled, 0);
}

int bus_subscription_release(bus_subscription_t *s)
{
	if (!s)
		return -EINVAL;
	if (s->holding) {
		s->holding = false;
		bus__subscription_publish_position(s);
	}
	return 0;
}

struct read_context {
	struct bus_subscription *s;
	void *dst;
	size_t size;
	struct bus__topic_delivery delivery;
};

/* A message past its expiry (message_keys.h: expiry_ns, 0 for none). */
static bool expired(const struct bus_message_header *h)
{
	uint64_t expiry = *(volatile const uint64_t *)&h->expiry_ns;

	return expiry && (uint64_t)bus__monotonic_ns() >= expiry;
}

/* A catch-up's ring messages from before from_value (topic.h); the stamp
 * is read once, as expiry_ns.  A stamp past the mark ends the time skip.
 * An unstamped message (a publisher without stamps) counts as published
 * now, as busd's recorder dates it on disk: it neither ends the skip
 * early, letting older stamped messages through, nor passes a mark that
 * lies ahead. */
static bool before_start(struct bus_subscription *s,
			 const struct bus__topic_delivery *d)
{
	uint64_t stamp;

	if (d->position < s->skip_below)
		return true;
	if (!s->skip_before_ns)
		return false;
	stamp = *(volatile const uint64_t *)&d->header->publish_time_ns;
	if (!stamp)
		stamp = (uint64_t)bus__monotonic_ns();
	if (stamp < s->skip_before_ns)
		return true;
	s->skip_before_ns = 0;
	return false;
}

/* Skips it: our cursor has moved past it already; counted in our line. */
static void skip_expired(struct bus_subscription *s)
{
	/* Relaxed: our own line; readers want a recent value. */
	bus__store_relaxed(&s->slot->expired,
			   bus__load_relaxed(&s->slot->expired) + 1);
}

static int try_read(void *context)
{
	struct read_context *r = context;
	int ret = bus__topic_read(r->s, r->dst, r->size, &r->delivery);

	/* Never delivered: the next one, a bounded number of times (each
	 * look moves the cursor, so this ends with the ring). */
	for (uint32_t i = 0;
	     ret == 0 && i < r->s->geometry.slots &&
	     (expired(r->delivery.header) || before_start(r->s, &r->delivery));
	     i++) {
		if (expired(r->delivery.header))
			skip_expired(r->s);
		ret = bus__topic_read(r->s, r->dst, r->size, &r->delivery);
	}
	if (ret == 0 && (expired(r->delivery.header) ||
			 before_start(r->s, &r->delivery))) {
		if (expired(r->delivery.header))
			skip_expired(r->s);
		ret = -EAGAIN;
	}

	/* Nothing yet: let publishers past what we skipped before we wait
	 * (a no-op when nothing changed). */
	if (ret == -EAGAIN)
		bus__subscription_publish_position(r->s);
	return ret;
}

static int wait_for_data(struct bus_subscription *s, struct read_context *r,
			 int64_t timeout_ns)
{
	struct bus_topic_control *control = s->geometry.control;
	struct bus__wait_target target = {
		.sleepers = &control->subscribers_sleeping,
		.word = &control->data_futex,
		.sleeping = &s->slot->sleeping,
		.flag = BUS_ATTACHMENT_SLEEPING_DATA,
		.not_yet = -EAGAIN,
		.cancelled = &s->cancelled,
		.segment_state = &s->geometry.header->state,
		.strategy = s->wait,
		.spin_ns = s->spin_ns,
		.attempt = try_read,
		.context = r,
	};

	return bus__wait_for(&target, timeout_ns);
}

/* The figures and the view's hold of a message just read. */
static int delivered(struct bus_subscription *s, struct read_context *r,
		     uint64_t *lost)
{
	if (r->delivery.in_place)
		s->holding = true;
	else
		bus__subscription_publish_position(s);
	s->received++;
	bus__store_relaxed(&s->slot->received, s->received);
	bus__latency_record(&s->latency, r->delivery.header->publish_time_ns);
	if (lost)
		*lost = s->lost;
	s->lost = 0;
	return 0;
}

/* One read, waiting if need be; the delivery is in r. */
static int receive(struct bus_subscription *s, struct read_context *r,
		   uint64_t *lost, int64_t timeout_ns)
{
	int ret;

	bus_subscription_release(s);
	/* From the disk first (a catch-up), then, once it is done, from the
	 * ring with what is left of the timeout. */
	if (__builtin_expect(s->catch_up != NULL, 0)) {
		ret = bus__catch_up_read(s, r->dst, r->size, &r->delivery,
					 &timeout_ns);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return delivered(s, r, lost);
	}
	ret = try_read(r);
	if (ret == -EAGAIN)
		ret = wait_for_data(s, r, timeout_ns);
	if (ret == -EAGAIN && closed(&s->geometry))
		return gone(&s->geometry);
	if (ret < 0)
		return ret;
	return delivered(s, r, lost);
}

int bus_subscription_receive(bus_subscription_t *s, struct bus_message *m,
			     uint64_t *lost, int64_t timeout_ns)
{
	struct read_context r = { s, NULL, 0, { 0 } };
	int ret;

	if (!s || !m)
		return -EINVAL;
	ret = receive(s, &r, lost, timeout_ns);
	if (ret < 0)
		return ret;
	m->payload = (void *)r.delivery.payload;
	m->length = r.delivery.length;
	m->capacity = r.delivery.length;
	m->header = r.delivery.header;
	m->token = r.delivery.position;
	/* Receiving: extras says only where the room lies (message_keys.h).
	 * A packed view in place: key and headers follow the payload
	 * (bus.h); copies, and fixed cells, have it between header and
	 * payload. */
	m->room = r.delivery.room;
	m->extras = r.delivery.in_place && s->geometry.area.arena
			    ? BUS__EXTRAS_PACKED
			    : 0;
	return 0;
}

int bus_subscription_receive_copy(bus_subscription_t *s, void *buf,
				  size_t size, uint64_t *lost,
				  int64_t timeout_ns)
{
	struct read_context r = { s, buf, size, { 0 } };
	char none;
	int ret;

	if (!s || (!buf && size))
		return -EINVAL;
	/* No buffer still takes empty messages: a copy of 0 bytes. */
	if (!buf)
		r.dst = &none;
	ret = receive(s, &r, lost, timeout_ns);
	return ret < 0 ? ret : (int)r.delivery.length;
}
