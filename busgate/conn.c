/* SPDX-License-Identifier: MIT */
/*
 * One client connection: bytes in (through the WebSocket framing when it
 * came on the WebSocket port), frames parsed and handed to stomp.c, bytes
 * out, heart-beats, time-outs and the close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gate.h"
#include "ws.h"

/* Bytes read per read(2). */
#define READ_CHUNK 65536
/* A closing connection gets this long to take its ERROR frame. */
#define CLOSE_GRACE_NS 2000000000LL

struct gate_conn *gate_conn_open(struct gate *gate, int fd, bool websocket,
				 bool loopback, const char *peer)
{
	struct gate_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->gate = gate;
	conn->fd = fd;
	conn->id = ++gate->next_conn_id;
	conn->websocket = websocket;
	conn->loopback = loopback;
	conn->stage = websocket ? STAGE_HTTP : STAGE_CONNECT;
	conn->reading = true;
	conn->socket_watch.kind = WATCH_SOCKET;
	conn->socket_watch.owner = conn;
	conn->waitset_watch.kind = WATCH_WAITSET;
	conn->waitset_watch.owner = conn;
	conn->opened_ns = gate_now_ns();
	conn->last_read_ns = conn->opened_ns;
	conn->last_write_ns = conn->opened_ns;
	snprintf(conn->peer, sizeof(conn->peer), "%s", peer);
	/* Temp queues are the connection's own: its id in their names. */
	snprintf(conn->temp_prefix, sizeof(conn->temp_prefix),
		 "stomp-tmp.%d.%llu.", (int)getpid(),
		 (unsigned long long)conn->id);
	conn->next = gate->conns;
	if (gate->conns)
		gate->conns->prev = conn;
	gate->conns = conn;
	gate->conn_count++;
	return conn;
}

void gate_conn_mark_dirty(struct gate_conn *conn)
{
	if (conn->dirty || conn->dead)
		return;
	conn->dirty = true;
	conn->dirty_next = conn->gate->dirty;
	conn->gate->dirty = conn;
}

static int append_ws_frame(struct gate_conn *conn, enum ws_opcode opcode,
			   const void *data, size_t n)
{
	uint8_t header[WS_HEADER_MAX];
	size_t h = ws_frame_header(header, opcode, n);

	if (gate_buffer_reserve(&conn->out, h + n))
		return -ENOMEM;
	gate_buffer_append(&conn->out, header, h);
	gate_buffer_append(&conn->out, data, n);
	return 0;
}

int gate_conn_send(struct gate_conn *conn, const char *data, size_t n)
{
	int ret;

	if (conn->dead)
		return -ENOTCONN;
	if (conn->websocket)
		/* A text frame must hold UTF-8; a binary body goes as a
		 * binary frame, which stomp.js accepts as well. */
		ret = append_ws_frame(
			conn, stomp_utf8_valid(data, n) ? WS_TEXT : WS_BINARY,
			data, n);
	else
		ret = gate_buffer_append(&conn->out, data, n);
	if (ret)
		return ret;
	gate_conn_mark_dirty(conn);
	return 0;
}

static void close_now(struct gate_conn *conn)
{
	struct gate *gate = conn->gate;

	if (conn->dead)
		return;
	gate_log(1, "connection %llu from %s closed",
		 (unsigned long long)conn->id, conn->peer);
	conn->dead = true;
	gate->dead_count++;
	if (conn->stalled)
		gate->stalled_count--;
	if (conn->waitset_polled)
		gate->polled_count--;
	epoll_ctl(gate->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
	close(conn->fd);
	conn->fd = -1;
}

/* Frees what the connection holds on the bus: unacked messages go back to
 * their queues as their handles close.  Called once the loop is done with
 * the round's events (see loop.c). */
void gate_conn_free(struct gate_conn *conn)
{
	struct gate *gate = conn->gate;

	while (conn->subs) {
		struct gate_sub *sub = conn->subs;

		conn->subs = sub->next;
		gate_sub_close(sub);
	}
	gate_producers_close(conn);
	gate_transactions_free(conn);
	if (conn->waitset)
		bus_waitset_destroy(conn->waitset);
	gate_buffer_free(&conn->in);
	gate_buffer_free(&conn->ws_in);
	gate_buffer_free(&conn->out);
	if (conn->identity)
		gate_identity_release(conn->identity);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		gate->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	gate->conn_count--;
	free(conn);
}

void gate_conn_close(struct gate_conn *conn)
{
	close_now(conn);
}

/* Stops reading and closes once the output is out (or after a grace). */
static void close_after_flush(struct gate_conn *conn)
{
	conn->stage = STAGE_CLOSING;
	conn->reading = false;
	conn->closing_since_ns = gate_now_ns();
	if (conn->websocket) {
		uint8_t code[2] = { WS_CLOSE_NORMAL >> 8,
				    WS_CLOSE_NORMAL & 0xff };

		append_ws_frame(conn, WS_CLOSE, code, 2);
	}
	gate_conn_mark_dirty(conn);
	gate_socket_interest(conn);
}

/* The ERROR frame's body holds at most this much of the detail. */
#define ERROR_DETAIL_MAX 1024

void gate_conn_fail(struct gate_conn *conn, const struct stomp_frame *frame,
		    const char *message, const char *detail)
{
	const char *receipt = frame ? stomp_header(frame, "receipt") : NULL;
	size_t body = detail ? strlen(detail) : 0;
	struct stomp_out_header headers[4];
	unsigned int count = 0;
	char length[32];
	size_t n;
	char *out;

	if (conn->dead || conn->stage == STAGE_CLOSING)
		return;
	gate_log(1, "connection %llu from %s: ERROR %s%s%s",
		 (unsigned long long)conn->id, conn->peer, message,
		 detail ? ": " : "", detail ? detail : "");
	if (conn->stage == STAGE_HTTP) {
		close_now(conn);
		return;
	}
	if (body > ERROR_DETAIL_MAX)
		body = ERROR_DETAIL_MAX;
	snprintf(length, sizeof(length), "%zu", body);
	headers[count++] = (struct stomp_out_header){ "message", message };
	if (receipt)
		headers[count++] =
			(struct stomp_out_header){ "receipt-id", receipt };
	headers[count++] =
		(struct stomp_out_header){ "content-type", "text/plain" };
	headers[count++] =
		(struct stomp_out_header){ "content-length", length };
	/* Sized from the real lengths: a receipt of a whole max_frame
	 * comes back whole (it was a stack overflow once). */
	out = stomp_frame_build("ERROR", headers, count, detail, body,
				conn->version ? conn->version : STOMP_V12, &n);
	if (out) {
		gate_conn_send(conn, out, n);
		free(out);
	}
	close_after_flush(conn);
}

/* Runs the frames in conn->in; stops at a SEND that must wait. */
static void process_input(struct gate_conn *conn)
{
	struct gate_config *config = conn->gate->config;

	while (!conn->dead && conn->stage != STAGE_CLOSING && !conn->stalled) {
		struct stomp_frame *frame = &conn->stalled_frame;
		const char *why = "";
		long used = stomp_frame_parse(conn->in.data + conn->in.start,
					      gate_buffer_length(&conn->in),
					      config->max_frame, conn->version,
					      frame, &why);
		int ret;

		if (used < 0) {
			gate_conn_fail(conn, NULL,
				       used == -EMSGSIZE ? "frame too large"
							 : "malformed frame",
				       why);
			return;
		}
		if (!used) {
			/* A WebSocket frame cut short counts too: its
			 * bytes wait in ws_in, not in conn->in. */
			if (gate_buffer_length(&conn->in) ||
			    gate_buffer_length(&conn->ws_in)) {
				if (!conn->partial_since_ns)
					conn->partial_since_ns =
						conn->last_read_ns;
			} else {
				conn->partial_since_ns = 0;
			}
			return;
		}
		conn->partial_since_ns = 0;
		if (frame->command == STOMP_NONE) {
			gate_buffer_consume(&conn->in, (size_t)used);
			continue;
		}
		if (conn->stage == STAGE_CONNECT)
			ret = gate_stomp_connect(conn, frame);
		else
			ret = gate_stomp_handle(conn, frame, false);
		if (ret == GATE_RETRY) {
			conn->stalled = true;
			conn->stalled_length = (size_t)used;
			conn->gate->stalled_count++;
			gate_socket_interest(conn);
			return;
		}
		gate_buffer_consume(&conn->in, (size_t)used);
	}
}

void gate_conn_retry_stalled(struct gate_conn *conn)
{
	int ret;

	if (!conn->stalled || conn->dead)
		return;
	ret = gate_stomp_handle(conn, &conn->stalled_frame, false);
	if (ret == GATE_RETRY)
		return;
	conn->stalled = false;
	conn->gate->stalled_count--;
	conn->last_read_ns = gate_now_ns();
	gate_buffer_consume(&conn->in, conn->stalled_length);
	gate_socket_interest(conn);
	process_input(conn);
}

static void on_upgrade(struct gate_conn *conn)
{
	struct ws_upgrade upgrade;
	const char *why = "";
	char answer[1024];
	long used = ws_upgrade_parse(conn->ws_in.data + conn->ws_in.start,
				     gate_buffer_length(&conn->ws_in),
				     conn->gate->config->websocket_path,
				     conn->gate->config->websocket_origins,
				     &upgrade, &why);
	int n;

	if (used == 0)
		return;
	if (used < 0) {
		upgrade.status = 400;
		used = (long)gate_buffer_length(&conn->ws_in);
	}
	gate_buffer_consume(&conn->ws_in, (size_t)used);
	n = ws_upgrade_answer(&upgrade, why, answer, sizeof(answer));
	if (n > 0)
		gate_buffer_append(&conn->out, answer, (size_t)n);
	gate_conn_mark_dirty(conn);
	if (upgrade.status != 101) {
		gate_log(1,
			 "connection %llu from %s: WebSocket upgrade "
			 "refused (%d): %s",
			 (unsigned long long)conn->id, conn->peer,
			 upgrade.status, why);
		conn->stage = STAGE_CLOSING;
		conn->reading = false;
		conn->closing_since_ns = gate_now_ns();
		gate_socket_interest(conn);
		return;
	}
	conn->stage = STAGE_CONNECT;
}

static void ws_control(struct gate_conn *conn, const struct ws_frame *frame,
		       uint8_t *payload)
{
	if (frame->opcode == WS_PING) {
		append_ws_frame(conn, WS_PONG, payload,
				(size_t)frame->payload_length);
		gate_conn_mark_dirty(conn);
	} else if (frame->opcode == WS_CLOSE) {
		/* The peer is done: answer and close once that is out. */
		conn->stage = STAGE_CLOSING;
		conn->reading = false;
		conn->closing_since_ns = gate_now_ns();
		append_ws_frame(conn, WS_CLOSE, payload,
				frame->payload_length >= 2 ? 2 : 0);
		gate_conn_mark_dirty(conn);
		gate_socket_interest(conn);
	}
}

static void ws_fail(struct gate_conn *conn, long error, const char *why)
{
	uint16_t code = error == -EMSGSIZE ? WS_CLOSE_TOO_BIG
					   : WS_CLOSE_PROTOCOL;
	uint8_t payload[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	gate_log(1, "connection %llu from %s: WebSocket error: %s",
		 (unsigned long long)conn->id, conn->peer, why);
	append_ws_frame(conn, WS_CLOSE, payload, 2);
	conn->stage = STAGE_CLOSING;
	conn->reading = false;
	conn->closing_since_ns = gate_now_ns();
	gate_conn_mark_dirty(conn);
	gate_socket_interest(conn);
}

/* Moves the payload of whole WebSocket frames into conn->in. */
static void ws_unwrap(struct gate_conn *conn)
{
	size_t max = conn->gate->config->max_frame + 64;

	while (!conn->dead && conn->stage != STAGE_CLOSING) {
		struct ws_frame frame;
		const char *why = "";
		uint8_t *at = (uint8_t *)conn->ws_in.data + conn->ws_in.start;
		long used = ws_frame_parse(at,
					   gate_buffer_length(&conn->ws_in),
					   max, &frame, &why);
		uint8_t *payload = at + (used > 0 ? frame.header_length : 0);
		size_t n = (size_t)frame.payload_length;

		if (used < 0) {
			ws_fail(conn, used, why);
			return;
		}
		if (!used)
			return;
		ws_unmask(payload, n, frame.mask, 0);
		if (frame.opcode >= WS_CLOSE) {
			ws_control(conn, &frame, payload);
		} else {
			bool continuation = frame.opcode == WS_CONTINUATION;

			if (continuation != conn->ws_in_message) {
				ws_fail(conn, -EPROTO,
					continuation
						? "a continuation frame outside a "
						  "message"
						: "a new message inside a "
						  "fragmented one");
				return;
			}
			conn->ws_in_message = !frame.fin;
			if (gate_buffer_append(&conn->in, payload, n)) {
				ws_fail(conn, -EMSGSIZE, "out of memory");
				return;
			}
		}
		gate_buffer_consume(&conn->ws_in, (size_t)used);
	}
}

/* A client that sends frames asking for answers (receipts, pongs) and
 * reads none would grow conn->out without bound: past output_limit its
 * socket is not read until the output is down to half of it. */
static bool pause_input_if_full(struct gate_conn *conn)
{
	if (gate_buffer_length(&conn->out) <= conn->gate->config->output_limit)
		return false;
	if (!conn->input_paused) {
		conn->input_paused = true;
		gate_log(2,
			 "connection %llu: output over output_limit, "
			 "not read until it drains",
			 (unsigned long long)conn->id);
		gate_socket_interest(conn);
	}
	return true;
}

static void resume_input(struct gate_conn *conn)
{
	int64_t now = gate_now_ns();

	conn->input_paused = false;
	/* The time it was not read is not the client's silence. */
	conn->last_read_ns = now;
	if (conn->partial_since_ns)
		conn->partial_since_ns = now;
	gate_socket_interest(conn);
}

void gate_conn_on_readable(struct gate_conn *conn)
{
	struct gate_buffer *raw = conn->websocket ? &conn->ws_in : &conn->in;
	ssize_t n;

	/* Nothing is read while a SEND waits: the parsed frame points into
	 * conn->in, which must not move. */
	if (!conn->reading || conn->stalled || conn->dead)
		return;
	if (pause_input_if_full(conn))
		return;
	if (gate_buffer_reserve(raw, READ_CHUNK)) {
		gate_conn_fail(conn, NULL, "out of memory", NULL);
		return;
	}
	n = read(conn->fd, raw->data + raw->end, READ_CHUNK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		close_now(conn);
		return;
	}
	if (n == 0) {
		/* The peer is done sending: what we owe it (a RECEIPT, say)
		 * still goes out before the close. */
		conn->stage = STAGE_CLOSING;
		conn->reading = false;
		conn->closing_since_ns = gate_now_ns();
		gate_conn_mark_dirty(conn);
		gate_socket_interest(conn);
		return;
	}
	raw->end += (size_t)n;
	conn->last_read_ns = gate_now_ns();
	if (conn->websocket) {
		if (conn->stage == STAGE_HTTP)
			on_upgrade(conn);
		if (conn->stage != STAGE_HTTP)
			ws_unwrap(conn);
	}
	process_input(conn);
	pause_input_if_full(conn);
	gate_waitset_arm(conn);
}

void gate_conn_flush(struct gate_conn *conn)
{
	size_t length;
	ssize_t n;

	conn->dirty = false;
	if (conn->dead)
		return;
	while ((length = gate_buffer_length(&conn->out))) {
		n = send(conn->fd, conn->out.data + conn->out.start, length,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			close_now(conn);
			return;
		}
		gate_buffer_consume(&conn->out, (size_t)n);
		conn->last_write_ns = gate_now_ns();
	}
	length = gate_buffer_length(&conn->out);
	if (!length && conn->stage == STAGE_CLOSING) {
		close_now(conn);
		return;
	}
	if (conn->input_paused &&
	    length < conn->gate->config->output_limit / 2)
		resume_input(conn);
	if (conn->output_paused &&
	    length < conn->gate->config->output_limit / 2) {
		conn->output_paused = false;
		gate_deliver_all(conn);
		gate_waitset_arm(conn);
	}
	if ((length != 0) != conn->want_write) {
		conn->want_write = length != 0;
		gate_socket_interest(conn);
	}
}

void gate_conn_on_writable(struct gate_conn *conn)
{
	gate_conn_flush(conn);
}

/* Heart-beats both ways and the time-outs of a connection. */
void gate_conn_tick(struct gate_conn *conn, int64_t now)
{
	struct gate_config *config = conn->gate->config;

	if (conn->dead)
		return;
	if (conn->stage == STAGE_CLOSING) {
		if (now - conn->closing_since_ns > CLOSE_GRACE_NS)
			close_now(conn);
		return;
	}
	if (conn->stage != STAGE_OPEN && config->connect_timeout_ms &&
	    now - conn->opened_ns >
		    (int64_t)config->connect_timeout_ms * 1000000) {
		gate_conn_fail(conn, NULL, "no CONNECT frame in time", NULL);
		return;
	}
	if (conn->partial_since_ns && config->frame_timeout_ms &&
	    !conn->input_paused &&
	    now - conn->partial_since_ns >
		    (int64_t)config->frame_timeout_ms * 1000000) {
		gate_conn_fail(conn, NULL, "a frame was not finished in time",
			       NULL);
		return;
	}
	if (conn->stage != STAGE_OPEN)
		return;
	/* A peer that sent nothing for two of its intervals is gone; not
	 * while its socket is left unread for a SEND that waits. */
	if (conn->expect_every_ms && !conn->stalled && !conn->input_paused &&
	    now - conn->last_read_ns >
		    2 * (int64_t)conn->expect_every_ms * 1000000) {
		gate_log(1, "connection %llu from %s: no heart-beat for %u ms",
			 (unsigned long long)conn->id, conn->peer,
			 2 * conn->expect_every_ms);
		close_now(conn);
		return;
	}
	if (conn->send_every_ms && !gate_buffer_length(&conn->out) &&
	    now - conn->last_write_ns >=
		    (int64_t)conn->send_every_ms * 1000000)
		gate_conn_send(conn, "\n", 1);
}
