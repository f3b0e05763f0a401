/* SPDX-License-Identifier: MIT */
/*
 * ACK and NACK: the ack id names the subscription and the delivery; client
 * mode settles every earlier delivery of the subscription too, and room
 * under prefetch-count puts the subscription back in the waitset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "gate.h"

/* ---- ACK and NACK -------------------------------------------------------- */

static struct gate_sub *sub_by_number(struct gate_conn *conn,
				      unsigned int number)
{
	for (struct gate_sub *sub = conn->subs; sub; sub = sub->next)
		if (sub->number == number)
			return sub;
	return NULL;
}

static void pending_remove(struct gate_sub *sub, unsigned int from,
			   unsigned int count)
{
	memmove(sub->pending + from, sub->pending + from + count,
		(sub->pending_count - from - count) * sizeof(*sub->pending));
	sub->pending_count -= count;
}

static int settle(struct gate_sub *sub, unsigned int index, bool nack)
{
	struct gate_conn *conn = sub->conn;
	unsigned int first = sub->ack == ACK_CLIENT ? 0 : index;
	int ret = 0;

	if (!nack && sub->ack == ACK_CLIENT) {
		ret = bus_ack_through(sub->queue,
				      &sub->pending[index].message);
	} else {
		for (unsigned int i = first; i <= index; i++) {
			int r = nack ? bus_nack(sub->queue,
						&sub->pending[i].message)
				     : bus_ack(sub->queue,
					       &sub->pending[i].message);

			if (r < 0 && !ret)
				ret = r;
		}
	}
	pending_remove(sub, first, index - first + 1);
	if (ret == -ESTALE)
		/* busd took it back after ack_timeout_ms: it is delivered
		 * again, and the client hears of it then. */
		gate_log(1,
			 "connection %llu: an %s came after the queue's "
			 "ack_timeout",
			 (unsigned long long)conn->id, nack ? "nack" : "ack");
	return ret == -ESTALE ? 0 : ret;
}

int gate_ack(struct gate_conn *conn, struct stomp_frame *frame, bool nack)
{
	const char *id = stomp_header(frame, "id");
	unsigned int number;
	unsigned long long seq;
	struct gate_sub *sub;
	char *end;
	int ret;

	if (!id || conn->version < STOMP_V12)
		id = stomp_header(frame, "message-id")
			     ? stomp_header(frame, "message-id")
			     : id;
	if (!id) {
		gate_conn_fail(conn, frame,
			       conn->version >= STOMP_V12
				       ? "missing header 'id'"
				       : "missing header 'message-id'",
			       nack ? "NACK" : "ACK");
		return -1;
	}
	number = (unsigned int)strtoul(id, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		goto unknown;
	seq = strtoull(end + 1, &end, 10);
	if (*end)
		goto unknown;
	sub = sub_by_number(conn, number);
	if (!sub)
		goto unknown;
	/* Topics have no acks on the bus, and auto has nothing left. */
	if (sub->kind != SUB_QUEUE || sub->ack == ACK_AUTO)
		return 0;
	for (unsigned int i = 0; i < sub->pending_count; i++) {
		if (sub->pending[i].seq != seq)
			continue;
		ret = settle(sub, i, nack);
		if (ret < 0) {
			gate_fail_bus(conn, frame, sub->bus_name, ret);
			return -1;
		}
		if (!sub->in_waitset && gate_waitset_add(conn, sub) == 0)
			gate_deliver_sub(sub);
		return 0;
	}
unknown:
	gate_conn_fail(conn, frame, "no such message to acknowledge", id);
	return -1;
}
