/* SPDX-License-Identifier: MIT */
/*
 * The multi-process tests' fixture: a private busd (harness/busd_harness.h,
 * shared with perf/) and a client connected to it.
 */
#ifndef BUS_TEST_UTIL_H
#define BUS_TEST_UTIL_H

#include "bus/bus.h"
#include "busd_harness.h"

/* A private busd and a client connected to it: the usual test fixture. */
struct test_bus {
	struct test_busd busd;
	bus_t *bus;
};

/*
 * Starts a private busd with config and connects t to it: 0, or -1 (said
 * on stderr) with nothing left running.  test_bus_stop() kills the
 * children still recorded, disconnects and stops busd: 0, or -1 when busd
 * did not stop cleanly or left segments behind.  For fixtures that keep
 * more state, with a struct test_bus inside.
 */
int test_bus_start(struct test_bus *t, const char *config);
int test_bus_stop(struct test_bus *t);

/*
 * The same as cmocka set-up and tear-down of a struct test_bus in *state.
 * A file's set-up passes its own config:
 * static int setup(void **s) { return test_bus_setup(s, config); }.
 */
int test_bus_setup(void **state, const char *config);
int test_bus_teardown(void **state);

#endif /* BUS_TEST_UTIL_H */
