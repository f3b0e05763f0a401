/* SPDX-License-Identifier: MIT */
/*
 * Purging a queue: removing every queued message (busctl purge).
 *
 * busd never rewrites cells while clients work in a segment, so a purge is
 * done the way any consumer would do it: busd checks admin rights and
 * lends a consumer slot (BUS_CONTROL_PURGE), and we take and ack queued
 * messages through it until the queue is empty.  The cell protocol keeps
 * that safe against live producers and consumers, leased messages stay
 * with their consumers, and a purge that dies half way is cleaned up as
 * any dead consumer: what it held is delivered again.
 */
#include <errno.h>

#include "control_protocol.h"
#include "queue.h"
#include "queue_handle.h"

/* Takes and acks at most limit messages; returns how many it removed. */
static int purge_drain(struct bus_queue *q, uint64_t limit)
{
	struct bus_message message;
	uint64_t steps;
	int removed = 0;
	int err;

	for (steps = 0; steps < limit; steps++) {
		err = bus_receive(q, &message, BUS_NOWAIT);
		/* A corrupt message is skipped by the receive itself. */
		if (err == -EBADMSG)
			continue;
		if (err == -EAGAIN)
			break;
		if (err < 0)
			return err;
		err = bus_ack(q, &message);
		if (err < 0)
			return err;
		removed++;
	}
	return removed;
}

int bus_queue_purge(bus_t *bus, const char *name)
{
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	struct bus_queue_stats stats;
	struct bus_queue *q;
	int ret;

	if (!bus)
		return -EINVAL;
	ret = bus__queue_open_op(bus, name, BUS_CONTROL_PURGE, BUS_CONSUMER,
				 &options, &q);
	if (ret < 0)
		return ret;
	/* What is queued now bounds the work: messages committed while we
	 * drain may go too, but a busy producer cannot keep us going. */
	ret = bus_queue_stats(q, &stats);
	if (ret == 0)
		ret = purge_drain(q, stats.depth);
	bus_queue_close(q);
	return ret;
}
