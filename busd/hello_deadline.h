/* SPDX-License-Identifier: MIT */
/*
 * The deadline for HELLO: a connection that has not said HELLO within
 * [bus] hello_timeout_ms of its accept is refused (-ETIMEDOUT, admission.h)
 * and closed, so that silent connections cannot pile up and hold busd's
 * descriptors.  A libbus client says HELLO at once; only a stuck or
 * hostile peer stays silent.
 *
 * The waiting clients form a list in the order they were accepted, so that
 * with one timeout for all, the head has the earliest deadline.  One
 * absolute timeout in the ring (BUSD_OP_HELLO_DEADLINE) is armed for the
 * head's deadline while the list is not empty; when it fires, every client
 * whose deadline has passed is closed and the timeout is armed for the new
 * head.  Nothing is armed while every client has said HELLO.
 */
#ifndef BUSD_HELLO_DEADLINE_H
#define BUSD_HELLO_DEADLINE_H

#include <stdint.h>

#include <liburing.h>

#include "loop.h"

struct busd_admission;
struct busd_client;

struct busd_hello_deadline {
	uint64_t timeout_ns;	  /* 0: no deadline */
	struct busd_client *head; /* accepted first */
	struct busd_client *tail;
	struct __kernel_timespec when; /* CLOCK_MONOTONIC, absolute */
	struct busd_op op;
	struct busd_loop *loop;		  /* arms op */
	struct busd_admission *admission; /* counts the refusal */
	/* Closes an expired client (clients.c sets it). */
	void (*drop)(void *owner, struct busd_client *client, const char *why);
	void *owner;
};

void busd_hello_deadline_init(struct busd_hello_deadline *deadline,
			      uint32_t timeout_ms, struct busd_loop *loop,
			      struct busd_admission *admission);

/* A client was accepted: its deadline starts now. */
void busd_hello_deadline_start(struct busd_hello_deadline *deadline,
			       struct busd_client *client);

/* The client said HELLO, or is dropped: no deadline any more. */
void busd_hello_deadline_stop(struct busd_hello_deadline *deadline,
			      struct busd_client *client);

/* The timeout's completion: closes the clients that are past it. */
void busd_hello_deadline_on_timeout(struct busd_hello_deadline *deadline,
				    int result);

#endif /* BUSD_HELLO_DEADLINE_H */
