/* SPDX-License-Identifier: MIT */
/*
 * Request/reply over queues and topics.  A request carries a correlation
 * id (in its header) and the name to reply to (in its header room); the
 * responder's reply carries the same correlation id.  The requester waits
 * on its reply queue, or reply topic, for the reply with its id: on a
 * queue of its own, other replies are stale ones (of requests that timed
 * out) and are dropped; on a topic shared by many requesters, each skips
 * the others' replies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "message_keys.h"
#include "route.h"

struct bus_requester {
	struct bus *bus;
	struct bus__route_target service;
	bus_queue_t *reply_queue;
	bus_subscription_t *reply_topic;
	char reply_to[BUS_NAME_MAX + 1];
	uint64_t next_id;
};

struct bus_responder {
	struct bus *bus;
	struct bus__route_target *targets;
	uint32_t count;
	uint32_t capacity;
};

/* ---- requester -------------------------------------------------------- */

static int open_reply(struct bus_requester *r)
{
	int ret = bus_queue_open(r->bus, r->reply_to, BUS_CONSUMER, NULL,
				 &r->reply_queue);

	if (ret == -ENOENT)
		ret = bus_subscribe(r->bus, r->reply_to, NULL,
				    &r->reply_topic);
	return ret;
}

int bus_requester_open(bus_t *bus, const char *service, const char *reply_to,
		       bus_requester_t **out)
{
	struct bus_requester *r;
	int ret;

	if (!bus || !out)
		return -EINVAL;
	if (bus_name_check(service) || bus_name_check(reply_to))
		return bus__client_fail(bus, -EINVAL,
					"bad service or reply-to name");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->bus = bus;
	strcpy(r->service.name, service);
	strcpy(r->reply_to, reply_to);
	/* Ids unique to this process and handle: the pid on top, a
	 * clock-seeded count below. */
	r->next_id = ((uint64_t)getpid() << 32) ^
		     ((uint64_t)bus__monotonic_ns() & 0xffffffffu);
	ret = bus__target_open(bus, NULL, &r->service);
	if (!ret)
		ret = open_reply(r);
	if (ret) {
		bus_requester_close(r);
		return ret;
	}
	*out = r;
	return 0;
}

int bus_requester_close(bus_requester_t *r)
{
	if (!r)
		return 0;
	bus__target_close(&r->service);
	if (r->reply_queue)
		bus_queue_close(r->reply_queue);
	if (r->reply_topic)
		bus_unsubscribe(r->reply_topic);
	free(r);
	return 0;
}

/* Somebody consumes from (or subscribes to) the service: 0, or -ENXIO. */
static int check_responder(struct bus_requester *r)
{
	struct bus_queue_stats qs;
	struct bus_topic_stats ts;
	uint32_t attached;
	int ret;

	if (r->service.queue) {
		ret = bus_queue_stats(r->service.queue, &qs);
		attached = qs.consumers;
	} else {
		ret = bus_topic_stats(r->service.topic, &ts);
		attached = ts.subscribers;
	}
	if (ret)
		return ret;
	if (attached)
		return 0;
	return bus__client_fail(r->bus, -ENXIO,
				"no responder: nothing consumes from or "
				"subscribes to the request queue or topic");
}

static int send_request(struct bus_requester *r, uint64_t id, const void *data,
			size_t length, int64_t timeout_ns)
{
	struct bus__route_target *t = &r->service;
	struct bus_message m;
	int ret;

	if (length > bus__target_max_message(t))
		return -EMSGSIZE;
	if (BUS_MESSAGE_EXTENSION_FIXED + strlen(r->reply_to) >
	    bus__target_room(t))
		return bus__client_fail(r->bus, -EMSGSIZE,
					"the reply-to name does not fit the "
					"service's header_room (for an spsc "
					"queue, its limit: 512 bytes when 0)");
	ret = bus__target_loan_copy(t, &m, timeout_ns, length, true);
	if (ret)
		return ret;
	/* Cannot fail: the room was checked above. */
	bus_message_set_reply_to(&m, r->reply_to);
	bus_message_set_correlation(&m, id);
	memcpy(m.payload, data, length);
	return bus__target_commit(t, &m, (uint32_t)length);
}

static int64_t left_of(int64_t deadline_ns)
{
	int64_t left;

	if (deadline_ns < 0)
		return BUS_FOREVER;
	left = deadline_ns - bus__monotonic_ns();
	return left > 0 ? left : BUS_NOWAIT;
}

/* Copies a reply out: its length, or -EMSGSIZE. */
/*
 * A reply that stands for a failure on the far side of a bridge: busbridge
 * answers a request it could not deliver with an empty reply carrying the
 * header Shmbus-Status ("503 no responders", "504 timeout"), so that the
 * requester learns it at once.  0 for an ordinary reply.
 */
static int remote_status(const struct bus_message *m)
{
	char status[64];

	/* Only the bridge's empty answer: a responder's own reply that
	 * happens to carry such a header keeps its payload. */
	if (m->length || bus_message_header_get(m, "Shmbus-Status", status,
						sizeof(status)) < 0)
		return 0;
	if (!strncmp(status, "503", 3) && (!status[3] || status[3] == ' '))
		return -ENXIO;
	if (!strncmp(status, "504", 3) && (!status[3] || status[3] == ' '))
		return -ETIMEDOUT;
	return 0;
}

static int take_reply(const struct bus_message *m, void *buf, size_t size)
{
	int status = remote_status(m);

	if (status)
		return status;
	if (m->length > size)
		return -EMSGSIZE;
	memcpy(buf, m->payload, m->length);
	return (int)m->length;
}

static int wait_on_queue(struct bus_requester *r, uint64_t id, void *buf,
			 size_t size, int64_t deadline_ns)
{
	struct bus_message m;
	int ret;

	for (;;) {
		ret = bus_receive(r->reply_queue, &m, left_of(deadline_ns));
		if (ret == -EAGAIN)
			return -ETIMEDOUT;
		if (ret)
			return ret;
		if (m.header->correlation_id == id) {
			ret = take_reply(&m, buf, size);
			bus_ack(r->reply_queue, &m);
			return ret;
		}
		/* A reply to a request that timed out: nobody wants it. */
		bus_ack(r->reply_queue, &m);
	}
}

static int wait_on_topic(struct bus_requester *r, uint64_t id, void *buf,
			 size_t size, int64_t deadline_ns)
{
	struct bus_message m;
	int ret;

	for (;;) {
		ret = bus_subscription_receive(r->reply_topic, &m, NULL,
					       left_of(deadline_ns));
		if (ret == -EAGAIN)
			return -ETIMEDOUT;
		if (ret)
			return ret;
		if (m.header->correlation_id == id) {
			ret = take_reply(&m, buf, size);
			bus_subscription_release(r->reply_topic);
			return ret;
		}
	}
}

int bus_request(bus_requester_t *r, const void *data, size_t length,
		void *reply, size_t reply_size, int64_t timeout_ns)
{
	int64_t deadline_ns;
	uint64_t id;
	int ret;

	if (!r || (!data && length) || (!reply && reply_size))
		return -EINVAL;
	ret = check_responder(r);
	if (ret)
		return ret;
	deadline_ns = bus__deadline_ns(timeout_ns);
	id = ++r->next_id;
	if (id == 0)
		id = ++r->next_id; /* 0 means "no correlation" */
	ret = send_request(r, id, data, length, timeout_ns);
	if (ret)
		return ret;
	if (r->reply_queue)
		return wait_on_queue(r, id, reply, reply_size, deadline_ns);
	return wait_on_topic(r, id, reply, reply_size, deadline_ns);
}

/* ---- responder ---------------------------------------------------------- */

int bus_responder_open(bus_t *bus, bus_responder_t **out)
{
	struct bus_responder *r;

	if (!bus || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->bus = bus;
	*out = r;
	return 0;
}

int bus_responder_close(bus_responder_t *r)
{
	if (!r)
		return 0;
	for (uint32_t i = 0; i < r->count; i++)
		bus__target_close(&r->targets[i]);
	free(r->targets);
	free(r);
	return 0;
}

static struct bus__route_target *reply_target(struct bus_responder *r,
					      const char *name)
{
	struct bus__route_target *t;

	for (uint32_t i = 0; i < r->count; i++)
		if (!strcmp(r->targets[i].name, name))
			return &r->targets[i];
	if (r->count == r->capacity) {
		uint32_t capacity = r->capacity ? 2 * r->capacity : 4;

		t = realloc(r->targets, capacity * sizeof(*t));
		if (!t)
			return NULL;
		r->targets = t;
		r->capacity = capacity;
	}
	t = &r->targets[r->count++];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	return t;
}

int bus_reply(bus_responder_t *r, const struct bus_message *request,
	      const void *data, size_t length, int64_t timeout_ns)
{
	char reply_to[BUS_NAME_MAX + 1];
	struct bus__route_target *t;
	struct bus_message m;
	uint64_t id;
	int ret;

	if (!r || !request || !request->header || (!data && length))
		return -EINVAL;
	ret = bus_message_reply_to(request, reply_to, sizeof(reply_to));
	if (ret <= 0 || bus_name_check(reply_to))
		return bus__client_fail(r->bus, ret < 0 ? ret : -EINVAL,
					"the request has no reply-to name");
	id = request->header->correlation_id;
	t = reply_target(r, reply_to);
	if (!t)
		return -ENOMEM;
	ret = bus__target_open(r->bus, NULL, t);
	if (ret)
		return ret;
	if (length > bus__target_max_message(t))
		return -EMSGSIZE;
	/* The correlation id lives in the header: no extension room. */
	ret = bus__target_loan_copy(t, &m, timeout_ns, length, false);
	if (ret)
		return ret;
	bus_message_set_correlation(&m, id);
	memcpy(m.payload, data, length);
	return bus__target_commit(t, &m, (uint32_t)length);
}
