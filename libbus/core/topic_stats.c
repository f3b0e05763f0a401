/* SPDX-License-Identifier: MIT */
/* Figures of a topic, read from shared memory without disturbing it. */
#include <string.h>

#include "atomics.h"
#include "detail.h"
#include "latency.h"
#include "stats.h"

/* Relaxed loads throughout: figures are independent counters, each written
 * by one party; a reader sees each at some recent value. */

static void add_retired(struct bus_topic_stats *s,
			const struct bus_topic_retired_figures *r)
{
	s->published += bus__load_relaxed(&r->published);
	s->rejected += bus__load_relaxed(&r->rejected);
	s->backpressure_waits += bus__load_relaxed(&r->backpressure_waits);
	s->received += bus__load_relaxed(&r->received);
	s->lapped += bus__load_relaxed(&r->lapped);
	s->lost += bus__load_relaxed(&r->lost);
	s->padded += bus__load_relaxed(&r->padded);
	s->expired += bus__load_relaxed(&r->expired);
}

static void add_publishers(struct bus_topic_stats *s,
			   const struct bus__topic_geometry *g)
{
	for (uint32_t i = 0; i < g->settings.max_publishers; i++) {
		const struct bus_attachment *a = &g->publishers[i];

		/* Acquire: pairs with busd's release when it lends it. */
		if (bus__load_acquire(&a->role))
			s->publishers++;
		s->published += bus__load_relaxed(&a->enqueued);
		s->rejected += bus__load_relaxed(&a->rejected);
		s->backpressure_waits +=
			bus__load_relaxed(&a->backpressure_waits);
	}
}

static void subscriber_stats(const struct bus__topic_geometry *g,
			     uint32_t index, uint64_t tail,
			     struct bus_subscriber_stats *out)
{
	const struct bus_subscriber *s = &g->subscribers[index];
	uint64_t position = bus__load_relaxed(&s->position);

	*out = (struct bus_subscriber_stats){
		.slot = index,
		.client_id = s->client_id,
		.pid = s->pid,
		.position = position,
		.lag = tail > position ? tail - position : 0,
		.received = bus__load_relaxed(&s->received),
		.lapped = bus__load_relaxed(&s->lapped),
		.lost = bus__load_relaxed(&s->lost),
		.expired = bus__load_relaxed(&s->expired),
	};
	/* Its mark, or the lag now if higher: that one no read measured. */
	out->high_water =
		bus__max_u64(bus__load_relaxed(&s->high_water), out->lag);
	bus__latency_summary(&g->latency[1 + index], 1, &out->latency);
}

static int live(const struct bus__topic_geometry *g, uint32_t index)
{
	/* Acquire: the identity line is read after it. */
	return bus__load_acquire(&g->subscribers[index].role) != 0;
}

/* The journal line (layout.h), written by busd's journal thread.
 * Relaxed: figures. */
static void add_journal(struct bus_topic_stats *s,
			const struct bus__topic_geometry *g)
{
	const struct bus_topic_control *c = g->control;
	const struct bus_journal_line *j = &c->journal;
	uint64_t recorded = bus__load_relaxed(&c->journal_position);

	if (!g->settings.record)
		return;
	s->journal_lag = (int64_t)(s->tail - recorded) > 0 ? s->tail - recorded
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

void bus__topic_stats_read(const struct bus__topic_geometry *g,
			   struct bus_topic_stats *s)
{
	struct bus_subscriber_stats one;

	memset(s, 0, sizeof(*s));
	s->tail = bus__load_relaxed(&g->control->tail);
	s->capacity = g->slots;
	add_publishers(s, g);
	add_retired(s, &g->control->retired);
	s->high_water = bus__load_relaxed(&g->control->retired_high_water);
	for (uint32_t i = 0; i < g->settings.max_subscribers; i++) {
		if (!live(g, i))
			continue;
		subscriber_stats(g, i, s->tail, &one);
		s->subscribers++;
		s->received += one.received;
		s->lapped += one.lapped;
		s->lost += one.lost;
		s->expired += one.expired;
		if (one.lag > s->max_lag)
			s->max_lag = one.lag;
		s->high_water = bus__max_u64(s->high_water, one.high_water);
	}
	add_journal(s, g);
}

uint32_t bus__topic_subscribers_read(const struct bus__topic_geometry *g,
				     struct bus_subscriber_stats *out,
				     uint32_t count)
{
	uint64_t tail;
	uint32_t n = 0;

	tail = bus__load_relaxed(&g->control->tail);
	for (uint32_t i = 0; i < g->settings.max_subscribers; i++) {
		if (!live(g, i))
			continue;
		if (n < count)
			subscriber_stats(g, i, tail, &out[n]);
		n++;
	}
	return n;
}

void bus__subscriber_stats_read(const struct bus__topic_geometry *g,
				uint32_t index,
				struct bus_subscriber_stats *stats)
{
	subscriber_stats(g, index, bus__load_relaxed(&g->control->tail),
			 stats);
}

void bus__topic_latency_read(const struct bus__topic_geometry *g,
			     struct bus_latency *latency)
{
	/* The departed subscribers' histogram and every slot's. */
	bus__latency_summary(g->latency, g->settings.max_subscribers + 1,
			     latency);
}
