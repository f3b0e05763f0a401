/* SPDX-License-Identifier: MIT */
/* A journal writer's figures into a journal line: busd/journal_figures.h. */
#include "journal_figures.h"

#include "atomics.h"
#include "latency.h"

static uint64_t percentile(const uint64_t *buckets, uint32_t n, double q)
{
	uint64_t total = 0, seen = 0;

	for (uint32_t i = 0; i < n; i++)
		total += buckets[i];
	if (!total)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		seen += buckets[i];
		if ((double)seen >= q * (double)total)
			return bus__latency_bucket_high(i);
	}
	return 0;
}

void busd_journal_figures_publish(struct bus_journal_line *line,
				  const struct bus_journal_writer *writer,
				  const struct busd_journal_carried *carried,
				  bool latency)
{
	struct bus_journal_figures f;
	uint32_t n = sizeof(f.sync_latency) / sizeof(f.sync_latency[0]);

	if (!writer)
		return;
	bus_journal_writer_figures(writer, &f);
	bus__store_relaxed(&line->bytes_written,
			   carried->bytes + f.bytes_written);
	bus__store_relaxed(&line->syncs, carried->syncs + f.syncs);
	bus__store_relaxed(&line->write_errors,
			   carried->errors + f.write_errors);
	if (!latency)
		return;
	bus__store_relaxed(&line->sync_p50_ns,
			   percentile(f.sync_latency, n, 0.50));
	bus__store_relaxed(&line->sync_p99_ns,
			   percentile(f.sync_latency, n, 0.99));
}

void busd_journal_figures_carry(struct bus_journal_line *line,
				const struct bus_journal_writer *writer,
				struct busd_journal_carried *carried)
{
	struct bus_journal_figures f;

	bus_journal_writer_figures(writer, &f);
	carried->bytes += f.bytes_written;
	carried->syncs += f.syncs;
	carried->errors += f.write_errors + 1;
	bus__store_relaxed(&line->write_errors, carried->errors);
}
