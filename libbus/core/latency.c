/* SPDX-License-Identifier: MIT */
/* Reading and folding latency histograms (latency.h). */
#include <string.h>

#include "latency.h"

void bus__latency_meter_init(struct bus__latency_meter *m,
			     struct bus_latency_histogram *histogram, int off,
			     uint32_t every)
{
	memset(m, 0, sizeof(*m));
	m->histogram = off ? NULL : histogram;
	m->every = every ? every : BUS_LATENCY_EVERY_DEFAULT;
	m->to_skip = m->every;
}

uint64_t bus__latency_bucket_high(uint32_t bucket)
{
	uint32_t top, sub;

	if (bucket < BUS__LATENCY_SUBS)
		return bucket;
	top = bucket / BUS__LATENCY_SUBS + BUS__LATENCY_SUB_BITS - 1;
	sub = bucket % BUS__LATENCY_SUBS;
	/* Bucket holds [(SUBS + sub) << shift, (SUBS + sub + 1) << shift). */
	return (((uint64_t)(BUS__LATENCY_SUBS + sub + 1))
		<< (top - BUS__LATENCY_SUB_BITS)) -
	       1;
}

void bus__latency_merge(struct bus_latency_histogram *into,
			struct bus_latency_histogram *from)
{
	/* Relaxed: busd folds a slot whose writer is gone.  Each bucket is
	 * emptied before it is added, so a busd killed half way and the
	 * next one doing it again can lose a bucket, never count it twice. */
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++) {
		uint64_t moved = bus__load_relaxed(&from->count[b]);

		bus__store_relaxed(&from->count[b], 0);
		bus__store_relaxed(&into->count[b],
				   bus__load_relaxed(&into->count[b]) + moved);
	}
}

/* The smallest bucket high value below which at least rank counts lie. */
static uint64_t value_at(const uint64_t *sums, uint64_t rank)
{
	uint64_t seen = 0;

	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++) {
		seen += sums[b];
		if (seen >= rank && sums[b])
			return bus__latency_bucket_high(b);
	}
	return 0;
}

/* rank of the q-th quantile (q in thousandths), at least 1. */
static uint64_t rank_of(uint64_t total, uint32_t per_mille)
{
	uint64_t rank = (total * per_mille + 999) / 1000;

	return rank ? rank : 1;
}

void bus__latency_summary(const struct bus_latency_histogram *h,
			  uint32_t count, struct bus_latency *out)
{
	uint64_t sums[BUS_LATENCY_BUCKETS] = { 0 };

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < count; i++)
		for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++)
			sums[b] += bus__load_relaxed(&h[i].count[b]);
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++)
		out->count += sums[b];
	if (!out->count)
		return;
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++) {
		if (sums[b]) {
			out->min_ns = b ? bus__latency_bucket_high(b - 1) + 1
					: 0;
			break;
		}
	}
	out->p50_ns = value_at(sums, rank_of(out->count, 500));
	out->p90_ns = value_at(sums, rank_of(out->count, 900));
	out->p99_ns = value_at(sums, rank_of(out->count, 990));
	out->p999_ns = value_at(sums, rank_of(out->count, 999));
	out->max_ns = value_at(sums, out->count);
}
