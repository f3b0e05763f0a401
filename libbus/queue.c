/* SPDX-License-Identifier: MIT */
/*
 * The public send and receive calls of a queue handle: loans, commits,
 * receives, acks and nacks on top of the cell operations of queue_ring.c.
 * The fast path (a message available, room available) makes no system call
 * and no allocation.
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
#include "queue.h"
#include "queue_arena.h"
#include "queue_cell.h"
#include "queue_handle.h"
#include "queue_high_water.h"
#include "queue_leases.h"
#include "queue_ring.h"
#include "wait.h"
#include "wake.h"

/* ---- handle ---------------------------------------------------------- */

int bus__queue_handle_create(const struct bus__queue_geometry *geometry,
			     enum bus_role role, uint32_t index,
			     uint32_t client_id,
			     const struct bus_queue_options *options,
			     struct bus_queue **out)
{
	struct bus_queue *q;

	if (role != BUS_OBSERVER && index >= geometry->attachment_count)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->geometry = *geometry;
	q->role = role;
	q->attachment_index = index;
	q->owner = index + 1;
	q->client_id = client_id;
	q->spsc = geometry->settings.type == BUS_QUEUE_SPSC;
	/* Both sides of an spsc queue agree on this from the settings. */
	q->lazy = bus__queue_lazy(&geometry->settings);
	q->wait = options ? options->wait : BUS_WAIT_SPIN_FUTEX;
	q->spin_ns = options && options->spin_ns ? options->spin_ns : 2000;
	q->no_timestamp = options && options->no_timestamp;
	q->ttl_ns = (int64_t)geometry->settings.ttl_ms * 1000000;
	q->loan_extras = q->ttl_ns ? BUS__EXTRAS_TTL : 0;
	if (role != BUS_OBSERVER)
		q->attachment = &geometry->attachments[index];
	if (role == BUS_CONSUMER)
		bus__latency_meter_init(&q->latency,
					&geometry->latency[1 + index],
					options && options->no_latency,
					options ? options->latency_every : 0);
	if (role == BUS_CONSUMER) {
		uint32_t capacity = 1;

		while (capacity < geometry->settings.max_unacked)
			capacity <<= 1;
		q->held_mask = capacity - 1;
		q->held = calloc(capacity, sizeof(*q->held));
		if (!q->held) {
			free(q);
			return -ENOMEM;
		}
	}
	/* Relaxed: busd or our predecessor left these before we attached,
	 * and the attach handshake (a socket round trip) orders them. */
	q->enqueue_position =
		bus__load_relaxed(&geometry->control->enqueue_position);
	q->dequeue_position =
		bus__load_relaxed(&geometry->control->dequeue_position);
	q->released = q->dequeue_position;
	q->cached_released = q->dequeue_position;
	q->durable = geometry->settings.durable;
	/* Acquire: pairs with busd's journal thread's store (durable_ring.c
	 * in busd), as in bus__ring_journal_allows(). */
	q->cached_journal =
		bus__load_acquire(&geometry->control->journal_position);
	q->packed = geometry->area.arena != NULL;
	/* A packed queue's producer allocates its arena; one that replaces
	 * a dead producer finds the records still in use in the cells. */
	if (q->packed && role == BUS_PRODUCER) {
		int ret = bus__queue_arena_open(q);

		if (ret) {
			free(q->held);
			free(q);
			return ret;
		}
	}
	*out = q;
	return 0;
}

void bus__queue_handle_destroy(struct bus_queue *q)
{
	if (!q)
		return;
	if (q->packed)
		bus__queue_arena_close(q);
	free(q->held);
	free(q);
}

const struct bus_queue_settings *bus_queue_settings(const bus_queue_t *q)
{
	return &q->geometry.settings;
}

int bus_queue_set_wait(bus_queue_t *q, enum bus_wait_strategy wait,
		       uint32_t spin_ns)
{
	if (wait != BUS_WAIT_SPIN_FUTEX && wait != BUS_WAIT_BUSY &&
	    wait != BUS_WAIT_FUTEX)
		return -EINVAL;
	q->wait = wait;
	q->spin_ns = spin_ns ? spin_ns : 2000;
	return 0;
}

void bus_queue_cancel(bus_queue_t *q)
{
	struct bus_queue_control *c = q->geometry.control;

	/* Relaxed flag; the futex raises below (seq_cst) make a sleeper
	 * wake and look at it. */
	bus__store_relaxed(&q->cancelled, 1);
	bus__wake_both(&c->data_futex, &c->space_futex);
}

void bus_queue_uncancel(bus_queue_t *q)
{
	bus__store_relaxed(&q->cancelled, 0);
}

/* Figures live in our own attachment line: only we write them. */
static void count(_Atomic uint64_t *figure, uint64_t n)
{
	bus__store_relaxed(figure, bus__load_relaxed(figure) + n);
}

static struct bus_cell *cell_at(const struct bus_queue *q, uint64_t position)
{
	return bus__queue_cell(&q->geometry, position);
}

/*
 * Where the message of a cell lies (packed.h), from header fields read once
 * (a hostile producer could change them under us); -EBADMSG for a record
 * outside the arena or an extension over the limit.
 */
static inline int locate(const struct bus_queue *q, struct bus_cell *cell,
			 uint32_t length, struct bus__record *r)
{
	const struct bus_message_header *h = &cell->header;

	if (!q->packed) {
		r->payload = (uint8_t *)cell + q->geometry.payload_offset;
		r->room = 0;
		return 0;
	}
	return bus__message_locate(
		&q->geometry.area, cell,
		*(const volatile uint32_t *)&h->record_offset, length,
		*(const volatile uint16_t *)&h->extension_length, r);
}

/* ---- producing --------------------------------------------------------- */

/*
 * A claim, and for a packed queue the room it needs: capacity bytes of
 * payload and room bytes of extension (need: the record's length).
 */
struct claim_context {
	uint64_t position;
	int dropped;
	uint32_t capacity;
	uint32_t room;
	uint32_t need;
	uint32_t offset; /* packed: the record's, once claimed */
};

/* What a loan of capacity bytes, with or without extension room, takes. */
static void claim_size(const struct bus_queue *q, struct claim_context *c,
		       uint32_t capacity, bool extension)
{
	c->capacity = capacity;
	c->room = extension ? q->geometry.area.extension_limit : 0;
	c->need = (uint32_t)bus__packed_record_length(capacity, c->room);
}

static int try_claim(struct bus_queue *q, void *context)
{
	struct claim_context *c = context;

	if (q->packed)
		return bus__queue_arena_claim(q, c->need, &c->position,
					      &c->offset, &c->dropped);
	if (q->spsc)
		return bus__ring_claim_spsc(q, &c->position, &c->dropped);
	return bus__ring_claim_mpmc(q, &c->position, &c->dropped);
}

/*
 * A queue busd deleted or closed takes no more messages: they would be
 * lost.  Relaxed: the state word's line is written once, at close, so this
 * costs a cached load; a send racing with the close is as if it came first.
 */
static int closed(const struct bus_queue *q)
{
	return bus__load_relaxed(&q->geometry.header->state) !=
	       BUS_SEGMENT_OPEN;
}

/* Why a closed queue answers no more: -EIDRM deleted, -ENOTCONN. */
static int gone(const struct bus_queue *q)
{
	return bus__segment_gone(
		bus__load_relaxed(&q->geometry.header->state));
}

/* One attempt at the next cell, without waiting (-ENOBUFS when full);
 * may_drop: a drop-oldest queue may give up its oldest message for it.
 * Direct calls, not try_claim(): that one is the wait's attempt and never
 * inlined. */
static inline int claim_now(struct bus_queue *q, struct claim_context *c,
			    bool may_drop)
{
	int *dropped = may_drop ? &c->dropped : NULL;

	if (q->packed)
		return bus__queue_arena_claim(q, c->need, &c->position,
					      &c->offset, dropped);
	if (!q->spsc)
		return bus__ring_claim_mpmc(q, &c->position, dropped);
	if (bus__ring_claim_spsc_fast(q, &c->position))
		return 0;
	return bus__ring_claim_spsc(q, &c->position, dropped);
}

/* Fills in the view of a cell we claimed. */
static inline void lend(struct bus_queue *q, const struct claim_context *c,
			struct bus_message *m)
{
	struct bus_cell *cell = cell_at(q, c->position);

	if (c->dropped)
		count(&q->attachment->dropped, (uint64_t)c->dropped);
	m->length = 0;
	m->header = &cell->header;
	m->token = c->position;
	/* One test at commit covers the setters and the queue's ttl. */
	m->extras = q->loan_extras;
	if (q->packed) {
		/* The record: payload, then the extension room at
		 * payload + round_up(capacity, 8) (bus.h).  The header keeps
		 * the loan's capacity until the commit (it is ours). */
		m->payload = q->geometry.area.arena + c->offset;
		m->capacity = c->capacity;
		m->room = c->room;
		m->extras |= BUS__EXTRAS_PACKED;
		cell->header.payload_length = c->capacity;
		return;
	}
	m->payload = (uint8_t *)cell + q->geometry.payload_offset;
	m->capacity = q->geometry.settings.max_message;
	m->room = 0;
}

/* A loan of capacity bytes (packed queues; fixed cells lend max_message),
 * with extension room or not. */
static inline int loan(struct bus_queue *q, struct bus_message *m,
		       int64_t timeout_ns, uint32_t capacity, bool extension)
{
	struct claim_context c = { 0 };
	int rc;

	if (q->role != BUS_PRODUCER)
		return -EBADF;
	if (closed(q))
		return gone(q);
	/* Fixed cells lend max_message whatever is asked: nothing to size. */
	if (q->packed)
		claim_size(q, &c, capacity, extension);
	rc = claim_now(q, &c, true);
	if (rc == -ENOBUFS &&
	    q->geometry.settings.overflow == BUS_OVERFLOW_BLOCK) {
		if (timeout_ns != BUS_NOWAIT && !q->wait_counted)
			count(&q->attachment->backpressure_waits, 1);
		rc = bus__wait(q, BUS__WAIT_SPACE, timeout_ns, try_claim, &c);
		q->wait_counted = timeout_ns != BUS_NOWAIT &&
				  (rc == -ETIMEDOUT || rc == -EINTR);
	} else {
		q->wait_counted = false;
	}
	if (rc < 0) {
		if (rc == -ENOBUFS)
			count(&q->attachment->rejected, 1);
		return rc;
	}
	lend(q, &c, m);
	return 0;
}

int bus_loan(bus_queue_t *q, struct bus_message *m, int64_t timeout_ns)
{
	return loan(q, m, timeout_ns, q->geometry.settings.max_message, true);
}

int bus_loan_sized(bus_queue_t *q, struct bus_message *m, size_t size,
		   int64_t timeout_ns)
{
	if (!q || !m)
		return -EINVAL;
	return bus__queue_loan_sized(q, m, timeout_ns, size, true);
}

int bus__queue_loan_sized(struct bus_queue *q, struct bus_message *m,
			  int64_t timeout_ns, size_t length, bool extension)
{
	if (q->role == BUS_PRODUCER &&
	    length > q->geometry.settings.max_message)
		return -EMSGSIZE;
	return loan(q, m, timeout_ns, (uint32_t)length, extension);
}

int bus_loan_batch(bus_queue_t *q, struct bus_message *messages,
		   unsigned int n, int64_t timeout_ns)
{
	unsigned int got;
	int rc;

	if (q->role != BUS_PRODUCER)
		return -EBADF;
	if (n == 0)
		return 0;
	rc = bus_loan(q, &messages[0], timeout_ns);
	if (rc < 0)
		return rc;
	/* The rest while there is room: a full queue ends the batch (it
	 * rejects nothing, drops nothing; the caller has what there was). */
	for (got = 1; got < n; got++) {
		struct claim_context c = { 0 };

		if (q->packed)
			claim_size(q, &c, q->geometry.settings.max_message,
				   true);
		if (claim_now(q, &c, false) < 0)
			break;
		lend(q, &c, &messages[got]);
	}
	return (int)got;
}

/* True if position is a cell we claimed and have not committed. */
static int is_our_loan(const struct bus_queue *q, uint64_t position)
{
	/* Relaxed: our own claim, written by this thread. */
	return bus__load_relaxed(&cell_at(q, position)->state) ==
	       bus__cell_state(position, q->owner, BUS__CELL_WRITING);
}

/* The publish stamp of a message, 0 when the handle sends none. */
static inline uint64_t publish_stamp(struct bus_queue *q)
{
	return q->no_timestamp ? 0 : bus__clock_now_ns(&q->clock);
}

/* The header of a message without key, headers, correlation or expiry. */
static inline void write_header(struct bus_queue *q,
				const struct bus_message *m,
				struct bus_message_header *h, uint32_t length,
				uint64_t stamp)
{
	*h = (struct bus_message_header){
		.header_length = sizeof(*h),
		.header_version = BUS_MESSAGE_HEADER_VERSION,
		.payload_length = length,
		.sequence = m->token,
		.publish_time_ns = stamp,
		.producer_id = q->client_id,
		/* Counts the first delivery already: a consumer never has
		 * to write the header to take a message. */
		.delivery_count = 1,
	};
}

/* The header, keeping what the bus_message_set_*() calls wrote into it
 * (the slot is ours until the commit) and applying ttl_ms. */
static __attribute__((noinline)) void
write_header_extended(struct bus_queue *q, const struct bus_message *m,
		      struct bus_message_header *h, uint32_t length,
		      uint64_t stamp)
{
	bool kept = m->extras & BUS__EXTRAS_SET;
	uint64_t correlation_id = kept ? h->correlation_id : 0;
	uint64_t expiry_ns = kept ? h->expiry_ns : 0;
	uint16_t extension_length = kept ? h->extension_length : 0;

	/* The queue's ttl_ms, unless the message has its own expiry. */
	if (q->ttl_ns && !expiry_ns)
		expiry_ns = (uint64_t)(bus__monotonic_ns() + q->ttl_ns);
	write_header(q, m, h, length, stamp);
	h->correlation_id = correlation_id;
	h->expiry_ns = expiry_ns;
	h->extension_length = extension_length;
}

/* After the header and publish: the bookkeeping of every commit. */
static inline void committed(struct bus_queue *q, const struct bus_message *m)
{
	/* The highest commit, not the last: loans may be committed out of
	 * order, and bus_flush() waits for every one (queue_flush.c). */
	if ((int64_t)(m->token + 1 - q->committed_through) > 0)
		q->committed_through = m->token + 1;
	count(&q->attachment->enqueued, 1);
}

/*
 * The commit of a packed loan: the extension the setters wrote after the
 * loan's capacity moves to follow the payload, the record shrinks to what
 * it holds, then the header and the publish as for a cell.
 */
static int commit_packed(struct bus_queue *q, const struct bus_message *m,
			 struct bus_message_header *h, uint32_t length,
			 bool last, uint64_t stamp)
{
	/* Our own header until the publish: what lend() left there. */
	uint32_t capacity = h->payload_length;
	uint32_t offset = h->record_offset;
	uint32_t extension =
		(m->extras & BUS__EXTRAS_SET) ? h->extension_length : 0;
	uint8_t *payload = q->geometry.area.arena + offset;

	if (length > capacity)
		return -EMSGSIZE;
	if (extension > q->geometry.area.extension_limit)
		return -EINVAL;
	if (extension && bus__packed_extension_at(length) !=
				 bus__packed_extension_at(capacity))
		memmove(payload + bus__packed_extension_at(length),
			payload + bus__packed_extension_at(capacity),
			extension);
	if (m->extras & ~BUS__EXTRAS_PACKED)
		write_header_extended(q, m, h, length, stamp);
	else
		write_header(q, m, h, length, stamp);
	h->record_offset = offset;
	bus__queue_arena_shrink(
		q, m->token,
		(uint32_t)bus__packed_record_length(length, extension));
	if (last)
		bus__ring_publish_seq_cst(q, m->token);
	else
		bus__ring_publish(q, m->token);
	committed(q, m);
	return 0;
}

/*
 * Fills the header and publishes; no wake-up (callers batch those).  The
 * last message of a call is published seq_cst, which spares the wake-up
 * check its fence.  stamp: publish_stamp(), taken by the caller.
 */
static int commit_quietly(struct bus_queue *q, const struct bus_message *m,
			  uint32_t length, bool last, uint64_t stamp)
{
	struct bus_cell *cell;
	struct bus_message_header *h;

	if (q->role != BUS_PRODUCER)
		return -EBADF;
	if (!is_our_loan(q, m->token))
		return -EINVAL;
	if (length > q->geometry.settings.max_message)
		return -EMSGSIZE;
	cell = cell_at(q, m->token);
	h = &cell->header;
	if (q->packed)
		return commit_packed(q, m, h, length, last, stamp);
	/* Key, headers, correlation or expiry set on the loan, or the
	 * queue's ttl_ms: out of line, so the plain path stays as it was. */
	if (__builtin_expect(m->extras != 0, 0))
		write_header_extended(q, m, h, length, stamp);
	else
		write_header(q, m, h, length, stamp);
	if (last)
		bus__ring_publish_seq_cst(q, m->token);
	else
		bus__ring_publish(q, m->token);
	committed(q, m);
	return 0;
}

int bus_commit(bus_queue_t *q, struct bus_message *m, uint32_t length)
{
	/* The TSC read first: its latency overlaps the checks. */
	int rc = commit_quietly(q, m, length, true, publish_stamp(q));

	if (rc == 0)
		bus__ring_wake_data_after_seq_cst(q);
	return rc;
}

/*
 * Loans, copies, commits.  *stamp: the publish stamp to use; 0 takes one
 * now (after the copy, at commit) and leaves it there, so that a batch
 * reads the clock once: its messages carry the stamp of the first one.
 */
static int send_one(struct bus_queue *q, const void *data, size_t length,
		    int64_t timeout_ns, bool last, uint64_t *stamp)
{
	struct bus_message m;
	int rc;

	if (q->role == BUS_PRODUCER &&
	    length > q->geometry.settings.max_message)
		return -EMSGSIZE;
	/* A copy reserves only what it sends (packed queues). */
	rc = loan(q, &m, timeout_ns, (uint32_t)length, false);
	if (rc < 0)
		return rc;
	memcpy(m.payload, data, length);
	if (!*stamp)
		*stamp = publish_stamp(q);
	return commit_quietly(q, &m, (uint32_t)length, last, *stamp);
}

int bus_commit_batch(bus_queue_t *q, struct bus_message *messages,
		     unsigned int n)
{
	unsigned int done = 0;
	uint64_t stamp;
	int rc = 0;

	if (q->role != BUS_PRODUCER)
		return -EBADF;
	if (n == 0)
		return 0;
	stamp = publish_stamp(q);
	while (done < n) {
		rc = commit_quietly(q, &messages[done], messages[done].length,
				    false, stamp);
		if (rc < 0)
			break;
		done++;
	}
	if (done == 0)
		return rc;
	/* One fenced wake-up check for the batch: a sleeper may wait on
	 * any of its cells (the first, mostly), and only a fence orders
	 * all of their publishes before the check. */
	bus__ring_wake_data(q);
	return (int)done;
}

int bus_send(bus_queue_t *q, const void *data, size_t length,
	     int64_t timeout_ns)
{
	uint64_t stamp = 0;
	int rc = send_one(q, data, length, timeout_ns, true, &stamp);

	if (rc == 0)
		bus__ring_wake_data_after_seq_cst(q);
	return rc;
}

int bus_send_batch(bus_queue_t *q, const struct bus_buffer *buffers,
		   unsigned int n, int64_t timeout_ns)
{
	unsigned int sent = 0;
	uint64_t stamp = 0;
	int rc = 0;

	while (sent < n) {
		rc = send_one(q, buffers[sent].data, buffers[sent].length,
			      sent == 0 ? timeout_ns : BUS_NOWAIT, false,
			      &stamp);
		if (rc < 0)
			break;
		sent++;
	}
	if (sent == 0)
		return rc;
	/* One fence and at most one wake for the whole batch. */
	bus__ring_wake_data(q);
	return (int)sent;
}

/* ---- consuming --------------------------------------------------------- */

struct take_context {
	uint64_t position;
	bool in_ring; /* a lazy SPSC take: the cell still says READY */
};

static int try_take(struct bus_queue *q, void *context)
{
	struct take_context *t = context;
	int rc;

	/* Nacked and orphaned messages go ahead of new ones.  Relaxed peek
	 * at the hint; take_redelivery reloads it with acquire. */
	if (bus__pending_raised(bus__load_relaxed(
		    &q->geometry.control->redeliver_pending)) &&
	    bus__ring_take_redelivery(q, &t->position) == 0) {
		t->in_ring = false;
		return 0;
	}
	if (!q->spsc)
		return bus__ring_take_mpmc(q, &t->position);
	rc = bus__ring_take_spsc(q, &t->position);
	t->in_ring = q->lazy;
	return rc;
}

/* A message we took: check what a peer wrote, then hand it out. */
static int deliver(struct bus_queue *q, const struct take_context *t,
		   struct bus_message *m)
{
	struct bus_cell *cell = cell_at(q, t->position);
	struct bus_message_header *h = &cell->header;
	/* Read once: a hostile producer could change it under us. */
	uint32_t length = *(volatile uint32_t *)&h->payload_length;
	struct bus__record r;

	bus__leases_push(q, t->position, t->in_ring);
	if (length > q->geometry.settings.max_message ||
	    locate(q, cell, length, &r) < 0) {
		/* Corrupt: drop it, as if acked, and say so. */
		bus__leases_ack(q, (uint32_t)bus__leases_find(q, t->position));
		bus__leases_publish(q);
		bus__ring_wake_space(q);
		return -EBADMSG;
	}
	/* Expired: dropped and counted; receive() takes the next. */
	if (__builtin_expect(h->expiry_ns != 0, 0) &&
	    bus__queue_expire(q, t->position))
		return 1;
	if (h->delivery_count > 1)
		count(&q->attachment->redelivered, 1);
	count(&q->attachment->dequeued, 1);
	bus__latency_record(&q->latency, h->publish_time_ns);
	m->payload = r.payload;
	m->length = length;
	m->capacity = length;
	m->header = h;
	m->token = t->position;
	/* Receiving: extras only says where the extension lies. */
	m->extras = q->packed ? BUS__EXTRAS_PACKED : 0;
	m->room = r.room;
	return 0;
}

/*
 * The fast path of a lazy SPSC consumer (queue_leases.c): takes up to max
 * messages in a row while the next cell holds a plain message (sane
 * length, no expiry), a lease is free and no redelivery waits.  It checks
 * each message before it takes it, so where it stops the general path
 * does the same take the long way, and says what is wrong.  The shared
 * position, the figures and the high-water peek are written once per run.
 * Returns how many it took.
 */
static inline __attribute__((always_inline)) unsigned int
take_lazy_run(struct bus_queue *q, struct bus_message *m, unsigned int max)
{
	uint64_t p = q->dequeue_position;
	uint32_t leases_free =
		q->geometry.settings.max_unacked - q->held_count;
	uint32_t max_message = q->geometry.settings.max_message;
	unsigned int k, redelivered = 0;

	if (max > leases_free)
		max = leases_free;
	/* Relaxed peek at the hint, as in try_take(). */
	if (max == 0 || bus__pending_raised(bus__load_relaxed(
				&q->geometry.control->redeliver_pending)))
		return 0;
	for (k = 0; k < max; k++) {
		struct bus_cell *cell = cell_at(q, p + k);
		struct bus_message_header *h = &cell->header;
		struct bus__record r;
		uint32_t length;

		/* Acquire: pairs with the release in bus__ring_publish. */
		if (bus__load_acquire(&cell->state) !=
		    bus__cell_state(p + k, 0, BUS__CELL_READY))
			break;
		/* Read once: a hostile producer could change it under us. */
		length = *(volatile uint32_t *)&h->payload_length;
		if (length > max_message || h->expiry_ns ||
		    locate(q, cell, length, &r) < 0)
			break;
		/* The payload's line while we do the bookkeeping. */
		__builtin_prefetch(r.payload);
		bus__leases_push_in_ring(q, p + k);
		redelivered += h->delivery_count > 1;
		bus__latency_record(&q->latency, h->publish_time_ns);
		m[k].payload = r.payload;
		m[k].length = length;
		m[k].capacity = length;
		m[k].header = h;
		m[k].token = p + k;
		m[k].extras = q->packed ? BUS__EXTRAS_PACKED : 0;
		m[k].room = r.room;
	}
	if (k == 0)
		return 0;
	/* The run is seen by nobody until the taken position below, and
	 * its cells still say READY: the walk from p measures a depth the
	 * queue had just before the run (queue_high_water.h). */
	bus__queue_note_depth(q, bus__queue_depth_seen(q, p));
	q->dequeue_position = p + k;
	/* Relaxed: as in bus__ring_take_spsc. */
	bus__store_relaxed(&q->geometry.control->taken_position, p + k);
	if (redelivered)
		count(&q->attachment->redelivered, redelivered);
	count(&q->attachment->dequeued, k);
	return k;
}

static inline __attribute__((always_inline)) int
take_lazy(struct bus_queue *q, struct bus_message *m)
{
	return take_lazy_run(q, m, 1) ? 0 : -EAGAIN;
}

/* A wait's attempt that takes nothing: is there something to take? */
static int anything_to_take(struct bus_queue *q, void *context)
{
	(void)context;
	return bus__queue_pending(q) ? 0 : -EAGAIN;
}

/*
 * A receive's deadline: 0 until it first waits or skips an expired message
 * (a clock read only on the way to sleep or in that rare case), so that a
 * receive that waits more than once still returns within its timeout.
 */
static void deadline_start(int64_t *deadline, int64_t timeout_ns)
{
	int64_t at;

	if (timeout_ns <= 0 || *deadline)
		return;
	/* -1: a timeout too long for the clock, forever; none kept. */
	at = bus__deadline_ns(timeout_ns);
	if (at > 0)
		*deadline = at;
}

/* What is left of timeout_ns once the deadline started. */
static int64_t deadline_left(int64_t deadline, int64_t timeout_ns)
{
	int64_t now;

	if (!deadline || timeout_ns <= 0)
		return timeout_ns;
	now = bus__monotonic_ns();
	return deadline > now ? deadline - now : BUS_NOWAIT;
}

/*
 * A lazy consumer waits for the next message to be there, then takes it
 * the fast way; 1 when the general path must go on (only an unusual
 * message or a redelivery gets there), within *deadline if it waited.
 */
static int receive_lazy(struct bus_queue *q, struct bus_message *m,
			int64_t timeout_ns, int64_t *deadline)
{
	int rc;

	/* No lease free: the general path answers at once. */
	if (q->held_count >= q->geometry.settings.max_unacked)
		return 1;
	if (take_lazy(q, m) == 0)
		return 0;
	/* Something the fast path does not take (a redelivery, a message
	 * to expire or to refuse): the general path. */
	if (bus__queue_pending(q))
		return 1;
	if (timeout_ns == BUS_NOWAIT)
		return closed(q) ? gone(q) : -EAGAIN;
	deadline_start(deadline, timeout_ns);
	rc = bus__wait(q, BUS__WAIT_DATA, timeout_ns, anything_to_take, NULL);
	if (rc == 0)
		return take_lazy(q, m) == 0 ? 0 : 1;
	if (rc == -EAGAIN && closed(q))
		return gone(q);
	return rc;
}

static int receive(struct bus_queue *q, struct bus_message *m,
		   int64_t timeout_ns)
{
	struct take_context t = { 0, false };
	int64_t deadline = 0;
	int rc;

	if (q->role != BUS_CONSUMER)
		return -EBADF;
	if (q->lazy) {
		rc = receive_lazy(q, m, timeout_ns, &deadline);
		if (rc != 1)
			return rc;
	}
again:
	if (bus__leases_full(q))
		return -ENOLCK;
	timeout_ns = deadline_left(deadline, timeout_ns);
	rc = try_take(q, &t);
	/* The deadline passed after a wait or a skip. */
	if (rc == -EAGAIN && deadline && timeout_ns == BUS_NOWAIT)
		return closed(q) ? gone(q) : -ETIMEDOUT;
	if (rc == -EAGAIN) {
		deadline_start(&deadline, timeout_ns);
		rc = bus__wait(q, BUS__WAIT_DATA, timeout_ns, try_take, &t);
	}
	if (rc == -EAGAIN && closed(q))
		return gone(q);
	if (rc < 0)
		return rc;
	rc = deliver(q, &t, m);
	if (__builtin_expect(rc != 1, 1))
		return rc;
	/* An expired message was skipped: the next one, within what is left
	 * of the timeout. */
	deadline_start(&deadline, timeout_ns);
	goto again;
}

int bus_receive(bus_queue_t *q, struct bus_message *m, int64_t timeout_ns)
{
	return receive(q, m, timeout_ns);
}

int bus_receive_batch(bus_queue_t *q, struct bus_message *messages,
		      unsigned int n, int64_t timeout_ns)
{
	unsigned int got = 0;
	int rc = 0;

	while (got < n) {
		/* After the first, a lazy consumer takes what is there the
		 * fast way, in one run; receive() does the rest. */
		if (got && q->lazy) {
			unsigned int k =
				take_lazy_run(q, &messages[got], n - got);

			if (k) {
				got += k;
				continue;
			}
		}
		rc = receive(q, &messages[got],
			     got == 0 ? timeout_ns : BUS_NOWAIT);
		if (rc < 0)
			break;
		got++;
	}
	return got ? (int)got : rc;
}

int bus_ack(bus_queue_t *q, const struct bus_message *m)
{
	int i, rc;

	if (q->role != BUS_CONSUMER)
		return -EBADF;
	if (!bus__lease_token_valid(m->token))
		return -EINVAL;
	/* A lazy consumer acking in order, the common case: no lookup. */
	if (q->lazy && bus__leases_ack_oldest_in_ring(q, m->token)) {
		count(&q->attachment->acked, 1);
		bus__leases_publish(q);
		bus__ring_wake_space(q);
		return 0;
	}
	i = bus__leases_find(q, m->token);
	if (i < 0)
		return -EINVAL;
	rc = bus__leases_ack(q, (uint32_t)i);
	if (rc < 0)
		return rc;
	count(&q->attachment->acked, 1);
	bus__leases_publish(q);
	bus__ring_wake_space(q);
	return 0;
}

int bus_nack(bus_queue_t *q, const struct bus_message *m)
{
	int i, rc;

	if (q->role != BUS_CONSUMER)
		return -EBADF;
	if (!bus__lease_token_valid(m->token))
		return -EINVAL;
	i = bus__leases_find(q, m->token);
	if (i < 0)
		return -EINVAL;
	rc = bus__leases_nack(q, (uint32_t)i);
	if (rc < 0)
		return rc;
	count(&q->attachment->nacked, 1);
	bus__leases_publish(q);
	bus__ring_wake_data(q);	 /* a consumer may take it back */
	bus__ring_wake_space(q); /* the producer may pass it */
	return 0;
}

int bus_ack_through(bus_queue_t *q, const struct bus_message *m)
{
	bool reached;
	int acked;

	if (q->role != BUS_CONSUMER)
		return -EBADF;
	if (!bus__lease_token_valid(m->token))
		return -EINVAL;
	/* Mostly the newest lease, a lazy take: no search for it. */
	if (!(q->held_count &&
	      q->held[bus__leases_slot(q, q->held_count - 1)] ==
		      ((m->token + 1) | BUS__LEASE_IN_RING)) &&
	    bus__leases_find(q, m->token) < 0)
		return -EINVAL;
	acked = (int)bus__leases_drop_in_ring_through(q, m->token, &reached);
	/* The oldest lease is always a live one: acking it walks the
	 * receive order up to the target. */
	while (!reached && q->held_count) {
		uint64_t position = bus__lease_position(q->held[q->held_head]);

		if (bus__leases_ack(q, 0) == 0)
			acked++;
		reached = position == m->token;
	}
	count(&q->attachment->acked, (uint64_t)acked);
	/* One published position, and one wake-up check, for the batch. */
	bus__leases_publish(q);
	if (acked)
		bus__ring_wake_space(q);
	return acked;
}

int bus_receive_copy(bus_queue_t *q, void *buf, size_t size,
		     int64_t timeout_ns)
{
	struct bus_message m;
	int rc = receive(q, &m, timeout_ns);

	if (rc < 0)
		return rc;
	if (m.length > size) {
		bus_nack(q, &m);
		return -EMSGSIZE;
	}
	memcpy(buf, m.payload, m.length);
	rc = bus_ack(q, &m);
	return rc < 0 ? rc : (int)m.length;
}
