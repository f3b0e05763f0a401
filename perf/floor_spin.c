/* SPDX-License-Identifier: MIT */
/*
 * floor-spin: the physical floor of a round trip between two processes.
 *
 * One 64-byte cache line per direction holds a sequence word and 56 bytes of
 * payload.  The pinger (CPU A) writes the payload, stores the sequence with
 * release, and spins on the other line until the ponger (CPU B), which spins
 * the same way, answers with the same sequence and its own payload.  Nothing
 * else happens: two cache-line transfers per direction (the reader's miss on
 * the line, then the writer's miss to take it back) are all a round trip
 * costs.  Every other transport in perf/ is compared with this.
 */
#include <errno.h>
#include <stdio.h>

#include "bench.h"

#define FLOOR_SPIN_PAYLOAD (BENCH_LINE - 8)

struct floor_spin_line {
	_Atomic uint64_t seq;
	uint64_t payload[FLOOR_SPIN_PAYLOAD / 8];
} __attribute__((aligned(BENCH_LINE)));

/*
 * Each line sits alone in 128 bytes: the adjacent-line prefetcher pairs
 * lines, and a pair shared by both directions would be a false share.
 */
struct floor_spin_shared {
	struct floor_spin_line ping __attribute__((aligned(128)));
	struct floor_spin_line pong __attribute__((aligned(128)));
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;
	uint64_t rounds;
	uint64_t elapsed_ns;
};

/* Waits for seq on the line; acquire pairs with the sender's release. */
static inline void floor_spin_await(struct floor_spin_line *line,
				    uint64_t seq)
{
	while (atomic_load_explicit(&line->seq, memory_order_acquire) != seq)
		bench_relax();
}

/* Fills the payload, then publishes it: release pairs with the acquire
 * in floor_spin_await on the other CPU. */
static inline void floor_spin_send(struct floor_spin_line *line, uint64_t seq)
{
	bench_payload_write(line->payload, FLOOR_SPIN_PAYLOAD, seq);
	atomic_store_explicit(&line->seq, seq, memory_order_release);
}

static int floor_spin_pinger(void *arg, unsigned int index)
{
	struct floor_spin_shared *s = arg;
	uint64_t seq, start = 0;

	for (seq = 1; seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == s->total - s->rounds + 1)
			start = t0;
		floor_spin_send(&s->ping, seq);
		floor_spin_await(&s->pong, seq);
		if (bench_payload_check(s->pong.payload, FLOOR_SPIN_PAYLOAD,
					seq))
			return bench_payload_error("floor-spin pinger", seq);
		if (seq > s->total - s->rounds)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	return 0;
}

static int floor_spin_ponger(void *arg, unsigned int index)
{
	struct floor_spin_shared *s = arg;
	uint64_t seq;

	for (seq = 1; seq <= s->total; seq++) {
		floor_spin_await(&s->ping, seq);
		if (bench_payload_check(s->ping.payload, FLOOR_SPIN_PAYLOAD,
					seq))
			return bench_payload_error("floor-spin ponger", seq);
		floor_spin_send(&s->pong, seq);
	}
	return 0;
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
	hist_reset(&s->hist);
	s->rounds = o.count;
	s->total = o.count + o.warmup;
	ret = bench_run((const struct bench_child[]){
				{ o.cpu[1], floor_spin_ponger, s, 1 },
				{ o.cpu[0], floor_spin_pinger, s, 0 },
			}, 2, o.timeout_s);
	if (ret == 0) {
		struct bench_row row = {
			.bench = "pingpong", .transport = "floor-spin",
			.mode = "busy", .size = BENCH_LINE,
			.count = s->hist.count, .hist = &s->hist,
			.msgs_per_s = s->rounds * 1e9 / (double)s->elapsed_ns,
			.producers = 1, .consumers = 1, .batch = 1,
			.timestamps = -1,
		};
		bench_row_print(&row, &o);
	}
	bench_shared_unmap(s, sizeof(*s));
	return ret ? 1 : 0;
}
