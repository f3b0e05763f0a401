/* SPDX-License-Identifier: MIT */
/* Sentences for the errors libbus returns. */
#include <errno.h>
#include <string.h>

#include "bus/bus.h"

struct bus__error_text {
	int error;
	const char *text;
};

/* Phrased for shmbus: what happened and what to do about it. */
static const struct bus__error_text bus__error_texts[] = {
	{ EAGAIN, "nothing to receive yet: the queue is empty, try again" },
	{ ENOBUFS, "the queue or topic is full: consume faster, raise "
		   "'slots' (or 'ring_bytes'), or retry later (a topic under "
		   "slow_subscriber = block waits for its slowest "
		   "subscriber)" },
	/* A packed queue's loan whose room only our own commits can free. */
	{ EDEADLK, "this producer's own open loans fill the queue's arena, so "
		   "waiting could never end: commit (or send) them first, or "
		   "raise 'ring_bytes' (a loan reserves max_message and 512 "
		   "bytes of key room until its commit)" },
	{ EMSGSIZE, "the message is larger than the queue's or topic's "
		    "max_message, or than the buffer given for it, or its "
		    "key and headers do not fit its header_room (for spsc "
		    "queues, a limit that is 512 bytes when 0)" },
	{ ENOENT, "no such queue or topic on this bus" },
	/* busd's detail says who may not do what, and who may. */
	{ EACCES, "permission denied" },
	{ EPROTO, "the shared-memory segment or the daemon speaks another "
		  "layout or protocol version, or the segment is corrupt" },
	{ ETIMEDOUT, "timed out waiting" },
	{ ENOTCONN, "no busd serves this bus, or it closed the queue: "
		    "start busd or reconnect" },
	/* A segment marked DELETED (busd/handlers.c, DELETE). */
	{ EIDRM, "the queue or topic was deleted (busctl delete): close this "
		 "handle; open it again once it is created again" },
	/* bus_delete() with BUS_DELETE_IF_EMPTY. */
	{ ENOTEMPTY, "the queue or topic still holds messages, so it was not "
		     "deleted (--if-empty)" },
	{ EINVAL, "invalid argument" },
	{ EEXIST, "a queue or topic with this name already exists" },
	{ EBUSY, "the queue or topic has no free slot for this role (its "
		 "max_producers, max_consumers, max_publishers or "
		 "max_subscribers is reached)" },
	{ ENOLCK, "this consumer already holds max_unacked messages: "
		  "ack some first" },
	{ EBADMSG, "a message in shared memory is corrupt and was skipped" },
	{ ESTALE, "this consumer no longer holds the message: it held it "
		  "longer than the queue's ack_timeout_ms, and busd gave it "
		  "to another delivery" },
	{ ECANCELED, "the call was cancelled with bus_queue_cancel(), "
		     "bus_topic_cancel() or bus_subscription_cancel()" },
	{ EINTR, "interrupted by a signal" },
	{ ENOSPC, "no room: /dev/shm cannot hold the segment, or the disk "
		  "of a durable queue's journal (busd's data_dir) is full" },
	/* bus_flush() on a queue that is not durable. */
	{ EOPNOTSUPP, "the queue is not durable: nothing to flush to disk "
		      "(create it with durable = yes)" },

	{ ENOMEM, "out of memory" },
	{ ENAMETOOLONG, "a name or path is too long" },
	{ EPERM, "operation not permitted for this role or user" },
	{ EBADF, "this handle cannot do that (wrong role)" },
	/* busd's connection limits (busd/admission.h); the detail names
	 * the uid and the figures. */
	{ ECONNREFUSED, "busd refused the connection: it is short of file "
			"descriptors and keeps its last ones for root and its "
			"admin_group (reserved_descriptors); close "
			"connections or retry later" },
	{ EUSERS, "busd refused the connection: too many connections from "
		  "this user (busd's max_connections_per_user); close some "
		  "or ask the operator to raise it" },
	{ EIO, "the control connection to busd failed, or (bus_flush) busd "
	       "could not write the durable queue's journal: see its log" },
	{ ENXIO, "no responder: nothing consumes from or subscribes to the "
		 "request queue or topic" },
};

const char *bus_strerror(int error)
{
	int positive = error < 0 ? -error : error;
	size_t i;

	if (error == 0)
		return "success";
	for (i = 0; i < sizeof(bus__error_texts) / sizeof(bus__error_texts[0]);
	     i++) {
		if (bus__error_texts[i].error == positive)
			return bus__error_texts[i].text;
	}
	/* Thread-safe: strerror() may share a buffer, strerrordesc_np not. */
	const char *text = strerrordesc_np(positive);
	return text ? text : "unknown error";
}
