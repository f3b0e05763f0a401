/* SPDX-License-Identifier: MIT */
/*
 * peer-ipc: the kernel's own ways to pass a message, as the peers that a
 * user would reach for instead of a shared-memory bus.
 *
 *   --transport pipe    two pipes
 *   --transport uds     a SOCK_SEQPACKET Unix socket pair
 *   --transport mqueue  two POSIX message queues (unique names, unlinked
 *                       as soon as they are open)
 *
 *   --mode futex  blocking reads: the reader sleeps in the kernel, which
 *                 is what futex means for the bus (the same wake-up cost)
 *   --mode busy   non-blocking reads retried until a message is there
 *
 * Round trip of a 64-byte payload (--size to change) that the sender
 * writes and the receiver checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define PEER_MAX_SIZE 8192

enum peer_kind { PEER_PIPE, PEER_UDS, PEER_MQUEUE };

/* One direction: where the pinger writes and the ponger reads, or back. */
struct peer_channel {
	int read_fd;
	int write_fd;
};

struct peer_shared {
	struct hist hist;
	uint64_t total;
	uint64_t rounds;
	uint64_t elapsed_ns;
	size_t size;
	enum peer_kind kind;
	bool busy;
	struct peer_channel ping; /* pinger -> ponger */
	struct peer_channel pong; /* ponger -> pinger */
};

static ssize_t peer_read_once(const struct peer_shared *s, int fd, void *buf)
{
	if (s->kind == PEER_MQUEUE)
		return mq_receive(fd, buf, PEER_MAX_SIZE, NULL);
	return read(fd, buf, s->size);
}

/* Reads one whole message; a pipe may hand it over in pieces. */
static int peer_read(const struct peer_shared *s, int fd, void *buf)
{
	size_t got = 0;
	ssize_t n;

	while (got < s->size) {
		n = peer_read_once(s, fd, (uint8_t *)buf + got);
		if (n > 0) {
			got += (size_t)n;
		} else if (n < 0 && errno == EAGAIN && s->busy) {
			bench_relax();
		} else if (!(n < 0 && errno == EINTR)) {
			fprintf(stderr, "read: %s\n",
				n ? strerror(errno) : "end of file");
			return -EIO;
		}
	}
	return 0;
}

static int peer_write(const struct peer_shared *s, int fd, const void *buf)
{
	ssize_t n;

	do {
		if (s->kind == PEER_MQUEUE)
			n = mq_send(fd, buf, s->size, 0) == 0
				    ? (ssize_t)s->size
				    : -1;
		else
			n = write(fd, buf, s->size);
	} while (n < 0 && (errno == EINTR || (errno == EAGAIN && s->busy)));
	if (n != (ssize_t)s->size) {
		fprintf(stderr, "write: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

static int peer_pinger(void *arg, unsigned int index)
{
	struct peer_shared *s = arg;
	uint64_t buf[PEER_MAX_SIZE / 8];
	uint64_t seq, first = s->total - s->rounds + 1, start = 0;

	for (seq = 1; seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == first)
			start = t0;
		bench_payload_write(buf, s->size, seq);
		if (peer_write(s, s->ping.write_fd, buf) ||
		    peer_read(s, s->pong.read_fd, buf))
			return -EIO;
		if (bench_payload_check(buf, s->size, seq))
			return bench_payload_error("peer pinger", seq);
		if (seq >= first)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	return 0;
}

static int peer_ponger(void *arg, unsigned int index)
{
	struct peer_shared *s = arg;
	uint64_t buf[PEER_MAX_SIZE / 8];
	uint64_t seq;

	for (seq = 1; seq <= s->total; seq++) {
		if (peer_read(s, s->ping.read_fd, buf))
			return -EIO;
		if (bench_payload_check(buf, s->size, seq))
			return bench_payload_error("peer ponger", seq);
		bench_payload_write(buf, s->size, seq);
		if (peer_write(s, s->pong.write_fd, buf))
			return -EIO;
	}
	return 0;
}

/* ---- setting up each kind --------------------------------------------- */

static int peer_open_pipe(struct peer_channel *c, bool busy)
{
	int fds[2];

	if (pipe2(fds, busy ? O_NONBLOCK : 0) < 0)
		return -errno;
	c->read_fd = fds[0];
	c->write_fd = fds[1];
	return 0;
}

static int peer_open_uds(struct peer_channel *c, bool busy)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | (busy ? SOCK_NONBLOCK : 0), 0,
		       fds) < 0)
		return -errno;
	c->read_fd = fds[0];
	c->write_fd = fds[1];
	return 0;
}

/*
 * A queue with a name of our own, unlinked at once: the descriptor stays
 * valid in both children, and nothing is left behind if we crash.
 */
static int peer_open_mqueue(struct peer_channel *c, bool busy, size_t size,
			    const char *which)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = (long)size };
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/shmbus-perf-%d-%s", (int)getpid(),
		 which);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | (busy ? O_NONBLOCK : 0),
		    0600, &attr);
	if (q == (mqd_t)-1)
		return -errno;
	mq_unlink(name);
	c->read_fd = q;
	c->write_fd = q;
	return 0;
}

static int peer_open(struct peer_shared *s)
{
	int ret;

	switch (s->kind) {
	case PEER_PIPE:
		ret = peer_open_pipe(&s->ping, s->busy);
		return ret ? ret : peer_open_pipe(&s->pong, s->busy);
	case PEER_UDS:
		ret = peer_open_uds(&s->ping, s->busy);
		return ret ? ret : peer_open_uds(&s->pong, s->busy);
	case PEER_MQUEUE:
		ret = peer_open_mqueue(&s->ping, s->busy, s->size, "ping");
		return ret ? ret
			   : peer_open_mqueue(&s->pong, s->busy, s->size,
					      "pong");
	}
	return -EINVAL;
}

static const char usage[] =
	"Usage: peer-ipc --transport pipe|uds|mqueue [--mode futex|busy] "
	"[options]\n"
	"Round trip through a kernel IPC channel; futex mode blocks in read,\n"
	"busy mode retries non-blocking reads.\n";

static int peer_kind_parse(const char *name, enum peer_kind *kind)
{
	if (name && strcmp(name, "pipe") == 0)
		*kind = PEER_PIPE;
	else if (name && strcmp(name, "uds") == 0)
		*kind = PEER_UDS;
	else if (name && strcmp(name, "mqueue") == 0)
		*kind = PEER_MQUEUE;
	else
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_options o;
	struct peer_shared *s;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	if (o.sizes[0] > PEER_MAX_SIZE) {
		fprintf(stderr, "--size at most %d here\n", PEER_MAX_SIZE);
		return 2;
	}
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	if (peer_kind_parse(o.transport, &s->kind) ||
	    (strcmp(o.mode, "futex") && strcmp(o.mode, "busy"))) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	hist_reset(&s->hist);
	s->busy = strcmp(o.mode, "busy") == 0;
	s->size = o.sizes[0];
	s->rounds = o.count;
	s->total = o.count + o.warmup;
	ret = peer_open(s);
	if (ret) {
		fprintf(stderr, "%s: %s\n", o.transport, strerror(-ret));
		return 1;
	}
	ret = bench_run(
		(const struct bench_child[]){
			{ o.cpu[1], peer_ponger, s, 1 },
			{ o.cpu[0], peer_pinger, s, 0 },
		},
		2, o.timeout_s);
	if (ret == 0) {
		struct bench_row row = {
			.bench = "pingpong",
			.transport = o.transport,
			.mode = o.mode,
			.size = s->size,
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
	return ret ? 1 : 0;
}
