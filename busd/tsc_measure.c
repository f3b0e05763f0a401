/* SPDX-License-Identifier: MIT */
/* Measuring the TSC rate for the process at once (busd), not as it goes. */
#include <time.h>

#include "tsc_measure.h"

/* A first reading, then up to three for the second (one that was
 * interrupted does not count). */
#define MEASURE_TRIES 4

bool busd_clock_measure(struct bus__clock *c)
{
	for (int i = 0; i < MEASURE_TRIES && bus__tsc_usable && !c->window;
	     i++) {
		uint64_t since =
			c->rate_ns ? (uint64_t)bus__monotonic_ns() - c->rate_ns
				   : 0;

		if (c->rate_ns && since < BUS__CLOCK_RATE_SPAN_NS) {
			struct timespec pause = bus__timespec_of(
				(int64_t)(BUS__CLOCK_RATE_SPAN_NS - since));

			nanosleep(&pause, NULL);
		}
		bus__clock_anchor(c);
	}
	return c->window != 0;
}
