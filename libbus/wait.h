/* SPDX-License-Identifier: MIT */
/* Blocking on a queue: spin, spin then futex, or futex. */
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

#endif /* BUS_WAIT_H */
