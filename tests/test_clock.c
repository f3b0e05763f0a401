/* SPDX-License-Identifier: MIT */
/*
 * The handle clock (libbus/core/clock.h) against clock_gettime(CLOCK_MONOTONIC):
 * every reading lies between the real clock just before and just after
 * it, give or take what extrapolating from the TSC may be off by, and
 * readings never go back.  With BUS_CLOCK=monotonic in the environment the
 * TSC is not used at all.  A process that connects to busd starts from the
 * rate busd measured.
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

#include "bus_test_util.h"
#include "clock.h"
#include "test_common.h"

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
 * A new clock of a process that knows a rate: a thousand readings, well
 * under the 20 ms of a measurement, all within the real clock's bracket,
 * and the clock extrapolates (has a window) from the first of them.
 */
static void expect_exact_from_the_start(void)
{
	struct bus__clock clock;
	uint64_t checked = 0;

	memset(&clock, 0, sizeof(clock));
	for (int i = 0; i < 1000; i++) {
		uint64_t now;

		checked += read_checked(&clock, &now);
	}
	assert_true(checked > 100);
	assert_true(clock.window > 0);
}

/*
 * Runs after test_follows_monotonic measured a rate: a new clock of the
 * same process starts from it (no 20 ms of clock_gettime() first) and is
 * as exact from its first readings on.
 */
static void test_second_clock_starts_from_process_rate(void **state)
{
	(void)state;
	if (!bus__tsc_usable)
		skip();
	expect_exact_from_the_start();
}

/*
 * A process that knows no TSC rate takes busd's at connect: its first
 * clock extrapolates from its first reading on, as exactly as a clock that
 * measured its own.  Runs alone in its process (ctest names it), so that
 * no rate is known before the connect.
 */
static void test_rate_from_busd(void **state)
{
	struct test_bus t;

	(void)state;
	if (!bus__tsc_usable)
		skip();
	assert_int_equal(bus__clock_known_rate(), 0);
	/* Absurd rates are not taken: none, a TSC of 1 MHz or slower. */
	bus__clock_adopt_rate(0);
	bus__clock_adopt_rate(UINT64_C(1000) << 32);
	assert_int_equal(bus__clock_known_rate(), 0);
	/* Not a cmocka set-up: nothing may say HELLO before the check
	 * above.  A failure below leaves busd to PR_SET_PDEATHSIG. */
	assert_int_equal(test_bus_start(&t, NULL), 0);
	/* busd measured before it served: the first HELLO brought it. */
	assert_int_not_equal(bus__clock_known_rate(), 0);
	expect_exact_from_the_start();
	assert_int_equal(test_bus_stop(&t), 0);
}

static void test_forced_monotonic(void **state)
{
	const char *forced = getenv("BUS_CLOCK");

	(void)state;
	if (!forced || strcmp(forced, "monotonic"))
		skip();
	assert_false(bus__tsc_usable);
}

/* No argument: the clock alone.  A test's name: that test, alone in
 * this process (test_rate_from_busd needs a process that knows no rate). */
int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_monotonic),
		cmocka_unit_test(test_second_clock_starts_from_process_rate),
		cmocka_unit_test(test_forced_monotonic),
	};
	static const struct CMUnitTest by_name[] = {
		cmocka_unit_test(test_rate_from_busd),
	};

	if (argc < 2)
		return cmocka_run_group_tests(tests, NULL, NULL);
	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(by_name, NULL, NULL);
}
