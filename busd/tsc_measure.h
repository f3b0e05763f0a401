/* SPDX-License-Identifier: MIT */
/* busd measures the TSC rate once at start, to hand it to every client. */
#ifndef BUSD_TSC_MEASURE_H
#define BUSD_TSC_MEASURE_H

#include <stdbool.h>

#include "clock.h"

/*
 * Measures the rate now: sleeps what is left of the 20 ms since c's first
 * reading (if any) and takes the second; a few more tries when a reading
 * was interrupted.  true when c, and so the process, has a rate
 * (bus__clock_known_rate); false without a usable TSC.
 */
bool busd_clock_measure(struct bus__clock *c);

#endif /* BUSD_TSC_MEASURE_H */
