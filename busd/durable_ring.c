/* SPDX-License-Identifier: MIT */
/*
 * The journal thread as a reader of a durable queue's ring: a consumer
 * that never takes (busd/durable.h).
 *
 * Copying.  The thread looks at position j = copied, in cell j % slots,
 * and reads the state word with acquire (pairs with the producer's
 * release publish, queue_ring.c), as a consumer would:
 *
 *   older than j, or FREE(j)/WRITING(j)    not committed yet: stop here
 *   READY(j)                               message j: copy it
 *   HELD/REDELIVER/DEAD at j or later      taken already: message j if the
 *                                          header's sequence is j, else an
 *                                          older message a producer skipped
 *                                          over at j (no message at j)
 *   FREE at a later lap, READY later       j was acked (or padded) before
 *                                          we came: nothing to keep
 *
 * A producer never claims nor skips position p unless p < journal_position
 * + slots (queue_ring.h, bus__ring_journal_allows), so in a pass the
 * cell's bytes do not change under the copy; only a consumer's nack may
 * raise the delivery count meanwhile, which the ack scan sees and journals
 * again.  After an adopt or a retry, though, copying resumes below a
 * journal_position published earlier, at cells producers may be reusing:
 * so the cell is copied into the thread's own buffer, then its state
 * checked again (an acquire fence, pairing with the producer's claim), and
 * the copy appended only if the cell still holds the message.  After a
 * pass the thread stores journal_position (seq_cst: the release pairs with
 * the producers' acquire; seq_cst so that the wake-up check of the space
 * sleepers after it needs no fence, wake.h).
 *
 * Acks.  A copied message that is still in the queue has an entry in the
 * held table (one per cell: an occupied cell is skipped, never reused).
 * The scan reads each entry's cell: gone (FREE, WRITING, another message,
 * or below a lazy spsc consumer's released position) means acked, or
 * moved to its dead-letter queue, which journals it itself if durable.
 * The scan is rate-limited, so a producer may reuse a cell before it
 * looks: a message copied into a cell whose entry is still live notes
 * that entry's ack first (hold()).  Acks are appended as ranges of
 * sequences.
 *
 * Delivery counts: a nack raises the count in the cell's header; the scan
 * notes the new count in an ACK record of busd's own shape (the journal's
 * sequences only grow, so the message cannot be appended again): a first
 * range {UINT64_MAX, 0}, then pairs {sequence, 0}, {delivery count, 0}.
 * Every range acks nothing (count 0), so a reader that does not know the
 * shape acks nothing by mistake; a rebuild applies the newest count of a
 * sequence (durable_recover.c).  The first time the scan sees a consumer
 * holding a message it notes its count with BUSD_DURABLE_COUNT_TAKEN
 * (bit 32) set, so that a rebuild marks it redelivered; a busd that does
 * not know the bit ignores the note.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "durable_queue.h"
#include "log.h"
#include "message_area.h"
#include "queue_cell.h"
#include "wake.h"
#include "wall_clock.h"

/* Copies a pass at most, so that one busy queue does not starve the
 * others nor its own acks. */
#define BUSD_DURABLE_PASS_MAX 4096u
/* Acks looked for at most this often. */
#define BUSD_DURABLE_ACK_SCAN_NS 1000000u

static uint64_t now_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Key and headers room of a message: a fixed cell's room, or a packed
 * queue's extension limit; the scratch buffer holds that, then the
 * payload. */
static uint32_t room_of(const struct bus__queue_geometry *g)
{
	return busd_extension_room(&g->area);
}

/*
 * Enters the message of sequence at position into the held table.  An
 * entry still live for another message means that message left its cell
 * (acked, or moved to its dead-letter queue) and a producer reused the
 * cell before the ack scan looked: its ack is noted now, or it would
 * never be journaled (review h21b item 1).
 */
enum copy_view { NOT_YET, MESSAGE, NOTHING };

static enum copy_view copy_view(const struct bus_cell *cell, uint64_t state,
				uint64_t j);

static int hold(struct busd_durable_queue *dq, uint64_t position,
		uint64_t sequence, uint32_t delivery_count)
{
	struct busd_durable_held *held =
		&dq->held[position & dq->geometry.mask];
	int ret;

	if (held->live && held->sequence != sequence) {
		ret = busd_durable_note_ack(dq, held->sequence);
		if (ret < 0)
			return ret;
		held->live = false;
		dq->held_count--;
	}
	if (!held->live)
		dq->held_count++;
	*held = (struct busd_durable_held){
		.sequence = sequence,
		.position = position,
		.delivery_count = delivery_count,
		.live = true,
	};
	return 0;
}

int busd_durable_copy_cell(struct busd_durable_queue *dq, uint64_t position,
			   struct bus_message_header *h)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	const struct bus_cell *cell = bus__queue_cell(g, position);
	uint32_t room = room_of(g);
	struct bus__record rec;

	if (!dq->scratch) {
		dq->scratch = malloc((size_t)room + g->settings.max_message);
		if (!dq->scratch)
			return -ENOMEM;
	}
	/* One copy of the header: never trust shared memory twice. */
	memcpy(h, &cell->header, sizeof(*h));
	if (h->payload_length > g->settings.max_message ||
	    h->extension_length > room)
		return 1;
	/* A packed queue's record must lie inside the arena; one that does
	 * not is a corrupt header, as lengths too large are. */
	if (bus__message_locate(&g->area, cell, h->record_offset,
				h->payload_length, h->extension_length,
				&rec) < 0)
		return 1;
	memcpy(dq->scratch, rec.extension, h->extension_length);
	memcpy(dq->scratch + room, rec.payload, h->payload_length);
	return 0;
}

bool busd_durable_cell_unchanged(const struct busd_durable_queue *dq,
				 uint64_t position)
{
	const struct bus_cell *cell = bus__queue_cell(&dq->geometry, position);
	uint64_t state;

	/* Acquire fence, then the state: the copy's reads come before
	 * this load.  Pairs with the producer's claim of the cell (a CAS,
	 * or the spsc store followed by a release fence, queue_ring.h),
	 * which comes before its writes of the cell: if the copy read any
	 * byte a producer reusing the cell wrote, this load sees its claim
	 * or something later (the seqlock reader's pattern). */
	bus__fence_acquire();
	state = bus__load_relaxed(&cell->state);
	return copy_view(cell, state, position) == MESSAGE;
}

int busd_durable_append_copy(struct busd_durable_queue *dq, uint64_t position,
			     uint64_t sequence,
			     const struct bus_message_header *h)
{
	struct bus_journal_message m;
	int ret;

	/* Read at each pass (busd_durable_copy); once here for a caller
	 * outside one. */
	if (!dq->clock.wall_ns)
		busd_wall_clock_read(&dq->clock);
	m = (struct bus_journal_message){
		.sequence = sequence,
		.time_ns = busd_wall_time_of(&dq->clock, h->publish_time_ns),
		.correlation_id = h->correlation_id,
		.delivery_count = h->delivery_count,
		.flags = h->flags,
		.extension = dq->scratch,
		.extension_length = h->extension_length,
		.payload_length = h->payload_length,
		.payload = dq->scratch + room_of(&dq->geometry),
		.expiry_ns = busd_wall_deadline_of(&dq->clock, h->expiry_ns),
	};

	ret = bus_journal_append_message(dq->writer, &m);
	if (ret < 0)
		return ret;
	ret = hold(dq, position, sequence, h->delivery_count);
	if (ret < 0)
		return ret;
	dq->messages++;
	return 0;
}

/*
 * A committed cell whose header's lengths do not fit the cell: no
 * producer through libbus writes one (it checks them), and a consumer
 * would drop it with EBADMSG (queue.c), so it holds no message to keep.
 * It is skipped, counted and logged with its position (the 1st, 2nd,
 * 4th, 8th... of the queue, so that a producer writing garbage cannot
 * flood the log).  durable_position then passes it: the bus_flush() of
 * the producer that wrote it returns 0 and promises nothing for it
 * (busd.8, DURABLE QUEUES).
 */
static void corrupt_cell(struct busd_durable_queue *dq, uint64_t position,
			 const struct bus_message_header *h)
{
	dq->corrupt++;
	if (dq->corrupt & (dq->corrupt - 1))
		return;
	busd_error("queue '%s': the message at position %llu has a corrupt "
		   "header (%u payload bytes, %u of key and headers, record "
		   "at %u; the queue allows %u and %u in an arena of %u "
		   "bytes): not journaled, as consumers drop it too (%llu "
		   "such so far)",
		   dq->name, (unsigned long long)position, h->payload_length,
		   h->extension_length, h->record_offset,
		   dq->geometry.settings.max_message, room_of(&dq->geometry),
		   dq->geometry.area.arena_bytes,
		   (unsigned long long)dq->corrupt);
}

/*
 * Copies the cell out of shared memory, then checks that it still holds
 * the message of position: after an adopt or a retry the thread copies
 * again cells that journal_position already let producers reuse (review
 * item 6), so a producer may be writing the cell while we copy.  Only an
 * unchanged copy is appended; a changed cell means the message left it
 * (acked, or moved to its dead-letter queue): nothing to keep.
 */
int busd_durable_append_cell(struct busd_durable_queue *dq, uint64_t position,
			     uint64_t sequence)
{
	struct bus_message_header h;
	int ret;

	ret = busd_durable_copy_cell(dq, position, &h);
	if (ret != 0 || !busd_durable_cell_unchanged(dq, position)) {
		if (ret == 0)
			dq->changed++;
		else if (ret > 0 && busd_durable_cell_unchanged(dq, position))
			corrupt_cell(dq, position, &h);
		return ret < 0 ? ret : 1;
	}
	return busd_durable_append_copy(dq, position, sequence, &h);
}

/* What position j holds (see the top of this file). */
static enum copy_view copy_view(const struct bus_cell *cell, uint64_t state,
				uint64_t j)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(j));
	enum bus__cell_kind kind = bus__cell_kind(state);

	if (d < 0)
		return NOT_YET;
	switch (kind) {
	case BUS__CELL_FREE:
	case BUS__CELL_WRITING:
		return d == 0 ? NOT_YET : NOTHING;
	case BUS__CELL_READY:
		return d == 0 ? MESSAGE : NOTHING;
	case BUS__CELL_HELD:
	case BUS__CELL_REDELIVER:
	case BUS__CELL_DEAD:
		/* Relaxed is enough: the acquire load of the state came
		 * first, and a taken cell's sequence is not written again. */
		return cell->header.sequence == j ? MESSAGE : NOTHING;
	}
	return NOTHING;
}

/*
 * A READY cell at j whose header's sequence is older than j: a message a
 * rebuild put back from the journal (durable_recover.c), which a
 * producer never writes (its sequence is its position).  Copying resumes
 * below such cells after an adopt or a retry; appending them again under
 * j would bring them back twice after the next reboot.  Relaxed is
 * enough for the header: the acquire load of state came first, and a
 * rebuilt cell's header is written before busd hands the segment out.
 */
static bool rebuilt(const struct bus_cell *cell, uint64_t state, uint64_t j)
{
	return bus__cell_kind(state) == BUS__CELL_READY &&
	       (int64_t)(cell->header.sequence - j) < 0;
}

/* A lazy spsc consumer released every position before this one. */
static uint64_t released_position(const struct busd_durable_queue *dq)
{
	/* Acquire: pairs with the release in bus__leases_publish, so the
	 * cells before it are what the consumer left. */
	return bus__load_acquire(&dq->geometry.control->dequeue_position);
}

static void publish_copied(struct busd_durable_queue *dq)
{
	struct bus_queue_control *c = dq->geometry.control;

	/* seq_cst store: its release half pairs with the producers' acquire
	 * load in bus__ring_journal_allows (our reads of the cells come
	 * before their writes); seq_cst so that the sleepers' count read
	 * below needs no fence (wake.h). */
	bus__store_seq_cst(&c->journal_position, dq->copied);
	bus__wake_if_sleeping(&c->producers_sleeping, &c->space_futex);
}

int busd_durable_copy(struct busd_durable_queue *dq)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	uint64_t released = dq->lazy ? released_position(dq) : 0;
	uint64_t start = dq->copied;
	int copied = 0, ret = 0;

	busd_wall_clock_read(&dq->clock);
	dq->stalled = false;
	for (uint32_t n = 0; n < BUSD_DURABLE_PASS_MAX; n++) {
		uint64_t j = dq->copied;
		struct bus_cell *cell = bus__queue_cell(g, j);
		/* Acquire: pairs with the producer's release publish, so the
		 * header and payload we copy are the committed ones. */
		uint64_t state = bus__load_acquire(&cell->state);
		enum copy_view view = copy_view(cell, state, j);

		if (view == NOT_YET)
			break;
		/* A lazy consumer's released message: acked already. */
		if (view == MESSAGE && dq->lazy && (int64_t)(j - released) < 0)
			view = NOTHING;
		if (view == MESSAGE && rebuilt(cell, state, j)) {
			/* On disk already, under its own sequence: only
			 * held (review h21b item 2). */
			ret = hold(dq, j, cell->header.sequence,
				   cell->header.delivery_count);
			if (ret < 0)
				break;
			view = NOTHING;
		}
		if (view == MESSAGE) {
			ret = busd_durable_append_cell(dq, j, j);
			if (ret == -EAGAIN) {
				/* Every buffer in flight: the thread waits for
				 * a completion rather than spin. */
				dq->stalled = true;
				ret = 0;
				break;
			}
			if (ret < 0)
				break;
			if (ret == 0) {
				copied++;
				dq->appended = j + 1;
			}
			ret = 0;
		}
		dq->copied = j + 1;
	}
	if (dq->copied != start)
		publish_copied(dq);
	return ret < 0 ? ret : copied;
}

/* ---- acks ------------------------------------------------------------- */

int busd_durable_note_ack(struct busd_durable_queue *dq, uint64_t sequence)
{
	/* A sealed range waits for its own barrier: never grown. */
	struct bus_journal_range *last = dq->ack_count > dq->ack_sealed
						 ? &dq->acks[dq->ack_count - 1]
						 : NULL;

	if (last && last->first + last->count == sequence) {
		last->count++;
		return 0;
	}
	if (dq->ack_count == dq->ack_capacity) {
		uint32_t capacity = dq->ack_capacity ? dq->ack_capacity * 2
						     : 64;
		struct bus_journal_range *acks =
			realloc(dq->acks, capacity * sizeof(*acks));

		if (!acks)
			return -ENOMEM;
		dq->acks = acks;
		dq->ack_capacity = capacity;
	}
	dq->acks[dq->ack_count++] =
		(struct bus_journal_range){ .first = sequence, .count = 1 };
	return 0;
}

/*
 * How many of the acks noted may be appended now.  With a dead-letter
 * queue, a message that left its cell may have moved there rather than
 * been acked (busd/queue_dead_letter.c: the move commits the copy, then
 * frees the cell), and its ack must not reach the disk before the copy
 * does, or a power cut between the two loses it (review item 5).  So the
 * acks noted so far are sealed with a barrier, the dead-letter queue's
 * enqueue position read now: every move whose freed cell we saw committed
 * below it.  They go once that queue's durable position reaches it (the
 * same thread publishes both).  Until its dead-letter queue is open
 * (busd's start opens queues one by one), a queue holds its acks back
 * for a second.
 */
static uint32_t acks_ready(struct busd_durable_queue *dq)
{
	const struct busd_durable_queue *dl = dq->dead_letter;

	if (!dl) {
		if (dq->geometry.settings.dead_letter[0] &&
		    now_ns(CLOCK_MONOTONIC) - dq->opened_ns < 1000000000u)
			return 0;
		return dq->ack_count;
	}
	if (!dq->ack_sealed) {
		dq->ack_sealed = dq->ack_count;
		/* Acquire, after the acquire loads that saw the cells
		 * freed (still_held, copy): those pair with the seq_cst CAS
		 * that freed a moved message's cell (free_dead), which the
		 * mover made after its claim advanced this position past
		 * the copy, so the load sees at least that. */
		dq->ack_barrier = bus__load_acquire(
			&dl->geometry.control->enqueue_position);
	}
	return (int64_t)(dl->durable - dq->ack_barrier) >= 0 ? dq->ack_sealed
							     : 0;
}

int busd_durable_flush_acks(struct busd_durable_queue *dq)
{
	uint32_t n;
	int ret;

	if (!dq->ack_count)
		return 0;
	n = acks_ready(dq);
	if (!n)
		return 0;
	ret = bus_journal_append_acks(dq->writer, dq->acks, n);
	if (ret < 0)
		return ret == -EAGAIN ? 0 : ret;
	memmove(dq->acks, dq->acks + n,
		(dq->ack_count - n) * sizeof(*dq->acks));
	dq->ack_count -= n;
	dq->ack_sealed = 0;
	return 0;
}

/* ---- delivery counts (see the top of this file) ----------------------- */

static int note_count(struct busd_durable_queue *dq, uint64_t sequence,
		      uint64_t count)
{
	if (dq->count_count + 3 > dq->count_capacity) {
		uint32_t capacity = dq->count_capacity ? dq->count_capacity * 2
						       : 64;
		struct bus_journal_range *counts =
			realloc(dq->counts, capacity * sizeof(*counts));

		if (!counts)
			return -ENOMEM;
		dq->counts = counts;
		dq->count_capacity = capacity;
	}
	if (!dq->count_count)
		dq->counts[dq->count_count++] =
			(struct bus_journal_range){ BUSD_DURABLE_COUNTS_MARK,
						    0 };
	dq->counts[dq->count_count++] =
		(struct bus_journal_range){ sequence, 0 };
	dq->counts[dq->count_count++] = (struct bus_journal_range){ count, 0 };
	return 0;
}

static int flush_counts(struct busd_durable_queue *dq)
{
	int ret;

	if (!dq->count_count)
		return 0;
	ret = bus_journal_append_acks(dq->writer, dq->counts, dq->count_count);
	if (ret < 0)
		return ret == -EAGAIN ? 0 : ret;
	dq->count_count = 0;
	return 0;
}

/* 1 while the message of entry is still in its cell, else 0 (acked);
 * *count: its delivery count now, *taken: a consumer holds it. */
static int still_held(const struct busd_durable_queue *dq,
		      const struct busd_durable_held *e, uint64_t released,
		      uint32_t *count, bool *taken)
{
	const struct bus_cell *cell =
		bus__queue_cell(&dq->geometry, e->position);
	/* Acquire: pairs with the release of whoever moved the cell last,
	 * so the header we read next belongs to the state we saw. */
	uint64_t state = bus__load_acquire(&cell->state);

	*taken = false;
	switch (bus__cell_kind(state)) {
	case BUS__CELL_READY:
		if (bus__cell_position(state) !=
		    bus__position_wrap(e->position))
			return 0;
		if (dq->lazy && (int64_t)(e->position - released) < 0)
			return 0;
		break;
	case BUS__CELL_HELD:
		*taken = true;
		/* fall through */
	case BUS__CELL_REDELIVER:
	case BUS__CELL_DEAD:
		if (cell->header.sequence != e->sequence)
			return 0;
		break;
	default:
		return 0;
	}
	*count = cell->header.delivery_count;
	return 1;
}

int busd_durable_scan_acks(struct busd_durable_queue *dq)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	uint64_t released, now = now_ns(CLOCK_MONOTONIC);
	int ret = 0;

	if (!dq->held_count || now < dq->next_ack_scan_ns)
		return busd_durable_flush_acks(dq);
	dq->next_ack_scan_ns = now + BUSD_DURABLE_ACK_SCAN_NS;
	released = dq->lazy ? released_position(dq) : 0;
	/* Oldest first would be nicer for the ranges; cells in order are
	 * oldest first within a lap, which is what a busy queue has. */
	for (uint32_t i = 0; i < g->slots && ret == 0; i++) {
		struct busd_durable_held *e = &dq->held[i];
		uint32_t count;
		bool taken;

		if (!e->live)
			continue;
		if (!still_held(dq, e, released, &count, &taken)) {
			ret = busd_durable_note_ack(dq, e->sequence);
			e->live = false;
			dq->held_count--;
			continue;
		}
		/* A take, journaled once: after a reboot the message may
		 * have been delivered (REDELIVERED, durable_recover.c). */
		if (count > e->delivery_count || (taken && !e->taken)) {
			ret = note_count(
				dq, e->sequence,
				count | (taken || e->taken
						 ? BUSD_DURABLE_COUNT_TAKEN
						 : 0));
			e->delivery_count = count;
			e->taken |= taken;
			dq->recounts++;
		}
	}
	if (ret < 0)
		return ret;
	ret = flush_counts(dq);
	return ret < 0 ? ret : busd_durable_flush_acks(dq);
}
