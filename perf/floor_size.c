/* SPDX-License-Identifier: MIT */
/*
 * floor-size: the floor of a round trip that moves N bytes each way.
 *
 * Per direction a buffer of N bytes and a sequence word on a line of its
 * own.  The pinger writes N bytes, publishes the sequence, and waits; the
 * ponger reads and checks the N bytes, writes N bytes of its own into the
 * other buffer and publishes.  A zero-copy queue moving the same message
 * sizes does exactly this work plus its own bookkeeping, so the ratio of
 * the two shows what the queue adds at each size.
 *
 * --size takes a list (default 64 B to 4 MiB in powers of 4).  --count is
 * the count of round trips at sizes up to 4 KiB; larger sizes do
 * proportionally fewer, at least 20.
 *
 * --slots N gives each direction N buffers used in turn, as a ring uses its
 * cells (default 1).  perf/run passes the bus queue's slot count, so that
 * both touch the same amount of memory: at megabytes per message, whether
 * the buffers stay in the cache matters more than anything else.
 */
#include <errno.h>
#include <stdio.h>

#include "bench.h"

struct floor_size_flag {
	_Atomic uint64_t seq;
} __attribute__((aligned(128)));

struct floor_size_shared {
	struct floor_size_flag ping_flag;
	struct floor_size_flag pong_flag;
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;
	uint64_t rounds;
	uint64_t elapsed_ns;
	uint64_t seq_base; /* sequences keep growing across sizes */
	size_t size;
	size_t stride;	    /* bytes between two buffers of a direction */
	unsigned int slots; /* buffers per direction */
	uint8_t *ping;	    /* the same address in both children */
	uint8_t *pong;
};

/* The buffer a message uses: sequence numbers start at 1. */
static inline uint8_t *floor_size_buffer(const struct floor_size_shared *s,
					 uint8_t *base, uint64_t seq)
{
	return base + (size_t)(seq % s->slots) * s->stride;
}

static inline void floor_size_await(struct floor_size_flag *f, uint64_t seq)
{
	/* Acquire pairs with the release in floor_size_send. */
	while (atomic_load_explicit(&f->seq, memory_order_acquire) != seq)
		bench_relax();
}

static inline void floor_size_send(struct floor_size_flag *f, uint8_t *buf,
				   size_t size, uint64_t seq)
{
	bench_payload_write(buf, size, seq);
	atomic_store_explicit(&f->seq, seq, memory_order_release);
}

static int floor_size_pinger(void *arg, unsigned int index)
{
	struct floor_size_shared *s = arg;
	uint64_t i, seq, start = 0, warmup = s->total - s->rounds;

	for (i = 0; i < s->total; i++) {
		uint64_t t0 = bench_now_ns();

		if (i == warmup)
			start = t0;
		seq = s->seq_base + i + 1;
		floor_size_send(&s->ping_flag,
				floor_size_buffer(s, s->ping, seq), s->size,
				seq);
		floor_size_await(&s->pong_flag, seq);
		if (bench_payload_check(floor_size_buffer(s, s->pong, seq),
					s->size, seq))
			return bench_payload_error("floor-size pinger", seq);
		if (i >= warmup)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	return 0;
}

static int floor_size_ponger(void *arg, unsigned int index)
{
	struct floor_size_shared *s = arg;
	uint64_t i, seq;

	for (i = 0; i < s->total; i++) {
		seq = s->seq_base + i + 1;
		floor_size_await(&s->ping_flag, seq);
		if (bench_payload_check(floor_size_buffer(s, s->ping, seq),
					s->size, seq))
			return bench_payload_error("floor-size ponger", seq);
		floor_size_send(&s->pong_flag,
				floor_size_buffer(s, s->pong, seq), s->size,
				seq);
	}
	return 0;
}

/* Round trips at a size: all of them up to 4 KiB, fewer above. */
static uint64_t floor_size_rounds(uint64_t count, size_t size)
{
	uint64_t n = size <= 4096 ? count : count * 4096 / size;

	return n < 20 ? 20 : n;
}

static const char usage[] =
	"Usage: floor-size [--size LIST] [--slots N] [options]\n"
	"Round trip writing and reading N bytes each way, for each size.\n"
	"  --slots N   buffers per direction, used in turn (default 1)\n";

static const uint32_t default_sizes[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
};

int main(int argc, char **argv)
{
	struct bench_options o;
	struct floor_size_shared *s;
	size_t max = 0;
	unsigned int i;
	int ret = 0;

	bench_parse_options(argc, argv, &o, usage);
	if (!o.sizes_given) {
		o.size_count =
			sizeof(default_sizes) / sizeof(default_sizes[0]);
		for (i = 0; i < o.size_count; i++)
			o.sizes[i] = default_sizes[i];
	}
	for (i = 0; i < o.size_count; i++)
		if (o.sizes[i] > max)
			max = o.sizes[i];
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	/* Cache-line aligned buffers, like the payloads of a ring's cells. */
	s->slots = o.slots_given ? o.slots : 1;
	s->stride = (max + BENCH_LINE - 1) / BENCH_LINE * BENCH_LINE;
	s->ping = bench_shared_map(s->stride * s->slots);
	s->pong = bench_shared_map(s->stride * s->slots);
	if (!s->ping || !s->pong)
		return 1;
	for (i = 0; i < o.size_count && ret == 0; i++) {
		hist_reset(&s->hist);
		s->size = o.sizes[i];
		s->rounds = floor_size_rounds(o.count, s->size);
		s->total = s->rounds + (s->rounds + 9) / 10;
		ret = bench_run(
			(const struct bench_child[]){
				{ o.cpu[1], floor_size_ponger, s, 1 },
				{ o.cpu[0], floor_size_pinger, s, 0 },
			},
			2, o.timeout_s);
		if (ret == 0) {
			struct bench_row row = {
				.bench = "size",
				.transport = "floor-size",
				.mode = "busy",
				.size = s->size,
				.count = s->hist.count,
				.hist = &s->hist,
				.msgs_per_s = s->rounds * 1e9 /
					      (double)s->elapsed_ns,
				.producers = 1,
				.consumers = 1,
				.batch = 1,
				.timestamps = -1,
			};
			bench_row_print(&row, &o);
		}
		s->seq_base += s->total;
	}
	return ret ? 1 : 0;
}
