/* SPDX-License-Identifier: MIT */
/*
 * The inline helpers every measuring loop runs, in perf/ and in busctl
 * bench alike: the clock, the spin hint and payload touching.  They are
 * here, in perf_core, so that both measure with the very same code.
 */
#ifndef PERF_BENCH_CORE_H
#define PERF_BENCH_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_LINE 64

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Tells the core we are spinning (lets the sibling thread run). */
static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * The sender writes every 8-byte word of the payload (sizes are multiples of
 * 8), the receiver reads every word back and checks their sum, so the bytes
 * really travel and a torn or stale message is caught.
 */
static inline void bench_payload_write(void *payload, size_t size,
				       uint64_t seq)
{
	uint64_t *word = payload;
	size_t i;

	for (i = 0; i < size / 8; i++)
		word[i] = seq + i;
}

/* 0 when the payload holds what bench_payload_write(seq) wrote. */
static inline int bench_payload_check(const void *payload, size_t size,
				      uint64_t seq)
{
	const uint64_t *word = payload;
	uint64_t n = size / 8, sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += word[i];
	/* sum of seq + i over i < n; the first word catches a stale seq. */
	if (n && (word[0] != seq || sum != seq * n + n * (n - 1) / 2))
		return -1;
	return 0;
}

#endif /* PERF_BENCH_CORE_H */
