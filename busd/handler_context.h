/* SPDX-License-Identifier: MIT */
/*
 * What a request handler is given and what it answers: the state of the
 * handlers' layer (struct busd_handlers) and the reply being built.  The
 * daemon fills the state (busd.c); the clients layer sets its callback.
 * Handlers live in handlers.c, wildcards.c and info.c, and call nothing
 * above them: what belongs to a connection comes through the callback.
 */
#ifndef BUSD_HANDLER_CONTEXT_H
#define BUSD_HANDLER_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "control_protocol.h"

struct busd_catalog;
struct busd_client;
struct busd_client_list;
struct busd_hello_deadline;
struct busd_routes;
struct busd_stats_lock;

struct busd_reply {
	struct bus_control_reply message;
	int fd;	       /* passed with SCM_RIGHTS when >= 0 */
	bool close_fd; /* fd is the handler's own: closed once sent */
};

struct busd_handlers {
	struct busd_catalog *catalog;	  /* the queues and topics served */
	struct busd_client_list *clients; /* ids, wildcards, INFO's count */
	struct busd_hello_deadline *hello_deadline; /* left at HELLO */
	struct busd_routes *routes; /* ROUTE_ADD, ROUTE_DELETE */
	/* Held around every handler: the metrics thread reads what they
	 * change (stats_lock.h). */
	struct busd_stats_lock *lock;
	const gid_t *admin_group; /* [bus] admin_group; a reload changes it */
	/* For INFO: -c's path (NULL: none) and when busd started, on
	 * CLOCK_REALTIME and CLOCK_MONOTONIC. */
	const char *config_path;
	struct timespec started_wall;
	struct timespec started;
	/* The clients layer's: a new connection that was client_id before
	 * busd restarted takes over the adopted client of that id if it is
	 * the same process (true), its id and slots with it. */
	bool (*resume)(void *owner, struct busd_client *client,
		       uint32_t client_id);
	void *owner;
};

/* Every handler's shape: returns the reply's status, 0 or a negative
 * errno, having written a one-sentence detail on failure. */
typedef int (*busd_handler)(struct busd_handlers *handlers,
			    struct busd_client *client,
			    const struct bus_control_request *request,
			    struct busd_reply *reply);

#endif /* BUSD_HANDLER_CONTEXT_H */
