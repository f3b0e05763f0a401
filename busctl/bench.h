/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: the bus measured against the spin floor on this host.
 *
 * Every case runs two threads pinned to two CPUs (--cpus, default the
 * first two this process may use): the floor's pinger and ponger
 * (perf/core/floor_spin.h, the very code of perf/floor-spin), or a bus
 * client on each side of a temporary queue or topic.  The main thread
 * creates the queue or topic, opens every handle, runs the pair, closes
 * the handles and deletes what it created, on error and on Ctrl-C too:
 * a watcher thread takes SIGINT and SIGTERM and cancels every open
 * handle (bench_stop.c), so no side stays blocked and cleanup always runs.
 */
#ifndef BUSCTL_BENCH_H
#define BUSCTL_BENCH_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "busctl.h"
#include "floor_spin.h"
#include "hist.h"

struct busctl_bench_options {
	uint32_t size;	 /* payload bytes of the bus cases, a multiple of 8 */
	uint64_t count;	 /* measured round trips or messages per case */
	uint64_t warmup; /* unmeasured ones before them */
	int cpu[2];	 /* the two CPUs the sides run on */
	bool json;
};

/* ---- bench_stop.c: Ctrl-C, failures, and the handles they cancel ----- */

enum busctl_bench_handle_kind {
	BUSCTL_BENCH_QUEUE,
	BUSCTL_BENCH_TOPIC,
	BUSCTL_BENCH_SUBSCRIPTION,
};

#define BUSCTL_BENCH_HANDLES 4

struct busctl_bench_stop {
	pthread_mutex_t lock; /* handles and floor */
	/* 0 while running; then the signal that stopped it, or -1 for a
	 * failed side. */
	_Atomic int why;
	struct {
		enum busctl_bench_handle_kind kind;
		void *handle;
	} handles[BUSCTL_BENCH_HANDLES];
	unsigned int handle_count;
	struct floor_spin_shared *floor;
	pthread_t watcher;
	bool watching;
	sigset_t old_mask;
};

/* Blocks SIGINT and SIGTERM in every thread to come and starts the
 * watcher.  0 or -errno. */
int busctl_bench_stop_start(struct busctl_bench_stop *stop);

/* Ends the watcher and restores the signal mask. */
void busctl_bench_stop_end(struct busctl_bench_stop *stop);

/*
 * Cancels handle on stop (or makes it cancel at once when stop came
 * already).  Forget it again before closing it.  0, or -ENOSPC.
 */
int busctl_bench_watch(struct busctl_bench_stop *stop,
		       enum busctl_bench_handle_kind kind, void *handle);
void busctl_bench_forget(struct busctl_bench_stop *stop, void *handle);
void busctl_bench_watch_floor(struct busctl_bench_stop *stop,
			      struct floor_spin_shared *floor);

/* Stops every side: why is a signal number, or -1 for a failure. */
void busctl_bench_abort(struct busctl_bench_stop *stop, int why);

/* 0 while running, else as busctl_bench_abort() set it. */
int busctl_bench_stopped(struct busctl_bench_stop *stop);

/* ---- bench_pair.c: two pinned threads -------------------------------- */

typedef int (*busctl_bench_side_fn)(void *arg);

/*
 * Runs second on cpu[1] and first on cpu[0], and waits for both.  A side
 * that fails (returns non-zero other than -ECANCELED) should have said why
 * and called busctl_bench_abort(), so that its peer stops waiting.
 * Returns the first side's error, else the second's, else 0.
 */
struct busctl_bench;
int busctl_bench_pair(struct busctl_bench *b, busctl_bench_side_fn first,
		      busctl_bench_side_fn second, void *arg);

/* ---- results ---------------------------------------------------------- */

struct busctl_bench_result {
	const char *name;      /* floor-spin, roundtrip, stream, ... */
	const char *transport; /* floor or bus */
	const char *wait;      /* the wait strategy: busy, spin-futex, futex */
	const char *measures;  /* round trip, publish to receive */
	uint32_t size;
	unsigned int batch;
	struct hist *hist; /* aligned_alloc'd by busctl_bench_hist_new() */
	double msgs_per_s;
};

struct hist *busctl_bench_hist_new(void);

/* What one bus case needs: the options, the connection, the stop. */
struct busctl_bench {
	struct busctl *ctl;
	struct busctl_bench_options options;
	struct busctl_bench_stop stop;
	char prefix[64]; /* of the temporary names: busctl-bench.PID */
	const struct busctl_bench_result *floor; /* for the ratios */
};

/* Each case fills result, or returns non-zero after saying why;
 * -ECANCELED when stopped by a signal. */
int busctl_bench_floor(struct busctl_bench *b,
		       struct busctl_bench_result *result);
int busctl_bench_roundtrip(struct busctl_bench *b, enum bus_wait_strategy wait,
			   struct busctl_bench_result *result);
int busctl_bench_stream(struct busctl_bench *b, unsigned int batch,
			struct busctl_bench_result *result);
int busctl_bench_fanout(struct busctl_bench *b,
			struct busctl_bench_result *result);

/* Reports a failed bus call from a side and stops its peer. */
int busctl_bench_side_fail(struct busctl_bench *b, int error,
			   const char *what);

const char *busctl_bench_wait_name(enum bus_wait_strategy wait);

/* ---- bench_report.c --------------------------------------------------- */

void busctl_bench_print_header(const struct busctl_bench *b);
void busctl_bench_print(const struct busctl_bench *b,
			const struct busctl_bench_result *r);

#endif /* BUSCTL_BENCH_H */
