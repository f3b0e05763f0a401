/* SPDX-License-Identifier: MIT */
/* Blocking on a queue or a topic: spin, spin then futex, or futex. */
#ifndef BUS_WAIT_H
#define BUS_WAIT_H

#include <stdint.h>

#include "queue.h"

enum bus__wait_side {
	BUS__WAIT_DATA,	 /* a consumer waits for a message */
	BUS__WAIT_SPACE, /* a producer waits for a free slot */
};

/* One non-blocking try; returns -EAGAIN (data) or -ENOBUFS (space) to be
 * called again, anything else to finish the wait with. */
typedef int (*bus__attempt_fn)(struct bus_queue *q, void *context);

/*
 * Calls attempt until it stops answering "not yet", the relative timeout
 * passes (-ETIMEDOUT; BUS_FOREVER never does), the handle is cancelled
 * (-ECANCELED), the segment is closed (-ENOTCONN), or a signal handler runs
 * while asleep (-EINTR).  The caller has already made one attempt.
 */
int bus__wait(struct bus_queue *q, enum bus__wait_side side,
	      int64_t timeout_ns, bus__attempt_fn attempt, void *context);

/*
 * Where a blocked call sleeps and what ends the wait.  bus__wait() builds
 * one for a queue handle; topic handles and subscriptions build their own.
 * attempt makes one non-blocking try and answers not_yet to go on.
 */
struct bus__wait_target {
	_Atomic uint32_t *sleepers; /* the sleepers count of the side */
	_Atomic uint32_t *word;	    /* the futex word of the side */
	_Atomic uint32_t *sleeping; /* the waiter's own flags in its slot */
	uint32_t flag;		    /* BUS_ATTACHMENT_SLEEPING_* */
	int not_yet;		    /* -EAGAIN or -ENOBUFS */
	_Atomic int *cancelled;	    /* the handle's cancel flag */
	_Atomic uint32_t *segment_state; /* header state word */
	enum bus_wait_strategy strategy;
	uint32_t spin_ns;
	int (*attempt)(void *context);
	void *context;
};

/* bus__wait() for any target; the same answers. */
int bus__wait_for(const struct bus__wait_target *t, int64_t timeout_ns);

#endif /* BUS_WAIT_H */
