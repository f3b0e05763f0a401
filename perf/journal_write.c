/* SPDX-License-Identifier: MIT */
/*
 * journal-write: the journal's writer (libbus/journal/) beside floor-disk.
 *
 *   -B throughput (default): COUNT 64-byte messages appended to a journal
 *   with sync = interval (10 ms group commit, the default), then closed
 *   (its last fdatasync inside the time): the same bytes floor-disk
 *   writes, with the journal's records, CRCs, index, file rolls and
 *   bookkeeping on top.
 *
 *   -B confirm: COUNT times one message appended to a journal with sync =
 *   always, submitted, and waited for until the durable sequence covers
 *   it: the journal's side of a publisher confirm, beside floor-disk -B
 *   fsync.
 *
 * In $PERF_DISK_DIR (perf/disk.h); the journal is removed at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "journal.h"

static const char usage[] =
	"Usage: journal-write [-B throughput|confirm] [-n COUNT]\n"
	"The journal's writer in $PERF_DISK_DIR, else $TMPDIR, else "
	"/var/tmp.\n";

static int append(struct bus_journal_writer *w, uint64_t sequence,
		  const uint8_t *payload)
{
	struct bus_journal_message m = {
		.sequence = sequence,
		.time_ns = sequence,
		.payload = payload,
		.payload_length = DISK_PAYLOAD,
	};
	int ret;

	while ((ret = bus_journal_append_message(w, &m)) == -EAGAIN)
		if ((ret = bus_journal_reap(w, 1)) < 0)
			return ret;
	return ret;
}

static int throughput(struct bus_journal_writer *w, uint64_t count)
{
	uint8_t payload[DISK_PAYLOAD];
	int ret = 0;

	memset(payload, 0x5a, sizeof(payload));
	for (uint64_t i = 1; i <= count && ret == 0; i++) {
		ret = append(w, i, payload);
		/* As busd would: submit what is due, reap what is done. */
		if (ret == 0 && (i & 1023) == 0) {
			if (bus_journal_sync_due_ms(w) == 0)
				ret = bus_journal_submit(w);
			if (ret == 0)
				ret = bus_journal_reap(w, 0) < 0 ? -EIO : 0;
		}
	}
	return ret;
}

static int confirm(struct bus_journal_writer *w, uint64_t count,
		   struct hist *h)
{
	uint8_t payload[DISK_PAYLOAD];

	memset(payload, 0x5a, sizeof(payload));
	for (uint64_t i = 1; i <= count; i++) {
		uint64_t t0 = bench_now_ns();
		int ret = append(w, i, payload);

		if (ret == 0)
			ret = bus_journal_submit(w);
		while (ret >= 0 && bus_journal_durable_sequence(w) <= i)
			ret = bus_journal_reap(w, 100);
		if (ret < 0)
			return ret;
		hist_record(h, bench_now_ns() - t0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct hist h;
	struct bench_options o;
	struct bus_journal_options options = {
		.name = "perf",
		.kind = BUS_JOURNAL_QUEUE,
	};
	struct bus_journal_writer *w;
	char dir[4096], detail[512] = "", cmd[4200];
	uint64_t t0, elapsed;
	int ret, latency;

	bench_parse_options(argc, argv, &o, usage);
	latency = o.bench && !strcmp(o.bench, "confirm");
	if (!o.count_given)
		o.count = latency ? 2000 : 1000000;
	snprintf(dir, sizeof(dir), "%s/journal-write.%d", disk_directory(),
		 (int)getpid());
	options.directory = dir;
	options.sync = latency ? BUS_JOURNAL_SYNC_ALWAYS
			       : BUS_JOURNAL_SYNC_INTERVAL;
	hist_reset(&h);
	t0 = bench_now_ns();
	ret = bus_journal_writer_open(&w, &options, NULL, detail,
				      sizeof(detail));
	if (ret < 0) {
		fprintf(stderr, "journal-write: %s: %s\n", detail,
			strerror(-ret));
		return 1;
	}
	ret = latency ? confirm(w, o.count, &h) : throughput(w, o.count);
	{
		static struct bus_journal_figures f;

		bus_journal_writer_figures(w, &f);
		fprintf(stderr, "journal-write: %llu bytes, %llu syncs\n",
			(unsigned long long)f.bytes_written,
			(unsigned long long)f.syncs);
	}
	if (bus_journal_writer_close(w) < 0 && ret == 0)
		ret = -EIO;
	elapsed = bench_now_ns() - t0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "journal-write: could not remove %s\n", dir);
	if (ret < 0) {
		fprintf(stderr, "journal-write: %s\n", strerror(-ret));
		return 1;
	}
	if (latency)
		disk_latency_row("journal", "always", &h, &o);
	else
		disk_throughput_row("journal", "interval", o.count, elapsed,
				    &o);
	return 0;
}
