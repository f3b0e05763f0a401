/* SPDX-License-Identifier: MIT */
/*
 * Destinations, with RabbitMQ's names so that clients and their manuals
 * work unchanged:
 *
 *   /queue/NAME          a bus queue (made on first use with auto_create)
 *   /topic/PATTERN       a bus topic; * and > (or #) subscribe to many
 *   /exchange/ADDR/KEY   SEND through the bus's routes of ADDR with KEY
 *   /temp-queue/NAME     a queue of this connection alone, for replies:
 *                        reply-to: /temp-queue/NAME on a SEND makes it and
 *                        subscribes the connection to it; it is deleted
 *                        when the connection ends
 *
 * SUBSCRIBE opens one bus handle per subscription, so that the bus does
 * the bookkeeping of unacked messages: closing the handle (UNSUBSCRIBE, a
 * DISCONNECT, a dead client) hands them back for redelivery.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

enum dest_kind {
	DEST_QUEUE,
	DEST_TOPIC,
	DEST_EXCHANGE,
	DEST_TEMP,
};

struct dest {
	enum dest_kind kind;
	bool wildcard;
	char name[BUS_NAME_MAX + 1]; /* the bus's name or pattern */
	char key[BUS_MESSAGE_KEY_MAX + 1];
};

static int copy_name(char *out, size_t size, const char *in, size_t n)
{
	if (!n || n >= size)
		return -EINVAL;
	memcpy(out, in, n);
	out[n] = '\0';
	return 0;
}

/* A topic pattern with # (AMQP's "zero or more") read as the bus's >. */
static int topic_pattern(const char *in, struct dest *d)
{
	size_t n = strlen(in);

	if (copy_name(d->name, sizeof(d->name), in, n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (d->name[i] == '#' && (i == 0 || d->name[i - 1] == '.') &&
		    (i + 1 == n || d->name[i + 1] == '.'))
			d->name[i] = '>';
	if (bus_pattern_check(d->name))
		return -EINVAL;
	d->wildcard = bus_pattern_is_wildcard(d->name) == 1;
	return d->wildcard || !bus_name_check(d->name) ? 0 : -EINVAL;
}

static int dest_parse(struct gate_conn *conn, const char *s, struct dest *d,
		      const char **why)
{
	memset(d, 0, sizeof(*d));
	if (!strncmp(s, "/queue/", 7)) {
		d->kind = DEST_QUEUE;
		if (copy_name(d->name, sizeof(d->name), s + 7, strlen(s + 7)) ||
		    bus_name_check(d->name))
			goto bad_name;
	} else if (!strncmp(s, "/topic/", 7)) {
		d->kind = DEST_TOPIC;
		if (topic_pattern(s + 7, d)) {
			*why = "a topic is dot-separated tokens of letters, "
			       "digits, '_' and '-', with * for one token and "
			       "> or # for the rest";
			return -EINVAL;
		}
	} else if (!strncmp(s, "/exchange/", 10)) {
		const char *slash = strchr(s + 10, '/');
		size_t n = slash ? (size_t)(slash - s - 10) : strlen(s + 10);

		d->kind = DEST_EXCHANGE;
		if (copy_name(d->name, sizeof(d->name), s + 10, n) ||
		    bus_name_check(d->name))
			goto bad_name;
		if (slash && slash[1] &&
		    copy_name(d->key, sizeof(d->key), slash + 1,
			      strlen(slash + 1))) {
			*why = "the routing key is longer than 255 bytes";
			return -EINVAL;
		}
	} else if (!strncmp(s, "/temp-queue/", 12)) {
		int n;

		d->kind = DEST_TEMP;
		if (!s[12] || strchr(s + 12, '.') || bus_name_check(s + 12))
			goto bad_name;
		n = snprintf(d->name, sizeof(d->name), "%s%s",
			     conn->temp_prefix, s + 12);
		if (n < 0 || (size_t)n >= sizeof(d->name)) {
			*why = "the temp-queue name is too long";
			return -EINVAL;
		}
	} else {
		*why = "destinations are /queue/NAME, /topic/PATTERN, "
		       "/exchange/ADDRESS/KEY and /temp-queue/NAME";
		return -EINVAL;
	}
	return 0;
bad_name:
	*why = "a bus name is 1 to 63 letters, digits, '_', '-' and '.'";
	return -EINVAL;
}

/* ---- making queues and topics ------------------------------------------- */

static int queue_make(struct gate_conn *conn, const char *name)
{
	struct gate_config *config = conn->gate->config;
	struct bus_queue_settings settings;
	int ret;

	bus_queue_settings_default(&settings);
	settings.slots = config->queue_slots;
	settings.max_message = config->max_message;
	settings.header_room = config->header_room;
	ret = bus_queue_create(conn->bus, name, &settings);
	return ret == -EEXIST ? 0 : ret;
}

static int topic_make(struct gate_conn *conn, const char *name)
{
	struct gate_config *config = conn->gate->config;
	struct bus_topic_settings settings;
	int ret;

	bus_topic_settings_default(&settings);
	settings.slots = config->topic_slots;
	settings.max_message = config->max_message;
	settings.header_room = config->header_room;
	ret = bus_topic_create(conn->bus, name, &settings);
	return ret == -EEXIST ? 0 : ret;
}

static int queue_open(struct gate_conn *conn, const char *name,
		      enum bus_role role, bool make, bus_queue_t **out)
{
	int ret = bus_queue_open(conn->bus, name, role, NULL, out);

	if (ret == -ENOENT && make) {
		ret = queue_make(conn, name);
		if (!ret)
			ret = bus_queue_open(conn->bus, name, role, NULL, out);
	}
	return ret;
}

/* The sentence for a failed bus call, with libbus's detail. */
static void fail_bus(struct gate_conn *conn, struct stomp_frame *frame,
		     const char *what, int error)
{
	char detail[512];
	const char *extra = bus_error_detail(conn->bus);

	snprintf(detail, sizeof(detail), "%s: %s%s%s", what,
		 bus_strerror(error), *extra ? " (" : "", extra);
	if (*extra)
		strncat(detail, ")", sizeof(detail) - strlen(detail) - 1);
	gate_conn_fail(conn, frame, error == -EACCES ? "access refused" :
			error == -ENOENT ? "no such destination" :
					   "the bus refused", detail);
}

/* ---- subscriptions ------------------------------------------------------ */

static struct gate_sub *sub_find(struct gate_conn *conn, const char *id)
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
		return queue_open(conn, d->name, BUS_CONSUMER,
				  conn->gate->config->auto_create ||
				  d->kind == DEST_TEMP, &sub->queue);
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
			ret = topic_make(conn, d->name);
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
		fail_bus(conn, frame, d->name, ret);
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
		gate_conn_fail(conn, frame, "missing header 'id'", "SUBSCRIBE");
		return -1;
	}
	if (!id)
		id = destination;
	if (sub_find(conn, id)) {
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
	if (dest_parse(conn, destination, &d, &why)) {
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
static int temp_queue_ensure(struct gate_conn *conn,
			     struct stomp_frame *frame, const char *reply_to,
			     const struct dest *d)
{
	struct gate_sub *sub = sub_find(conn, reply_to);
	int ret;

	if (sub)
		return 0;
	ret = queue_make(conn, d->name);
	if (ret) {
		fail_bus(conn, frame, d->name, ret);
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
		ret = queue_open(conn, name, BUS_PRODUCER,
				 conn->gate->config->auto_create, &p->queue);
	} else if (kind == PRODUCER_TOPIC) {
		struct bus_queue_options options = { .no_timestamp = 0 };

		ret = bus_topic_open(conn->bus, name, BUS_PRODUCER, &options,
				     &p->topic);
		if (ret == -ENOENT && conn->gate->config->auto_create) {
			ret = topic_make(conn, name);
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
		"destination", "content-length", "receipt", "transaction",
		"reply-to", "expires", "ttl", "expiration", "message-id",
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
		if (parse_u64(ttl ? ttl : expiration, &ms) || ms > 1000000000000ull)
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
	*why = ret == -E2BIG ? "more than 16 headers to carry" :
	       ret == -EMSGSIZE ? "the headers do not fit the destination's "
				  "header_room" :
	       "a header name or value that the bus cannot carry (names up "
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
	if (dest_parse(conn, reply_to, &d, why) || d.kind == DEST_EXCHANGE ||
	    d.wildcard) {
		*why = "reply-to must be /queue/NAME, /topic/NAME or "
		       "/temp-queue/NAME";
		return -EINVAL;
	}
	if (d.kind == DEST_TEMP &&
	    temp_queue_ensure(conn, frame, reply_to, &d))
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
	return p->queue && bus_queue_settings(p->queue)->overflow ==
				   BUS_OVERFLOW_REJECT;
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
	if (dest_parse(conn, destination, &d, &why) || d.wildcard) {
		gate_conn_fail(conn, frame, "bad destination", d.wildcard ?
			       "SEND needs a topic name, not a pattern" : why);
		return -1;
	}
	/* SEND to a temp-queue of its own: the connection's queue, made
	 * (and subscribed to) as for a reply-to. */
	if (d.kind == DEST_TEMP &&
	    temp_queue_ensure(conn, frame, destination, &d))
		return -1;
	if (reply_name_of(conn, frame, reply_name, &why)) {
		if (conn->stage != STAGE_CLOSING)
			gate_conn_fail(conn, frame, "bad header 'reply-to'",
				       why);
		return -1;
	}
	p = producer_get(conn, d.kind == DEST_TOPIC ? PRODUCER_TOPIC :
			 d.kind == DEST_EXCHANGE ? PRODUCER_ADDRESS :
			 PRODUCER_QUEUE, d.name, &ret);
	if (!p) {
		fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	ret = loan(p, &d, &m);
	if (ret == -ENOBUFS && !rejects_when_full(p))
		return GATE_RETRY;
	if (ret) {
		fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	if (frame->body_length > m.capacity) {
		char detail[256];

		snprintf(detail, sizeof(detail), "%zu bytes; %s takes at most "
			 "%u (max_message)", frame->body_length, d.name,
			 m.capacity);
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
		fail_bus(conn, frame, d.name, ret);
		return -1;
	}
	return 0;
}

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
						&sub->pending[i].message) :
				       bus_ack(sub->queue,
					       &sub->pending[i].message);

			if (r < 0 && !ret)
				ret = r;
		}
	}
	pending_remove(sub, first, index - first + 1);
	if (ret == -ESTALE)
		/* busd took it back after ack_timeout_ms: it is delivered
		 * again, and the client hears of it then. */
		gate_log(1, "connection %llu: an %s came after the queue's "
			 "ack_timeout", (unsigned long long)conn->id,
			 nack ? "nack" : "ack");
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
		id = stomp_header(frame, "message-id") ?
		     stomp_header(frame, "message-id") : id;
	if (!id) {
		gate_conn_fail(conn, frame, conn->version >= STOMP_V12 ?
			       "missing header 'id'" :
			       "missing header 'message-id'",
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
			fail_bus(conn, frame, sub->bus_name, ret);
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
