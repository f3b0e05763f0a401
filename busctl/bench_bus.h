/* SPDX-License-Identifier: MIT */
/* busctl bench: helpers of the bus cases (bench_bus.c). */
#ifndef BUSCTL_BENCH_BUS_H
#define BUSCTL_BENCH_BUS_H

#include <stddef.h>

#include "bench.h"

/* The longest temporary name: busctl-bench.PID.SUFFIX. */
#define BUSCTL_BENCH_NAME_MAX (BUS_NAME_MAX + 1)

/* "busctl-bench.PID.suffix" into name. */
void busctl_bench_name(const struct busctl_bench *b, const char *suffix,
		       char *name, size_t size);

/* An spsc queue of --size messages; these say why they failed. */
int busctl_bench_create_queue(struct busctl_bench *b, const char *name,
			      uint32_t max_unacked);
int busctl_bench_create_topic(struct busctl_bench *b, const char *name);
int busctl_bench_delete(struct busctl_bench *b, const char *name);

/* Opens a handle that a stop cancels; close it with the close below. */
int busctl_bench_open_queue(struct busctl_bench *b, const char *name,
			    enum bus_role role, enum bus_wait_strategy wait,
			    bus_queue_t **out);
void busctl_bench_close_queue(struct busctl_bench *b, bus_queue_t *queue);

/* A message that is not what was sent: says so, stops the peer,
 * -EBADMSG. */
int busctl_bench_payload_fail(struct busctl_bench *b, const char *who,
			      uint64_t seq);

/*
 * The start of a streaming rate: the producer marks it before it commits
 * the first measured message, the consumer reads it after receiving the
 * last.  Relaxed: the queue's own release and acquire order the two; the
 * atomic only tells the race detector that two threads share it.
 */
static inline void busctl_bench_mark_start(_Atomic uint64_t *start_ns)
{
	atomic_store_explicit(start_ns, bench_now_ns(), memory_order_relaxed);
}

static inline uint64_t busctl_bench_since_start(_Atomic uint64_t *start_ns)
{
	return bench_now_ns() -
	       atomic_load_explicit(start_ns, memory_order_relaxed);
}

#endif /* BUSCTL_BENCH_BUS_H */
