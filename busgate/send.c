/* SPDX-License-Identifier: MIT */
/*
 * SEND on the bus: a producer handle per destination, kept per
 * connection; the frame's headers, reply-to, correlation id and expiry
 * written into the loan; a full destination makes the SEND wait
 * (GATE_RETRY) unless its policy is to reject.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "gate.h"

/* ---- SEND -------------------------------------------------------------- */

static struct gate_producer *producer_get(struct gate_conn *conn,
					  enum gate_producer_kind kind,
					  const char *name, int *error)
{
	struct gate_producer *p;
	int ret;

	for (p = conn->producers; p; p = p->next)
		if (p->kind == kind && !strcmp(p->name, name))
			return p;
	/* Past 64 open handles the connection starts over. */
	if (conn->producer_count >= 64)
		gate_producers_close(conn);
	p = calloc(1, sizeof(*p));
	if (!p) {
		*error = -ENOMEM;
		return NULL;
	}
	p->kind = kind;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (kind == PRODUCER_QUEUE) {
		ret = gate_queue_open(conn, name, BUS_PRODUCER,
				      conn->gate->config->auto_create,
				      &p->queue);
	} else if (kind == PRODUCER_TOPIC) {
		struct bus_queue_options options = { .no_timestamp = 0 };

		ret = bus_topic_open(conn->bus, name, BUS_PRODUCER, &options,
				     &p->topic);
		if (ret == -ENOENT && conn->gate->config->auto_create) {
			ret = gate_topic_make(conn, name);
			if (!ret)
				ret = bus_topic_open(conn->bus, name,
						     BUS_PRODUCER, &options,
						     &p->topic);
		}
	} else {
		ret = bus_address_open(conn->bus, name, NULL, &p->address);
	}
	if (ret) {
		free(p);
		*error = ret;
		return NULL;
	}
	p->next = conn->producers;
	conn->producers = p;
	conn->producer_count++;
	return p;
}

void gate_producers_close(struct gate_conn *conn)
{
	while (conn->producers) {
		struct gate_producer *p = conn->producers;

		conn->producers = p->next;
		if (p->queue)
			bus_queue_close(p->queue);
		if (p->topic)
			bus_topic_close(p->topic);
		if (p->address)
			bus_address_close(p->address);
		free(p);
	}
	conn->producer_count = 0;
}

/* STOMP headers that are the frame's transport, not the message's. */
static bool transport_header(const char *name)
{
	static const char *const names[] = {
		"destination", "content-length", "receipt",
		"transaction", "reply-to",	 "expires",
		"ttl",	       "expiration",	 "message-id",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* expires (ms since the epoch, ActiveMQ), ttl and expiration (ms from
 * now, RabbitMQ) as the bus's time to live; 0 when none. */
static int frame_ttl_ns(const struct stomp_frame *frame, int64_t *ttl_ns)
{
	const char *ttl = stomp_header(frame, "ttl");
	const char *expiration = stomp_header(frame, "expiration");
	const char *expires = stomp_header(frame, "expires");
	uint64_t ms;

	*ttl_ns = 0;
	if (ttl || expiration) {
		if (parse_u64(ttl ? ttl : expiration, &ms) ||
		    ms > 1000000000000ull)
			return -EINVAL;
		*ttl_ns = (int64_t)ms * 1000000;
	} else if (expires && strcmp(expires, "0")) {
		struct timespec now;
		int64_t now_ms;

		if (parse_u64(expires, &ms) || ms > 1ull << 52)
			return -EINVAL;
		clock_gettime(CLOCK_REALTIME, &now);
		now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		*ttl_ns = ((int64_t)ms - now_ms) * 1000000;
		if (*ttl_ns <= 0)
			*ttl_ns = 1; /* already expired: never delivered */
	}
	return 0;
}

static const struct stomp_header *first_header(const struct stomp_frame *f,
					       const char *name)
{
	for (unsigned int i = 0; i < f->header_count; i++)
		if (!strcmp(f->headers[i].name, name))
			return &f->headers[i];
	return NULL;
}

/* Writes the frame's headers, reply-to, correlation and expiry into a
 * loan; a sentence in *why when they do not fit. */
static int message_fill(struct gate_conn *conn, struct stomp_frame *frame,
			struct bus_message *m, const char *reply_name,
			const char **why)
{
	const char *correlation = stomp_header(frame, "correlation-id");
	const struct stomp_header *numeric_correlation = NULL;
	uint64_t id;
	int64_t ttl_ns;
	int ret;

	if (frame_ttl_ns(frame, &ttl_ns)) {
		*why = "expires, ttl or expiration is not a number of ms";
		return -EINVAL;
	}
	if (ttl_ns && (ret = bus_message_set_ttl(m, ttl_ns)))
		goto no_room;
	if (reply_name && (ret = bus_message_set_reply_to(m, reply_name)))
		goto no_room;
	if (correlation && !parse_u64(correlation, &id) && id) {
		ret = bus_message_set_correlation(m, id);
		if (ret)
			goto no_room;
		numeric_correlation = first_header(frame, "correlation-id");
	}
	for (unsigned int i = 0; i < frame->header_count; i++) {
		const struct stomp_header *h = &frame->headers[i];
		bool repeat = false;

		if (transport_header(h->name))
			continue;
		/* A numeric id travels in the message header alone, so that
		 * a reply fits a reply queue without header_room. */
		if (h == numeric_correlation)
			continue;
		for (unsigned int k = 0; k < i && !repeat; k++)
			repeat = !strcmp(frame->headers[k].name, h->name);
		if (repeat)
			continue;
		ret = bus_message_add_header(m, h->name, h->value);
		if (ret)
			goto no_room;
	}
	return 0;
no_room:
	*why = ret == -E2BIG ? "more than 16 headers to carry"
	       : ret == -EMSGSIZE
		       ? "the headers do not fit the destination's "
			 "header_room"
		       : "a header name or value that the bus cannot carry (names up "
			 "to 63 bytes without '=', values up to 255)";
	return ret;
}

/* The reply-to header as the bus name of the queue for replies. */
static int reply_name_of(struct gate_conn *conn, struct stomp_frame *frame,
			 char *out, const char **why)
{
	const char *reply_to = stomp_header(frame, "reply-to");
	struct dest d;

	out[0] = '\0';
	if (!reply_to)
		return 0;
	if (gate_dest_parse(conn, reply_to, &d, why) ||
	    d.kind == DEST_EXCHANGE || d.wildcard) {
		*why = "reply-to must be /queue/NAME, /topic/NAME or "
		       "/temp-queue/NAME";
		return -EINVAL;
	}
	if (d.kind == DEST_TEMP &&
	    gate_temp_queue_ensure(conn, frame, reply_to, &d))
		return -1;
	strcpy(out, d.name);
	return 0;
}

/* Loans a slot in the destination; -ENOBUFS when it is full. */
static int loan(struct gate_producer *p, const struct dest *d,
		struct bus_message *m)
{
	if (p->queue)
		return bus_loan(p->queue, m, BUS_NOWAIT);
	if (p->topic)
		return bus_topic_loan(p->topic, m, BUS_NOWAIT);
	return bus_address_loan(p->address, d->key[0] ? d->key : NULL, m,
				BUS_NOWAIT);
}

/* Drops a loan that will not be sent: the bus has no call to cancel a
 * loan, but closing the handle discards it; the next SEND opens a new
 * handle. */
static void loan_drop(struct gate_conn *conn, struct gate_producer *p)
{
	struct gate_producer **at = &conn->producers;

	while (*at != p)
		at = &(*at)->next;
	*at = p->next;
	conn->producer_count--;
	if (p->queue)
		bus_queue_close(p->queue);
	if (p->topic)
		bus_topic_close(p->topic);
	if (p->address)
		bus_address_close(p->address);
	free(p);
}

static int commit(struct gate_producer *p, struct bus_message *m,
		  uint32_t length)
{
	if (p->queue)
		return bus_commit(p->queue, m, length);
	if (p->topic)
		return bus_topic_commit(p->topic, m, length);
	return bus_address_commit(p->address, m, length, NULL);
}

/* A full destination whose policy is to reject: an error, not a wait. */
static bool rejects_when_full(const struct gate_producer *p)
{
	return p->queue &&
	       bus_queue_settings(p->queue)->overflow == BUS_OVERFLOW_REJECT;
}

int gate_send(struct gate_conn *conn, struct stomp_frame *frame)
{
	const char *destination = stomp_header(frame, "destination");
	char reply_name[BUS_NAME_MAX + 1];
	const char *why = "";
	struct gate_producer *p;
	struct bus_message m;
	struct dest d;
	int ret = 0;

	if (!destination) {
		gate_conn_fail(conn, frame, "missing header 'destination'",
			       "SEND");
		return -1;
	}
	if (gate_dest_parse(conn, destination, &d, &why) || d.wildcard) {
		gate_conn_fail(
			conn, frame, "bad destination",
			d.wildcard ? "SEND needs a topic name, not a pattern"
				   : why);
		return -1;
	}
	/* SEND to a temp-queue of its own: the connection's queue, made
	 * (and subscribed to) as for a reply-to. */
	if (d.kind == DEST_TEMP &&
	    gate_temp_queue_ensure(conn, frame, destination, &d))
		return -1;
	if (reply_name_of(conn, frame, reply_name, &why)) {
		if (conn->stage != STAGE_CLOSING)
			gate_conn_fail(conn, frame, "bad header 'reply-to'",
				       why);
		return -1;
	}
	p = producer_get(conn,
			 d.kind == DEST_TOPIC	   ? PRODUCER_TOPIC
			 : d.kind == DEST_EXCHANGE ? PRODUCER_ADDRESS
						   : PRODUCER_QUEUE,
			 d.name, &ret);
	if (!p) {
		gate_fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	ret = loan(p, &d, &m);
	if (ret == -ENOBUFS && !rejects_when_full(p))
		return GATE_RETRY;
	if (ret) {
		gate_fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	if (frame->body_length > m.capacity) {
		char detail[256];

		snprintf(detail, sizeof(detail),
			 "%zu bytes; %s takes at most "
			 "%u (max_message)",
			 frame->body_length, d.name, m.capacity);
		loan_drop(conn, p);
		gate_conn_fail(conn, frame, "message too large", detail);
		return -1;
	}
	ret = message_fill(conn, frame, &m, reply_name[0] ? reply_name : NULL,
			   &why);
	if (ret) {
		loan_drop(conn, p);
		gate_conn_fail(conn, frame, "cannot carry the headers", why);
		return -1;
	}
	memcpy(m.payload, frame->body, frame->body_length);
	ret = commit(p, &m, (uint32_t)frame->body_length);
	if (ret < 0) {
		gate_fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	return 0;
}
