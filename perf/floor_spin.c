/* SPDX-License-Identifier: MIT */
/*
 * floor-spin: the physical floor of a round trip between two processes
 * (core/floor_spin.h has the protocol; busctl bench runs the same code in
 * two threads).  Here the sides are two processes pinned to CPUs A and B
 * over a shared mapping, as every other program of perf/ runs.
 */
#include <errno.h>
#include <stdio.h>

#include "bench.h"
#include "floor_spin.h"

static int floor_spin_report(struct floor_spin_shared *s, const char *who,
			     int ret)
{
	if (ret == -EBADMSG)
		return bench_payload_error(who, s->failed_seq);
	return ret;
}

static int floor_spin_pinger_child(void *arg, unsigned int index)
{
	struct floor_spin_shared *s = arg;

	return floor_spin_report(s, "floor-spin pinger", floor_spin_pinger(s));
}

static int floor_spin_ponger_child(void *arg, unsigned int index)
{
	struct floor_spin_shared *s = arg;

	return floor_spin_report(s, "floor-spin ponger", floor_spin_ponger(s));
}

static const char usage[] =
	"Usage: floor-spin [options]\n"
	"Round trip of one cache line each way between two pinned processes.\n";

int main(int argc, char **argv)
{
	struct bench_options o;
	struct floor_spin_shared *s;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	floor_spin_init(s, o.count + o.warmup, o.count);
	ret = bench_run(
		(const struct bench_child[]){
			{ o.cpu[1], floor_spin_ponger_child, s, 1 },
			{ o.cpu[0], floor_spin_pinger_child, s, 0 },
		},
		2, o.timeout_s);
	if (ret == 0) {
		struct bench_row row = {
			.bench = "pingpong",
			.transport = "floor-spin",
			.mode = "busy",
			.size = BENCH_LINE,
			.count = s->hist.count,
			.hist = &s->hist,
			.msgs_per_s = s->rounds * 1e9 / (double)s->elapsed_ns,
			.producers = 1,
			.consumers = 1,
			.batch = 1,
			.timestamps = -1,
		};
		bench_row_print(&row, &o);
	}
	bench_shared_unmap(s, sizeof(*s));
	return ret ? 1 : 0;
}
