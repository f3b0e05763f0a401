/* SPDX-License-Identifier: MIT */
/*
 * busctl bench [--size BYTES] [--count N] [--cpus A,B] [--json]
 *
 * Measures this host's spin floor and then the bus on the running busd:
 * the round trip with each wait strategy, streaming with single and batch
 * calls, and a topic with one subscriber.  Each bus case creates its
 * temporary queues or topic (busctl-bench.PID.*) and deletes them when it
 * ends, fails or is interrupted (bench.h says how).  Needs admin rights
 * on the bus, as create and delete do.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define BUSCTL_BENCH_DEFAULT_COUNT 100000u
#define BUSCTL_BENCH_WARMUP_MAX 10000u
#define BUSCTL_BENCH_SIZE_MAX (1u << 20)

/* The first two CPUs this process may run on. */
static int busctl_bench_default_cpus(int cpu[2])
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[found++] = i;
	return found == 2 ? 0 : -ERANGE;
}

static int busctl_bench_parse_cpus(const char *text, int cpu[2])
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(text, &end, 10);
	if (end == text || *end != ',' || a < 0 || a >= CPU_SETSIZE)
		return -EINVAL;
	text = end + 1;
	b = strtol(text, &end, 10);
	if (end == text || *end || b < 0 || b >= CPU_SETSIZE || a == b ||
	    errno)
		return -EINVAL;
	cpu[0] = (int)a;
	cpu[1] = (int)b;
	return 0;
}

static int busctl_bench_option(struct busctl_bench_options *o, int c,
			       char **argv, bool *cpus_given)
{
	uint64_t value;

	switch (c) {
	case 's':
		if (busctl_parse_u64(optarg, &value) || value < 8 ||
		    value % 8 || value > BUSCTL_BENCH_SIZE_MAX)
			return busctl_usage_error("bench: --size must be a "
						  "multiple of 8 from 8 to "
						  "%u, not '%s'",
						  BUSCTL_BENCH_SIZE_MAX,
						  optarg);
		o->size = (uint32_t)value;
		return 0;
	case 'n':
		if (busctl_parse_u64(optarg, &o->count) || o->count < 1)
			return busctl_usage_error("bench: --count must be a "
						  "positive number, not '%s'",
						  optarg);
		return 0;
	case 'c':
		if (busctl_bench_parse_cpus(optarg, o->cpu))
			return busctl_usage_error("bench: --cpus must be two "
						  "different CPU numbers A,B, "
						  "not '%s'",
						  optarg);
		*cpus_given = true;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	default:
		return busctl_bad_option("bench", c, argv);
	}
}

static int busctl_bench_parse(int argc, char **argv,
			      struct busctl_bench_options *o)
{
	static const struct option options[] = {
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool cpus_given = false;
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->count = BUSCTL_BENCH_DEFAULT_COUNT;
	while ((c = getopt_long(argc, argv, ":s:n:", options, NULL)) != -1) {
		ret = busctl_bench_option(o, c, argv, &cpus_given);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return busctl_usage_error("bench: unexpected '%s'",
					  argv[optind]);
	o->warmup = o->count / 10 < BUSCTL_BENCH_WARMUP_MAX
			    ? o->count / 10
			    : BUSCTL_BENCH_WARMUP_MAX;
	/* Two spinning sides on one CPU would measure the scheduler. */
	if (!cpus_given && busctl_bench_default_cpus(o->cpu))
		return busctl_error("bench: needs two CPUs to run on, and "
				    "this process may use only one");
	return 0;
}

/* One case: its result printed, or non-zero after saying why. */
static int busctl_bench_case(struct busctl_bench *b, int kind,
			     struct busctl_bench_result *r)
{
	static const enum bus_wait_strategy waits[] = {
		BUS_WAIT_BUSY,
		BUS_WAIT_SPIN_FUTEX,
		BUS_WAIT_FUTEX,
	};

	memset(r, 0, sizeof(*r));
	r->hist = busctl_bench_hist_new();
	if (!r->hist) {
		busctl_error("bench: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (kind == 0)
		return busctl_bench_floor(b, r);
	if (kind <= 3)
		return busctl_bench_roundtrip(b, waits[kind - 1], r);
	if (kind == 4)
		return busctl_bench_stream(b, 1, r);
	if (kind == 5)
		return busctl_bench_stream(b, 64, r);
	return busctl_bench_fanout(b, r);
}

#define BUSCTL_BENCH_CASES 7

static int busctl_bench_run(struct busctl_bench *b)
{
	struct busctl_bench_result results[BUSCTL_BENCH_CASES];
	int ret = 0, done = 0;

	busctl_bench_print_header(b);
	for (; done < BUSCTL_BENCH_CASES && !ret; done++) {
		if (busctl_bench_stopped(&b->stop))
			break;
		ret = busctl_bench_case(b, done, &results[done]);
		if (!ret && done == 0)
			b->floor = &results[0];
		if (!ret)
			busctl_bench_print(b, &results[done]);
	}
	for (int i = 0; i < done; i++)
		free(results[i].hist);
	return ret;
}

int busctl_bench(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_bench b;
	int ret, why;

	memset(&b, 0, sizeof(b));
	b.ctl = ctl;
	ret = busctl_bench_parse(argc, argv, &b.options);
	if (ret)
		return ret;
	/* --json anywhere on the line is taken by main.c. */
	if (ctl->json)
		b.options.json = true;
	snprintf(b.prefix, sizeof(b.prefix), "busctl-bench.%ld",
		 (long)getpid());
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	ret = busctl_bench_stop_start(&b.stop);
	if (ret)
		return busctl_error("bench: cannot watch for Ctrl-C: %s",
				    strerror(-ret));
	ret = busctl_bench_run(&b);
	why = busctl_bench_stopped(&b.stop);
	busctl_bench_stop_end(&b.stop);
	if (why > 0) {
		busctl_error("bench: stopped by signal %d; the temporary "
			     "queues and topic are deleted",
			     why);
		return 128 + why;
	}
	if (ret)
		return BUSCTL_EXIT_ERROR;
	return busctl_flush_stdout();
}
