/* SPDX-License-Identifier: MIT */
/*
 * Looking at queued messages without taking them (busctl peek).
 *
 * A peek only loads: it never writes the segment, so an observer's
 * read-only mapping is enough and neither the queue's state nor its
 * figures change.  Each call scans the cells for the queued message with
 * the smallest position after the cursor, copies it, and checks the
 * cell's state word again afterwards, seqlock style: a message that was
 * taken and acked, and its cell reused, while we copied it has another
 * state (the position in the state word only grows), so the copy is
 * thrown away and the scan starts over.  The scan costs one load per
 * cell; a peek is an operator's look, never on the data path.
 */
#include <errno.h>
#include <string.h>

#include "atomics.h"
#include "queue.h"
#include "queue_cell.h"

/* Tries before a queue that keeps changing under us gives -EBUSY. */
#define PEEK_TRIES 64

/* Words of a cell as copied while a producer may be writing them (after
 * our first look, if the message was taken and the cell reused): atomic,
 * so the copy is no data race, and may_alias, as in topic_ring.c. */
typedef _Atomic uint64_t __attribute__((may_alias)) peek_word;
typedef _Atomic uint8_t __attribute__((may_alias)) peek_byte;

/* Relaxed word loads: the state check afterwards decides. */
static void peek_copy(void *to, const void *from, size_t length)
{
	const peek_word *word = (const peek_word *)from;
	uint8_t *out = to;
	size_t i;

	for (i = 0; i + 8 <= length; i += 8, word++) {
		uint64_t value = bus__load_relaxed(word);

		memcpy(out + i, &value, 8);
	}
	for (; i < length; i++)
		out[i] = bus__load_relaxed((const peek_byte *)from + i);
}

/*
 * A READY cell of a lazy SPSC queue (queue_leases.c) may be held or done:
 * its consumer takes and releases messages by moving two positions, not
 * by writing the cells.  Only those at or after the taken position are
 * queued.  The same rule as queue_stats.c's classify_ready.
 */
static int peek_ready_queued(const struct bus__queue_geometry *g,
			     uint64_t state)
{
	uint64_t taken;

	if (g->settings.type != BUS_QUEUE_SPSC ||
	    g->settings.overflow == BUS_OVERFLOW_DROP_OLDEST)
		return 1;
	taken = bus__load_relaxed(&g->control->taken_position);
	return bus__position_diff(bus__cell_position(state),
				  bus__position_wrap(taken)) >= 0;
}

static int peek_queued(const struct bus__queue_geometry *g, uint64_t state)
{
	switch (bus__cell_kind(state)) {
	case BUS__CELL_READY:
		return peek_ready_queued(g, state);
	case BUS__CELL_REDELIVER:
		return 1;
	default:
		return 0;
	}
}

struct peek_found {
	uint32_t cell;
	uint64_t state;
};

/*
 * The queued cell with the smallest position after the cursor (0: the
 * smallest of all).  Positions of live cells lie within two laps of each
 * other, so differences order them even across the 48-bit wrap.
 */
static int peek_scan(const struct bus__queue_geometry *g, uint64_t cursor,
		     struct peek_found *found)
{
	int have = 0;

	for (uint32_t i = 0; i < g->slots; i++) {
		/* Acquire: pairs with the producer's release of READY (or the
		 * consumer's of REDELIVER); the message is visible with it. */
		uint64_t state =
			bus__load_acquire(&bus__queue_cell(g, i)->state);
		uint64_t position = bus__cell_position(state);

		if (!peek_queued(g, state))
			continue;
		if (cursor && bus__position_diff(position, cursor - 1) <= 0)
			continue;
		if (have &&
		    bus__position_diff(position,
				       bus__cell_position(found->state)) >= 0)
			continue;
		found->cell = i;
		found->state = state;
		have = 1;
	}
	return have ? 0 : -EAGAIN;
}

/* Where a found cell's copy goes: the header (with room bytes of header
 * room after it, as in a cell), and the payload. */
struct peek_target {
	struct bus_message_header *header;
	uint32_t room;
	void *payload;
	size_t size; /* of payload */
};

/*
 * Copies the message of a found cell.  -ESTALE when the cell changed
 * meanwhile (scan again), else the payload length or a negative errno.
 */
static int peek_copy_found(const struct bus__queue_geometry *g,
			   const struct peek_found *found,
			   const struct peek_target *to)
{
	struct bus_cell *cell = bus__queue_cell(g, found->cell);
	struct bus__record r;
	uint32_t length, extension = 0;
	int located;

	if (g->area.arena) {
		peek_copy(to->header, &cell->header, sizeof(*to->header));
		extension = to->header->extension_length;
	} else {
		/* The header and its room are contiguous in a cell. */
		peek_copy(to->header, &cell->header,
			  sizeof(*to->header) + to->room);
	}
	length = to->header->payload_length;
	/* From our copy of the header: the record of a packed message. */
	located = bus__message_locate(&g->area, cell,
				      to->header->record_offset, length,
				      extension, &r);
	/* Nothing in shared memory is trusted: a bad length is a changed
	 * or corrupt cell; the state check below tells which. */
	if (located == 0 && length <= g->settings.max_message &&
	    length <= to->size)
		peek_copy(to->payload, r.payload, length);
	/* A packed message's key and headers, into the view's room. */
	if (located == 0 && g->area.arena && extension <= to->room)
		peek_copy(to->header + 1, r.extension, extension);
	/* Acquire fence: if a load above read a word a producer wrote after
	 * reclaiming the cell, the load below sees at least that claim (it
	 * pairs with the acquire-release CAS of the claim in queue_ring.c,
	 * which comes before the producer's writes). */
	bus__fence_acquire();
	if (bus__load_relaxed(&cell->state) != found->state)
		return -ESTALE;
	/* A packed record may be written over while its cell still says
	 * READY: once a lazy consumer took and released it.  Still queued
	 * after the fence: it was not released while we copied. */
	if (g->area.arena && !peek_queued(g, found->state))
		return -ESTALE;
	if (length > g->settings.max_message || located < 0)
		return -EBADMSG;
	if (length > to->size)
		return -EMSGSIZE;
	return (int)length;
}

static int peek_next(const bus_queue_t *q, uint64_t *cursor,
		     const struct peek_target *to)
{
	struct peek_found found = { 0 };
	int ret;

	for (int tries = 0; tries < PEEK_TRIES; tries++) {
		ret = peek_scan(&q->geometry, *cursor, &found);
		if (ret < 0)
			return ret;
		ret = peek_copy_found(&q->geometry, &found, to);
		if (ret == -ESTALE)
			continue;
		/* A corrupt message is stepped over, as a consumer would. */
		if (ret >= 0 || ret == -EBADMSG)
			*cursor = bus__cell_position(found.state) + 1;
		return ret;
	}
	return -EBUSY;
}

int bus_queue_peek(const bus_queue_t *q, uint64_t *cursor, void *buf,
		   size_t size, struct bus_message_header *header)
{
	struct bus_message_header copy;
	struct peek_target to = { &copy, 0, buf, size };
	int ret;

	if (!q || !cursor || (!buf && size))
		return -EINVAL;
	ret = peek_next(q, cursor, &to);
	if (ret >= 0 && header)
		*header = copy;
	return ret;
}

/* The header room of a view: a cell's, from the end of the header to the
 * payload; a packed queue's, its extension limit (8-aligned, so that the
 * payload after it is too). */
static uint32_t peek_room(const bus_queue_t *q)
{
	if (q->geometry.area.arena)
		return (q->geometry.area.extension_limit + 7u) & ~7u;
	return q->geometry.payload_offset - (uint32_t)sizeof(struct bus_cell);
}

size_t bus_queue_peek_size(const bus_queue_t *q)
{
	if (!q)
		return 0;
	return sizeof(struct bus_message_header) + peek_room(q) +
	       q->geometry.settings.max_message;
}

int bus_queue_peek_message(const bus_queue_t *q, uint64_t *cursor, void *buf,
			   size_t size, struct bus_message *m)
{
	size_t head;
	struct peek_target to;
	int ret;

	if (!q || !cursor || !buf || !m)
		return -EINVAL;
	head = sizeof(struct bus_message_header) + peek_room(q);
	/* 8-byte aligned, as the header's fields need. */
	if ((uintptr_t)buf % 8 || size < head)
		return size < head ? -EMSGSIZE : -EINVAL;
	to = (struct peek_target){ buf, peek_room(q), (uint8_t *)buf + head,
				   size - head };
	ret = peek_next(q, cursor, &to);
	if (ret < 0)
		return ret;
	*m = (struct bus_message){
		.payload = to.payload,
		.length = (uint32_t)ret,
		.capacity = (uint32_t)ret,
		.header = to.header,
	};
	return ret;
}
