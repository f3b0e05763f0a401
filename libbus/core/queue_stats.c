/* SPDX-License-Identifier: MIT */
/* Figures of a queue, read from shared memory without disturbing it. */
#include <string.h>

#include "atomics.h"
#include "detail.h"
#include "latency.h"
#include "queue_cell.h"
#include "stats.h"

/* Relaxed loads throughout: figures are independent counters, each
 * written by one party; a reader sees each at some recent value. */
static void add_attachment(struct bus_queue_stats *s,
			   const struct bus_attachment *a)
{
	s->enqueued += bus__load_relaxed(&a->enqueued);
	s->dequeued += bus__load_relaxed(&a->dequeued);
	s->acked += bus__load_relaxed(&a->acked);
	s->nacked += bus__load_relaxed(&a->nacked);
	s->redelivered += bus__load_relaxed(&a->redelivered);
	s->dropped += bus__load_relaxed(&a->dropped);
	s->rejected += bus__load_relaxed(&a->rejected);
	s->backpressure_waits += bus__load_relaxed(&a->backpressure_waits);
	s->high_water =
		bus__max_u64(s->high_water, bus__load_relaxed(&a->high_water));
}

static void add_retired(struct bus_queue_stats *s,
			const struct bus_retired_figures *r)
{
	s->enqueued += bus__load_relaxed(&r->enqueued);
	s->dequeued += bus__load_relaxed(&r->dequeued);
	s->acked += bus__load_relaxed(&r->acked);
	s->nacked += bus__load_relaxed(&r->nacked);
	s->redelivered += bus__load_relaxed(&r->redelivered);
	s->dropped += bus__load_relaxed(&r->dropped);
	s->rejected += bus__load_relaxed(&r->rejected);
	s->backpressure_waits += bus__load_relaxed(&r->backpressure_waits);
	s->reclaimed += bus__load_relaxed(&r->reclaimed);
	s->dead_lettered += bus__load_relaxed(&r->dead_lettered);
	s->timed_out += bus__load_relaxed(&r->timed_out);
	s->expired += bus__load_relaxed(&r->expired);
	s->high_water =
		bus__max_u64(s->high_water, bus__load_relaxed(&r->high_water));
}

/*
 * Where a READY cell stands for a lazy SPSC consumer (queue_leases.c):
 * before its released position the message is done, between released and
 * taken it is held, after that it is queued.
 */
enum ready_kind { READY_QUEUED, READY_HELD, READY_DONE };

static enum ready_kind classify_ready(const struct bus__queue_geometry *g,
				      uint64_t state)
{
	uint64_t position = bus__cell_position(state);
	uint64_t released, taken;

	if (!bus__queue_lazy(&g->settings))
		return READY_QUEUED;
	released = bus__load_relaxed(&g->control->dequeue_position);
	taken = bus__load_relaxed(&g->control->taken_position);
	if (bus__position_diff(position, bus__position_wrap(released)) < 0)
		return READY_DONE;
	if (bus__position_diff(position, bus__position_wrap(taken)) < 0)
		return READY_HELD;
	return READY_QUEUED;
}

/* Depth and leases from the cells themselves: exact at each cell's
 * moment, and right even after the clients that made them are gone. */
static void count_cells(struct bus_queue_stats *s,
			const struct bus__queue_geometry *g)
{
	for (uint32_t i = 0; i < g->slots; i++) {
		uint64_t state =
			bus__load_relaxed(&bus__queue_cell(g, i)->state);

		switch (bus__cell_kind(state)) {
		case BUS__CELL_READY:
			switch (classify_ready(g, state)) {
			case READY_QUEUED:
				s->depth++;
				break;
			case READY_HELD:
				s->leased++;
				break;
			case READY_DONE:
				break;
			}
			break;
		case BUS__CELL_REDELIVER:
			s->depth++;
			break;
		case BUS__CELL_HELD:
			s->leased++;
			break;
		case BUS__CELL_DEAD:
			s->dead_waiting++;
			break;
		default:
			break;
		}
	}
}

uint64_t bus__queue_messages(const struct bus__queue_geometry *g)
{
	struct bus_queue_stats s = { 0 };

	count_cells(&s, g);
	return s.depth + s.leased + s.dead_waiting;
}

/* The journal line (layout.h), written by busd's journal thread.
 * Relaxed: figures. */
static void add_journal(struct bus_queue_stats *s,
			const struct bus__queue_geometry *g)
{
	const struct bus_queue_control *c = g->control;
	const struct bus_journal_line *j = &c->journal;
	uint64_t enqueued = bus__load_relaxed(&c->enqueue_position);
	uint64_t durable = bus__load_relaxed(&c->durable_position);

	if (!g->settings.durable)
		return;
	s->journal_lag = (int64_t)(enqueued - durable) > 0 ? enqueued - durable
							   : 0;
	s->journal_bytes = bus__load_relaxed(&j->bytes_written);
	s->journal_syncs = bus__load_relaxed(&j->syncs);
	s->journal_sync_p50_ns = bus__load_relaxed(&j->sync_p50_ns);
	s->journal_sync_p99_ns = bus__load_relaxed(&j->sync_p99_ns);
	s->journal_write_errors = bus__load_relaxed(&j->write_errors);
	s->journal_recovery_ns = bus__load_relaxed(&j->recovery_ns);
	s->journal_recovered = bus__load_relaxed(&j->recovered);
	s->journal_torn = bus__load_relaxed(&j->torn_records);
}

void bus__queue_stats_read(const struct bus__queue_geometry *g,
			   struct bus_queue_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < g->attachment_count; i++) {
		const struct bus_attachment *a = &g->attachments[i];
		/* Acquire: pairs with busd's release when it hands out the
		 * slot. */
		uint32_t role = bus__load_acquire(&a->role);

		if (role == BUS_PRODUCER)
			s->producers++;
		else if (role == BUS_CONSUMER)
			s->consumers++;
		add_attachment(s, a);
	}
	add_retired(s, &g->control->retired);
	count_cells(s, g);
	/* The depth now is the one take has not measured yet. */
	s->high_water = bus__max_u64(s->high_water, s->depth);
	s->capacity = g->slots;
	add_journal(s, g);
}

/* ---- per attachment ----------------------------------------------------- */

/* The consumer slot of an spsc queue: a lazy consumer's leases are its. */
static uint32_t spsc_consumer_slot(const struct bus__queue_geometry *g)
{
	return g->settings.max_producers;
}

/* Adds each held message to the attachment that holds it. */
static void count_leases(const struct bus__queue_geometry *g,
			 struct bus_attachment_stats *out, uint32_t count)
{
	for (uint32_t i = 0; i < g->slots; i++) {
		uint64_t state =
			bus__load_relaxed(&bus__queue_cell(g, i)->state);
		uint32_t holder = UINT32_MAX;

		if (bus__cell_kind(state) == BUS__CELL_HELD &&
		    bus__cell_owner(state) > 0)
			holder = bus__cell_owner(state) - 1;
		else if (bus__cell_kind(state) == BUS__CELL_READY &&
			 classify_ready(g, state) == READY_HELD)
			holder = spsc_consumer_slot(g);
		for (uint32_t k = 0; k < count; k++)
			if (out[k].slot == holder)
				out[k].leased++;
	}
}

uint32_t bus__queue_attachments_read(const struct bus__queue_geometry *g,
				     struct bus_attachment_stats *out,
				     uint32_t count)
{
	uint32_t live = 0;

	for (uint32_t i = 0; i < g->attachment_count; i++) {
		const struct bus_attachment *a = &g->attachments[i];
		/* Acquire: pairs with busd's release when it hands out the
		 * slot; the identity line is complete. */
		uint32_t role = bus__load_acquire(&a->role);
		struct bus_attachment_stats *s;

		if (role != BUS_PRODUCER && role != BUS_CONSUMER)
			continue;
		if (live++ >= count)
			continue;
		s = &out[live - 1];
		memset(s, 0, sizeof(*s));
		s->slot = i;
		s->role = role;
		s->pid = a->pid;
		s->uid = a->uid;
		s->enqueued = bus__load_relaxed(&a->enqueued);
		s->dequeued = bus__load_relaxed(&a->dequeued);
		s->acked = bus__load_relaxed(&a->acked);
		s->nacked = bus__load_relaxed(&a->nacked);
		s->redelivered = bus__load_relaxed(&a->redelivered);
		s->high_water = bus__load_relaxed(&a->high_water);
		if (role == BUS_CONSUMER)
			bus__latency_summary(&g->latency[1 + i], 1,
					     &s->latency);
	}
	count_leases(g, out, live < count ? live : count);
	return live;
}

void bus__queue_latency_read(const struct bus__queue_geometry *g,
			     struct bus_latency *latency)
{
	/* The departed consumers' histogram and every slot's. */
	bus__latency_summary(g->latency, g->attachment_count + 1, latency);
}
