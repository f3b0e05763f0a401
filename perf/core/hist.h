/* SPDX-License-Identifier: MIT */
/*
 * A log-linear latency histogram in the spirit of HdrHistogram.
 *
 * Values are nanoseconds.  Below 256 every value has its own bucket.  Each
 * power of two above that, [2^e, 2^(e+1)), is cut into 128 equal buckets, so
 * a bucket is at most 1/128 (0.78%) of the values it holds wide, and the
 * value a bucket reports (its middle) is within 0.4% of every value recorded
 * in it.  The top bucket range ends at 2^41 ns (about 36 minutes); larger
 * values land in the last bucket, while min and max stay exact.
 *
 * A histogram is a flat struct without pointers, so it can live in a
 * MAP_SHARED mapping and be filled by a child process and read by its parent.
 * It is not thread-safe: one writer at a time.
 */
#ifndef PERF_HIST_H
#define PERF_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HIST_LINEAR_LIMIT 256u /* values below have exact buckets */
#define HIST_SUB_BUCKETS 128u  /* buckets per power of two above */
#define HIST_FIRST_EXPONENT 8u /* 2^8 == HIST_LINEAR_LIMIT */
#define HIST_LAST_EXPONENT 40u /* the range ends at 2^(40 + 1) */
#define HIST_BUCKETS         \
	(HIST_LINEAR_LIMIT + \
	 (HIST_LAST_EXPONENT - HIST_FIRST_EXPONENT + 1) * HIST_SUB_BUCKETS)

struct hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t sum; /* for the mean; wraps only after 584 years of ns */
	uint64_t buckets[HIST_BUCKETS];
};

/* Empties the histogram. */
void hist_reset(struct hist *h);

/* The bucket index of a value, and the range of values a bucket holds. */
unsigned int hist_bucket_index(uint64_t value);
uint64_t hist_bucket_low(unsigned int index);
uint64_t hist_bucket_high(unsigned int index); /* exclusive */

/* Counts one value. */
static inline void hist_record(struct hist *h, uint64_t value)
{
	h->buckets[hist_bucket_index(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

/* Counts value n times (used by coordinated-omission correction). */
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* Adds every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The smallest recorded value v such that at least percentile % of the
 * values are <= v, reported as the middle of its bucket and clamped to
 * [min, max].  0 for an empty histogram.  percentile 0 gives min, 100 max.
 */
uint64_t hist_percentile(const struct hist *h, double percentile);

/* The mean, 0 when empty. */
double hist_mean(const struct hist *h);

/*
 * Writes one "value_ns count" line per non-empty bucket (value is the
 * bucket's middle, clamped to [min, max]).  Histograms written this way by
 * several runs can be merged by adding the counts of equal values.
 * Returns 0 or -errno.
 */
int hist_write_buckets(const struct hist *h, FILE *out);

#endif /* PERF_HIST_H */
