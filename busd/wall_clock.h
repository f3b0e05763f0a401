/* SPDX-License-Identifier: MIT */
/*
 * Publish stamps (CLOCK_MONOTONIC) as journal times (CLOCK_REALTIME, so
 * that they mean the same after a reboot), with both clocks read once per
 * copy pass rather than twice per message: two clock_gettime() calls a
 * message were an eighth of busd's journal thread while a producer
 * streamed (perf/RESULTS.md).  Within a pass the two clocks keep their
 * offset; a step of the wall clock shows at the next pass.
 */
#ifndef BUSD_WALL_CLOCK_H
#define BUSD_WALL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* A stamp further than this past the reading is nonsense (a hostile or
 * broken peer): it gets the reading's time. */
#define BUSD_WALL_CLOCK_AHEAD_MAX_NS 1000000000u

struct busd_wall_clock {
	uint64_t wall_ns;      /* CLOCK_REALTIME at the reading */
	uint64_t monotonic_ns; /* CLOCK_MONOTONIC at the same moment */
};

static inline uint64_t busd_wall_clock_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void busd_wall_clock_read(struct busd_wall_clock *c)
{
	c->wall_ns = busd_wall_clock_ns(CLOCK_REALTIME);
	c->monotonic_ns = busd_wall_clock_ns(CLOCK_MONOTONIC);
}

/* A publish stamp's wall time; 0 (no stamp) is the reading's: the time of
 * the copy. */
static inline uint64_t busd_wall_time_of(const struct busd_wall_clock *c,
					 uint64_t monotonic_ns)
{
	if (!monotonic_ns)
		return c->wall_ns;
	if (monotonic_ns >= c->monotonic_ns) {
		uint64_t ahead = monotonic_ns - c->monotonic_ns;

		return ahead < BUSD_WALL_CLOCK_AHEAD_MAX_NS
			       ? c->wall_ns + ahead
			       : c->wall_ns;
	}
	return c->monotonic_ns - monotonic_ns < c->wall_ns
		       ? c->wall_ns - (c->monotonic_ns - monotonic_ns)
		       : 1;
}

/* A deadline (a message's expiry) in wall time; 0 stays 0, and one past
 * stays past (at least 1). */
static inline uint64_t busd_wall_deadline_of(const struct busd_wall_clock *c,
					     uint64_t monotonic_ns)
{
	if (!monotonic_ns)
		return 0;
	if (monotonic_ns >= c->monotonic_ns)
		return c->wall_ns + (monotonic_ns - c->monotonic_ns);
	return c->monotonic_ns - monotonic_ns < c->wall_ns
		       ? c->wall_ns - (c->monotonic_ns - monotonic_ns)
		       : 1;
}

#endif /* BUSD_WALL_CLOCK_H */
