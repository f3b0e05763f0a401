/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the cmocka tests.  Include after <cmocka.h>. */
#ifndef BUS_TEST_COMMON_H
#define BUS_TEST_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The exit status that ctest's SKIP_RETURN_CODE turns into a skip. */
#define TEST_SKIP_EXIT 77

/*
 * Like assert_int_equal, but prints both values as signed numbers with the
 * errno name, which is what a failing libbus call needs to be understood.
 */
#define assert_ret(expr, expected)                                          \
	do {                                                                \
		long assert_ret_seen = (long)(expr);                        \
		long assert_ret_want = (long)(expected);                    \
		if (assert_ret_seen != assert_ret_want)                     \
			fail_msg("%s returned %ld (%s), expected %ld (%s)", \
				 #expr, assert_ret_seen,                    \
				 test_errno_name(assert_ret_seen),          \
				 assert_ret_want,                           \
				 test_errno_name(assert_ret_want));         \
	} while (0)

static inline const char *test_errno_name(long value)
{
	if (value >= 0)
		return "ok";
	/* strerrorname_np is glibc 2.32+, which Debian has. */
	const char *name = strerrorname_np((int)-value);
	return name ? name : "?";
}

static inline uint64_t test_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/*
 * A count scaled by $BUS_TEST_SCALE (a float, default 1) so that the
 * sanitizer builds can run the same tests smaller; never below minimum.
 */
static inline uint64_t test_scaled(uint64_t count, uint64_t minimum)
{
	const char *text = getenv("BUS_TEST_SCALE");
	double scale = text && *text ? strtod(text, NULL) : 1.0;
	double scaled = (double)count * scale;

	if (!(scaled >= (double)minimum))
		return minimum;
	return (uint64_t)scaled;
}

#endif /* BUS_TEST_COMMON_H */
