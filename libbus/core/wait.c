/* SPDX-License-Identifier: MIT */
/*
 * Waiting strategies.  Spinning costs a CPU but no system call; sleeping
 * costs a futex wait here and a futex wake in the process that changes the
 * queue or topic, which it issues only when a sleepers count says somebody
 * sleeps (see the pairing comments in queue_ring.c and topic_ring.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "atomics.h"
#include "clock.h"
#include "futex.h"
#include "segment.h"
#include "wait.h"

/* Read the clock once every this many spins: a vDSO call is ~20 ns. */
#define BUS__SPINS_PER_CLOCK_READ 32

/* A queue's attempt, called through the target's context. */
struct queue_attempt {
	struct bus_queue *q;
	bus__attempt_fn attempt;
	void *context;
};

static int queue_attempt(void *context)
{
	struct queue_attempt *a = context;

	return a->attempt(a->q, a->context);
}

static void target_of(struct bus_queue *q, enum bus__wait_side side,
		      struct queue_attempt *a, struct bus__wait_target *t)
{
	struct bus_queue_control *c = q->geometry.control;
	int data = side == BUS__WAIT_DATA;

	*t = (struct bus__wait_target){
		.sleepers = data ? &c->consumers_sleeping
				 : &c->producers_sleeping,
		.word = data ? &c->data_futex : &c->space_futex,
		.sleeping = &q->attachment->sleeping,
		.flag = data ? BUS_ATTACHMENT_SLEEPING_DATA
			     : BUS_ATTACHMENT_SLEEPING_SPACE,
		.not_yet = data ? -EAGAIN : -ENOBUFS,
		.cancelled = &q->cancelled,
		.segment_state = &q->geometry.header->state,
		.strategy = q->wait,
		.spin_ns = q->spin_ns,
		.attempt = queue_attempt,
		.context = a,
	};
}

/* -ECANCELED, -ENOTCONN, -EIDRM, or 0 to go on waiting. */
static int interrupted(const struct bus__wait_target *t)
{
	uint32_t state;

	/* Relaxed: a flag with no data behind it; the futex wake that
	 * follows bus_queue_cancel() makes a sleeper look again. */
	if (bus__load_relaxed(t->cancelled))
		return -ECANCELED;
	/* Acquire: pairs with the release in busd_queue_close_segment
	 * (busd_topic_close_segment). */
	state = bus__load_acquire(t->segment_state);
	if (state != BUS_SEGMENT_OPEN)
		return bus__segment_gone(state);
	return 0;
}

/* Spins until `until` (ns, CLOCK_MONOTONIC); returns the final answer, or
 * not_yet when the spin ran out. */
static int spin(const struct bus__wait_target *t, int64_t until)
{
	for (;;) {
		for (int i = 0; i < BUS__SPINS_PER_CLOCK_READ; i++) {
			int rc = t->attempt(t->context);

			if (rc != t->not_yet)
				return rc;
			bus__cpu_relax();
		}
		int rc = interrupted(t);
		if (rc)
			return rc;
		if (until >= 0 && bus__monotonic_ns() >= until)
			return t->not_yet;
	}
}

static void register_sleeper(const struct bus__wait_target *t)
{
	bus__fetch_add_seq_cst(t->sleepers, 1);
	/* Tells busd to uncount us if we die asleep.  Set after the count
	 * is raised and cleared before it is lowered, so busd never lowers
	 * a count we did not raise. */
	bus__store_relaxed(t->sleeping,
			   bus__load_relaxed(t->sleeping) | t->flag);
	/* Pairs with the waker's seq_cst change and count load (wake.h,
	 * bus__wake_if_sleeping()): after it, either our next attempt
	 * sees the waker's change or the waker sees our count. */
	bus__fence_seq_cst();
}

static void unregister_sleeper(const struct bus__wait_target *t)
{
	bus__store_relaxed(t->sleeping,
			   bus__load_relaxed(t->sleeping) & ~t->flag);
	bus__fetch_sub_seq_cst(t->sleepers, 1);
}

/* One round of sleeping: the final answer, or not_yet to go round again. */
static int sleep_once(const struct bus__wait_target *t,
		      const struct timespec *deadline)
{
	/* Acquire: pairs with the waker's seq_cst raise of the word, which
	 * it makes after changing the queue. */
	uint32_t seen = bus__load_acquire(t->word);
	int rc;

	register_sleeper(t);
	rc = t->attempt(t->context);
	if (rc == t->not_yet) {
		rc = interrupted(t);
		if (rc == 0) {
			/* Nothing yet and not interrupted: sleep. */
			rc = bus__futex_wait(t->word, seen, deadline);
			if (rc == 0)
				rc = t->not_yet;
		}
	}
	unregister_sleeper(t);
	return rc;
}

static int sleep_until(const struct bus__wait_target *t, int64_t deadline)
{
	struct timespec absolute = bus__timespec_of(deadline);
	int rc;

	do {
		rc = sleep_once(t, deadline >= 0 ? &absolute : NULL);
	} while (rc == t->not_yet);
	if (rc == -ETIMEDOUT) {
		/* A message may have come with the deadline: one last look. */
		rc = t->attempt(t->context);
		if (rc == t->not_yet)
			rc = -ETIMEDOUT;
	}
	return rc;
}

int bus__wait_for(const struct bus__wait_target *t, int64_t timeout_ns)
{
	int64_t start, deadline, spin_until;
	int rc;

	if (timeout_ns == 0)
		return t->not_yet;
	/* Busy and no deadline: no clock to read, not even once. */
	if (t->strategy == BUS_WAIT_BUSY && timeout_ns < 0)
		return spin(t, -1);
	start = bus__monotonic_ns();
	deadline = bus__deadline_from(start, timeout_ns);
	if (t->strategy == BUS_WAIT_BUSY)
		spin_until = deadline;
	else if (t->strategy == BUS_WAIT_SPIN_FUTEX)
		spin_until = start + t->spin_ns;
	else
		spin_until = start;
	if (deadline >= 0 && spin_until > deadline)
		spin_until = deadline;

	if (spin_until != start) {
		rc = spin(t, spin_until);
		if (rc != t->not_yet)
			return rc;
		if (spin_until == deadline)
			return -ETIMEDOUT;
	}
	return sleep_until(t, deadline);
}

int bus__wait(struct bus_queue *q, enum bus__wait_side side,
	      int64_t timeout_ns, bus__attempt_fn attempt, void *context)
{
	struct queue_attempt a = { q, attempt, context };
	struct bus__wait_target t;

	target_of(q, side, &a, &t);
	return bus__wait_for(&t, timeout_ns);
}
