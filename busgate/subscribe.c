/* SPDX-License-Identifier: MIT */
/*
 * SUBSCRIBE and UNSUBSCRIBE on the bus: one bus handle per subscription
 * (a queue consumer, a topic subscription or a wildcard), so that closing
 * it hands the client's unacked messages back for redelivery; and the
 * connection's temp queues.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "gate.h"

/* ---- subscriptions ------------------------------------------------------ */

struct gate_sub *gate_sub_find(struct gate_conn *conn, const char *id)
{
	for (struct gate_sub *sub = conn->subs; sub; sub = sub->next)
		if (!strcmp(sub->id, id))
			return sub;
	return NULL;
}

void gate_sub_close(struct gate_sub *sub)
{
	struct gate_conn *conn = sub->conn;

	if (sub->in_waitset)
		gate_waitset_remove(conn, sub);
	if (sub->queue)
		bus_queue_close(sub->queue);
	if (sub->subscription)
		bus_unsubscribe(sub->subscription);
	if (sub->wildcard)
		bus_wildcard_close(sub->wildcard);
	if (sub->temporary)
		bus_queue_delete(conn->bus, sub->bus_name);
	conn->sub_count--;
	free(sub->pending);
	free(sub->id);
	free(sub->destination);
	free(sub->bus_name);
	free(sub);
}

static int parse_ack_mode(const char *value, enum gate_ack_mode *mode)
{
	if (!value || !strcmp(value, "auto"))
		*mode = ACK_AUTO;
	else if (!strcmp(value, "client"))
		*mode = ACK_CLIENT;
	else if (!strcmp(value, "client-individual"))
		*mode = ACK_CLIENT_INDIVIDUAL;
	else
		return -EINVAL;
	return 0;
}

static int parse_prefetch(const char *value, unsigned int *out)
{
	char *end;
	unsigned long n;

	if (!value)
		return 0;
	if (*value < '0' || *value > '9')
		return -EINVAL;
	n = strtoul(value, &end, 10);
	if (*end || n > 1000000)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

static int sub_open_handle(struct gate_conn *conn, struct gate_sub *sub,
			   const struct dest *d)
{
	int ret;

	switch (d->kind) {
	case DEST_QUEUE:
	case DEST_TEMP:
		sub->kind = SUB_QUEUE;
		return gate_queue_open(conn, d->name, BUS_CONSUMER,
				       conn->gate->config->auto_create ||
					       d->kind == DEST_TEMP,
				       &sub->queue);
	case DEST_TOPIC:
		if (d->wildcard) {
			sub->kind = SUB_WILDCARD;
			return bus_subscribe_pattern(conn->bus, d->name, NULL,
						     &sub->wildcard);
		}
		sub->kind = SUB_TOPIC;
		ret = bus_subscribe(conn->bus, d->name, NULL,
				    &sub->subscription);
		if (ret == -ENOENT && conn->gate->config->auto_create) {
			ret = gate_topic_make(conn, d->name);
			if (!ret)
				ret = bus_subscribe(conn->bus, d->name, NULL,
						    &sub->subscription);
		}
		return ret;
	default:
		return -EINVAL;
	}
}

static struct gate_sub *sub_new(struct gate_conn *conn, const char *id,
				const char *destination, const char *bus_name)
{
	struct gate_sub *sub = calloc(1, sizeof(*sub));

	if (!sub)
		return NULL;
	sub->conn = conn;
	sub->number = ++conn->next_sub_number;
	sub->id = strdup(id);
	sub->destination = strdup(destination);
	sub->bus_name = strdup(bus_name);
	if (!sub->id || !sub->destination || !sub->bus_name) {
		free(sub->id);
		free(sub->destination);
		free(sub->bus_name);
		free(sub);
		return NULL;
	}
	return sub;
}

/* Opens the handle, links the subscription and starts its deliveries. */
static int sub_start(struct gate_conn *conn, struct stomp_frame *frame,
		     struct gate_sub *sub, const struct dest *d)
{
	int ret = sub_open_handle(conn, sub, d);

	if (ret) {
		free(sub->id);
		free(sub->destination);
		free(sub->bus_name);
		free(sub);
		gate_fail_bus(conn, frame, d->name, ret);
		return -1;
	}
	sub->temporary = d->kind == DEST_TEMP;
	if (sub->queue) {
		unsigned int max = bus_queue_settings(sub->queue)->max_unacked;

		if (!sub->prefetch || sub->prefetch > max)
			sub->prefetch = max;
	}
	sub->next = conn->subs;
	conn->subs = sub;
	conn->sub_count++;
	ret = gate_waitset_add(conn, sub);
	if (ret) {
		conn->subs = sub->next;
		gate_sub_close(sub);
		gate_conn_fail(conn, frame, "cannot watch the subscription",
			       bus_strerror(ret));
		return -1;
	}
	gate_deliver_sub(sub);
	return 0;
}

/* Subscriptions of one connection. */
#define SUBS_MAX 256u

int gate_subscribe(struct gate_conn *conn, struct stomp_frame *frame)
{
	const char *destination = stomp_header(frame, "destination");
	const char *id = stomp_header(frame, "id");
	const char *why = "";
	struct gate_sub *sub;
	struct dest d;
	enum gate_ack_mode mode;
	unsigned int prefetch = conn->gate->config->prefetch;

	if (!destination) {
		gate_conn_fail(conn, frame, "missing header 'destination'",
			       "SUBSCRIBE");
		return -1;
	}
	if (!id && conn->version >= STOMP_V11) {
		gate_conn_fail(conn, frame, "missing header 'id'",
			       "SUBSCRIBE");
		return -1;
	}
	if (!id)
		id = destination;
	if (gate_sub_find(conn, id)) {
		gate_conn_fail(conn, frame, "subscription id in use", id);
		return -1;
	}
	if (conn->sub_count >= SUBS_MAX) {
		gate_conn_fail(conn, frame, "too many subscriptions",
			       "a connection may hold 256");
		return -1;
	}
	if (parse_ack_mode(stomp_header(frame, "ack"), &mode)) {
		gate_conn_fail(conn, frame, "bad header 'ack'",
			       "ack is auto, client or client-individual");
		return -1;
	}
	if (parse_prefetch(stomp_header(frame, "prefetch-count"), &prefetch)) {
		gate_conn_fail(conn, frame, "bad header 'prefetch-count'",
			       "a whole number");
		return -1;
	}
	if (gate_dest_parse(conn, destination, &d, &why)) {
		gate_conn_fail(conn, frame, "bad destination", why);
		return -1;
	}
	if (d.kind == DEST_EXCHANGE) {
		gate_conn_fail(conn, frame, "cannot subscribe to an exchange",
			       "subscribe to the queue or topic that its "
			       "routes lead to");
		return -1;
	}
	sub = sub_new(conn, id, destination, d.name);
	if (!sub) {
		gate_conn_fail(conn, frame, "out of memory", NULL);
		return -1;
	}
	sub->ack = mode;
	sub->prefetch = prefetch;
	return sub_start(conn, frame, sub, &d);
}

int gate_unsubscribe(struct gate_conn *conn, struct stomp_frame *frame)
{
	const char *id = stomp_header(frame, "id");
	struct gate_sub **at = &conn->subs;

	if (!id && conn->version == STOMP_V10)
		id = stomp_header(frame, "destination");
	if (!id) {
		gate_conn_fail(conn, frame, "missing header 'id'",
			       "UNSUBSCRIBE");
		return -1;
	}
	while (*at && strcmp((*at)->id, id))
		at = &(*at)->next;
	if (!*at) {
		gate_conn_fail(conn, frame, "no such subscription", id);
		return -1;
	}
	{
		struct gate_sub *sub = *at;

		*at = sub->next;
		gate_sub_close(sub);
	}
	return 0;
}

/* The connection's own queue behind reply-to: /temp-queue/NAME. */
int gate_temp_queue_ensure(struct gate_conn *conn, struct stomp_frame *frame,
			   const char *reply_to, const struct dest *d)
{
	struct gate_sub *sub = gate_sub_find(conn, reply_to);
	int ret;

	if (sub)
		return 0;
	ret = gate_queue_make(conn, d->name);
	if (ret) {
		gate_fail_bus(conn, frame, d->name, ret);
		return -1;
	}
	sub = sub_new(conn, reply_to, reply_to, d->name);
	if (!sub) {
		gate_conn_fail(conn, frame, "out of memory", NULL);
		return -1;
	}
	sub->ack = ACK_AUTO;
	return sub_start(conn, frame, sub, d);
}
