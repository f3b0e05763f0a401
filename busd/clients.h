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

#include "client.h"

struct busd_admission;
struct busd_catalog;
struct busd_handlers;
struct busd_hello_deadline;
struct busd_loop;

/* The clients layer: the list, and what it is given by the daemon. */
struct busd_clients {
	struct busd_client_list list;
	struct busd_loop *loop;	      /* watches sockets and pidfds */
	struct busd_catalog *catalog; /* detached from when a client goes */
	struct busd_admission *admission;
	struct busd_hello_deadline *hello_deadline;
	struct busd_handlers *handlers; /* answer the requests */
};

/* Empties the list, keeps what it is given and sets the callbacks of
 * deadline (dropping a silent client) and handlers (resuming one). */
void busd_clients_init(struct busd_clients *clients, struct busd_loop *loop,
		       struct busd_catalog *catalog,
		       struct busd_admission *admission,
		       struct busd_hello_deadline *deadline,
		       struct busd_handlers *handlers);

/* Takes over an accepted socket; on failure the socket is closed. */
void busd_client_accept(struct busd_clients *clients, int socket_fd);

/* Completions of the client's recv and pidfd poll. */
void busd_client_on_receive(struct busd_clients *clients,
			    struct busd_client *client, int result);
void busd_client_on_exit(struct busd_clients *clients,
			 struct busd_client *client, int result);

/*
 * Detaches everything the client holds, closes its fds and frees it as soon
 * as the ring no longer refers to it.  why completes "client 3 (pid 42) ".
 */
void busd_client_drop(struct busd_clients *clients, struct busd_client *client,
		      const char *why);

/*
 * A previous busd's client that still holds slots of an adopted segment:
 * watched by a pidfd, so that its slots are detached when it exits.
 * Returns 0 (also when already adopted), or -ESRCH when its process is
 * gone (or its pid is another process's now): detach its slots at once.
 */
int busd_client_adopt(struct busd_clients *clients,
		      const struct busd_identity *who);

/* Drops every client (busd is stopping). */
void busd_clients_drop_all(struct busd_clients *clients);

#endif /* BUSD_CLIENTS_H */
