/* SPDX-License-Identifier: MIT */
/*
 * [export NAME] from = service QUEUE: requests on a bus service queue ->
 * NATS requests, their replies -> the bus requesters.
 *
 * A bus requester (bus_request()) sends to QUEUE, which this thread
 * consumes: each request goes out as a NATS request on the rule's subject
 * and waits up to timeout_ms for its reply, which goes back with
 * bus_reply() to the requester's reply-to name and correlation id.  One
 * request at a time, in the order of the queue.
 *
 * No responder: NATS answers at once with the "no responders" status
 * (503) when nothing subscribes to the subject, and an importing bridge
 * whose bus has no responder answers with the header Shmbus-Status: 503.
 * Either way the requester gets, at once, an empty reply that carries
 * Shmbus-Status: 503 no responders (when the reply queue has the
 * header_room for it), rather than waiting for its time-out.  A NATS
 * time-out sends nothing: the requester's own time-out says it.
 */
#include <errno.h>
#include <string.h>

#include "bridge.h"

#define RECEIVE_TIMEOUT_NS 200000000 /* how often it looks at stopping */
#define REPLY_TIMEOUT_NS 1000000000

/* The reply-to name is a queue, else a topic (as bus_reply() finds it). */
static int status_reply(struct bridge_rule *rule,
			const struct bus_message *request, const char *status)
{
	bus_t *bus = rule->bridge->bus;
	char reply_to[BUS_NAME_MAX + 1];
	bus_queue_t *queue = NULL;
	bus_topic_t *topic = NULL;
	struct bus_message m;
	int ret;

	ret = bus_message_reply_to(request, reply_to, sizeof(reply_to));
	if (ret <= 0)
		return ret < 0 ? ret : -EINVAL;
	ret = bus_queue_open(bus, reply_to, BUS_PRODUCER, NULL, &queue);
	if (ret == -ENOENT)
		ret = bus_topic_open(bus, reply_to, BUS_PRODUCER, NULL,
				     &topic);
	if (ret)
		return ret;
	ret = queue ? bus_loan(queue, &m, REPLY_TIMEOUT_NS)
		    : bus_topic_loan(topic, &m, REPLY_TIMEOUT_NS);
	if (!ret) {
		bus_message_set_correlation(&m,
					    request->header->correlation_id);
		/* Without header_room the empty reply still comes at once. */
		(void)bus_message_add_header(&m, "Shmbus-Status", status);
		ret = queue ? bus_commit(queue, &m, 0)
			    : bus_topic_commit(topic, &m, 0);
	}
	if (queue)
		bus_queue_close(queue);
	if (topic)
		bus_topic_close(topic);
	return ret;
}

/* A reply from an importing bridge that could not ask its bus. */
static const char *reply_status(natsMsg *reply)
{
	const char *status = NULL;

	if (natsMsgHeader_Get(reply, BRIDGE_HEADER_STATUS, &status) != NATS_OK)
		return NULL;
	return status;
}

static void answer(struct bridge_rule *rule, const struct bus_message *m,
		   natsStatus s, natsMsg *reply)
{
	const char *status = s == NATS_OK ? reply_status(reply) : NULL;
	int ret;

	if (s == NATS_OK && !status) {
		ret = bus_reply(rule->responder, m, natsMsg_GetData(reply),
				(size_t)natsMsg_GetDataLength(reply),
				REPLY_TIMEOUT_NS);
		bridge_count(
			ret ? &rule->stats.failed : &rule->stats.forwarded, 1);
		return;
	}
	bridge_count(&rule->stats.failed, 1);
	if (s == NATS_NO_RESPONDERS)
		status = BRIDGE_STATUS_NO_RESPONDERS;
	if (status)
		status_reply(rule, m, status);
	/* A time-out or a lost connection: the requester's time-out. */
}

static void forward(struct bridge_rule *rule, const struct bus_message *m,
		    const char *subject)
{
	struct bridge *bridge = rule->bridge;
	natsMsg *request = NULL;
	natsMsg *reply = NULL;
	natsStatus s;

	if (!bridge_nats_up(bridge)) {
		bridge_count(&rule->stats.failed, 1);
		status_reply(rule, m, BRIDGE_STATUS_NO_RESPONDERS);
		return;
	}
	s = natsMsg_Create(&request, subject, NULL, m->payload,
			   (int)m->length);
	if (s == NATS_OK && bridge_headers_to_nats(bridge, m, request))
		s = NATS_ERR;
	bridge_count(&rule->stats.in_flight, 1);
	if (s == NATS_OK)
		s = natsConnection_RequestMsg(&reply, bridge->nats, request,
					      (int64_t)rule->timeout_ms);
	bridge_count(&rule->stats.in_flight, (uint64_t)-1);
	answer(rule, m, s, reply);
	natsMsg_Destroy(reply);
	natsMsg_Destroy(request);
}

void *bridge_export_service_run(void *arg)
{
	struct bridge_rule *rule = arg;
	char subject[BRIDGE_SUBJECT_MAX + 1];

	bridge_subject_expand(rule->to, rule->bridge->config.origin,
			      rule->from, subject, sizeof(subject));
	while (!bridge_stopping(rule->bridge)) {
		struct bus_message m;
		int ret = bus_receive(rule->queue, &m, RECEIVE_TIMEOUT_NS);

		bridge_lag_refresh(rule, ret == -ETIMEDOUT);
		if (ret == -ETIMEDOUT || ret == -EAGAIN || ret == -EINTR)
			continue;
		if (ret == -EBADMSG) {
			bridge_count(&rule->stats.dropped, 1);
			continue;
		}
		if (ret < 0) {
			bridge_log(
				"export %s: service %s: %s; this rule stops",
				rule->name, rule->from, bus_strerror(ret));
			break;
		}
		forward(rule, &m, subject);
		/* Answered or not, a request is asked once: a requester
		 * whose time-out passed does not want it again. */
		bus_ack(rule->queue, &m);
	}
	return NULL;
}
