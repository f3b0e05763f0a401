/* SPDX-License-Identifier: MIT */
/*
 * CLOCK_MONOTONIC for publish stamps and latency, at the price of a TSC
 * read.
 *
 * clock_gettime() through the vDSO costs some 30 ns here, and a message
 * reads the clock twice (the producer's stamp, the consumer's latency
 * histogram): a large share of a 300 ns round trip.  When the TSC is
 * invariant and the kernel itself keeps time with it (so it is in step
 * across CPUs), a handle extrapolates from the last real clock_gettime(),
 * its anchor, with the TSC rate measured over at least 20 ms; it takes a
 * new anchor each millisecond, so the result stays within a few
 * nanoseconds of CLOCK_MONOTONIC, NTP slewing included, and never goes
 * backwards.  Otherwise, or with BUS_CLOCK=monotonic in the environment,
 * every call is a clock_gettime().
 *
 * The state is per handle: a handle is used by one thread at a time.
 */
#ifndef BUS_CLOCK_H
#define BUS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BUS__HAVE_TSC 1
#else
#define BUS__HAVE_TSC 0
#endif

struct bus__clock {
	uint64_t anchor_tsc; /* the TSC at the last clock_gettime() */
	uint64_t anchor_ns;  /* what it said */
	uint64_t rate_tsc;   /* the start of the rate measurement */
	uint64_t rate_ns;
	uint64_t mult;	  /* nanoseconds per tick, << 32 */
	uint64_t window;  /* ticks an anchor serves; 0: not measured */
	uint64_t last_ns; /* the latest answer: never go back */
};

/* CLOCK_MONOTONIC in ns, a real clock_gettime(): for deadlines. */
int64_t bus__monotonic_ns(void);

/* ns (a time or a span, not negative) as futex and nanosleep take it. */
static inline struct timespec bus__timespec_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000),
				  .tv_nsec = (long)(ns % 1000000000) };
}

/*
 * The bus__monotonic_ns() at which a timeout of timeout_ns that starts at
 * now ends; -1, no deadline, for a negative timeout (BUS_FOREVER) and for
 * one that ends past what the clock can count, which is forever in all
 * but name.  bus__deadline_ns() starts it now.
 */
int64_t bus__deadline_from(int64_t now, int64_t timeout_ns);
int64_t bus__deadline_ns(int64_t timeout_ns);

/* A handle measures the TSC rate over at least this long: jitter of a few
 * tens of ns in its pairs of readings is then a few parts in a million. */
#define BUS__CLOCK_RATE_SPAN_NS (20u * 1000 * 1000)

/* True when the TSC may stand in for CLOCK_MONOTONIC (decided once). */
extern bool bus__tsc_usable;

/* The slow path: a real clock_gettime(), a new anchor. */
uint64_t bus__clock_anchor(struct bus__clock *c);

/*
 * The TSC rate this process knows (ns per tick << 32; 0: none yet), which
 * every new handle starts from.  busd hands its own to each client at
 * HELLO, and a client adopts it when it knows none, so that a new process
 * stamps with the TSC from its first message instead of paying a
 * clock_gettime() per reading for the 20 ms of a measurement.  An absurd
 * rate is ignored; each handle still measures its own as it goes, which
 * replaces the adopted one after 20 ms.
 */
uint64_t bus__clock_known_rate(void);
void bus__clock_adopt_rate(uint64_t rate);

static inline uint64_t bus__clock_now_ns(struct bus__clock *c)
{
#if BUS__HAVE_TSC
	if (bus__tsc_usable) {
		uint64_t delta = __rdtsc() - c->anchor_tsc;
		uint64_t ns;

		/* delta < window = ANCHOR_SPAN_NS << 32 / mult: the product
		 * stays under 2^52. */
		if (delta >= c->window)
			return bus__clock_anchor(c);
		ns = c->anchor_ns + ((delta * c->mult) >> 32);
		if (ns < c->last_ns)
			return c->last_ns;
		c->last_ns = ns;
		return ns;
	}
#endif
	return bus__clock_anchor(c);
}

#endif /* BUS_CLOCK_H */
