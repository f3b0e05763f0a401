/* SPDX-License-Identifier: MIT */
/*
 * Cleaning up after an attachment that closed or died: busd's side of the
 * crash-safety argument in queue_cell.h.  Everything a client leaves behind
 * is marked with its owner index in the cell states, so one scan finds it.
 */
#include <errno.h>

#include "atomics.h"
#include "futex.h"
#include "queue_cell.h"
#include "segment.h"

/* What to do with one cell of the departed owner; 0 if nothing. */
static uint64_t recovered_state(const struct bus__queue_geometry *g,
				uint64_t state, uint32_t owner)
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
		/* A message received and not acked: deliver it again.  The
		 * caller raised its delivery count. */
		return bus__cell_state(bus__cell_position(state), 0,
				       BUS__CELL_REDELIVER);
	default:
		return 0;
	}
}

/* The departed consumer saw this message: its next delivery is a
 * redelivery.  The cell is not READY for anybody else meanwhile. */
static void count_redelivery(struct bus_cell *cell)
{
	cell->header.delivery_count++;
	cell->header.flags |= BUS_MESSAGE_REDELIVERED;
}

/*
 * A lazy SPSC consumer (queue_leases.c) leaves the messages it holds
 * READY in the ring, between its released and taken positions.  Its
 * successor starts at the released position and gets them again; here they
 * only get their delivery counts raised.  Nobody else writes these cells:
 * the producer keeps off READY cells at or after the released position.
 */
static uint64_t recover_ring_leases(const struct bus__queue_geometry *g,
				    uint32_t index)
{
	struct bus_queue_control *c = g->control;
	uint64_t released = bus__load_acquire(&c->dequeue_position);
	uint64_t taken = bus__load_acquire(&c->taken_position);
	uint64_t count = 0;

	if (g->settings.type != BUS_QUEUE_SPSC ||
	    g->settings.overflow == BUS_OVERFLOW_DROP_OLDEST ||
	    index < g->settings.max_producers)
		return 0;
	/* A corrupt pair of positions must not make us loop for long. */
	for (uint64_t p = released;
	     bus__position_diff(bus__position_wrap(taken),
				bus__position_wrap(p)) > 0 &&
	     count <= g->slots;
	     p++, count++) {
		struct bus_cell *cell = bus__queue_cell(g, p);

		if (bus__load_acquire(&cell->state) ==
		    bus__cell_state(p, 0, BUS__CELL_READY))
			count_redelivery(cell);
	}
	bus__store_relaxed(&c->taken_position, released);
	return count;
}

struct recovered {
	uint64_t padded;
	uint64_t orphaned;
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

		if (bus__cell_kind(state) == BUS__CELL_HELD &&
		    bus__cell_owner(state) == owner)
			count_redelivery(cell);
		/* CAS: a producer may skip a held cell meanwhile (it moves
		 * the position, keeps the owner); then look again. */
		while ((next = recovered_state(g, state, owner)) != 0) {
			if (bus__cas_acq_rel(&cell->state, &state, next)) {
				if (bus__cell_kind(next) == BUS__CELL_FREE)
					r->padded++;
				else
					r->orphaned++;
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
#define BUS__RETIRE(field)                                            \
	bus__store_relaxed(&t->field, bus__load_relaxed(&t->field) +  \
					      bus__load_relaxed(&a->field)); \
	bus__store_relaxed(&a->field, 0)
	BUS__RETIRE(enqueued);
	BUS__RETIRE(dequeued);
	BUS__RETIRE(acked);
	BUS__RETIRE(nacked);
	BUS__RETIRE(redelivered);
	BUS__RETIRE(dropped);
	BUS__RETIRE(rejected);
#undef BUS__RETIRE
}

/* A client killed in its sleep stays counted: uncount it so wakers stop
 * paying a futex call for it. */
static void uncount_sleeper(struct bus_queue_control *c,
			    struct bus_attachment *a)
{
	uint32_t sleeping = bus__load_relaxed(&a->sleeping);

	if (sleeping & BUS_ATTACHMENT_SLEEPING_DATA)
		bus__fetch_sub_seq_cst(&c->consumers_sleeping, 1);
	if (sleeping & BUS_ATTACHMENT_SLEEPING_SPACE)
		bus__fetch_sub_seq_cst(&c->producers_sleeping, 1);
	bus__store_relaxed(&a->sleeping, 0);
}

static void wake_everybody(struct bus_queue_control *c)
{
	bus__fetch_add_seq_cst(&c->data_futex, 1);
	bus__fetch_add_seq_cst(&c->space_futex, 1);
	bus__futex_wake_all(&c->data_futex);
	bus__futex_wake_all(&c->space_futex);
}

int bus__queue_detach(const struct bus__queue_geometry *g, uint32_t index)
{
	struct bus_queue_control *c = g->control;
	struct bus_attachment *a;
	struct recovered r = { 0, 0 };

	if (index >= g->attachment_count)
		return -EINVAL;
	a = &g->attachments[index];
	recover_cells(g, index + 1, &r);
	r.orphaned += recover_ring_leases(g, index);
	/* Always raise the redelivery hint: a nack interrupted between its
	 * state change and its raise would otherwise stay invisible.
	 * Release: pairs with the acquire in bus__ring_take_redelivery. */
	bus__fetch_add_seq_cst(&c->redeliver_pending, 1);
	uncount_sleeper(c, a);
	retire_figures(&c->retired, a);
	bus__store_relaxed(&c->retired.reclaimed,
			   bus__load_relaxed(&c->retired.reclaimed) + r.padded);
	bus__store_relaxed(&c->retired.orphaned,
			   bus__load_relaxed(&c->retired.orphaned) +
				   r.orphaned);
	/* Release: the slot's next owner sees it clean. */
	bus__store_release(&a->role, 0);
	wake_everybody(c);
	return (int)r.orphaned;
}
