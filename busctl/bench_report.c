/* SPDX-License-Identifier: MIT */
/*
 * busctl bench's output: a table with the floor's row first and, beside
 * each bus round trip, its ratio to the floor; or with --json one object
 * per case and line, every latency in exact nanoseconds (each within 0.4%
 * of the recorded values: perf/core/hist.h).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define BUSCTL_BENCH_COLUMNS \
	"%-15s %-10s %-18s %8s %8s %8s %8s %8s %12s %9s %11s\n"

/* 812ns, 12.3us, 4.5ms: wide enough to read, short enough to line up. */
static const char *busctl_bench_duration(uint64_t ns, char *buf, size_t size)
{
	if (ns < 10000)
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.1fs", (double)ns / 1e9);
	return buf;
}

/* Only round trips compare with the floor, which is one. */
static bool busctl_bench_comparable(const struct busctl_bench *b,
				    const struct busctl_bench_result *r)
{
	return b->floor && r != b->floor && r->hist->count &&
	       b->floor->hist->count &&
	       !strcmp(r->measures, b->floor->measures);
}

static double busctl_bench_ratio(const struct busctl_bench *b,
				 const struct busctl_bench_result *r,
				 double percentile)
{
	uint64_t floor = hist_percentile(b->floor->hist, percentile);

	return floor ? (double)hist_percentile(r->hist, percentile) /
			       (double)floor
		     : 0.0;
}

/* 2.42x, 351x, <0.01x: a ratio at a glance, never in e-notation. */
static void busctl_bench_ratio_text(double ratio, char *buf, size_t size)
{
	if (ratio >= 100)
		snprintf(buf, size, "%.0fx", ratio);
	else if (ratio >= 0.01)
		snprintf(buf, size, "%.2fx", ratio);
	else
		snprintf(buf, size, "<0.01x");
}

void busctl_bench_print_header(const struct busctl_bench *b)
{
	const struct busctl_bench_options *o = &b->options;

	if (o->json)
		return;
	printf("busctl bench: bus '%s', %u-byte messages (the floor: one "
	       "%u-byte line), %llu per case after %llu to warm up, CPUs %d "
	       "and %d\n",
	       b->ctl->bus_name, o->size, FLOOR_SPIN_PAYLOAD,
	       (unsigned long long)o->count, (unsigned long long)o->warmup,
	       o->cpu[0], o->cpu[1]);
	printf(BUSCTL_BENCH_COLUMNS, "case", "wait", "measures", "min", "p50",
	       "p99", "p99.9", "max", "msgs/s", "p50/floor", "p99.9/floor");
}

static void busctl_bench_print_text(const struct busctl_bench *b,
				    const struct busctl_bench_result *r)
{
	static const double percentiles[] = { 0, 50, 99, 99.9, 100 };
	char cell[5][24], rate[24], p50[16] = "-", p999[16] = "-";
	char name[32];

	for (int i = 0; i < 5; i++)
		busctl_bench_duration(hist_percentile(r->hist, percentiles[i]),
				      cell[i], sizeof(cell[i]));
	snprintf(rate, sizeof(rate), "%.0f", r->msgs_per_s);
	if (busctl_bench_comparable(b, r)) {
		busctl_bench_ratio_text(busctl_bench_ratio(b, r, 50), p50,
					sizeof(p50));
		busctl_bench_ratio_text(busctl_bench_ratio(b, r, 99.9), p999,
					sizeof(p999));
	}
	if (r->batch > 1)
		snprintf(name, sizeof(name), "%s/%u", r->name, r->batch);
	else
		snprintf(name, sizeof(name), "%s", r->name);
	printf(BUSCTL_BENCH_COLUMNS, name, r->wait, r->measures, cell[0],
	       cell[1], cell[2], cell[3], cell[4], rate, p50, p999);
}

static void busctl_bench_print_json(const struct busctl_bench *b,
				    const struct busctl_bench_result *r)
{
	const struct hist *h = r->hist;

	printf("{\"case\": \"%s\", \"transport\": \"%s\", \"wait\": \"%s\", "
	       "\"measures\": \"%s\", \"bus\": \"%s\", \"size\": %u, "
	       "\"batch\": %u, \"count\": %llu, \"min_ns\": %llu, "
	       "\"p50_ns\": %llu, \"p99_ns\": %llu, \"p999_ns\": %llu, "
	       "\"max_ns\": %llu, \"mean_ns\": %.1f, \"msgs_per_s\": %.1f",
	       r->name, r->transport, r->wait, r->measures, b->ctl->bus_name,
	       r->size, r->batch, (unsigned long long)h->count,
	       (unsigned long long)hist_percentile(h, 0),
	       (unsigned long long)hist_percentile(h, 50),
	       (unsigned long long)hist_percentile(h, 99),
	       (unsigned long long)hist_percentile(h, 99.9),
	       (unsigned long long)hist_percentile(h, 100), hist_mean(h),
	       r->msgs_per_s);
	if (busctl_bench_comparable(b, r))
		printf(", \"floor_p50_ns\": %llu, \"floor_p999_ns\": %llu, "
		       "\"p50_vs_floor\": %.3f, \"p999_vs_floor\": %.3f",
		       (unsigned long long)hist_percentile(b->floor->hist, 50),
		       (unsigned long long)hist_percentile(b->floor->hist,
							   99.9),
		       busctl_bench_ratio(b, r, 50),
		       busctl_bench_ratio(b, r, 99.9));
	printf("}\n");
}

void busctl_bench_print(const struct busctl_bench *b,
			const struct busctl_bench_result *r)
{
	if (b->options.json)
		busctl_bench_print_json(b, r);
	else
		busctl_bench_print_text(b, r);
	/* Each row as soon as its case ends: a long run shows progress. */
	fflush(stdout);
}
