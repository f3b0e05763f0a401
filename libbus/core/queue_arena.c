/* SPDX-License-Identifier: MIT */
/*
 * A packed queue's arena, from its single producer's side (queue_arena.h).
 *
 * The producer allocates records with arena.c and judges an old record by
 * the cell of its position (queue_cell.h):
 *
 *   FREE                     GONE (acked, dropped, padded)
 *   WRITING(q, us)           BUSY: a loan of ours still open
 *   WRITING of another one   GONE: the cell was reused
 *   READY(q)                 BUSY: still to be read, unless a lazy consumer
 *                            released q already (GONE), or a drop-oldest
 *                            loan drops it (GONE)
 *   READY of another one     GONE
 *   HELD, REDELIVER, DEAD    PINNED when the cell's header still points at
 *                            the record (skips move the state's position,
 *                            not the message), else GONE
 *
 * and, for a durable queue, nothing is GONE before busd's journal thread
 * copied it (q < journal_position): BUSY until then, and the producer
 * waits for room as for a full ring.
 */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "queue_arena.h"
#include "queue_cell.h"
#include "queue_ring.h"

/* A verdict's stand-in: the cell changed under us, judge it again. */
#define AGAIN 3

struct judging {
	struct bus_queue *q;
	int *dropped; /* NULL: may not drop */
	int drops;
};

/* Has busd's journal thread copied the message of position? */
static bool journal_copied(struct bus_queue *q, uint64_t position)
{
	if (!q->durable || (int64_t)(position - q->cached_journal) < 0)
		return true;
	/* Acquire: pairs with the journal thread's store of the position
	 * after it copied the message (busd/durable_ring.c), so its reads of
	 * the record come before our writes over it. */
	q->cached_journal =
		bus__load_acquire(&q->geometry.control->journal_position);
	return (int64_t)(position - q->cached_journal) < 0;
}

/* The header's record offset, read once: a peer could change it. */
static uint32_t record_of(const struct bus_cell *cell)
{
	return *(const volatile uint32_t *)&cell->header.record_offset;
}

/* A READY cell at the extent's position: a verdict, or AGAIN. */
static int judge_ready(struct judging *j, struct bus_cell *cell,
		       uint64_t *state, const struct bus__arena_extent *e)
{
	struct bus_queue *q = j->q;
	uint64_t next;

	if (q->lazy) {
		if ((int64_t)(e->position - q->cached_released) < 0)
			return BUS__ARENA_GONE;
		/* Acquire: pairs with the release in bus__leases_publish,
		 * so the consumer's reads of the payload, and its state
		 * changes, come before our overwrite. */
		q->cached_released = bus__load_acquire(
			&q->geometry.control->dequeue_position);
		if ((int64_t)(e->position - q->cached_released) >= 0)
			return BUS__ARENA_BUSY;
		/* The consumer may have moved the message into its cell
		 * (HELD) just before it released the position: look again
		 * (acquire, as the first look). */
		next = bus__load_acquire(&cell->state);
		if (next != *state) {
			*state = next;
			return AGAIN;
		}
		return BUS__ARENA_GONE;
	}
	if (!j->dropped ||
	    q->geometry.settings.overflow != BUS_OVERFLOW_DROP_OLDEST ||
	    !journal_copied(q, e->position))
		return BUS__ARENA_BUSY;
	/* Drop-oldest: the consumer at the dropped position sees a newer
	 * state and moves on.  acq_rel, as a claim: on failure we judge the
	 * new state (a consumer took it). */
	next = bus__cell_state(
		bus__position_wrap(e->position + q->geometry.slots), 0,
		BUS__CELL_FREE);
	if (!bus__cas_acq_rel(&cell->state, state, next))
		return AGAIN;
	j->drops++;
	return BUS__ARENA_GONE;
}

static enum bus__arena_verdict judge(void *context,
				     const struct bus__arena_extent *e)
{
	struct judging *j = context;
	struct bus_queue *q = j->q;
	struct bus_cell *cell = bus__queue_cell(&q->geometry, e->position);
	uint64_t p = bus__position_wrap(e->position);
	/* Acquire: pairs with the consumer's release when it acks or frees
	 * the cell (or publishes its released position), so its reads of
	 * the payload come before our overwrite. */
	uint64_t state = bus__load_acquire(&cell->state);
	int verdict = AGAIN;

	for (int looks = 0; looks < 4; looks++) {
		switch (bus__cell_kind(state)) {
		case BUS__CELL_FREE:
			verdict = BUS__ARENA_GONE;
			break;
		case BUS__CELL_WRITING:
			verdict = state == bus__cell_state(p, q->owner,
							   BUS__CELL_WRITING)
					  ? BUS__ARENA_BUSY
					  : BUS__ARENA_GONE;
			break;
		case BUS__CELL_READY:
			verdict = bus__cell_position(state) == p
					  ? judge_ready(j, cell, &state, e)
					  : BUS__ARENA_GONE;
			break;
		default:
			/* HELD, REDELIVER, DEAD (and a corrupt kind: kept
			 * rather than overwritten). */
			verdict = record_of(cell) == e->start
					  ? BUS__ARENA_PINNED
					  : BUS__ARENA_GONE;
			break;
		}
		if (verdict != AGAIN)
			break;
	}
	if (verdict == AGAIN)
		verdict = BUS__ARENA_BUSY; /* a cell that keeps changing */
	if (verdict == BUS__ARENA_GONE && !journal_copied(q, e->position))
		return BUS__ARENA_BUSY;
	return (enum bus__arena_verdict)verdict;
}

static void mirror_head(struct bus_queue *q)
{
	/* Relaxed: read only by a replacement producer (or busd) after
	 * busd saw us go; the socket round trip orders them. */
	bus__store_relaxed(&q->geometry.control->arena_head, q->arena.head);
}

int bus__queue_arena_claim(struct bus_queue *q, uint32_t need,
			   uint64_t *position, uint32_t *offset, int *dropped)
{
	struct judging j = { q, dropped, 0 };
	int rc = bus__arena_find(&q->arena, need, judge, &j, offset);

	/* What the judge dropped is gone whether or not the cell follows:
	 * counted here (our own attachment line: relaxed, only we write
	 * it); the ring's own drop, if any, the caller counts. */
	if (j.drops)
		bus__store_relaxed(&q->attachment->dropped,
				   bus__load_relaxed(&q->attachment->dropped) +
					   (uint64_t)j.drops);
	if (rc)
		return rc == -ENOBUFS ? rc : -EBADMSG;
	rc = bus__ring_claim_spsc(q, position, dropped);
	if (rc)
		return rc;
	bus__arena_take(&q->arena, *position, *offset, need);
	/* The header is ours until the commit publishes it. */
	bus__queue_cell(&q->geometry, *position)->header.record_offset =
		*offset;
	mirror_head(q);
	return 0;
}

void bus__queue_arena_shrink(struct bus_queue *q, uint64_t position,
			     uint32_t length)
{
	bus__arena_shrink(&q->arena, position, length);
	mirror_head(q);
}

/*
 * The extent of a cell's message, if its record may still be in use: a
 * message in the ring (READY, at or after a lazy consumer's released
 * position), held, to be redelivered or dead; for a durable queue also
 * an acked one busd has not copied yet.  0 (none), 1, or -EBADMSG.
 */
static int cell_extent(struct bus_queue *q, const struct bus_cell *cell,
		       uint64_t released, struct bus__arena_extent *e)
{
	const struct bus__queue_geometry *g = &q->geometry;
	/* Acquire: the header was written before the state (the commit's
	 * release); busd's handshake ordered the rest. */
	uint64_t state = bus__load_acquire(&cell->state);
	uint64_t position = bus__cell_position(state);
	uint32_t length, extension;

	switch (bus__cell_kind(state)) {
	case BUS__CELL_WRITING:
		return 0; /* a dead producer's loan: busd pads it */
	case BUS__CELL_FREE:
		if (!q->durable || position < g->slots)
			return 0;
		position -= g->slots;
		if (bus__position_diff(position,
				       bus__position_wrap(q->cached_journal)) <
		    0)
			return 0;
		break;
	case BUS__CELL_READY:
		if (q->lazy &&
		    bus__position_diff(position,
				       bus__position_wrap(released)) < 0)
			return 0; /* released: its bytes may be reused */
		break;
	default:
		break;
	}
	length = *(const volatile uint32_t *)&cell->header.payload_length;
	extension = *(const volatile uint16_t *)&cell->header.extension_length;
	if (length > g->settings.max_message ||
	    extension > g->area.extension_limit)
		return -EBADMSG;
	*e = (struct bus__arena_extent){
		.position = position,
		.start = record_of(cell),
		.length =
			(uint32_t)bus__packed_record_length(length, extension),
	};
	return 1;
}

int bus__queue_arena_open(struct bus_queue *q)
{
	const struct bus__queue_geometry *g = &q->geometry;
	struct bus__arena_extent *live;
	uint32_t count = 0;
	uint64_t head, released;
	int ret;

	ret = bus__arena_init(&q->arena, g->area.arena_bytes, g->slots);
	if (ret)
		return ret;
	live = malloc((size_t)g->slots * sizeof(*live));
	if (!live) {
		bus__arena_destroy(&q->arena);
		return -ENOMEM;
	}
	/* Relaxed: left by our predecessor (or busd) before we attached;
	 * the attach handshake orders them. */
	head = bus__load_relaxed(&g->control->arena_head);
	released = bus__load_relaxed(&g->control->dequeue_position);
	for (uint32_t i = 0; i < g->slots && ret >= 0; i++) {
		ret = cell_extent(q, bus__queue_cell(g, i), released,
				  &live[count]);
		count += ret > 0;
	}
	if (ret >= 0)
		ret = head > g->area.arena_bytes
			      ? -EBADMSG
			      : bus__arena_rebuild(&q->arena, (uint32_t)head,
						   live, count);
	free(live);
	if (ret) {
		bus__arena_destroy(&q->arena);
		return ret == -ENOMEM ? ret : -EBADMSG;
	}
	return 0;
}

void bus__queue_arena_close(struct bus_queue *q)
{
	bus__arena_destroy(&q->arena);
}
