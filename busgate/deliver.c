/* SPDX-License-Identifier: MIT */
/*
 * Bus to client: MESSAGE frames from a connection's subscriptions, and
 * the waitset that wakes the loop when one of them has something.
 *
 * A subscription is in its connection's waitset while it may take more:
 * one whose client holds prefetch-count unacked messages is taken out
 * (else the armed waitset would fire at once, again and again) and put
 * back by the ACK or NACK that makes room.  A connection whose output is
 * over output_limit is not armed at all until its socket drains.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "gate.h"

/* Messages one subscription delivers before the others get a turn. */
#define DELIVER_BATCH 128u

static struct gate_buffer scratch;

static void put(const char *s, size_t n)
{
	gate_buffer_append(&scratch, s, n);
}

static void put_header(const char *name, const char *value, size_t length,
		       int version)
{
	long e;

	put(name, strlen(name));
	put(":", 1);
	if (gate_buffer_reserve(&scratch, 2 * length + 1))
		return;
	e = stomp_header_escape(value, length, version,
				scratch.data + scratch.end, 2 * length + 1);
	if (e > 0)
		scratch.end += (size_t)e;
	put("\n", 1);
}

static bool gate_header(const char *name)
{
	static const char *const names[] = {
		"subscription",	  "message-id",	 "destination", "ack",
		"content-length", "redelivered", "reply-to",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* The message's own headers, then content-length, the body and NUL. */
static void put_message_rest(const struct bus_message *m, int version)
{
	char name[BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char value[BUS_MESSAGE_HEADER_VALUE_MAX + 1];
	char text[BUS_NAME_MAX + 16];
	bool have_correlation = false;
	int n;

	if (bus_message_reply_to(m, text, sizeof(text)) > 0) {
		char reply[BUS_NAME_MAX + 16];

		n = snprintf(reply, sizeof(reply), "/queue/%s", text);
		put_header("reply-to", reply, (size_t)n, version);
	}
	for (uint32_t i = 0;; i++) {
		n = bus_message_header_at(m, i, name, sizeof(name), value,
					  sizeof(value));
		if (n < 0)
			break;
		if (gate_header(name))
			continue;
		have_correlation |= !strcmp(name, "correlation-id");
		put_header(name, value, (size_t)n, version);
	}
	if (!have_correlation && m->header->correlation_id) {
		n = snprintf(text, sizeof(text), "%llu",
			     (unsigned long long)m->header->correlation_id);
		put_header("correlation-id", text, (size_t)n, version);
	}
	n = snprintf(text, sizeof(text), "content-length:%u\n\n", m->length);
	put(text, (size_t)n);
	put(m->payload, m->length);
	put("", 1);
}

static int write_message(struct gate_sub *sub, const struct bus_message *m,
			 const char *topic, uint64_t seq, uint64_t lost)
{
	struct gate_conn *conn = sub->conn;
	int version = conn->version;
	char id[48], destination[BUS_NAME_MAX + 16];
	int n;

	scratch.start = scratch.end = 0;
	put("MESSAGE\n", 8);
	put_header("subscription", sub->id, strlen(sub->id), version);
	n = snprintf(id, sizeof(id), "%u-%llu", sub->number,
		     (unsigned long long)seq);
	put_header("message-id", id, (size_t)n, version);
	if (sub->temporary)
		n = snprintf(destination, sizeof(destination), "%s",
			     sub->destination);
	else
		n = snprintf(destination, sizeof(destination), "%s%s",
			     sub->kind == SUB_QUEUE ? "/queue/" : "/topic/",
			     topic ? topic : sub->bus_name);
	put_header("destination", destination, (size_t)n, version);
	if (version >= STOMP_V12 && sub->ack != ACK_AUTO)
		put_header("ack", id, strlen(id), version);
	if (m->header->flags & BUS_MESSAGE_REDELIVERED)
		put("redelivered:true\n", 17);
	if (lost) {
		n = snprintf(id, sizeof(id), "%llu", (unsigned long long)lost);
		put_header("lost", id, (size_t)n, version);
	}
	put_message_rest(m, version);
	return gate_conn_send(conn, scratch.data,
			      gate_buffer_length(&scratch));
}

static int pending_push(struct gate_sub *sub, uint64_t seq,
			const struct bus_message *m)
{
	if (sub->pending_count == sub->pending_size) {
		unsigned int size = sub->pending_size ? sub->pending_size * 2
						      : 16;
		struct gate_pending *p =
			realloc(sub->pending, size * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sub->pending = p;
		sub->pending_size = size;
	}
	sub->pending[sub->pending_count].seq = seq;
	sub->pending[sub->pending_count++].message = *m;
	return 0;
}

/* One message from a queue; 1 when there was one, 0 when none, -1 when
 * the connection failed. */
static int deliver_queue_one(struct gate_sub *sub)
{
	struct gate_conn *conn = sub->conn;
	struct bus_message m;
	uint64_t seq;
	int ret = bus_receive(sub->queue, &m, BUS_NOWAIT);

	if (ret == -EAGAIN || ret == -ENOLCK)
		return 0;
	if (ret == -EBADMSG)
		return 1;
	if (ret) {
		gate_conn_fail(conn, NULL, "the subscription ended",
			       bus_strerror(ret));
		return -1;
	}
	seq = ++conn->next_seq;
	if (write_message(sub, &m, NULL, seq, 0)) {
		bus_nack(sub->queue, &m);
		gate_conn_fail(conn, NULL, "out of memory", NULL);
		return -1;
	}
	if (sub->ack == ACK_AUTO)
		bus_ack(sub->queue, &m);
	else if (pending_push(sub, seq, &m)) {
		bus_nack(sub->queue, &m);
		gate_conn_fail(conn, NULL, "out of memory", NULL);
		return -1;
	}
	return 1;
}

static int deliver_topic_one(struct gate_sub *sub)
{
	struct gate_conn *conn = sub->conn;
	struct bus_message m;
	const char *topic = NULL;
	uint64_t lost = 0;
	int ret;

	if (sub->wildcard)
		ret = bus_wildcard_receive(sub->wildcard, &m, &topic, &lost,
					   BUS_NOWAIT);
	else
		ret = bus_subscription_receive(sub->subscription, &m, &lost,
					       BUS_NOWAIT);
	if (ret == -EAGAIN)
		return 0;
	if (ret == -EBADMSG)
		return 1;
	if (ret) {
		gate_conn_fail(conn, NULL, "the subscription ended",
			       bus_strerror(ret));
		return -1;
	}
	ret = write_message(sub, &m, topic, ++conn->next_seq, lost);
	if (sub->wildcard)
		bus_wildcard_release(sub->wildcard);
	else
		bus_subscription_release(sub->subscription);
	if (ret) {
		gate_conn_fail(conn, NULL, "out of memory", NULL);
		return -1;
	}
	return 1;
}

void gate_deliver_sub(struct gate_sub *sub)
{
	struct gate_conn *conn = sub->conn;
	size_t limit = conn->gate->config->output_limit;

	for (unsigned int i = 0; i < DELIVER_BATCH; i++) {
		int ret;

		if (conn->dead || conn->stage != STAGE_OPEN)
			return;
		if (gate_buffer_length(&conn->out) > limit) {
			if (!conn->output_paused)
				gate_log(1,
					 "connection %llu: output over "
					 "output_limit, deliveries paused",
					 (unsigned long long)conn->id);
			conn->output_paused = true;
			return;
		}
		if (sub->kind == SUB_QUEUE && sub->ack != ACK_AUTO &&
		    sub->pending_count >= sub->prefetch) {
			if (sub->in_waitset)
				gate_waitset_remove(conn, sub);
			return;
		}
		ret = sub->kind == SUB_QUEUE ? deliver_queue_one(sub)
					     : deliver_topic_one(sub);
		if (ret <= 0)
			return;
	}
}

void gate_deliver_all(struct gate_conn *conn)
{
	struct gate_sub *sub, *next;

	for (sub = conn->subs; sub; sub = next) {
		next = sub->next;
		if (sub->in_waitset)
			gate_deliver_sub(sub);
		if (conn->dead || conn->output_paused)
			return;
	}
}

static int waitset_start(struct gate_conn *conn)
{
	struct epoll_event event = { .events = EPOLLIN };
	int ret = bus_waitset_create(&conn->waitset);
	int fd;

	if (ret)
		return ret;
	fd = bus_waitset_fd(conn->waitset);
	if (fd == -ENOSYS) {
		/* An older kernel: the loop polls this connection's
		 * subscriptions every millisecond instead. */
		gate_log(1,
			 "connection %llu: no io_uring FUTEX_WAITV; polled "
			 "every millisecond",
			 (unsigned long long)conn->id);
		conn->waitset_polled = true;
		conn->gate->polled_count++;
		return 0;
	}
	if (fd < 0)
		return fd;
	event.data.ptr = &conn->waitset_watch;
	if (epoll_ctl(conn->gate->epoll_fd, EPOLL_CTL_ADD, fd, &event))
		return -errno;
	return 0;
}

int gate_waitset_add(struct gate_conn *conn, struct gate_sub *sub)
{
	int ret;

	if (!conn->waitset) {
		ret = waitset_start(conn);
		if (ret) {
			if (conn->waitset)
				bus_waitset_destroy(conn->waitset);
			conn->waitset = NULL;
			return ret;
		}
	}
	if (sub->queue)
		ret = bus_waitset_add_queue(conn->waitset, sub->queue, sub);
	else if (sub->subscription)
		ret = bus_waitset_add_subscription(conn->waitset,
						   sub->subscription, sub);
	else
		ret = bus_waitset_add_wildcard(conn->waitset, sub->wildcard,
					       sub);
	conn->waitset_armed = false;
	if (!ret)
		sub->in_waitset = true;
	return ret;
}

void gate_waitset_remove(struct gate_conn *conn, struct gate_sub *sub)
{
	const void *handle = sub->queue ? (const void *)sub->queue
			     : sub->subscription
				     ? (const void *)sub->subscription
				     : (const void *)sub->wildcard;

	bus_waitset_remove(conn->waitset, handle);
	sub->in_waitset = false;
	conn->waitset_armed = false;
}

static bool waitset_has_members(const struct gate_conn *conn)
{
	for (const struct gate_sub *sub = conn->subs; sub; sub = sub->next)
		if (sub->in_waitset)
			return true;
	return false;
}

void gate_waitset_arm(struct gate_conn *conn)
{
	int ret;

	if (!conn->waitset || conn->waitset_polled || conn->waitset_armed ||
	    conn->output_paused || conn->dead || !waitset_has_members(conn))
		return;
	ret = bus_waitset_arm(conn->waitset);
	if (ret == -E2BIG) {
		/* More futex words than one io_uring wait takes: poll. */
		gate_log(1,
			 "connection %llu: too many subscriptions for a "
			 "waitset fd; polled every millisecond",
			 (unsigned long long)conn->id);
		conn->waitset_polled = true;
		conn->gate->polled_count++;
		return;
	}
	conn->waitset_armed = ret == 0;
	if (ret)
		gate_log(0, "connection %llu: cannot arm its waitset: %s",
			 (unsigned long long)conn->id, bus_strerror(ret));
}

/* The waitset fd is readable: deliver from the members that are ready. */
void gate_waitset_ready(struct gate_conn *conn)
{
	void *ready[64];
	int n;

	if (!conn->waitset || conn->dead)
		return;
	n = bus_waitset_wait(conn->waitset, BUS_NOWAIT, ready, 64);
	conn->waitset_armed = false;
	if (!conn->output_paused)
		for (int i = 0; i < n && !conn->dead; i++)
			gate_deliver_sub(ready[i]);
	gate_waitset_arm(conn);
}
