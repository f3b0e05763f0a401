/* SPDX-License-Identifier: MIT */
/*
 * The handle clock (libbus/clock.h) against clock_gettime(CLOCK_MONOTONIC):
 * every reading lies between the real clock just before and just after
 * it, give or take what extrapolating from the TSC may be off by, and
 * readings never go back.  With BUS_CLOCK=monotonic in the environment the
 * TSC is not used at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"

/* Extrapolation error allowed: far above the few ns expected, far below
 * the latencies the histograms count. */
#define SLACK_NS 2000u
/* A sample whose bracket is wider was preempted: it proves nothing. */
#define BRACKET_MAX_NS 20000u
#define RUN_NS (150u * 1000 * 1000)

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * One reading of clock between two real ones, failing the test when it is
 * outside them; 1 when it was checked, 0 when the bracket was too wide to
 * prove anything.
 */
static int read_checked(struct bus__clock *clock, uint64_t *now)
{
	uint64_t before = real_ns();
	uint64_t after;

	*now = bus__clock_now_ns(clock);
	after = real_ns();
	if (after - before > BRACKET_MAX_NS)
		return 0;
	if (*now + SLACK_NS < before || *now > after + SLACK_NS)
		fail_msg("clock says %llu, real clock %llu..%llu",
			 (unsigned long long)*now, (unsigned long long)before,
			 (unsigned long long)after);
	return 1;
}

static void test_follows_monotonic(void **state)
{
	struct bus__clock clock;
	uint64_t start = real_ns(), previous = 0, checked = 0;

	(void)state;
	memset(&clock, 0, sizeof(clock));
	while (real_ns() - start < RUN_NS) {
		uint64_t now;

		checked += read_checked(&clock, &now);
		assert_true(now >= previous);
		previous = now;
	}
	assert_true(checked > 1000);
	/* Measured by now: the fast path is the one that was checked. */
	if (bus__tsc_usable)
		assert_true(clock.window > 0);
	printf("clock: %s, %llu readings checked\n",
	       bus__tsc_usable ? "TSC" : "clock_gettime",
	       (unsigned long long)checked);
}

/*
 * Runs after test_follows_monotonic measured a rate: a new clock of the
 * same process starts from it (no 20 ms of clock_gettime() first) and is
 * as exact from its first readings on.
 */
static void test_second_clock_starts_from_process_rate(void **state)
{
	struct bus__clock clock;
	uint64_t checked = 0;

	(void)state;
	if (!bus__tsc_usable)
		skip();
	memset(&clock, 0, sizeof(clock));
	for (int i = 0; i < 1000; i++) {
		uint64_t now;

		checked += read_checked(&clock, &now);
	}
	assert_true(checked > 100);
	/* A thousand readings take well under the 20 ms of a measurement:
	 * the window can only come from the process's rate. */
	assert_true(clock.window > 0);
}

static void test_forced_monotonic(void **state)
{
	const char *forced = getenv("BUS_CLOCK");

	(void)state;
	if (!forced || strcmp(forced, "monotonic"))
		skip();
	assert_false(bus__tsc_usable);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_monotonic),
		cmocka_unit_test(test_second_clock_starts_from_process_rate),
		cmocka_unit_test(test_forced_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
