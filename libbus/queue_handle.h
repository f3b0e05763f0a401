/* SPDX-License-Identifier: MIT */
/*
 * Making and ending a queue handle (queue.c), and the client's own moves
 * on it (queue_expiry.c, client.c).  Internal to the client library: the
 * handle itself is the core's (core/queue.h), busd never makes one.
 */
#ifndef BUS_QUEUE_HANDLE_H
#define BUS_QUEUE_HANDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/bus.h"
#include "queue.h"

/*
 * Makes a handle for attachment slot index of an already validated
 * segment.  The caller (client.c after busd said so, or a unit test that
 * owns the segment) has marked the slot as taken.  The handle does not own
 * the mapping.
 */
int bus__queue_handle_create(const struct bus__queue_geometry *geometry,
			     enum bus_role role, uint32_t index,
			     uint32_t client_id,
			     const struct bus_queue_options *options,
			     struct bus_queue **out);

/* Frees the handle's private memory; the caller unmaps and detaches. */
void bus__queue_handle_destroy(struct bus_queue *queue);

/*
 * A loan for a copy of length bytes (bus_send, routing, requests): a
 * packed queue reserves only that, and the extension room (its limit)
 * only when extension is true; capacity is length.  A queue with fixed
 * cells lends its whole cell as bus_loan() does.  -EMSGSIZE over
 * max_message, else as bus_loan().
 */
int bus__queue_loan_sized(struct bus_queue *queue, struct bus_message *m,
			  int64_t timeout_ns, size_t length, bool extension);

/*
 * queue_expiry.c: 1 when the message at position, just taken by this
 * consumer, is past its expiry: it is then counted and dropped (acked
 * without delivery), and the caller takes the next.  0 otherwise.
 */
int bus__queue_expire(struct bus_queue *queue, uint64_t position);

/*
 * bus_queue_open() through another control op that answers as OPEN does
 * (client.c): BUS_CONTROL_PURGE gives a consumer slot to an admin.
 */
int bus__queue_open_op(struct bus *bus, const char *name, uint32_t op,
		       enum bus_role role,
		       const struct bus_queue_options *options,
		       struct bus_queue **out);

#endif /* BUS_QUEUE_HANDLE_H */
