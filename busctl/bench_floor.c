/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: the spin floor, perf/core/floor_spin.c in two pinned
 * threads.  Threads and processes cost the same here: a round trip is
 * cache-line transfers between two CPUs, whoever owns the address space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct busctl_bench_floor_run {
	struct busctl_bench *bench;
	struct floor_spin_shared *shared;
};

static int busctl_bench_floor_side(struct busctl_bench_floor_run *run, int ret,
				   const char *who)
{
	if (ret == -EBADMSG) {
		busctl_error("bench: floor-spin %s: payload check failed at "
			     "round trip %llu",
			     who, (unsigned long long)run->shared->failed_seq);
		busctl_bench_abort(&run->bench->stop, -1);
	}
	return ret;
}

static int busctl_bench_floor_pinger(void *arg)
{
	struct busctl_bench_floor_run *run = arg;

	return busctl_bench_floor_side(run, floor_spin_pinger(run->shared),
				       "pinger");
}

static int busctl_bench_floor_ponger(void *arg)
{
	struct busctl_bench_floor_run *run = arg;

	return busctl_bench_floor_side(run, floor_spin_ponger(run->shared),
				       "ponger");
}

int busctl_bench_floor(struct busctl_bench *b,
		       struct busctl_bench_result *result)
{
	const struct busctl_bench_options *o = &b->options;
	struct busctl_bench_floor_run run = { b, NULL };
	int ret;

	/* The struct asks for 128-byte alignment, which malloc does not
	 * give; its size is a multiple of it. */
	run.shared = aligned_alloc(128, sizeof(*run.shared));
	if (!run.shared) {
		busctl_error("bench: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	floor_spin_init(run.shared, o->count + o->warmup, o->count);
	busctl_bench_watch_floor(&b->stop, run.shared);
	ret = busctl_bench_pair(b, busctl_bench_floor_pinger,
				busctl_bench_floor_ponger, &run);
	busctl_bench_watch_floor(&b->stop, NULL);
	if (!ret) {
		result->name = "floor-spin";
		result->transport = "floor";
		result->wait = "busy";
		result->measures = "round trip";
		result->size = FLOOR_SPIN_PAYLOAD;
		result->batch = 1;
		hist_merge(result->hist, &run.shared->hist);
		result->msgs_per_s = run.shared->rounds * 1e9 /
				     (double)run.shared->elapsed_ns;
	}
	free(run.shared);
	return ret;
}
