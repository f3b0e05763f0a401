/* SPDX-License-Identifier: MIT */
/*
 * Cleaning up after an attachment that closed or died: busd's side of the
 * crash-safety argument in queue_cell.h.  Everything a client leaves behind
 * is marked with its owner index in the cell states, so one scan finds it.
 */
#include <errno.h>

#include "atomics.h"
#include "detail.h"
#include "futex.h"
#include "latency.h"
#include "queue_cell.h"
#include "queue_recovery.h"
#include "segment.h"
#include "wake.h"

/* A producer skips a held cell at most once per lap: more failed CASes on
 * one cell than this come from a peer that scribbles. */
#define RECOVER_CAS_TRIES 4096u

/* What to do with one cell of the departed owner; 0 if nothing.  dead:
 * the message had max_deliveries (bus__delivery_failed said so). */
static uint64_t recovered_state(const struct bus__queue_geometry *g,
				uint64_t state, uint32_t owner, int dead)
{
	if (bus__cell_owner(state) != owner)
		return 0;
	switch (bus__cell_kind(state)) {
	case BUS__CELL_WRITING:
		/* An uncommitted loan: pad over it.  Consumers at its
		 * position see a newer state and move on. */
		return bus__cell_state(bus__cell_position(state) + g->slots, 0,
				       BUS__CELL_FREE);
	case BUS__CELL_HELD:
		/* A message received and not acked: deliver it again (the
		 * caller raised its delivery count), or hand it to busd's
		 * dead-letter move. */
		return bus__cell_state(bus__cell_position(state), 0,
				       dead ? BUS__CELL_DEAD
					    : BUS__CELL_REDELIVER);
	default:
		return 0;
	}
}

/* The departed consumer saw this message: its next delivery is a
 * redelivery, unless it had max_deliveries (1: it goes to the dead-letter
 * queue).  The cell is not READY for anybody else meanwhile. */
static int count_redelivery(const struct bus__queue_geometry *g,
			    struct bus_cell *cell)
{
	return bus__delivery_failed(&g->settings, &cell->header,
				    BUS_DEAD_LETTER_CONSUMER_DIED);
}

/*
 * A lazy SPSC consumer (queue_leases.c) leaves the messages it holds
 * READY in the ring, between its released and taken positions.  Its
 * successor starts at the released position and gets them again; here they
 * only get their delivery counts raised.  Nobody else writes these cells:
 * the producer keeps off READY cells at or after the released position.
 */
static uint64_t recover_ring_leases(const struct bus__queue_geometry *g,
				    uint32_t index, uint64_t *buried)
{
	struct bus_queue_control *c = g->control;
	/* Acquire both: pair with the departed consumer's releases of its
	 * positions (queue_leases.c), after its reads of the cells below. */
	uint64_t released = bus__load_acquire(&c->dequeue_position);
	uint64_t taken = bus__load_acquire(&c->taken_position);
	uint64_t count = 0;

	if (!bus__queue_lazy(&g->settings) ||
	    index < g->settings.max_producers)
		return 0;
	/* A corrupt pair of positions must not make us loop for long. */
	for (uint64_t p = released;
	     bus__position_diff(bus__position_wrap(taken),
				bus__position_wrap(p)) > 0 &&
	     count <= g->slots;
	     p++, count++) {
		struct bus_cell *cell = bus__queue_cell(g, p);

		/* Acquire: pairs with the producer's READY release; the
		 * header we update next comes after its writes. */
		if (bus__load_acquire(&cell->state) !=
		    bus__cell_state(p, 0, BUS__CELL_READY))
			continue;
		/* Release: the header comes before busd's move reads it.
		 * The successor at p sees DEAD(p) and moves on. */
		if (count_redelivery(g, cell)) {
			bus__store_release(&cell->state,
					   bus__cell_state(p, 0,
							   BUS__CELL_DEAD));
			(*buried)++;
		}
	}
	/* Relaxed: the consumer that reads it next gets the slot from busd
	 * after this, through the role's release and busd's reply. */
	bus__store_relaxed(&c->taken_position, released);
	return count;
}

struct recovered {
	uint64_t padded;
	uint64_t orphaned;
	uint64_t buried; /* of those, had max_deliveries: now DEAD */
};

static void recover_cells(const struct bus__queue_geometry *g, uint32_t owner,
			  struct recovered *r)
{
	for (uint32_t i = 0; i < g->slots; i++) {
		struct bus_cell *cell = bus__queue_cell(g, i);
		/* Acquire: the departed client's last writes to the cell
		 * (a nack's header update) come before ours. */
		uint64_t state = bus__load_acquire(&cell->state);
		uint64_t next;
		int dead = 0;

		if (bus__cell_kind(state) == BUS__CELL_HELD &&
		    bus__cell_owner(state) == owner)
			dead = count_redelivery(g, cell);
		/* CAS: a producer may skip a held cell meanwhile (it moves
		 * the position, keeps the owner); then look again.  Bounded:
		 * a hostile peer flipping the cell cannot hold busd here.
		 * acq_rel: the acquire half pairs with the departed client's
		 * last release of the state (as the load above); the release
		 * half with the acquire load of the state by whoever acts on
		 * the cell next: a producer claiming it FREE
		 * (bus__ring_claim_*), a consumer taking it REDELIVER
		 * (bus__ring_take_redelivery), busd's dead-letter mover. */
		for (uint32_t tries = 0;
		     tries < RECOVER_CAS_TRIES &&
		     (next = recovered_state(g, state, owner, dead)) != 0;
		     tries++) {
			if (bus__cas_acq_rel(&cell->state, &state, next)) {
				if (bus__cell_kind(next) == BUS__CELL_FREE)
					r->padded++;
				else
					r->orphaned++;
				r->buried += dead;
				break;
			}
		}
	}
}

/* Figures of the departed attachment move to the retired ones. */
static void retire_figures(struct bus_retired_figures *t,
			   struct bus_attachment *a)
{
	/* Relaxed: the attachment's writer is gone; busd is the only
	 * writer of the retired figures. */
#define BUS__RETIRE(field)                                                   \
	bus__store_relaxed(&t->field, bus__load_relaxed(&t->field) +         \
					      bus__load_relaxed(&a->field)); \
	bus__store_relaxed(&a->field, 0)
	BUS__RETIRE(enqueued);
	BUS__RETIRE(dequeued);
	BUS__RETIRE(acked);
	BUS__RETIRE(nacked);
	BUS__RETIRE(redelivered);
	BUS__RETIRE(dropped);
	BUS__RETIRE(rejected);
	BUS__RETIRE(backpressure_waits);
#undef BUS__RETIRE
	/* A high-water mark is a maximum: folded in with max(), not added
	 * (queue_high_water.h). */
	bus__store_relaxed(&t->high_water,
			   bus__max_u64(bus__load_relaxed(&t->high_water),
					bus__load_relaxed(&a->high_water)));
	bus__store_relaxed(&a->high_water, 0);
}

/* A client killed in its sleep stays counted: uncount it so wakers stop
 * paying a futex call for it. */
static void uncount_sleeper(struct bus_queue_control *c,
			    struct bus_attachment *a)
{
	/* Relaxed: the departed client wrote it last, before its death,
	 * which busd learned of through its pidfd. */
	uint32_t sleeping = bus__load_relaxed(&a->sleeping);

	/* seq_cst, as a sleeper's own decrement (wait.c): wakers read the
	 * count with seq_cst. */
	if (sleeping & BUS_ATTACHMENT_SLEEPING_DATA)
		bus__fetch_sub_seq_cst(&c->consumers_sleeping, 1);
	if (sleeping & BUS_ATTACHMENT_SLEEPING_SPACE)
		bus__fetch_sub_seq_cst(&c->producers_sleeping, 1);
	bus__store_relaxed(&a->sleeping, 0);
}

static void wake_everybody(struct bus_queue_control *c)
{
	/* seq_cst raises (core/wake.h): a sleeper that read the
	 * word before them does not sleep; one asleep wakes and looks. */
	bus__wake_both(&c->data_futex, &c->space_futex);
}

int busd_queue_slot_detach(const struct bus__queue_geometry *g, uint32_t index)
{
	struct bus_queue_control *c = g->control;
	struct bus_attachment *a;
	struct recovered r = { 0, 0, 0 };

	if (index >= g->attachment_count)
		return -EINVAL;
	a = &g->attachments[index];
	recover_cells(g, index + 1, &r);
	r.orphaned += recover_ring_leases(g, index, &r.buried);
	/* Release: pairs with busd's acquire load of the hint
	 * (busd_move_dead in busd/dead_letter.c).  Raised for
	 * every detach of a dead-letter queue's client, not only when we
	 * buried something: a nack killed between its DEAD store and its
	 * own raise would otherwise leave the message unseen. */
	if (r.buried || g->settings.dead_letter[0])
		bus__fetch_add_seq_cst(&c->dead_pending, 1);
	/* Always raise the redelivery hint: a nack interrupted between its
	 * state change and its raise would otherwise stay invisible.
	 * Release: pairs with the acquire in bus__ring_take_redelivery. */
	bus__fetch_add_seq_cst(&c->redeliver_pending, 1);
	uncount_sleeper(c, a);
	retire_figures(&c->retired, a);
	/* The histogram too: exact after its consumer has gone. */
	bus__latency_merge(&g->latency[0], &g->latency[1 + index]);
	bus__store_relaxed(&c->retired.reclaimed,
			   bus__load_relaxed(&c->retired.reclaimed) +
				   r.padded);
	bus__store_relaxed(&c->retired.orphaned,
			   bus__load_relaxed(&c->retired.orphaned) +
				   r.orphaned);
	/* Release: the slot's next owner sees it clean; pairs with the
	 * acquire loads of role by the stats (core/queue_stats.c) and by a
	 * restarted busd (busd/adopt.c). */
	bus__store_release(&a->role, 0);
	wake_everybody(c);
	return (int)r.orphaned;
}
