/* SPDX-License-Identifier: MIT */
/*
 * Publisher confirms on a durable queue: bus_flush() waits until busd's
 * journal thread says that every message this producer committed is on
 * disk as the queue's sync setting promises (layout.h's journal line).
 *
 * The wait: raise flush_sleepers (seq_cst), ring the journal doorbell so
 * that the journal thread looks now rather than at its next idle tick,
 * re-check durable_position, sleep on durable_futex.  The journal thread
 * stores durable_position with seq_cst and then reads flush_sleepers
 * (seq_cst) before it wakes: the store-buffer pattern of wake.h, so
 * either our re-check sees the new position or it sees us counted.
 */
#include <errno.h>
#include <time.h>

#include "atomics.h"
#include "futex.h"
#include "queue_handle.h"
#include "segment.h"
#include "wake.h"

/* 1: every position before target is durable; 0: not yet; < 0: why it
 * never will be without a change (the queue went, the disk failed). */
static int flush_done(const struct bus_queue *q, uint64_t target)
{
	const struct bus_queue_control *c = q->geometry.control;
	/* Acquire: pairs with the journal thread's seq_cst store; nothing
	 * of ours depends on its data, but a caller reading the journal's
	 * figures next sees them at least this new. */
	uint64_t durable = bus__load_acquire(&c->durable_position);
	int32_t error;

	if ((int64_t)(durable - target) >= 0)
		return 1;
	/* Acquire: pairs with the journal thread's release store, so the
	 * error is seen with what it wrote before (journal_thread.c). */
	error = bus__load_acquire(&c->journal_error);
	if (error < 0)
		return error;
	/* Relaxed: the state word is written once, at close (queue.c). */
	if (bus__load_relaxed(&q->geometry.header->state) != BUS_SEGMENT_OPEN)
		return bus__segment_gone(
			bus__load_relaxed(&q->geometry.header->state));
	return 0;
}

static void deadline_after(struct timespec *deadline, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout_ms / 1000;
	deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/* One sleep on durable_futex, counted; 0, -ETIMEDOUT or -EINTR. */
static int flush_sleep(const struct bus_queue *q, uint64_t target,
		       const struct timespec *deadline)
{
	struct bus_queue_control *c = q->geometry.control;
	/* Relaxed: the futex re-checks it; a raise after this read makes
	 * the wait return at once. */
	uint32_t seen = bus__load_relaxed(&c->durable_futex);
	int rc = 0;

	/* seq_cst: pairs with the journal thread's seq_cst load of the
	 * count after its seq_cst store of durable_position (wake.h). */
	bus__fetch_add_seq_cst(&c->flush_sleepers, 1);
	/* The full fence wake.h asks for: the re-check in flush_done() is an
	 * acquire load, which the raise alone does not order after it. */
	bus__fence_seq_cst();
	/* Ring: the journal thread may be idle for a while otherwise. */
	bus__wake_all(&c->journal_doorbell);
	if (flush_done(q, target) == 0)
		rc = bus__futex_wait(&c->durable_futex, seen, deadline);
	bus__fetch_sub_seq_cst(&c->flush_sleepers, 1);
	return rc;
}

int bus_flush(bus_queue_t *q, int timeout_ms)
{
	struct timespec deadline;
	uint64_t target;
	int rc;

	if (!q)
		return -EINVAL;
	if (q->role != BUS_PRODUCER)
		return -EBADF;
	if (!q->geometry.settings.durable)
		return -EOPNOTSUPP;
	target = q->committed_through;
	if (timeout_ms >= 0)
		deadline_after(&deadline, timeout_ms);
	for (;;) {
		rc = flush_done(q, target);
		if (rc)
			return rc < 0 ? rc : 0;
		if (timeout_ms == 0)
			return -ETIMEDOUT;
		rc = flush_sleep(q, target, timeout_ms < 0 ? NULL : &deadline);
		if (rc == -ETIMEDOUT && flush_done(q, target) == 0)
			return -ETIMEDOUT;
		if (rc == -EINTR)
			return -EINTR;
	}
}
