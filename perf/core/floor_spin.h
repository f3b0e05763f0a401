/* SPDX-License-Identifier: MIT */
/*
 * The spin floor: the physical floor of a round trip between two CPUs.
 *
 * One 64-byte cache line per direction holds a sequence word and 56 bytes of
 * payload.  The pinger writes the payload, stores the sequence with
 * release, and spins on the other line until the ponger, which spins the
 * same way, answers with the same sequence and its own payload.  Nothing
 * else happens: two cache-line transfers per direction (the reader's miss on
 * the line, then the writer's miss to take it back) are all a round trip
 * costs.  Every transport in perf/, and the bus in busctl bench, is
 * compared with this.
 *
 * The two sides run wherever the caller puts them: perf/floor-spin forks
 * two pinned processes over a shared mapping, busctl bench runs two pinned
 * threads over ordinary memory.
 */
#ifndef PERF_FLOOR_SPIN_H
#define PERF_FLOOR_SPIN_H

#include <stdatomic.h>
#include <stdint.h>

#include "bench_core.h"
#include "hist.h"

#define FLOOR_SPIN_PAYLOAD (BENCH_LINE - 8)

struct floor_spin_line {
	_Atomic uint64_t seq;
	uint64_t payload[FLOOR_SPIN_PAYLOAD / 8];
} __attribute__((aligned(BENCH_LINE)));

/*
 * Each line sits alone in 128 bytes: the adjacent-line prefetcher pairs
 * lines, and a pair shared by both directions would be a false share.
 * stop has a pair of its own too: it is written once, by whoever gives
 * up, and read by spinners that must not pay for it.
 */
struct floor_spin_shared {
	struct floor_spin_line ping __attribute__((aligned(128)));
	struct floor_spin_line pong __attribute__((aligned(128)));
	_Atomic int stop __attribute__((aligned(128)));
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;	     /* round trips, warm-up included */
	uint64_t rounds;     /* the measured ones, the last of them */
	uint64_t elapsed_ns; /* of the measured ones, for the rate */
	uint64_t failed_seq; /* the sequence whose payload check failed */
};

/* Empties the lines and the histogram; total round trips, the last
 * rounds of them measured. */
void floor_spin_init(struct floor_spin_shared *s, uint64_t total,
		     uint64_t rounds);

/*
 * The two sides.  Each returns 0, -EBADMSG when a payload check failed
 * (s->failed_seq says where), or -ECANCELED once floor_spin_stop() was
 * called: a side whose peer failed or was told to stop gives up instead of
 * spinning forever.
 */
int floor_spin_pinger(struct floor_spin_shared *s);
int floor_spin_ponger(struct floor_spin_shared *s);

/* Makes both sides give up at their next wait; any thread may call it. */
void floor_spin_stop(struct floor_spin_shared *s);

#endif /* PERF_FLOOR_SPIN_H */
