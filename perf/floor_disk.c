/* SPDX-License-Identifier: MIT */
/*
 * floor-disk: the floor of writing a journal, the disk's own speed.
 *
 *   -B throughput (default): a bare io_uring sequential writer.  One file,
 *   four registered 1 MiB buffers written in turn at explicit offsets
 *   (write_fixed into a registered file, no O_APPEND), an fdatasync
 *   linked behind a write every 10 ms (group commit, as the journal's
 *   sync = interval) and one at the end, inside the time.  It writes
 *   COUNT x 120 bytes, what journal-write writes for COUNT 64-byte
 *   messages; the buffers' contents are made once, so nothing but the
 *   I/O is measured.
 *
 *   -B fsync: COUNT times a 120-byte pwrite at the end of the file and an
 *   fdatasync, each timed: the latency a confirmed publish cannot beat.
 *
 * In $PERF_DISK_DIR (perf/disk.h); the file is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"

#define BUFFERS 4
#define BUFFER_SIZE (1u << 20)

static const char usage[] =
	"Usage: floor-disk [-B throughput|fsync] [-n COUNT]\n"
	"Bare io_uring sequential writes (or write+fdatasync latency) in\n"
	"$PERF_DISK_DIR, else $TMPDIR, else /var/tmp.\n";

static int wait_one(struct io_uring *ring, unsigned int *in_flight)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(ring, &cqe);

	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	(*in_flight)--;
	return ret < 0 ? ret : 0;
}

static int throughput(int fd, uint64_t bytes, uint64_t *elapsed_ns)
{
	static uint8_t memory[BUFFERS][BUFFER_SIZE]
		__attribute__((aligned(4096)));
	struct iovec iov[BUFFERS];
	struct io_uring ring;
	unsigned int in_flight = 0, next = 0;
	uint64_t offset = 0, t0, last_sync;
	int ret;

	ret = io_uring_queue_init(64, &ring, 0);
	if (ret < 0)
		return ret;
	for (int i = 0; i < BUFFERS; i++) {
		memset(memory[i], 0x5a + i, BUFFER_SIZE);
		iov[i] = (struct iovec){ memory[i], BUFFER_SIZE };
	}
	if (io_uring_register_buffers(&ring, iov, BUFFERS) < 0 ||
	    io_uring_register_files(&ring, &fd, 1) < 0) {
		io_uring_queue_exit(&ring);
		return -ENOTSUP;
	}
	t0 = last_sync = bench_now_ns();
	while (offset < bytes && ret == 0) {
		uint64_t n = bytes - offset < BUFFER_SIZE ? bytes - offset
							  : BUFFER_SIZE;
		struct io_uring_sqe *sqe;
		int sync = bench_now_ns() - last_sync >= DISK_SYNC_INTERVAL_NS;

		/* Each buffer is rewritten only after its write completed:
		 * at most BUFFERS writes (and their syncs) in flight. */
		while (in_flight >= BUFFERS + (sync ? 1u : 0u) && ret == 0)
			ret = wait_one(&ring, &in_flight);
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_write_fixed(sqe, 0, memory[next], (unsigned)n,
					  offset, next);
		sqe->flags |= IOSQE_FIXED_FILE | (sync ? IOSQE_IO_LINK : 0);
		in_flight++;
		if (sync) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
			sqe->flags |= IOSQE_FIXED_FILE;
			in_flight++;
			last_sync = bench_now_ns();
		}
		io_uring_submit(&ring);
		offset += n;
		next = (next + 1) % BUFFERS;
	}
	while (in_flight && ret == 0)
		ret = wait_one(&ring, &in_flight);
	if (ret == 0 && fdatasync(fd) != 0)
		ret = -errno;
	*elapsed_ns = bench_now_ns() - t0;
	io_uring_queue_exit(&ring);
	return ret;
}

static int fsync_latency(int fd, uint64_t count, struct hist *h)
{
	uint8_t record[DISK_RECORD];

	memset(record, 0x5a, sizeof(record));
	for (uint64_t i = 0; i < count; i++) {
		uint64_t t0 = bench_now_ns();

		if (pwrite(fd, record, sizeof(record),
			   (off_t)(i * sizeof(record))) != sizeof(record) ||
		    fdatasync(fd) != 0)
			return -errno;
		hist_record(h, bench_now_ns() - t0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct hist h;
	struct bench_options o;
	char path[4096];
	uint64_t elapsed = 0;
	int fd, ret, latency;

	bench_parse_options(argc, argv, &o, usage);
	latency = o.bench && !strcmp(o.bench, "fsync");
	if (!o.count_given)
		o.count = latency ? 2000 : 1000000;
	snprintf(path, sizeof(path), "%s/floor-disk.%d", disk_directory(),
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "floor-disk: %s: %s\n", path, strerror(errno));
		return 1;
	}
	hist_reset(&h);
	if (latency)
		ret = fsync_latency(fd, o.count, &h);
	else
		ret = throughput(fd, o.count * DISK_RECORD, &elapsed);
	close(fd);
	unlink(path);
	if (ret < 0) {
		fprintf(stderr, "floor-disk: %s: %s\n", path, strerror(-ret));
		return 1;
	}
	if (latency)
		disk_latency_row("floor-fsync", "fdatasync", &h, &o);
	else
		disk_throughput_row("floor-disk", "interval", o.count, elapsed,
				    &o);
	return 0;
}
