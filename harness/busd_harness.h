/* SPDX-License-Identifier: MIT */
/*
 * A private busd for multi-process tests and benchmarks (tests/, perf/):
 * its own runtime directory
 * ($BUS_RUNTIME_DIR), a unique bus name, a written config, and a clean stop
 * that checks that no segment of the bus is left in /dev/shm.  Also the
 * children a test forks, so that a failing test still kills every one.
 */
#ifndef BUSD_HARNESS_H
#define BUSD_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"

struct test_busd {
	pid_t pid; /* 0 when not running */
	char bus_name[BUS_NAME_MAX + 1];
	char runtime_dir[PATH_MAX];
	char config_path[PATH_MAX];
	/* Start busd without -d: a clean stop keeps queues that hold
	 * messages (tests of restarts). */
	bool keep_on_stop;
};

/*
 * Makes a private runtime directory, points $BUS_RUNTIME_DIR at it and picks
 * a unique bus name "test-PID-N".  0 or a negative errno.
 */
int test_busd_prepare(struct test_busd *busd);

/*
 * Writes config (NULL: none, busd's built-in default) into the runtime
 * directory, starts busd -f -b NAME [-c FILE] and waits until a client can
 * connect.  0, or a negative errno with a line on stderr.
 */
int test_busd_start(struct test_busd *busd, const char *config);

/*
 * Stops busd with SIGTERM (SIGKILL after 10 s) and reaps it.  0 when it
 * exited with status 0 and left no segment; otherwise a negative errno with
 * a line on stderr (leftover segments are removed).  Safe when not running.
 */
int test_busd_stop(struct test_busd *busd);

/* Stops busd if running, removes leftovers and the runtime directory. */
void test_busd_cleanup(struct test_busd *busd);

/* The number of /dev/shm/shmbus.BUS:* objects; removes them if asked. */
int test_shm_leftovers(const char *bus_name, int remove);

/*
 * fork() that records the child so that test_children_kill() can end it,
 * and makes the child die with its parent (PR_SET_PDEATHSIG).  The child
 * must leave with _exit().
 */
pid_t test_fork(void);

/*
 * Waits up to timeout_ms for the child; 0 and its wait status, -ETIMEDOUT
 * (the child is left running), or -ECHILD.
 */
int test_child_wait(pid_t pid, int timeout_ms, int *status);

/* SIGKILLs and reaps every child still recorded. */
void test_children_kill(void);

/* The path of the busd that CMake built. */
const char *test_busd_path(void);

/*
 * true, with a line on stderr, when the multi-process tests cannot run
 * here: no busd built, or no /dev/shm.  main() then exits TEST_SKIP_EXIT.
 */
bool test_busd_unavailable(void);

#endif /* BUSD_HARNESS_H */
