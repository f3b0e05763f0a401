/* SPDX-License-Identifier: MIT */
/*
 * busgate: STOMP 1.0/1.1/1.2 over TCP and WebSocket, in front of a bus.
 *
 * The shape: one thread, one epoll set, non-blocking sockets.  Every
 * client socket is in the set, and so is the waitset fd of every
 * connection that subscribes (bus_waitset_fd(): an io_uring of libbus
 * that a publisher's ordinary futex wake makes readable), so that bus
 * messages and socket bytes wake the same epoll_wait and busd stays off
 * the data path.  One thread keeps every handle with the one thread that
 * libbus allows per handle, needs no lock, and still does some hundred
 * thousand frames a second, which is more than STOMP clients ask of a
 * same-host gateway; see docs/ARCHITECTURE.md.
 *
 * Why epoll and not a liburing loop like busd's: the waitset fd is itself
 * an io_uring whose readiness is what we wait for, sockets are read and
 * written as soon as they are ready (no buffers handed to the kernel in
 * advance, so ten thousand idle connections cost no memory), and every
 * round's output is flushed with one send(2) per connection, which is
 * where a batching ring would have saved system calls.
 *
 * Back-pressure runs both ways without blocking the loop: a connection
 * whose output passes output_limit stops receiving from the bus until it
 * drains; a SEND into a full queue parks the connection (its socket is no
 * longer read) and is retried every millisecond.
 */
#ifndef BUSGATE_GATE_H
#define BUSGATE_GATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"
#include "frame.h"

#define GATE_VERSION "0.1.0"
#define GATE_ADDRESS_MAX 128

struct gate_config {
	char path[PATH_MAX];
	char bus[BUS_NAME_MAX + 1];
	char listen[GATE_ADDRESS_MAX];	  /* "" turns TCP off */
	char websocket[GATE_ADDRESS_MAX]; /* "" turns WebSocket off */
	char websocket_path[GATE_ADDRESS_MAX];
	char users[PATH_MAX]; /* "" : loopback only */
	/* Origins a WebSocket upgrade may come from, separated by spaces or
	 * commas ("*": any); a request without Origin is not a browser's. */
	char websocket_origins[1024];
	size_t max_frame;
	size_t output_limit;
	size_t transaction_limit; /* bytes held in a connection's transactions */
	unsigned int max_connections;
	unsigned int heartbeat_send_ms;
	unsigned int heartbeat_receive_ms;
	unsigned int connect_timeout_ms;
	unsigned int frame_timeout_ms;
	unsigned int prefetch;
	bool auto_create;
	uint32_t queue_slots;
	uint32_t topic_slots;
	uint32_t max_message;
	uint32_t header_room;
	int verbose;
};

int gate_config_default(struct gate_config *config);
/* Reads the ini file at config->path; 0, or -EINVAL after printing
 * each error with its line. */
int gate_config_read(struct gate_config *config);

/* ---- logins ------------------------------------------------------------ */

struct gate_identity {
	char login[64];
	char hash[256]; /* crypt(3) */
	uid_t uid;
	gid_t gid;
	bus_t *bus; /* connected as uid/gid while a connection uses it */
	unsigned int bus_users;
};

struct gate_users {
	struct gate_identity *entries;
	unsigned int count;
	struct gate_identity self; /* no users file: the gateway's own */
	bool from_file;
};

int gate_users_load(struct gate_users *users, const char *path);
void gate_users_free(struct gate_users *users);
/* The identity for login/passcode (NULL: the gateway's own when there is
 * no users file); -EACCES when the pair is wrong. */
int gate_users_check(struct gate_users *users, const char *login,
		     const char *passcode, struct gate_identity **out);
/* The identity's bus connection, made when no connection holds it; each
 * success is paired with a gate_identity_release(). */
int gate_identity_bus(struct gate_identity *identity, const char *bus_name,
		      bus_t **out);
void gate_identity_release(struct gate_identity *identity);

/* ---- buffers ----------------------------------------------------------- */

struct gate_buffer {
	char *data;
	size_t start; /* first byte not consumed */
	size_t end;   /* one past the last byte */
	size_t size;
};

int gate_buffer_reserve(struct gate_buffer *b, size_t more);
int gate_buffer_append(struct gate_buffer *b, const void *data, size_t n);
size_t gate_buffer_length(const struct gate_buffer *b);
void gate_buffer_consume(struct gate_buffer *b, size_t n);
void gate_buffer_free(struct gate_buffer *b);

/* ---- connections --------------------------------------------------------- */

enum gate_watch_kind {
	WATCH_LISTEN_TCP,
	WATCH_LISTEN_WS,
	WATCH_SOCKET,
	WATCH_WAITSET,
};

struct gate_watch {
	enum gate_watch_kind kind;
	void *owner;
};

enum gate_ack_mode {
	ACK_AUTO,
	ACK_CLIENT,
	ACK_CLIENT_INDIVIDUAL,
};

enum gate_sub_kind {
	SUB_QUEUE,
	SUB_TOPIC,
	SUB_WILDCARD,
};

struct gate_pending {
	uint64_t seq;
	struct bus_message message;
};

struct gate_conn;

struct gate_sub {
	struct gate_sub *next;
	struct gate_conn *conn;
	unsigned int number; /* in the connection, for ack ids */
	char *id;
	char *destination; /* as the client named it (MESSAGE headers) */
	char *bus_name;
	enum gate_sub_kind kind;
	enum gate_ack_mode ack;
	bool temporary; /* a /temp-queue/ of the connection */
	bool in_waitset;
	unsigned int prefetch;
	bus_queue_t *queue;
	bus_subscription_t *subscription;
	bus_wildcard_t *wildcard;
	struct gate_pending *pending; /* unacked, in receive order */
	unsigned int pending_count, pending_size;
};

enum gate_producer_kind {
	PRODUCER_QUEUE,
	PRODUCER_TOPIC,
	PRODUCER_ADDRESS,
};

struct gate_producer {
	struct gate_producer *next;
	enum gate_producer_kind kind;
	char name[BUS_NAME_MAX + 1];
	bus_queue_t *queue;
	bus_topic_t *topic;
	bus_address_t *address;
};

struct gate_tx {
	struct gate_tx *next;
	char *id;
	struct stomp_frame **frames; /* SEND, ACK and NACK, copied */
	unsigned int count, size, done;
	size_t bytes; /* of the copies */
};

enum gate_stage {
	STAGE_HTTP,    /* WebSocket: the upgrade request */
	STAGE_CONNECT, /* waiting for CONNECT */
	STAGE_OPEN,
	STAGE_CLOSING, /* an ERROR or a DISCONNECT is being flushed */
};

struct gate;

struct gate_conn {
	struct gate_conn *next, *prev; /* all connections */
	struct gate_conn *dirty_next;  /* output to flush this round */
	struct gate *gate;
	struct gate_watch socket_watch, waitset_watch;
	int fd;
	uint64_t id;
	bool websocket, loopback;
	bool dirty, want_write, reading, dead;
	bool output_paused; /* over output_limit: no bus receives */
	bool input_paused;  /* over output_limit: the socket is not read */
	bool stalled;	    /* a SEND waits for room in a full queue */
	bool ws_in_message; /* a fragmented data message is open */
	enum gate_stage stage;
	int version;
	char peer[64];
	struct gate_identity *identity;
	bus_t *bus;
	struct gate_buffer in, ws_in, out;
	struct stomp_frame stalled_frame;
	size_t stalled_length;
	/* Heart-beats in ms (0: off); times in CLOCK_MONOTONIC ns. */
	unsigned int send_every_ms, expect_every_ms;
	int64_t last_read_ns, last_write_ns, opened_ns, partial_since_ns;
	int64_t closing_since_ns;
	bus_waitset_t *waitset;
	bool waitset_armed, waitset_polled;
	struct gate_sub *subs;
	unsigned int sub_count, next_sub_number;
	uint64_t next_seq;
	struct gate_producer *producers;
	unsigned int producer_count;
	struct gate_tx *transactions;
	size_t transaction_bytes; /* held by them, against transaction_limit */
	char temp_prefix[BUS_NAME_MAX + 1];
};

struct gate {
	struct gate_config *config;
	struct gate_users users;
	int epoll_fd;
	struct gate_watch tcp_watch, ws_watch;
	int tcp_fd, ws_fd;
	struct gate_conn *conns; /* all of them */
	struct gate_conn *dirty; /* output to flush */
	unsigned int conn_count, stalled_count, polled_count, dead_count;
	uint64_t next_conn_id;
	int64_t next_tick_ns;
	int64_t accept_resume_ns; /* out of descriptors: 0 once accepting */
	bool accept_starved;	  /* logged for this episode */
	volatile int stop;
};

int64_t gate_now_ns(void);

/* loop.c */
int gate_listen(struct gate *gate);
int gate_run(struct gate *gate);
void gate_shutdown(struct gate *gate);
void gate_socket_interest(struct gate_conn *conn);

/* conn.c */
struct gate_conn *gate_conn_open(struct gate *gate, int fd, bool websocket,
				 bool loopback, const char *peer);
void gate_conn_on_readable(struct gate_conn *conn);
void gate_conn_on_writable(struct gate_conn *conn);
void gate_conn_flush(struct gate_conn *conn);
void gate_conn_free(struct gate_conn *conn);
void gate_conn_tick(struct gate_conn *conn, int64_t now);
void gate_conn_retry_stalled(struct gate_conn *conn);
/* Queues a whole STOMP frame (framed for WebSocket when need be). */
int gate_conn_send(struct gate_conn *conn, const char *data, size_t n);
/* ERROR with message (and receipt-id for a frame that asked), then close. */
void gate_conn_fail(struct gate_conn *conn, const struct stomp_frame *frame,
		    const char *message, const char *detail);
void gate_conn_close(struct gate_conn *conn);
void gate_conn_mark_dirty(struct gate_conn *conn);

/* stomp.c: one frame of an open connection.  0 done, 1 the SEND must
 * wait for room (try again later), -1 the connection is closing. */
#define GATE_RETRY 1
int gate_stomp_handle(struct gate_conn *conn, struct stomp_frame *frame,
		      bool in_commit);
int gate_stomp_connect(struct gate_conn *conn, struct stomp_frame *frame);
void gate_transactions_free(struct gate_conn *conn);

/* deliver.c */
void gate_deliver_sub(struct gate_sub *sub);
void gate_deliver_all(struct gate_conn *conn);
void gate_waitset_ready(struct gate_conn *conn);
void gate_waitset_arm(struct gate_conn *conn);
int gate_waitset_add(struct gate_conn *conn, struct gate_sub *sub);
void gate_waitset_remove(struct gate_conn *conn, struct gate_sub *sub);

/* subscribe.c, send.c, ack.c (destinations: dest.c and dest.h) */
int gate_subscribe(struct gate_conn *conn, struct stomp_frame *frame);
int gate_unsubscribe(struct gate_conn *conn, struct stomp_frame *frame);
void gate_sub_close(struct gate_sub *sub);
int gate_send(struct gate_conn *conn, struct stomp_frame *frame);
void gate_producers_close(struct gate_conn *conn);
int gate_ack(struct gate_conn *conn, struct stomp_frame *frame, bool nack);

/* log.c */
__attribute__((format(printf, 2, 3))) void gate_log(int level,
						    const char *format, ...);
extern int gate_log_level;

#endif /* BUSGATE_GATE_H */
