/* SPDX-License-Identifier: MIT */
/*
 * The STOMP commands of a connection: CONNECT, then SEND, SUBSCRIBE,
 * UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT and DISCONNECT, with a
 * RECEIPT for every frame that asks for one.  The bus side of SEND,
 * SUBSCRIBE and ACK is in dest.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "gate.h"

static int pick_version(const char *accept)
{
	int best = 0;
	const char *at = accept;

	if (!accept)
		return STOMP_V10;
	while (*at) {
		size_t n;

		at += strspn(at, " \t");
		n = strcspn(at, ", \t");

		if (n == 3 && !memcmp(at, "1.2", 3))
			best = best > 12 ? best : STOMP_V12;
		else if (n == 3 && !memcmp(at, "1.1", 3))
			best = best > 11 ? best : STOMP_V11;
		else if (n == 3 && !memcmp(at, "1.0", 3))
			best = best > 10 ? best : STOMP_V10;
		at += n;
		at += strspn(at, " \t");
		if (*at == ',')
			at++;
		else if (*at)
			break;
	}
	return best;
}

static int parse_heartbeat(const char *value, unsigned int *x, unsigned int *y)
{
	char *end;
	unsigned long a, b;

	if (!value) {
		*x = *y = 0;
		return 0;
	}
	if (*value < '0' || *value > '9')
		return -EINVAL;
	a = strtoul(value, &end, 10);
	if (*end != ',' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (*end || a > 86400000 || b > 86400000)
		return -EINVAL;
	*x = (unsigned int)a;
	*y = (unsigned int)b;
	return 0;
}

static unsigned int heartbeat_of(unsigned int a, unsigned int b)
{
	if (!a || !b)
		return 0;
	return a > b ? a : b;
}

static const char *version_text(int version)
{
	return version == STOMP_V12   ? "1.2"
	       : version == STOMP_V11 ? "1.1"
				      : "1.0";
}

int gate_stomp_connect(struct gate_conn *conn, struct stomp_frame *frame)
{
	struct gate *gate = conn->gate;
	struct gate_config *config = gate->config;
	unsigned int cx, cy;
	struct gate_identity *identity;
	char out[512];
	int ret, n;

	if (frame->command != STOMP_CONNECT && frame->command != STOMP_STOMP) {
		gate_conn_fail(conn, frame, "CONNECT first",
			       "the first frame must be CONNECT or STOMP");
		return -1;
	}
	conn->version = pick_version(stomp_header(frame, "accept-version"));
	if (!conn->version) {
		conn->version = STOMP_V12;
		gate_conn_fail(conn, frame, "unsupported STOMP version",
			       "busgate speaks STOMP 1.0, 1.1 and 1.2");
		return -1;
	}
	if (parse_heartbeat(stomp_header(frame, "heart-beat"), &cx, &cy)) {
		gate_conn_fail(conn, frame, "bad heart-beat header",
			       "heart-beat must be two numbers of ms: cx,cy");
		return -1;
	}
	if (!gate->users.from_file && !conn->loopback) {
		gate_conn_fail(conn, frame, "access refused",
			       "without a users file only loopback clients "
			       "are served");
		return -1;
	}
	ret = gate_users_check(&gate->users, stomp_header(frame, "login"),
			       stomp_header(frame, "passcode"), &identity);
	if (ret) {
		gate_conn_fail(conn, frame, "access refused",
			       "login or passcode is wrong");
		return -1;
	}
	ret = gate_identity_bus(identity, config->bus, &conn->bus);
	if (ret) {
		gate_conn_fail(conn, frame, "the bus is not reachable",
			       bus_strerror(ret));
		return -1;
	}
	conn->identity = identity;
	/* Ours to send: as often as the client wants them, but no more
	 * often than we offer; theirs: no more often than we ask. */
	conn->send_every_ms = heartbeat_of(config->heartbeat_send_ms, cy);
	conn->expect_every_ms = heartbeat_of(config->heartbeat_receive_ms, cx);
	if (conn->version == STOMP_V10)
		conn->send_every_ms = conn->expect_every_ms = 0;
	n = snprintf(
		out, sizeof(out),
		"CONNECTED\nversion:%s\nserver:busgate/%s\n"
		"session:%llu\nheart-beat:%u,%u\n\n",
		version_text(conn->version), GATE_VERSION,
		(unsigned long long)conn->id,
		conn->version == STOMP_V10 ? 0 : config->heartbeat_send_ms,
		conn->version == STOMP_V10 ? 0 : config->heartbeat_receive_ms);
	gate_conn_send(conn, out, (size_t)n + 1);
	conn->stage = STAGE_OPEN;
	conn->last_write_ns = gate_now_ns();
	gate_log(1, "connection %llu from %s: STOMP %s as '%s'",
		 (unsigned long long)conn->id, conn->peer,
		 version_text(conn->version), identity->login);
	return 0;
}

static void send_receipt(struct gate_conn *conn, const char *receipt)
{
	struct stomp_out_header header = { "receipt-id", receipt };
	size_t n;
	char *out = stomp_frame_build("RECEIPT", &header, 1, NULL, 0,
				      conn->version, &n);

	if (!out) {
		gate_conn_fail(conn, NULL, "out of memory", NULL);
		return;
	}
	gate_conn_send(conn, out, n);
	free(out);
}

/* ---- transactions -------------------------------------------------------- */

static struct gate_tx *tx_find(struct gate_conn *conn, const char *id)
{
	for (struct gate_tx *tx = conn->transactions; tx; tx = tx->next)
		if (!strcmp(tx->id, id))
			return tx;
	return NULL;
}

static void tx_free(struct gate_tx *tx)
{
	for (unsigned int i = 0; i < tx->count; i++)
		free(tx->frames[i]);
	free(tx->frames);
	free(tx->id);
	free(tx);
}

static void tx_unlink(struct gate_conn *conn, struct gate_tx *tx)
{
	struct gate_tx **at = &conn->transactions;

	while (*at != tx)
		at = &(*at)->next;
	*at = tx->next;
	conn->transaction_bytes -= tx->bytes;
}

void gate_transactions_free(struct gate_conn *conn)
{
	while (conn->transactions) {
		struct gate_tx *tx = conn->transactions;

		conn->transactions = tx->next;
		tx_free(tx);
	}
	conn->transaction_bytes = 0;
}

/* The bytes of frame_copy(frame). */
static size_t frame_copy_size(const struct stomp_frame *frame)
{
	size_t size = sizeof(*frame) + frame->body_length + 1;

	for (unsigned int i = 0; i < frame->header_count; i++)
		size += strlen(frame->headers[i].name) +
			strlen(frame->headers[i].value) + 2;
	return size;
}

/* One allocation holding the frame, its headers' strings and body. */
static struct stomp_frame *frame_copy(const struct stomp_frame *frame)
{
	size_t size = frame_copy_size(frame);
	struct stomp_frame *copy;
	char *at;

	copy = malloc(size);
	if (!copy)
		return NULL;
	*copy = *frame;
	at = (char *)(copy + 1);
	for (unsigned int i = 0; i < frame->header_count; i++) {
		size_t n = strlen(frame->headers[i].name) + 1;

		copy->headers[i].name = memcpy(at, frame->headers[i].name, n);
		at += n;
		n = strlen(frame->headers[i].value) + 1;
		copy->headers[i].value =
			memcpy(at, frame->headers[i].value, n);
		at += n;
	}
	copy->body =
		memcpy(at, frame->body ? frame->body : "", frame->body_length);
	copy->body[frame->body_length] = '\0';
	return copy;
}

/* Transactions per connection, and frames per transaction. */
#define TX_MAX 64u
#define TX_FRAMES_MAX 65536u

static int on_begin(struct gate_conn *conn, struct stomp_frame *frame,
		    const char *id)
{
	struct gate_tx *tx;
	unsigned int count = 0;

	if (tx_find(conn, id)) {
		gate_conn_fail(conn, frame, "transaction already begun", id);
		return -1;
	}
	for (tx = conn->transactions; tx; tx = tx->next)
		count++;
	if (count >= TX_MAX) {
		gate_conn_fail(conn, frame, "too many open transactions",
			       "a connection may hold 64");
		return -1;
	}
	tx = calloc(1, sizeof(*tx));
	if (!tx || !(tx->id = strdup(id))) {
		free(tx);
		gate_conn_fail(conn, frame, "out of memory", NULL);
		return -1;
	}
	tx->next = conn->transactions;
	conn->transactions = tx;
	return 0;
}

static int tx_add(struct gate_conn *conn, struct gate_tx *tx,
		  struct stomp_frame *frame)
{
	struct stomp_frame *copy;
	size_t bytes = frame_copy_size(frame);
	const char *destination = stomp_header(frame, "destination");

	/* COMMIT runs the frames one by one and cannot undo those before a
	 * failing one: what can be checked without the bus fails now. */
	if (frame->command == STOMP_SEND) {
		const char *why = "";
		struct dest d;

		if (!destination) {
			gate_conn_fail(conn, frame,
				       "missing header 'destination'", "SEND");
			return -1;
		}
		if (gate_dest_parse(conn, destination, &d, &why) ||
		    d.wildcard) {
			gate_conn_fail(conn, frame, "bad destination",
				       d.wildcard ? "SEND needs a topic name, "
						    "not a pattern"
						  : why);
			return -1;
		}
	}

	/* Held frames are memory a client asks for at will: a budget per
	 * connection, as output_limit is for what it does not read. */
	if (bytes >
	    conn->gate->config->transaction_limit - conn->transaction_bytes) {
		gate_conn_fail(conn, frame, "transaction too large",
			       "the frames held in this connection's "
			       "transactions would pass transaction_limit");
		return -1;
	}
	if (tx->count == tx->size) {
		unsigned int size = tx->size ? tx->size * 2 : 16;
		struct stomp_frame **frames;

		if (size > TX_FRAMES_MAX) {
			gate_conn_fail(conn, frame, "transaction too large",
				       "a transaction may hold 65536 frames");
			return -1;
		}
		frames = realloc(tx->frames, size * sizeof(*frames));
		if (!frames) {
			gate_conn_fail(conn, frame, "out of memory", NULL);
			return -1;
		}
		tx->frames = frames;
		tx->size = size;
	}
	copy = frame_copy(frame);
	if (!copy) {
		gate_conn_fail(conn, frame, "out of memory", NULL);
		return -1;
	}
	tx->frames[tx->count++] = copy;
	tx->bytes += bytes;
	conn->transaction_bytes += bytes;
	return 0;
}

/* Runs the transaction's frames from where an earlier try stopped (a SEND
 * into a full queue makes COMMIT wait, as it makes SEND wait). */
static int on_commit(struct gate_conn *conn, struct gate_tx *tx)
{
	while (tx->done < tx->count) {
		int ret = gate_stomp_handle(conn, tx->frames[tx->done], true);

		if (ret)
			return ret;
		tx->done++;
	}
	tx_unlink(conn, tx);
	tx_free(tx);
	return 0;
}

static int on_transaction(struct gate_conn *conn, struct stomp_frame *frame)
{
	const char *id = stomp_header(frame, "transaction");
	struct gate_tx *tx;

	if (!id) {
		gate_conn_fail(conn, frame, "missing header 'transaction'",
			       stomp_command_name(frame->command));
		return -1;
	}
	if (frame->command == STOMP_BEGIN)
		return on_begin(conn, frame, id);
	tx = tx_find(conn, id);
	if (!tx) {
		gate_conn_fail(conn, frame, "no such transaction", id);
		return -1;
	}
	if (frame->command == STOMP_COMMIT)
		return on_commit(conn, tx);
	tx_unlink(conn, tx);
	tx_free(tx);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static int dispatch(struct gate_conn *conn, struct stomp_frame *frame,
		    bool in_commit)
{
	const char *tx_id = in_commit ? NULL
				      : stomp_header(frame, "transaction");

	if (tx_id &&
	    (frame->command == STOMP_SEND || frame->command == STOMP_ACK ||
	     frame->command == STOMP_NACK)) {
		struct gate_tx *tx = tx_find(conn, tx_id);

		if (!tx) {
			gate_conn_fail(conn, frame, "no such transaction",
				       tx_id);
			return -1;
		}
		return tx_add(conn, tx, frame);
	}
	switch (frame->command) {
	case STOMP_SEND:
		return gate_send(conn, frame);
	case STOMP_SUBSCRIBE:
		return gate_subscribe(conn, frame);
	case STOMP_UNSUBSCRIBE:
		return gate_unsubscribe(conn, frame);
	case STOMP_ACK:
		return gate_ack(conn, frame, false);
	case STOMP_NACK:
		return gate_ack(conn, frame, true);
	case STOMP_BEGIN:
	case STOMP_COMMIT:
	case STOMP_ABORT:
		return on_transaction(conn, frame);
	case STOMP_DISCONNECT:
		return 0;
	default:
		gate_conn_fail(conn, frame, "unexpected frame",
			       "CONNECT was sent already");
		return -1;
	}
}

int gate_stomp_handle(struct gate_conn *conn, struct stomp_frame *frame,
		      bool in_commit)
{
	const char *receipt = stomp_header(frame, "receipt");
	int ret;

	gate_log(2, "connection %llu: %s", (unsigned long long)conn->id,
		 stomp_command_name(frame->command));
	ret = dispatch(conn, frame, in_commit);
	if (ret)
		return ret;
	if (receipt && !in_commit)
		send_receipt(conn, receipt);
	if (frame->command == STOMP_DISCONNECT) {
		/* Unacked messages go back to their queues as the handles
		 * close; the RECEIPT goes out first. */
		conn->stage = STAGE_CLOSING;
		conn->reading = false;
		conn->closing_since_ns = gate_now_ns();
		gate_conn_mark_dirty(conn);
		gate_socket_interest(conn);
	}
	return 0;
}
