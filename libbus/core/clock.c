/* SPDX-License-Identifier: MIT */
/* The slow path of the handle clocks (clock.h), and when the TSC serves. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "atomics.h"
#include "clock.h"

#define RATE_SPAN_NS BUS__CLOCK_RATE_SPAN_NS
/* A longer span (a handle idle for a while, perhaps across a suspend,
 * during which CLOCK_MONOTONIC stops and the TSC may not) proves nothing
 * about the rate: the measurement starts over, the old rate kept. */
#define RATE_SPAN_MAX_NS (1000u * 1000 * 1000)
/* How long an anchor serves: the rate error times this stays at a few ns
 * even while NTP slews the clock. */
#define ANCHOR_SPAN_NS (1000u * 1000)
/* A clock_gettime() takes some 100 ticks; a pair wider than this was
 * interrupted (under a microsecond at any TSC rate of 2 GHz or more). */
#define PAIR_WIDTH_MAX 2000u
#define PAIR_TRIES 3

bool bus__tsc_usable;

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if BUS__HAVE_TSC
/* CPUID 0x80000007, EDX bit 8: the TSC ticks at a constant rate in every
 * power state. */
static bool tsc_invariant(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return false;
	return d & (1u << 8);
}

/* The kernel keeps CLOCK_MONOTONIC with the TSC only when it found the
 * TSC in step across CPUs and stable. */
static bool kernel_clocksource_is_tsc(void)
{
	char text[16] = { 0 };
	int fd = open("/sys/devices/system/clocksource/clocksource0/"
		      "current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	return n > 0 && !strcmp(text, "tsc\n");
}

__attribute__((constructor)) static void decide(void)
{
	const char *forced = getenv("BUS_CLOCK");

	bus__tsc_usable = !(forced && !strcmp(forced, "monotonic")) &&
			  tsc_invariant() && kernel_clocksource_is_tsc();
}
#endif

/*
 * ns of CLOCK_MONOTONIC and the TSC at the same moment, as near as two TSC
 * reads around it allow: the tightest of a few tries.  *tight is false
 * when even that one was stretched (an interrupt, a preemption, a VM
 * exit): such a pair must not anchor anything.
 */
static uint64_t read_pair(uint64_t *tsc, bool *tight)
{
#if BUS__HAVE_TSC
	uint64_t best_width = UINT64_MAX, best_ns = 0;

	for (int i = 0; i < PAIR_TRIES; i++) {
		uint64_t before = __rdtsc(), ns = monotonic_ns();
		uint64_t after = __rdtsc();

		if (after - before < best_width) {
			best_width = after - before;
			best_ns = ns;
			*tsc = before + (after - before) / 2;
		}
	}
	*tight = best_width <= PAIR_WIDTH_MAX;
	return best_ns;
#else
	*tsc = 0;
	*tight = false;
	return monotonic_ns();
#endif
}

/*
 * The rate the latest handle of this process to finish a measurement
 * found (ns per tick << 32), or until one did, the rate busd handed over
 * at connect (bus__clock_adopt_rate); 0 while neither: new handles start
 * from it instead of reading clock_gettime() for RATE_SPAN_NS first.
 * Each handle still refines its own rate.  Relaxed: a plain value; any
 * recent one will do.
 */
static _Atomic uint64_t process_mult;

/* Ticks an anchor serves at rate mult; 0 for an absurd rate (a TSC of
 * 1 MHz or slower, or a window past 2^32 ticks). */
static uint64_t window_of(uint64_t mult)
{
	uint64_t window;

	if (mult == 0 || mult >= (UINT64_C(1000) << 32))
		return 0;
	window = ((uint64_t)ANCHOR_SPAN_NS << 32) / mult;
	return window < (UINT64_C(1) << 32) ? window : 0;
}

static void measure_rate(struct bus__clock *c, uint64_t tsc, uint64_t ns)
{
	uint64_t span_ns = ns - c->rate_ns, span_tsc = tsc - c->rate_tsc;

	if (!c->rate_ns || tsc <= c->rate_tsc) {
		/* First call, or the TSC went back (a migration to an
		 * unsynchronised CPU): start over; meanwhile the process's
		 * rate if it has one, else clock_gettime(). */
		c->rate_tsc = tsc;
		c->rate_ns = ns;
		c->mult = bus__load_relaxed(&process_mult);
		c->window = window_of(c->mult);
		return;
	}
	if (span_ns < RATE_SPAN_NS)
		return;
	if (span_ns > RATE_SPAN_MAX_NS) {
		c->rate_tsc = tsc;
		c->rate_ns = ns;
		return;
	}
	c->mult = (uint64_t)(((unsigned __int128)span_ns << 32) / span_tsc);
	c->window = window_of(c->mult);
	if (c->window)
		bus__store_relaxed(&process_mult, c->mult);
	c->rate_tsc = tsc;
	c->rate_ns = ns;
}

uint64_t bus__clock_known_rate(void)
{
	return bus__load_relaxed(&process_mult);
}

void bus__clock_adopt_rate(uint64_t rate)
{
	uint64_t none = 0;

	if (!window_of(rate))
		return;
	/* Relaxed, as process_mult above; a rate the process measured
	 * itself stays. */
	bus__cas_relaxed(&process_mult, &none, rate);
}

int64_t bus__monotonic_ns(void)
{
	return (int64_t)monotonic_ns();
}

int64_t bus__deadline_from(int64_t now, int64_t timeout_ns)
{
	if (timeout_ns < 0 || timeout_ns > INT64_MAX - now)
		return -1;
	return now + timeout_ns;
}

int64_t bus__deadline_ns(int64_t timeout_ns)
{
	return timeout_ns < 0
		       ? -1
		       : bus__deadline_from(bus__monotonic_ns(), timeout_ns);
}

/* Never backwards, whatever the source of ns. */
static uint64_t monotone(struct bus__clock *c, uint64_t ns)
{
	if (ns < c->last_ns)
		return c->last_ns;
	c->last_ns = ns;
	return ns;
}

/*
 * While no rate is known (a handle's first RATE_SPAN_NS, when no other
 * handle of the process measured one and busd handed over none): a plain
 * clock_gettime() per call, a third of what an anchor's pairs cost.  Once
 * the process knows a rate, the handle takes it and anchors.  Returns 0
 * when an anchor is due.
 */
static uint64_t while_measuring(struct bus__clock *c)
{
	uint64_t shared, ns;

	if (!bus__tsc_usable || c->window || !c->rate_ns)
		return 0;
	shared = bus__load_relaxed(&process_mult);
	if (shared) {
		c->mult = shared;
		c->window = window_of(shared);
		return 0;
	}
	ns = monotonic_ns();
	return ns - c->rate_ns < RATE_SPAN_NS ? monotone(c, ns) : 0;
}

uint64_t bus__clock_anchor(struct bus__clock *c)
{
	bool tight;
	uint64_t tsc = 0, ns;

	/* No TSC to anchor (a VM whose kernel keeps kvm-clock, or another
	 * architecture): one clock_gettime(), not the tightest of a few
	 * pairs, which only an anchor needs (three reads a stamp, measured
	 * as 40% of a topic publisher's time on such a VM). */
	if (!bus__tsc_usable)
		return monotone(c, monotonic_ns());
	ns = while_measuring(c);
	if (ns)
		return ns;
	ns = read_pair(&tsc, &tight);
	if (bus__tsc_usable && tight) {
		measure_rate(c, tsc, ns);
		c->anchor_tsc = tsc;
		c->anchor_ns = ns;
	}
	return monotone(c, ns);
}
