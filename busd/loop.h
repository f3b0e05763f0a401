/* SPDX-License-Identifier: MIT */
/*
 * busd's event loop on io_uring: one ring for the listening socket (accept),
 * each client's socket (recv, one request per packet) and pidfd (poll for
 * exit), a signalfd for SIGINT, SIGTERM and SIGHUP, a timeout that is armed
 * only while some queue has a dead_letter or ack_timeout_ms (TICK), and
 * one armed only while a connection has yet to say HELLO
 * (HELLO_DEADLINE).  Replies are small and go
 * out with sendmsg() at once, outside the ring.
 *
 * Every request in the ring carries the address of a struct busd_op as its
 * user_data; cancel requests carry NULL, and their completions are ignored.
 *
 * The loop knows nothing of clients, queues or reloads: what a completion
 * means is the daemon's, which hands the loop a table of callbacks
 * (struct busd_loop_events).  Files below the daemon only queue requests.
 */
#ifndef BUSD_LOOP_H
#define BUSD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include <liburing.h>

struct busd_client;

enum busd_op_kind {
	BUSD_OP_ACCEPT = 1, /* a connection on the listening socket */
	BUSD_OP_PAUSE,	    /* accept failed for want of fds: wait a bit */
	BUSD_OP_SIGNAL,	    /* SIGINT, SIGTERM or SIGHUP from the signalfd */
	BUSD_OP_RECEIVE,    /* a request packet from a client */
	BUSD_OP_EXIT,	    /* a client's pidfd became readable: it exited */
	BUSD_OP_TICK,	    /* dead letters and ack timeouts (dead_letter.h) */
	BUSD_OP_HELLO_DEADLINE, /* silent connections (hello_deadline.h) */
};

/* One request in the ring.  Its memory must live until it completes. */
struct busd_op {
	enum busd_op_kind kind;
	bool in_flight;
	struct busd_client *client; /* RECEIVE and EXIT */
};

struct busd_loop {
	struct io_uring ring;
	bool ring_ready;
	bool stop;
	int signal_fd;
	struct signalfd_siginfo signal;
	struct __kernel_timespec pause;
	struct busd_op accept_op;
	struct busd_op pause_op;
	struct busd_op signal_op;
	/* Armed only while some queue has a dead_letter or ack_timeout_ms. */
	struct __kernel_timespec tick;
	struct busd_op tick_op;
	int listen_fd; /* accepted from while running */
	const struct busd_loop_events *events; /* busd_loop_run's */
};

/* What the loop's completions do, given by the daemon (busd.c). */
struct busd_loop_events {
	void *context; /* every callback's first argument */
	/* A connection accepted (socket_fd is the callee's to close). */
	void (*accept)(void *context, int socket_fd);
	/* BUSD_OP_RECEIVE and BUSD_OP_EXIT of op.client. */
	void (*receive)(void *context, struct busd_client *client, int result);
	void (*exit)(void *context, struct busd_client *client, int result);
	void (*hello_deadline)(void *context, int result);
	/* The TICK's period in ns (0: not armed), and its work. */
	uint64_t (*tick_interval)(void *context);
	void (*tick)(void *context);
	void (*reload)(void *context); /* SIGHUP */
	/* Draining: cancel cancels the context's own requests outside any
	 * client; busy is true while the ring still refers to any. */
	void (*cancel)(void *context);
	bool (*busy)(void *context);
};

/*
 * Blocks SIGINT, SIGTERM and SIGHUP (they arrive through the signalfd) and
 * sets up the ring.  Call before creating anything a signal must not
 * leave behind.
 */
int busd_loop_init(struct busd_loop *loop);
void busd_loop_exit(struct busd_loop *loop);

/* Serves until SIGINT or SIGTERM.  0, or a negative errno from the ring. */
int busd_loop_run(struct busd_loop *loop, int listen_fd,
		  const struct busd_loop_events *events);

/* Waits until every client has been freed (busd is stopping). */
void busd_loop_drain(struct busd_loop *loop,
		     const struct busd_loop_events *events);

/* Queue requests; they are submitted on the next turn of the loop. */
int busd_loop_receive(struct busd_loop *loop, struct busd_op *op, int fd,
		      void *buf, size_t length);
int busd_loop_poll(struct busd_loop *loop, struct busd_op *op, int fd);
int busd_loop_cancel(struct busd_loop *loop, struct busd_op *op);
/* Completes at when, an absolute CLOCK_MONOTONIC time, which must live
 * until then. */
int busd_loop_timeout_at(struct busd_loop *loop, struct busd_op *op,
			 struct __kernel_timespec *when);

#endif /* BUSD_LOOP_H */
