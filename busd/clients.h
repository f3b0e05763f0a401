/* SPDX-License-Identifier: MIT */
/*
 * The processes connected to busd.
 *
 * On accept, busd reads the peer's pid, uid and gid from the socket
 * (SO_PEERCRED, never from a request), opens a pidfd for the pid and reads
 * the process start time, which later tells this process from another that
 * reuses its pid, and its supplementary groups for the access checks of
 * busd/access.h.  The client is then watched two ways: its socket hangs up
 * when every copy of it is closed, and its pidfd becomes readable when the
 * process exits.  Either one detaches every attachment the client holds, so
 * the messages it leased are redelivered and its loans padded over.
 */
#ifndef BUSD_CLIENTS_H
#define BUSD_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control_protocol.h"
#include "loop.h"
#include "registry.h"
#include "wildcards.h"

struct busd;

struct busd_client {
	struct busd_client *next;
	struct busd_client *prev;
	struct busd_identity identity; /* client_id is 0 until HELLO */
	/* What it may do: uid, gid and groups as of connect(). */
	struct busd_credentials credentials;
	int socket_fd;
	int pidfd;
	bool greeted;
	/* Counted against its uid's max_connections_per_user until it is
	 * released (admission.h). */
	bool admitted;
	/* On the list of busd/hello_deadline.h until it says HELLO. */
	bool awaiting_hello;
	uint64_t hello_deadline_ns; /* CLOCK_MONOTONIC */
	struct busd_client *hello_next;
	struct busd_client *hello_prev;
	/* A process that attached through a previous busd, watched only by
	 * its pidfd until it reconnects (busd_client_resume) or exits. */
	bool adopted;
	/* Dropped: its fds are closed and it waits only for its requests in
	 * the ring to complete before it is freed. */
	bool gone;
	struct busd_wildcards wildcards; /* its patterns (wildcards.h) */
	struct busd_op receive_op;
	struct busd_op exit_op;
	/* One byte more than a request: a packet that fills the spare byte
	 * is longer than any request of this protocol version. */
	union {
		struct bus_control_request request;
		uint8_t bytes[sizeof(struct bus_control_request) + 1];
	} in;
};

struct busd_clients {
	struct busd_client *head;
	unsigned int count;
	uint32_t last_id;
};

/* Takes over an accepted socket; on failure the socket is closed. */
void busd_client_accept(struct busd *busd, int socket_fd);

/* Completions of the client's recv and pidfd poll. */
void busd_client_on_receive(struct busd *busd, struct busd_client *client,
			    int result);
void busd_client_on_exit(struct busd *busd, struct busd_client *client,
			 int result);

/*
 * Detaches everything the client holds, closes its fds and frees it as soon
 * as the ring no longer refers to it.  why completes "client 3 (pid 42) ".
 */
void busd_client_drop(struct busd *busd, struct busd_client *client,
		      const char *why);

/*
 * A previous busd's client that still holds slots of an adopted segment:
 * watched by a pidfd, so that its slots are detached when it exits.
 * Returns 0 (also when already adopted), or -ESRCH when its process is
 * gone (or its pid is another process's now): detach its slots at once.
 */
int busd_client_adopt(struct busd *busd, const struct busd_identity *who);

/*
 * A new connection that says it was client_id before busd restarted: if
 * an adopted client of that id is the same process, the connection takes
 * its id and slots and true is returned.
 */
bool busd_client_resume(struct busd *busd, struct busd_client *client,
			uint32_t client_id);

/* Drops every client (busd is stopping). */
void busd_clients_drop_all(struct busd *busd);

/* The next client id: counts from 1, never 0. */
uint32_t busd_clients_new_id(struct busd_clients *clients);

#endif /* BUSD_CLIENTS_H */
