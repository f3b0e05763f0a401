/* SPDX-License-Identifier: MIT */
/*
 * What floor-disk and journal-write share: where they write (the same
 * file system), how many bytes a message is on disk, the row they print.
 *
 * The directory is $PERF_DISK_DIR, else $TMPDIR, else /var/tmp: a disk,
 * not /dev/shm (perf/run sets it).  A message is the journal's record of
 * a 64-byte payload: a 16-byte record header, 40 bytes of message fields
 * and the payload, 120 bytes; floor-disk writes as many bytes as
 * journal-write does for the same count.
 */
#ifndef PERF_DISK_H
#define PERF_DISK_H

#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define DISK_PAYLOAD 64u
#define DISK_RECORD (16u + 40u + DISK_PAYLOAD)
/* Group commit, as a journal's default sync = interval. */
#define DISK_SYNC_INTERVAL_NS (10u * 1000000u)

static inline const char *disk_directory(void)
{
	const char *dir = getenv("PERF_DISK_DIR");

	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	return dir && *dir ? dir : "/var/tmp";
}

/* A throughput row: messages/s; bytes/s = that x DISK_RECORD. */
static inline void disk_throughput_row(const char *transport, const char *mode,
				       uint64_t count, uint64_t elapsed_ns,
				       const struct bench_options *o)
{
	struct bench_row row = {
		.bench = "disk",
		.transport = transport,
		.mode = mode,
		.size = DISK_PAYLOAD,
		.count = count,
		.msgs_per_s = (double)count * 1e9 / (double)elapsed_ns,
		.producers = 1,
		.consumers = 0,
		.batch = 1,
		.timestamps = -1,
	};

	fprintf(stderr, "%s: %.1f MB/s (%llu messages of %u bytes on disk)\n",
		transport, row.msgs_per_s * DISK_RECORD / 1e6,
		(unsigned long long)count, DISK_RECORD);
	bench_row_print(&row, o);
}

/* A latency row: one write and its fdatasync (or journal confirm). */
static inline void disk_latency_row(const char *transport, const char *mode,
				    const struct hist *h,
				    const struct bench_options *o)
{
	struct bench_row row = {
		.bench = "fsync",
		.transport = transport,
		.mode = mode,
		.size = DISK_PAYLOAD,
		.count = h->count,
		.hist = h,
		.producers = 1,
		.consumers = 0,
		.batch = 1,
		.timestamps = -1,
	};

	bench_row_print(&row, o);
}

#endif /* PERF_DISK_H */
