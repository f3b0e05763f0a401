/* SPDX-License-Identifier: MIT */
/*
 * floor-futex and floor-spin-futex: the floors of the sleeping waits.
 *
 * The same two lines as floor-spin, but the sequence word is a shared (not
 * private) futex.
 *
 *   --mode futex       the reader sleeps in FUTEX_WAIT at once; the writer
 *                      calls FUTEX_WAKE after every message.
 *   --mode spin-futex  the reader spins for --spin-ns (default 2000), then
 *                      raises its sleeping flag and sleeps; the writer
 *                      wakes only when the flag is up.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define FLOOR_FUTEX_PAYLOAD (BENCH_LINE - 8)

struct floor_futex_line {
	_Atomic uint32_t seq;	   /* the futex word */
	_Atomic uint32_t sleeping; /* spin-futex: the reader may sleep */
	uint64_t payload[FLOOR_FUTEX_PAYLOAD / 8];
} __attribute__((aligned(BENCH_LINE)));

struct floor_futex_shared {
	struct floor_futex_line ping __attribute__((aligned(128)));
	struct floor_futex_line pong __attribute__((aligned(128)));
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;
	uint64_t rounds;
	uint64_t elapsed_ns;
	uint64_t spin_ns;
	bool spin; /* spin-futex, else futex */
};

/* Shared futexes: the two processes map the word at different pages of
 * their own, so FUTEX_PRIVATE_FLAG would never match. */
static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
	syscall(SYS_futex, word, FUTEX_WAIT, value, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* futex mode: sleep until the word moves to seq. */
static void await_sleeping(struct floor_futex_line *line, uint32_t seq)
{
	uint32_t now;

	/* Acquire pairs with the writer's release store of seq. */
	while ((now = atomic_load_explicit(&line->seq,
					   memory_order_acquire)) != seq)
		futex_wait(&line->seq, now);
}

/*
 * spin-futex mode.  The store of the flag, the fence and the load of seq
 * here pair with the writer's store of seq, fence and load of the flag in
 * send_flagged(): at least one of the two sees the other's store, so either
 * we see the message or the writer sees the flag and wakes us.
 */
static void await_spinning(struct floor_futex_line *line, uint32_t seq,
			   uint64_t spin_ns)
{
	uint64_t deadline = bench_now_ns() + spin_ns;
	uint32_t now;

	while (atomic_load_explicit(&line->seq, memory_order_acquire) != seq) {
		if (bench_now_ns() < deadline) {
			bench_relax();
			continue;
		}
		atomic_store_explicit(&line->sleeping, 1,
				      memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		now = atomic_load_explicit(&line->seq, memory_order_acquire);
		if (now != seq)
			futex_wait(&line->seq, now);
		atomic_store_explicit(&line->sleeping, 0,
				      memory_order_relaxed);
	}
}

static void floor_futex_await(struct floor_futex_shared *s,
			      struct floor_futex_line *line, uint32_t seq)
{
	if (s->spin)
		await_spinning(line, seq, s->spin_ns);
	else
		await_sleeping(line, seq);
}

static void floor_futex_send(struct floor_futex_shared *s,
			     struct floor_futex_line *line, uint32_t seq)
{
	bench_payload_write(line->payload, FLOOR_FUTEX_PAYLOAD, seq);
	/* Release pairs with the reader's acquire of seq. */
	atomic_store_explicit(&line->seq, seq, memory_order_release);
	if (!s->spin) {
		futex_wake(&line->seq);
		return;
	}
	/* Pairs with the fence in await_spinning(). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&line->sleeping, memory_order_relaxed))
		futex_wake(&line->seq);
}

static int floor_futex_pinger(void *arg, unsigned int index)
{
	struct floor_futex_shared *s = arg;
	uint64_t seq, first = s->total - s->rounds + 1, start = 0;

	for (seq = 1; seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == first)
			start = t0;
		floor_futex_send(s, &s->ping, (uint32_t)seq);
		floor_futex_await(s, &s->pong, (uint32_t)seq);
		if (bench_payload_check(s->pong.payload, FLOOR_FUTEX_PAYLOAD,
					(uint32_t)seq))
			return bench_payload_error("floor-futex pinger", seq);
		if (seq >= first)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	return 0;
}

static int floor_futex_ponger(void *arg, unsigned int index)
{
	struct floor_futex_shared *s = arg;
	uint64_t seq;

	for (seq = 1; seq <= s->total; seq++) {
		floor_futex_await(s, &s->ping, (uint32_t)seq);
		if (bench_payload_check(s->ping.payload, FLOOR_FUTEX_PAYLOAD,
					(uint32_t)seq))
			return bench_payload_error("floor-futex ponger", seq);
		floor_futex_send(s, &s->pong, (uint32_t)seq);
	}
	return 0;
}

static const char usage[] =
	"Usage: floor-futex [--mode futex|spin-futex] [--spin-ns N] [options]\n"
	"Round trip of one cache line each way, the reader sleeping on a\n"
	"shared futex (futex), or spinning first and sleeping flagged\n"
	"(spin-futex).\n";

int main(int argc, char **argv)
{
	struct bench_options o;
	struct floor_futex_shared *s;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	if (strcmp(o.mode, "futex") && strcmp(o.mode, "spin-futex")) {
		fprintf(stderr, "--mode must be futex or spin-futex\n");
		return 2;
	}
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	hist_reset(&s->hist);
	s->rounds = o.count;
	s->total = o.count + o.warmup;
	s->spin = strcmp(o.mode, "spin-futex") == 0;
	s->spin_ns = o.spin_ns;
	ret = bench_run(
		(const struct bench_child[]){
			{ o.cpu[1], floor_futex_ponger, s, 1 },
			{ o.cpu[0], floor_futex_pinger, s, 0 },
		},
		2, o.timeout_s);
	if (ret == 0) {
		struct bench_row row = {
			.bench = "pingpong",
			.transport = s->spin ? "floor-spin-futex"
					     : "floor-futex",
			.mode = o.mode,
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
