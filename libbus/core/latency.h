/* SPDX-License-Identifier: MIT */
/*
 * Publish-to-receive latency histograms, one per consumer or subscriber
 * slot, in the segment (struct bus_latency_histogram in layout.h).
 *
 * Buckets are log-linear: 8 per power of two, so a bucket is at most 12.5%
 * wide, from exact nanoseconds below 8 up to 2^34 ns (17 s); anything
 * longer lands in the last one.  A receive of a message that carries a
 * publish time reads the clock once and adds one to its bucket: a relaxed
 * increment on a line only the receiver writes, no shared line, no atomic
 * read-modify-write.  Readers (busctl, busd's metrics) sum the buckets with
 * relaxed loads; a count may be a receive behind, never torn.
 */
#ifndef BUS_LATENCY_H
#define BUS_LATENCY_H

#include <stdint.h>

#include "atomics.h"
#include "bus/bus.h"
#include "clock.h"
#include "bus/layout.h"

#define BUS__LATENCY_SUB_BITS 3u
#define BUS__LATENCY_SUBS (1u << BUS__LATENCY_SUB_BITS)

_Static_assert(BUS_LATENCY_BUCKETS == 32 * BUS__LATENCY_SUBS,
	       "buckets cover 2^34 ns");

static inline uint32_t bus__latency_bucket(uint64_t ns)
{
	uint32_t top, bucket;

	if (ns < BUS__LATENCY_SUBS)
		return (uint32_t)ns;
	top = 63u - (uint32_t)__builtin_clzll(ns); /* >= SUB_BITS */
	bucket = (top - BUS__LATENCY_SUB_BITS + 1) * BUS__LATENCY_SUBS +
		 (uint32_t)((ns >> (top - BUS__LATENCY_SUB_BITS)) &
			    (BUS__LATENCY_SUBS - 1));
	return bucket < BUS_LATENCY_BUCKETS ? bucket : BUS_LATENCY_BUCKETS - 1;
}

/* The largest latency that lands in bucket. */
uint64_t bus__latency_bucket_high(uint32_t bucket);

/* A receiver's side of its histogram; private to the handle. */
struct bus__latency_meter {
	struct bus_latency_histogram *histogram; /* NULL: turned off */
	uint32_t every;	  /* count one receive in this many */
	uint32_t to_skip; /* receives before the next counted one */
	struct bus__clock clock;
};

/* Sets the meter up from the options (no_latency, latency_every). */
void bus__latency_meter_init(struct bus__latency_meter *m,
			     struct bus_latency_histogram *histogram, int off,
			     uint32_t every);

/*
 * Counts one receive of a message published at publish_ns (0: the
 * producer did not stamp it, nothing to count), every m->every-th time,
 * reading the receiver's clock.
 */
static inline void bus__latency_record(struct bus__latency_meter *m,
				       uint64_t publish_ns)
{
	struct bus_latency_histogram *h = m->histogram;
	uint64_t now, delta;
	BUS_ATOMIC(uint64_t) * slot;

	if (!h || !publish_ns || --m->to_skip)
		return;
	m->to_skip = m->every;
	now = bus__clock_now_ns(&m->clock);
	/* A stamp from the future (a hostile or broken peer) counts as 0. */
	delta = now > publish_ns ? now - publish_ns : 0;
	slot = &h->count[bus__latency_bucket(delta)];
	/* Relaxed load and store: we are this line's only writer; readers
	 * pair with nothing but want a recent value. */
	bus__store_relaxed(slot, bus__load_relaxed(slot) + 1);
}

/* Moves the buckets of from into into (busd retires a departed slot's);
 * from is left empty. */
void bus__latency_merge(struct bus_latency_histogram *into,
			struct bus_latency_histogram *from);

/* Percentiles of count histograms side by side (a segment's latency
 * region, or one slot's), added up. */
void bus__latency_summary(const struct bus_latency_histogram *h,
			  uint32_t count, struct bus_latency *out);

#endif /* BUS_LATENCY_H */
