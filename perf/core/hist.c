/* SPDX-License-Identifier: MIT */
/*
 * Log-linear histogram: see hist.h for the bucket scheme.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "hist.h"

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned int hist_bucket_index(uint64_t value)
{
	unsigned int exponent, sub;

	if (value < HIST_LINEAR_LIMIT)
		return (unsigned int)value;
	exponent = 63u - (unsigned int)__builtin_clzll(value);
	if (exponent > HIST_LAST_EXPONENT)
		return HIST_BUCKETS - 1;
	/*
	 * Keep the 8 leading bits: the top one is always set, the 7 below
	 * it pick one of the 128 buckets of this power of two.
	 */
	sub = (unsigned int)(value >> (exponent - 7u)) - HIST_SUB_BUCKETS;
	return HIST_LINEAR_LIMIT +
	       (exponent - HIST_FIRST_EXPONENT) * HIST_SUB_BUCKETS + sub;
}

uint64_t hist_bucket_low(unsigned int index)
{
	unsigned int exponent, sub;

	if (index < HIST_LINEAR_LIMIT)
		return index;
	index -= HIST_LINEAR_LIMIT;
	exponent = HIST_FIRST_EXPONENT + index / HIST_SUB_BUCKETS;
	sub = index % HIST_SUB_BUCKETS;
	return (uint64_t)(HIST_SUB_BUCKETS + sub) << (exponent - 7u);
}

uint64_t hist_bucket_high(unsigned int index)
{
	unsigned int exponent, sub;

	if (index < HIST_LINEAR_LIMIT)
		return (uint64_t)index + 1;
	index -= HIST_LINEAR_LIMIT;
	exponent = HIST_FIRST_EXPONENT + index / HIST_SUB_BUCKETS;
	sub = index % HIST_SUB_BUCKETS;
	return (uint64_t)(HIST_SUB_BUCKETS + sub + 1) << (exponent - 7u);
}

/* The value a bucket stands for: its middle, inside what was recorded. */
static uint64_t hist_bucket_value(const struct hist *h, unsigned int index)
{
	uint64_t low = hist_bucket_low(index);
	uint64_t value = low + (hist_bucket_high(index) - low - 1) / 2;

	if (value < h->min)
		value = h->min;
	if (value > h->max)
		value = h->max;
	return value;
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n)
{
	if (n == 0)
		return;
	h->buckets[hist_bucket_index(value)] += n;
	h->count += n;
	h->sum += value * n;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int i;

	if (src->count == 0)
		return;
	for (i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double percentile)
{
	uint64_t rank, seen = 0;
	unsigned int i;

	if (h->count == 0)
		return 0;
	if (percentile <= 0.0)
		return h->min;
	if (percentile >= 100.0)
		return h->max;
	/* The rank of the value asked for, 1-based: ceil(p% of count). */
	rank = (uint64_t)ceil(percentile / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return hist_bucket_value(h, i);
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

int hist_write_buckets(const struct hist *h, FILE *out)
{
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		if (h->buckets[i] == 0)
			continue;
		if (fprintf(out, "%llu %llu\n",
			    (unsigned long long)hist_bucket_value(h, i),
			    (unsigned long long)h->buckets[i]) < 0)
			return -EIO;
	}
	return fflush(out) == 0 ? 0 : -errno;
}
