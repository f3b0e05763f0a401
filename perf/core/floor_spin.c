/* SPDX-License-Identifier: MIT */
/* The spin floor's two sides (see floor_spin.h). */
#include <errno.h>
#include <string.h>

#include "floor_spin.h"

void floor_spin_init(struct floor_spin_shared *s, uint64_t total,
		     uint64_t rounds)
{
	memset(s, 0, sizeof(*s));
	hist_reset(&s->hist);
	s->total = total;
	s->rounds = rounds < total ? rounds : total;
}

void floor_spin_stop(struct floor_spin_shared *s)
{
	atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
}

/*
 * Waits for seq on the line; acquire pairs with the sender's release in
 * floor_spin_send.  stop is relaxed: it orders nothing, and it is read
 * only while the awaited line has not come, so an answer that is there
 * costs no extra load.
 */
static inline int floor_spin_await(struct floor_spin_shared *s,
				   struct floor_spin_line *line, uint64_t seq)
{
	while (atomic_load_explicit(&line->seq, memory_order_acquire) != seq) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			return -ECANCELED;
		bench_relax();
	}
	return 0;
}

/* Fills the payload, then publishes it: release pairs with the acquire
 * in floor_spin_await on the other CPU. */
static inline void floor_spin_send(struct floor_spin_line *line, uint64_t seq)
{
	bench_payload_write(line->payload, FLOOR_SPIN_PAYLOAD, seq);
	atomic_store_explicit(&line->seq, seq, memory_order_release);
}

/* A torn payload: the peer must not wait for an answer that never comes. */
static int floor_spin_fail(struct floor_spin_shared *s, uint64_t seq)
{
	s->failed_seq = seq;
	floor_spin_stop(s);
	return -EBADMSG;
}

int floor_spin_pinger(struct floor_spin_shared *s)
{
	uint64_t seq, start = 0, warmup = s->total - s->rounds;
	int ret;

	for (seq = 1; seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == warmup + 1)
			start = t0;
		floor_spin_send(&s->ping, seq);
		ret = floor_spin_await(s, &s->pong, seq);
		if (ret)
			return ret;
		if (bench_payload_check(s->pong.payload, FLOOR_SPIN_PAYLOAD,
					seq))
			return floor_spin_fail(s, seq);
		if (seq > warmup)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	return 0;
}

int floor_spin_ponger(struct floor_spin_shared *s)
{
	uint64_t seq;
	int ret;

	for (seq = 1; seq <= s->total; seq++) {
		ret = floor_spin_await(s, &s->ping, seq);
		if (ret)
			return ret;
		if (bench_payload_check(s->ping.payload, FLOOR_SPIN_PAYLOAD,
					seq))
			return floor_spin_fail(s, seq);
		floor_spin_send(&s->pong, seq);
	}
	return 0;
}
