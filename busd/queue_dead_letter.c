/* SPDX-License-Identifier: MIT */
/*
 * Dead letters and ack timeouts, busd's side (queue_dead_letter.h).
 *
 * Who moves a dead message.  A consumer that nacks a message with
 * max_deliveries deliveries (or busd, for a consumer that died holding
 * one) turns its cell from HELD to DEAD instead of REDELIVER: the same one
 * state change as a plain nack, so the consumer's cost does not change,
 * and it needs no rights on the dead-letter queue.  No consumer takes a
 * DEAD cell; producers skip it like a held one.  busd then moves it, in
 * one thread, with this protocol:
 *
 *   1. claim a cell of the dead-letter queue as its own producer
 *      (WRITING(d, BUS__OWNER_BUSD));
 *   2. write the move record in the source's control block: source cell,
 *      the message's sequence, d;
 *   3. copy header, header room and payload, and commit: READY(d);
 *   4. free the source cell: DEAD -> FREE (a CAS: a producer may skip it);
 *   5. clear the record.
 *
 * The commit in 3 decides.  If busd dies before it, the target cell is
 * still WRITING(d, busd) and the source still DEAD: the next busd clears
 * the record, pads the cell over and moves the message again.  If busd
 * dies after it, the target cell is anything but WRITING(d, busd) (READY,
 * or already taken, acked, even reused: a later lap), and the next busd
 * frees the source cell if it still holds the same message (DEAD, same
 * sequence).  Either way the message ends up exactly once in exactly one
 * queue.  A target cell claimed in 1 but dead before 2 has no record and
 * is padded over like any claim of busd's (busd_dead_letter_recover_cells,
 * which runs only after every record is settled: padding first would make
 * an uncommitted move look committed).  While busd is down, consumers of
 * the dead-letter queue wait at such a cell, as for a producer that died
 * mid-write.
 *
 * A full dead-letter queue (or one too small for the message) leaves the
 * cell DEAD where it is: counted as dead_waiting in the source's figures,
 * never dropped, moved by a later pass.
 *
 * Ack timeouts.  busd times leases by looking: a HELD cell seen with the
 * same holder, message (sequence) and delivery count at two looks
 * ack_timeout_ms apart has been held that long (a producer's skip moves a
 * held cell's position, so the position is not part of it; a redelivery
 * raises the count).  Consumers write nothing more for it.  busd takes the
 * lease back in two steps, HELD(x, c) -> HELD(x, busd) by CAS (the
 * consumer's ack or nack, also a CAS, either wins or then fails with
 * -ESTALE), then, the header being busd's now, raises the count and makes
 * the cell REDELIVER (or DEAD after max_deliveries).  A busd that dies
 * between the two leaves HELD(x, busd), which the next one finishes.
 */
#include <errno.h>
#include <string.h>

#include "atomics.h"
#include "futex.h"
#include "message_area.h"
#include "queue.h"
#include "queue_cell.h"
#include "queue_dead_letter.h"
#include "queue_ring.h"
#include "wake.h"

/* Loops over one cell end within this many steps (queue_ring.c). */
#define STEPS_MAX (1u << 20)

/* busd is the only writer of the retired figures: no read-modify-write. */
static void add_figure(_Atomic uint64_t *figure, uint64_t n)
{
	bus__store_relaxed(figure, bus__load_relaxed(figure) + n);
}

/* A handle of busd's own on a queue, for the ring calls: owner busd. */
static void busd_handle(struct bus_queue *q,
			const struct bus__queue_geometry *g)
{
	memset(q, 0, sizeof(*q));
	q->geometry = *g;
	q->role = BUS_PRODUCER;
	q->owner = BUS__OWNER_BUSD;
	/* A durable dead-letter queue: our claims wait for its journal. */
	q->durable = g->settings.durable;
}

/* Key and headers a message of the queue may carry: a fixed cell's room,
 * or a packed (spsc) source's extension limit. */
static uint32_t room_of(const struct bus__queue_geometry *g)
{
	return busd_extension_room(&g->area);
}

/* DEAD -> FREE for the next lap; a producer may skip the cell meanwhile,
 * which moves its position: then try with the new one. */
static int free_dead(const struct bus__queue_geometry *g,
		     struct bus_cell *cell, uint64_t state)
{
	for (uint32_t steps = 0; steps < STEPS_MAX; steps++) {
		uint64_t next;

		if (bus__cell_kind(state) != BUS__CELL_DEAD)
			return -ESTALE;
		next = bus__cell_state(bus__cell_position(state) + g->slots, 0,
				       BUS__CELL_FREE);
		/* seq_cst: the producers' wake-up check after it needs no
		 * fence (queue_ring.c); release: our reads of the message
		 * come before its next writer's. */
		if (bus__cas_seq_cst(&cell->state, &state, next))
			return 0;
	}
	return -EBADMSG;
}

static void wake_producers(struct bus_queue *q)
{
	bus__ring_wake_space(q);
}

/* Steps 2 and 5 of the move.  Relaxed: only a later busd reads the
 * record, and the seq_cst commit in step 3 orders step 2 before it. */
static void record_move(struct bus_queue_control *c, uint32_t index,
			uint64_t sequence, uint64_t target)
{
	bus__store_relaxed(&c->move_sequence, sequence);
	bus__store_relaxed(&c->move_target, target);
	bus__store_relaxed(&c->move_cell, (uint64_t)index + 1);
}

static void clear_move(struct bus_queue_control *c)
{
	/* Release: steps 3 and 4 come before the record goes. */
	bus__store_release(&c->move_cell, 0);
}

/*
 * Step 3: the copy and the commit.  from: where the source's message
 * lies (its cell, or a packed source's arena record), found once by
 * move_cell; the target is an mpmc queue, whose cells are fixed, but is
 * located the same way so that nothing here assumes either.
 */
static void copy_and_commit(struct bus_queue *target, uint64_t d,
			    const struct bus__record *from,
			    const struct bus_message_header *h)
{
	const struct bus__queue_geometry *t = &target->geometry;
	struct bus_cell *to = bus__queue_cell(t, d);
	struct bus__record rec;

	to->header = *h;
	/* A dead letter waits for whoever looks: it no longer expires. */
	to->header.expiry_ns = 0;
	/* Fixed cells: record_offset means nothing there. */
	to->header.record_offset = 0;
	/* Cannot fail for fixed cells (the target's, checked at open). */
	(void)bus__message_locate(&t->area, to, 0, h->payload_length,
				  h->extension_length, &rec);
	memcpy(rec.extension, from->extension, h->extension_length);
	memcpy(rec.payload, from->payload, h->payload_length);
	bus__ring_publish_seq_cst(target, d);
	bus__ring_wake_data_after_seq_cst(target);
	add_figure(&t->control->retired.enqueued, 1);
}

/*
 * Moves the DEAD cell index.  0 when moved (or nothing to move), -ENOBUFS
 * when the target is full, -EMSGSIZE when the message does not fit it.
 */
static int move_cell(struct bus_queue *source, struct bus_queue *target,
		     uint32_t index, struct busd_dead_letter_pass *pass)
{
	const struct bus__queue_geometry *s = &source->geometry;
	const struct bus__queue_geometry *t = &target->geometry;
	struct bus_cell *cell = bus__queue_cell(s, index);
	/* Acquire: pairs with the release that made it DEAD, so the header
	 * the burier wrote comes first. */
	uint64_t state = bus__load_acquire(&cell->state);
	struct bus_message_header h;
	struct bus__record from;
	uint64_t d;
	int dropped = 0, rc;

	if (bus__cell_kind(state) != BUS__CELL_DEAD)
		return 0;
	/* One copy: nobody writes a DEAD cell, but never trust it.  A
	 * packed source's record is pinned while the cell is DEAD (its
	 * producer's judge says PINNED, arena.h), so its bytes hold still
	 * until free_dead below; one outside the arena is as corrupt as
	 * lengths that do not fit. */
	memcpy(&h, &cell->header, sizeof(h));
	if (h.payload_length > s->settings.max_message ||
	    h.extension_length > room_of(s) ||
	    bus__message_locate(&s->area, cell, h.record_offset,
				h.payload_length, h.extension_length,
				&from) < 0) {
		if (free_dead(s, cell, state) == 0) {
			add_figure(&s->control->retired.dropped, 1);
			pass->corrupt++;
		}
		return 0;
	}
	if (h.payload_length > t->settings.max_message ||
	    h.extension_length > room_of(t))
		return -EMSGSIZE;
	rc = bus__ring_claim_mpmc(target, &d, &dropped);
	if (rc < 0)
		return rc == -EBADMSG ? -ENOBUFS : rc;
	if (dropped)
		add_figure(&t->control->retired.dropped, 1);
	record_move(s->control, index, h.sequence, d);
	copy_and_commit(target, d, &from, &h);
	if (free_dead(s, cell, state) == 0)
		wake_producers(source);
	add_figure(&s->control->retired.dead_lettered, 1);
	clear_move(s->control);
	pass->moved++;
	return 0;
}

void busd_dead_letter_move(const struct bus__queue_geometry *source,
			   const struct bus__queue_geometry *target,
			   struct busd_dead_letter_pass *pass)
{
	struct bus_queue s, t;
	/* Roughly oldest first: from where consumers take. */
	uint64_t start = bus__load_relaxed(&source->control->dequeue_position);
	int full = 0;

	memset(pass, 0, sizeof(*pass));
	busd_handle(&s, source);
	busd_handle(&t, target);
	for (uint32_t i = 0; i < source->slots; i++) {
		uint32_t index = (uint32_t)((start + i) & source->mask);
		uint64_t state = bus__load_relaxed(
			&bus__queue_cell(source, index)->state);
		int rc;

		if (bus__cell_kind(state) != BUS__CELL_DEAD)
			continue;
		rc = full ? -ENOBUFS : move_cell(&s, &t, index, pass);
		if (rc == -ENOBUFS) {
			full = 1;
			pass->waiting++;
		} else if (rc == -EMSGSIZE) {
			pass->too_large++;
		}
	}
}

/* ---- after busd died ----------------------------------------------------- */

void busd_dead_letter_recover_move(const struct bus__queue_geometry *source,
				   const struct bus__queue_geometry *target)
{
	struct bus_queue_control *c = source->control;
	/* Acquire: pairs with the release that cleared the last record, and
	 * the record's own fields come with it. */
	uint64_t index = bus__load_acquire(&c->move_cell);
	uint64_t sequence = bus__load_relaxed(&c->move_sequence);
	uint64_t d = bus__load_relaxed(&c->move_target);
	struct bus_cell *cell;
	uint64_t state;

	if (index == 0)
		return;
	if (index > source->slots || !target) {
		/* Nonsense, or the dead-letter queue is gone with the copy
		 * it may hold: the message stays DEAD here. */
		clear_move(c);
		return;
	}
	cell = bus__queue_cell(target, d);
	state = bus__load_acquire(&cell->state);
	if (state == bus__cell_state(d, BUS__OWNER_BUSD, BUS__CELL_WRITING)) {
		/* Never committed: forget the move first (the source cell
		 * is still DEAD and will be moved again), then pad. */
		clear_move(c);
		bus__cas_seq_cst(&cell->state, &state,
				 bus__cell_state(d + target->slots, 0,
						 BUS__CELL_FREE));
		return;
	}
	/* Committed: the source cell goes, if it still holds the message. */
	cell = bus__queue_cell(source, index - 1);
	state = bus__load_acquire(&cell->state);
	if (bus__cell_kind(state) == BUS__CELL_DEAD &&
	    cell->header.sequence == sequence &&
	    free_dead(source, cell, state) == 0)
		add_figure(&c->retired.dead_lettered, 1);
	clear_move(c);
}

static void wake_consumers(struct bus_queue_control *c)
{
	/* After a seq_cst CAS: the sleepers' count is read in the same
	 * total order (core/wake.h). */
	bus__wake_if_sleeping(&c->consumers_sleeping, &c->data_futex);
}

/* Second step of a take-back: the cell is HELD by busd at state. */
static void finish_take_back(const struct bus__queue_geometry *g,
			     struct bus_cell *cell, uint64_t state)
{
	struct bus_queue_control *c = g->control;
	int dead = bus__delivery_failed(&g->settings, &cell->header,
					BUS_DEAD_LETTER_ACK_TIMEOUT);
	enum bus__cell_kind kind = dead ? BUS__CELL_DEAD : BUS__CELL_REDELIVER;

	for (uint32_t steps = 0; steps < STEPS_MAX; steps++) {
		if (bus__cell_kind(state) != BUS__CELL_HELD ||
		    bus__cell_owner(state) != BUS__OWNER_BUSD)
			return;
		/* Release: the header update comes before the next
		 * taker's acquire.  CAS: a producer may skip the cell. */
		if (bus__cas_seq_cst(&cell->state, &state,
				     bus__cell_state(bus__cell_position(state),
						     0, kind)))
			break;
	}
	/* Raised after the state: see bus__ring_take_redelivery. */
	bus__fetch_add_seq_cst(dead ? &c->dead_pending : &c->redeliver_pending,
			       1);
	wake_consumers(c);
}

uint32_t busd_dead_letter_recover_cells(const struct bus__queue_geometry *g)
{
	uint32_t fixed = 0;

	for (uint32_t i = 0; i < g->slots; i++) {
		struct bus_cell *cell = bus__queue_cell(g, i);
		uint64_t state = bus__load_acquire(&cell->state);

		if (bus__cell_owner(state) != BUS__OWNER_BUSD)
			continue;
		if (bus__cell_kind(state) == BUS__CELL_WRITING &&
		    bus__cas_seq_cst(
			    &cell->state, &state,
			    bus__cell_state(bus__cell_position(state) +
						    g->slots,
					    0, BUS__CELL_FREE))) {
			add_figure(&g->control->retired.reclaimed, 1);
			fixed++;
		} else if (bus__cell_kind(state) == BUS__CELL_HELD) {
			finish_take_back(g, cell, state);
			fixed++;
		}
	}
	return fixed;
}

/* ---- ack timeouts -------------------------------------------------------- */

/* First step of a take-back; 1 when the lease is busd's now. */
static int take_back(const struct bus__queue_geometry *g,
		     struct bus_cell *cell, uint64_t state)
{
	uint32_t owner = bus__cell_owner(state);

	for (uint32_t steps = 0; steps < STEPS_MAX; steps++) {
		uint64_t ours = bus__cell_state(bus__cell_position(state),
						BUS__OWNER_BUSD,
						BUS__CELL_HELD);

		if (bus__cell_kind(state) != BUS__CELL_HELD ||
		    bus__cell_owner(state) != owner)
			return 0; /* acked or nacked meanwhile */
		/* Acquire: the holder's header updates come first. */
		if (bus__cas_acq_rel(&cell->state, &state, ours)) {
			finish_take_back(g, cell, ours);
			add_figure(&g->control->retired.timed_out, 1);
			return 1;
		}
	}
	return 0;
}

/* The lease now in the cell, as a sample; false when it holds none. */
static int sample_lease(const struct bus_cell *cell, uint64_t state,
			struct busd_lease_sample *now)
{
	const volatile struct bus_message_header *h = &cell->header;
	uint32_t owner = bus__cell_owner(state);

	if (bus__cell_kind(state) != BUS__CELL_HELD || owner == 0 ||
	    owner == BUS__OWNER_BUSD)
		return 0;
	now->owner = owner;
	/* Read through volatile: the holder may write them (a nack); a
	 * torn or changed value only restarts the timing. */
	now->sequence = h->sequence;
	now->delivery_count = h->delivery_count;
	return 1;
}

static int same_lease(const struct busd_lease_sample *a,
		      const struct busd_lease_sample *b)
{
	return a->owner == b->owner && a->sequence == b->sequence &&
	       a->delivery_count == b->delivery_count;
}

uint32_t busd_lease_timeout_scan(const struct bus__queue_geometry *g,
				 struct busd_lease_sample *samples,
				 uint64_t now_ns)
{
	uint64_t timeout_ns = (uint64_t)g->settings.ack_timeout_ms * 1000000u;
	uint32_t taken = 0;

	if (!timeout_ns)
		return 0;
	for (uint32_t i = 0; i < g->slots; i++) {
		struct bus_cell *cell = bus__queue_cell(g, i);
		struct busd_lease_sample *known = &samples[i];
		struct busd_lease_sample seen = { 0 };
		/* Acquire: the header we sample was written before. */
		uint64_t state = bus__load_acquire(&cell->state);

		if (!sample_lease(cell, state, &seen)) {
			/* Written only when set: the pages of a large,
			 * mostly idle ring stay untouched. */
			if (known->since_ns)
				known->since_ns = 0;
			continue;
		}
		if (!known->since_ns || !same_lease(known, &seen)) {
			seen.since_ns = now_ns;
			*known = seen;
			continue;
		}
		if (now_ns - known->since_ns < timeout_ns)
			continue;
		known->since_ns = 0;
		taken += (uint32_t)take_back(g, cell, state);
	}
	return taken;
}
