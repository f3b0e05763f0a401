/* SPDX-License-Identifier: MIT */
/*
 * Lending topic slots to clients and taking them back after the client
 * closed them or died: the topic side of queue_recovery.c.
 */
#include <errno.h>

#include "atomics.h"
#include "bus/bus.h"
#include "detail.h"
#include "latency.h"
#include "topic_cell.h"
#include "topic_slots.h"
#include "wake.h"

void busd_topic_publisher_start(const struct bus__topic_geometry *g,
				uint32_t index,
				const struct busd_topic_identity *who)
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
		uint64_t state =
			bus__load_seq_cst(&bus__topic_cell(g, q)->state);
		int64_t d = bus__position_diff(bus__cell_position(state),
					       bus__position_wrap(q));

		if (d < 0 ||
		    (d == 0 && bus__topic_kind(state) != BUS__TOPIC_READY &&
		     bus__topic_kind(state) != BUS__TOPIC_PADDED))
			break;
	}
	return q;
}

/* A publisher that read the word before the raise does not sleep
 * (wake.h); one asleep is woken and scans again. */
static void wake_publishers(struct bus_topic_control *c)
{
	bus__wake_all(&c->space_futex);
}

void busd_topic_subscriber_start(const struct bus__topic_geometry *g,
				 uint32_t index,
				 const struct busd_topic_identity *who)
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

/* A sleeper that read a word before its raise does not sleep (wake.h);
 * one asleep is woken and looks again. */
static void wake_everybody(struct bus_topic_control *c)
{
	bus__wake_all(&c->data_futex);
	bus__wake_all(&c->space_futex);
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
		if (bus__cas_acq_rel(
			    &cell->state, &state,
			    bus__topic_state(bus__cell_position(state), 0,
					     BUS__TOPIC_PADDED)))
			padded++;
	}
	return padded;
}

int busd_topic_publisher_detach(const struct bus__topic_geometry *g,
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

int busd_topic_subscriber_detach(const struct bus__topic_geometry *g,
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
