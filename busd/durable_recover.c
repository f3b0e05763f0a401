/* SPDX-License-Identifier: MIT */
/*
 * Making a durable queue agree with its journal when busd starts
 * (busd/durable.h).
 *
 * The journal is read twice.  The first pass learns which sequences it
 * holds (the last record of each: a retry after a failed write may append
 * a message again), the newest delivery count noted for each (in ACK
 * records of busd's own shape, busd/durable_ring.c) and which were acked;
 * what remains, in sequence order, is what the queue must hold.
 *
 * Rebuild (no segment: a reboot).  The second pass writes the k messages
 * not acked into the fresh segment at positions base .. base + k - 1 as
 * READY cells, where base is one past the newest sequence the journal
 * ever held, so that new messages (whose sequence is their position) sort
 * after them.  A packed (spsc) queue's messages go to its arena: busd is
 * its writer then, and allocates their records in order from offset 0
 * with the producer's own allocator (libbus/core/arena.h); the arena head
 * it leaves in control->arena_head is where the first producer's rebuild
 * of the arena starts (bus__arena_rebuild).  A journal that holds more
 * record bytes than the arena (ring_bytes made smaller, or max_message
 * larger, since it was written) is refused as one that holds more
 * messages than slots is: busd does not start, says what ring_bytes
 * would hold them, and leaves the journal as it is, so that nothing is
 * lost and a busd with a larger ring_bytes brings everything back.  A
 * rebuilt message keeps its sequence in its header: the journal thread
 * acks it by that sequence.  journal_position and durable_position start
 * at base + k: the rebuilt ones are on disk.
 *
 * Adopt (busd restarted, the segment is there).  Every message the
 * journal holds unacked but the segment no longer holds was acked while
 * no busd looked: its ack is appended now.  Messages the segment holds go
 * into the held table; copying resumes at the journal's end (or a lap
 * before journal_position), and what the dead busd had copied but not
 * written is copied again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "atomics.h"
#include "detail.h"
#include "durable_queue.h"
#include "message_area.h"
#include "queue_cell.h"

struct recovered_message {
	uint64_t sequence;
	uint64_t ordinal;	 /* of its record, counting messages read */
	uint32_t delivery_count; /* the newest noted after it, 0: none */
	/* Bytes its record takes in a packed queue's arena (of its last
	 * copy in the journal). */
	uint64_t record_length;
	bool acked;
	bool taken; /* a consumer was seen holding it */
};

struct recovery {
	struct recovered_message *m; /* sorted by sequence */
	size_t count;
	size_t capacity;
	uint64_t ordinal;
	uint64_t next_sequence; /* one past the newest seen */
};

/* First index with sequence >= s. */
static size_t lower_bound(const struct recovery *r, uint64_t s)
{
	size_t low = 0, high = r->count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (r->m[mid].sequence < s)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

static int note_message(struct recovery *r, uint64_t sequence,
			uint64_t record_length)
{
	size_t at;

	r->ordinal++;
	if (sequence + 1 > r->next_sequence)
		r->next_sequence = sequence + 1;
	/* The common case: in order, after everything. */
	at = r->count && r->m[r->count - 1].sequence >= sequence
		     ? lower_bound(r, sequence)
		     : r->count;
	if (at < r->count && r->m[at].sequence == sequence) {
		r->m[at].ordinal = r->ordinal;
		r->m[at].record_length = record_length;
		r->m[at].acked = false;
		r->m[at].taken = false;
		r->m[at].delivery_count = 0;
		return 0;
	}
	if (r->count == r->capacity) {
		size_t capacity = r->capacity ? r->capacity * 2 : 1024;
		struct recovered_message *m =
			realloc(r->m, capacity * sizeof(*m));

		if (!m)
			return -ENOMEM;
		r->m = m;
		r->capacity = capacity;
	}
	memmove(&r->m[at + 1], &r->m[at], (r->count - at) * sizeof(*r->m));
	r->m[at] = (struct recovered_message){
		.sequence = sequence,
		.ordinal = r->ordinal,
		.record_length = record_length,
	};
	r->count++;
	return 0;
}

/* busd's delivery-count notes: pairs after the mark (durable_ring.c). */
static void note_counts(struct recovery *r, const struct bus_journal_range *a,
			uint32_t n)
{
	for (uint32_t i = 1; i + 1 < n; i += 2) {
		size_t at = lower_bound(r, a[i].first);

		uint64_t v = a[i + 1].first;

		if (at == r->count || r->m[at].sequence != a[i].first)
			continue;
		if ((v & ~(uint64_t)UINT32_MAX) == BUSD_DURABLE_COUNT_TAKEN)
			r->m[at].taken = true;
		else if (v > UINT32_MAX)
			continue; /* a note of a newer busd's */
		r->m[at].delivery_count = (uint32_t)v;
	}
}

static void note_acks(struct recovery *r, const struct bus_journal_range *a,
		      uint32_t n)
{
	if (n && a[0].first == BUSD_DURABLE_COUNTS_MARK && a[0].count == 0) {
		note_counts(r, a, n);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = a[i].first + a[i].count;

		for (size_t at = lower_bound(r, a[i].first);
		     at < r->count && r->m[at].sequence < end; at++)
			r->m[at].acked = true;
	}
}

/* Keeps the messages not acked, in order. */
static void keep_unacked(struct recovery *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->count; i++)
		if (!r->m[i].acked)
			r->m[kept++] = r->m[i];
	r->count = kept;
}

static int read_pass(const char *directory, struct recovery *r,
		     struct busd_durable_queue *dq, struct bus__arena *arena,
		     uint64_t base, char *detail, size_t detail_size);

static int learn(const char *directory, struct recovery *r, char *detail,
		 size_t detail_size)
{
	int ret = read_pass(directory, r, NULL, NULL, 0, detail, detail_size);

	if (ret == 0)
		keep_unacked(r);
	return ret;
}

/* ---- rebuild ---------------------------------------------------------- */

/* Monotonic stamp of a wall time, for the header; 0 when unknown. */
static uint64_t monotonic_of(uint64_t wall_ns)
{
	struct timespec w, m;
	uint64_t wall, mono;

	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	wall = (uint64_t)w.tv_sec * 1000000000u + (uint64_t)w.tv_nsec;
	mono = (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
	if (!wall_ns || wall_ns > wall || wall - wall_ns >= mono)
		return 0;
	return mono - (wall - wall_ns);
}

/* The CLOCK_MONOTONIC deadline of a CLOCK_REALTIME one (a message's
 * expiry, durable_ring.c): 0 stays 0, one past stays past (1: long
 * ago, expired at its first look). */
static uint64_t monotonic_deadline_of(uint64_t wall_ns)
{
	struct timespec w, m;
	uint64_t wall, mono;

	if (!wall_ns)
		return 0;
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	wall = (uint64_t)w.tv_sec * 1000000000u + (uint64_t)w.tv_nsec;
	mono = (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
	if (wall_ns >= wall)
		return wall_ns - wall < UINT64_MAX - mono
			       ? mono + (wall_ns - wall)
			       : UINT64_MAX;
	return wall - wall_ns < mono ? mono - (wall - wall_ns) : 1;
}

/*
 * The judge of the refill's arena: every record busd wrote is a message
 * still to be read, so coming round to one means the arena is full.  It
 * never does (rebuild checks the bytes first); BUSY keeps it so.
 */
static enum bus__arena_verdict refill_judge(void *context,
					    const struct bus__arena_extent *e)
{
	(void)context;
	(void)e;
	return BUS__ARENA_BUSY;
}

/* A packed queue's record for a message of these lengths, at position:
 * 0 and *offset, or a negative errno with detail. */
static int put_record(struct busd_durable_queue *dq, struct bus__arena *arena,
		      uint64_t position, const struct bus_journal_message *m,
		      uint32_t *offset, char *detail, size_t detail_size)
{
	uint64_t length = bus__packed_record_length(m->payload_length,
						    m->extension_length);
	int ret = bus__arena_find(arena, (uint32_t)length, refill_judge, NULL,
				  offset);

	if (ret < 0)
		return bus__detail(detail, detail_size, -ENOBUFS,
				   "queue '%s': message %llu does not fit "
				   "the arena of %u bytes (ring_bytes) after "
				   "the ones before it",
				   dq->name, (unsigned long long)m->sequence,
				   arena->bytes);
	bus__arena_take(arena, position, *offset, (uint32_t)length);
	return 0;
}

/* Writes one recovered message into the cell of position (and, in a
 * packed queue, its record into the arena). */
static int put_message(struct busd_durable_queue *dq, struct bus__arena *arena,
		       uint64_t position, const struct bus_journal_entry *e,
		       uint32_t delivery_count, bool taken, char *detail,
		       size_t detail_size)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	const struct bus_journal_message *m = &e->message;
	struct bus_cell *cell = bus__queue_cell(g, position);
	uint32_t record_offset = 0;
	struct bus__record rec;
	int ret;

	if (m->payload_length > g->settings.max_message ||
	    m->extension_length > busd_extension_room(&g->area))
		return bus__detail(detail, detail_size, -EMSGSIZE,
				   "%s: offset %llu: message %llu has %u "
				   "payload bytes and %u of key and headers, "
				   "more than the queue's max_message (%u) or "
				   "header_room (%u)",
				   e->file, (unsigned long long)e->offset,
				   (unsigned long long)m->sequence,
				   m->payload_length, m->extension_length,
				   g->settings.max_message,
				   busd_extension_room(&g->area));
	if (arena) {
		ret = put_record(dq, arena, position, m, &record_offset,
				 detail, detail_size);
		if (ret < 0)
			return ret;
	}
	ret = bus__message_locate(&g->area, cell, record_offset,
				  m->payload_length, m->extension_length,
				  &rec);
	if (ret < 0)
		return bus__detail(detail, detail_size, -EBADMSG,
				   "queue '%s': message %llu: its record at "
				   "%u does not fit the arena of %u bytes",
				   dq->name, (unsigned long long)m->sequence,
				   record_offset, g->area.arena_bytes);
	cell->header = (struct bus_message_header){
		.header_length = sizeof(cell->header),
		.header_version = BUS_MESSAGE_HEADER_VERSION,
		.flags = (uint8_t)m->flags,
		.payload_length = m->payload_length,
		.sequence = m->sequence,
		.publish_time_ns = monotonic_of(m->time_ns),
		.correlation_id = m->correlation_id,
		.expiry_ns = monotonic_deadline_of(m->expiry_ns),
		.delivery_count = delivery_count > m->delivery_count
					  ? delivery_count
					  : m->delivery_count,
		.extension_length = (uint16_t)m->extension_length,
		.record_offset = record_offset,
	};
	if (!cell->header.delivery_count)
		cell->header.delivery_count = 1;
	/* Delivered before, as far as the journal knows: a failed delivery
	 * raised its count, or a consumer was seen holding it (taken,
	 * perhaps processed, never acked). */
	if (cell->header.delivery_count > 1 || taken)
		cell->header.flags |= BUS_MESSAGE_REDELIVERED;
	memcpy(rec.extension, m->extension, m->extension_length);
	memcpy(rec.payload, m->payload, m->payload_length);
	dq->held[position & g->mask] = (struct busd_durable_held){
		.sequence = m->sequence,
		.position = position,
		.delivery_count = cell->header.delivery_count,
		.live = true,
		.taken = taken,
	};
	dq->held_count++;
	return 0;
}

/* One pass over the journal: learning (dq NULL) or putting the unacked
 * messages at base + their rank. */
static int read_pass(const char *directory, struct recovery *r,
		     struct busd_durable_queue *dq, struct bus__arena *arena,
		     uint64_t base, char *detail, size_t detail_size)
{
	struct bus_journal_reader *reader;
	struct bus_journal_entry e;
	uint64_t ordinal = 0;
	int ret;

	ret = bus_journal_reader_open(&reader, directory, detail, detail_size);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	while ((ret = bus_journal_next(reader, &e, detail, detail_size)) > 0) {
		if (!dq) {
			if (e.type == BUS_JOURNAL_RECORD_MESSAGE)
				ret = note_message(
					r, e.message.sequence,
					bus__packed_record_length(
						e.message.payload_length,
						e.message.extension_length));
			else if (e.type == BUS_JOURNAL_RECORD_ACK)
				note_acks(r, e.ranges, e.range_count);
			if (ret < 0)
				break;
			continue;
		}
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		ordinal++;
		size_t at = lower_bound(r, e.message.sequence);

		if (at == r->count ||
		    r->m[at].sequence != e.message.sequence ||
		    r->m[at].ordinal != ordinal)
			continue;
		ret = put_message(dq, arena, base + at, &e,
				  r->m[at].delivery_count, r->m[at].taken,
				  detail, detail_size);
		if (ret < 0)
			break;
	}
	bus_journal_reader_close(reader);
	if (ret == -ENOMEM)
		bus__detail(detail, detail_size, ret,
			    "out of memory reading the journal");
	return ret < 0 ? ret : 0;
}

static void set_positions(struct busd_durable_queue *dq, uint64_t base,
			  uint64_t end)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	struct bus_queue_control *c = g->control;

	/* Every cell free for the lap that starts at end, but those of
	 * the rebuilt messages. */
	for (uint64_t p = end; p < end + g->slots; p++) {
		struct bus_cell *cell = bus__queue_cell(g, p);

		if (p >= base + g->slots)
			bus__store_relaxed(
				&cell->state,
				bus__cell_state(
					bus__position_wrap(p - g->slots), 0,
					BUS__CELL_READY));
		else
			bus__store_relaxed(
				&cell->state,
				bus__cell_state(bus__position_wrap(p), 0,
						BUS__CELL_FREE));
	}
	/* Relaxed: no client has the segment yet; busd hands it out over
	 * the socket, which orders these stores before any use. */
	bus__store_relaxed(&c->enqueue_position, end);
	bus__store_relaxed(&c->dequeue_position, base);
	bus__store_relaxed(&c->taken_position, base);
	bus__store_relaxed(&c->journal_position, end);
	bus__store_relaxed(&c->durable_position, end);
	dq->copied = dq->appended = dq->durable = end;
}

/*
 * A packed queue: the records of the messages to put back, laid one
 * after the other from offset 0, must fit the arena.  Checked before a
 * byte is written, so that a refusal leaves the journal whole and says
 * what would do.
 */
static int check_arena(const struct busd_durable_queue *dq,
		       const struct recovery *r, char *detail,
		       size_t detail_size)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < r->count; i++)
		bytes += r->m[i].record_length;
	if (bytes <= dq->geometry.area.arena_bytes)
		return 0;
	return bus__detail(detail, detail_size, -ENOBUFS,
			   "its journal in %s holds %zu messages not acked, "
			   "%llu bytes of records, but the queue's arena has "
			   "%u (ring_bytes): raise ring_bytes to at least "
			   "%llu; the journal is kept as it is",
			   dq->directory, r->count, (unsigned long long)bytes,
			   dq->geometry.area.arena_bytes,
			   (unsigned long long)bytes);
}

static int rebuild(struct busd_durable_queue *dq, struct recovery *r,
		   uint64_t base, char *detail, size_t detail_size)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	struct bus__arena arena, *packed = NULL;
	int ret;

	if (r->count > g->slots)
		return bus__detail(detail, detail_size, -ENOBUFS,
				   "its journal in %s holds %zu messages not "
				   "acked but the queue has %u slots: raise "
				   "slots to at least that",
				   dq->directory, r->count, g->slots);
	if (g->area.arena) {
		ret = check_arena(dq, r, detail, detail_size);
		if (ret)
			return ret;
		ret = bus__arena_init(&arena, g->area.arena_bytes, g->slots);
		if (ret)
			return bus__detail(detail, detail_size, ret,
					   "queue '%s': no memory for its "
					   "arena's refill",
					   dq->name);
		packed = &arena;
	}
	ret = read_pass(dq->directory, r, dq, packed, base, detail,
			detail_size);
	if (!ret && packed)
		/* Relaxed, as set_positions' stores: busd hands the
		 * segment out over the socket after this.  The first
		 * producer rebuilds its arena from here and the cells. */
		bus__store_relaxed(&g->control->arena_head, arena.head);
	if (packed)
		bus__arena_destroy(&arena);
	if (ret)
		return ret;
	set_positions(dq, base, base + r->count);
	bus__store_relaxed(&g->control->journal.recovered, r->count);
	return 0;
}

/* ---- adopt ------------------------------------------------------------ */

/* The sequence of the message in cell i, or -1 when it holds none. */
static int cell_message(const struct busd_durable_queue *dq, uint32_t i,
			uint64_t released, uint64_t *sequence,
			uint64_t *position)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	struct bus_cell *cell = bus__queue_cell(g, i);
	/* Acquire: the header we read belongs to this state. */
	uint64_t state = bus__load_acquire(&cell->state);
	enum bus__cell_kind kind = bus__cell_kind(state);

	if (kind != BUS__CELL_READY && kind != BUS__CELL_HELD &&
	    kind != BUS__CELL_REDELIVER && kind != BUS__CELL_DEAD)
		return -1;
	*sequence = cell->header.sequence;
	/* A READY cell's own position; for the others only the sequence
	 * matters (the ack scan reads it), and the cell's index. */
	*position = bus__cell_position(state);
	if (kind == BUS__CELL_READY && dq->lazy &&
	    (int64_t)(bus__position_wrap(released) - *position) > 0)
		return -1;
	return 0;
}

/* The full 64-bit position of a 48-bit one near around. */
static uint64_t unwrap(uint64_t wrapped, uint64_t around)
{
	return around + (uint64_t)bus__position_diff(
				wrapped, bus__position_wrap(around));
}

static int adopt(struct busd_durable_queue *dq, struct recovery *r,
		 uint64_t next_sequence)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	struct bus_queue_control *c = g->control;
	uint64_t journal = bus__load_relaxed(&c->journal_position);
	uint64_t released = bus__load_acquire(&c->dequeue_position);
	uint64_t start = next_sequence;
	int ret;

	/* Resume where the disk ends, within the lap busd may have
	 * copied without writing. */
	if ((int64_t)(start - journal) > 0)
		start = journal;
	if ((int64_t)(journal - start) > (int64_t)g->slots)
		start = journal - g->slots;
	for (uint32_t i = 0; i < g->slots; i++) {
		uint64_t sequence, position;
		size_t at;

		if (cell_message(dq, i, released, &sequence, &position))
			continue;
		position = unwrap(position, journal);
		at = lower_bound(r, sequence);
		if (at < r->count && r->m[at].sequence == sequence) {
			r->m[at].acked = true; /* present: not an ack */
			dq->held[i] = (struct busd_durable_held){
				.sequence = sequence,
				.position = position,
				.delivery_count =
					bus__queue_cell(g, i)
						->header.delivery_count,
				.live = true,
			};
			dq->held_count++;
		}
		/* Not on disk: at or past start (copied again), since the
		 * journal is written in order. */
	}
	/* Unacked on disk, gone from the segment: acked meanwhile. */
	for (size_t at = 0; at < r->count; at++) {
		if (r->m[at].acked)
			continue;
		ret = busd_durable_note_ack(dq, r->m[at].sequence);
		if (ret)
			return ret;
	}
	dq->copied = start;
	dq->appended = start;
	dq->durable = start;
	bus__store_relaxed(&c->durable_position, start);
	bus__store_relaxed(&c->journal_error, 0);
	return 0;
}

int busd_durable_recover(struct busd_durable_queue *dq, bool adopted,
			 const struct bus_journal_recovery *recovered,
			 char *detail, size_t detail_size)
{
	struct recovery r = { 0 };
	uint64_t base;
	int ret;

	ret = learn(dq->directory, &r, detail, detail_size);
	base = r.next_sequence;
	if (recovered->next_sequence > base)
		base = recovered->next_sequence;
	if (!ret)
		ret = adopted ? adopt(dq, &r, base)
			      : rebuild(dq, &r, base, detail, detail_size);
	free(r.m);
	return ret;
}
