/* SPDX-License-Identifier: MIT */
/*
 * The daemon as a whole: what it owns, and how it starts and stops.
 *
 * Start: block SIGINT/SIGTERM and set up the ring; make the runtime
 * directory; take the bus's lock file; remove what a dead busd of this bus
 * left (socket, segments); check that /dev/shm can hold the configured
 * queues and create them; listen on the control socket.  Stop: the same
 * backwards, unlinking every segment.
 *
 * The daemon owns the state of every layer below it and wires them: the
 * loop gets a table of callbacks (struct busd_loop_events) that reach the
 * clients, the dead-letter tick and the reload; the clients layer gets
 * the loop, the catalog and the handlers; the handlers get the catalog,
 * the routes and the lock.  No layer includes this file but main.c and
 * reload.c, which act on the daemon as a whole.
 */
#ifndef BUSD_BUSD_H
#define BUSD_BUSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>

#include "admission.h"
#include "catalog.h"
#include "clients.h"
#include "clock.h"
#include "config.h"
#include "handler_context.h"
#include "hello_deadline.h"
#include "lockfile.h"
#include "loop.h"
#include "metrics.h"
#include "stats_lock.h"

struct busd {
	struct busd_catalog catalog; /* the name, queues and topics */
	struct busd_loop loop;
	struct busd_loop_events events; /* the loop's callbacks, to us */
	struct busd_lock lock;
	struct busd_clients clients;
	struct busd_handlers handlers;
	/* Who may hold connections, and for how long without HELLO. */
	struct busd_admission admission;
	struct busd_hello_deadline hello_deadline;
	gid_t admin_group; /* [bus] admin_group; BUSD_NO_GROUP when none */
	struct busd_routes *routes; /* /shmbus.BUS%routes */
	/* The Prometheus endpoint's thread (metrics.h); NULL when [bus]
	 * metrics is not set.  It shares stats_lock with the loop. */
	struct busd_metrics *metrics;
	struct busd_stats_lock stats_lock;
	int listen_fd;
	/* A clean stop unlinks queues that hold messages too (busd -d). */
	bool discard_on_stop;
	struct bus_log_page *log_page; /* warnings and errors (log_page.h) */
	/* busd_start() succeeded.  Until then busd_stop() only lets go of
	 * what it adopted: a failed start must not destroy a bus. */
	bool serving;
	/* /dev/shm held nothing of this bus at start: a failed start may
	 * remove all it made. */
	bool fresh;
	/* Measures, once at start, the TSC rate handed to clients at
	 * HELLO (the TSC's rate does not change; an hours-long span could
	 * take in a suspend). */
	struct bus__clock clock;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* For SIGHUP (reload.h): the file to read again (NULL: none, the
	 * built-in default), the configuration in force (main's, replaced
	 * by a reload), whether -l/-v and --log-file override the file. */
	const char *config_path;
	struct busd_config *config;
	bool log_level_fixed;
	bool log_file_fixed;
	char log_file[1024]; /* "" when busd logs to the stderr it got */
	/* CLOCK_REALTIME and CLOCK_MONOTONIC at start, for INFO. */
	struct timespec started_wall;
	struct timespec started;
	/* SIGHUP's work (reload.h), given by main to busd_run(). */
	int (*reload)(struct busd *busd);
};

/*
 * Starts serving bus_name with the queues of config.  Returns 0, or a
 * negative errno after saying why ("busd: ...").  Call busd_stop() either
 * way.
 */
int busd_start(struct busd *busd, const char *bus_name,
	       const struct busd_config *config);

/* Serves until SIGINT or SIGTERM, calling reload on SIGHUP.  0, or a
 * negative errno from the loop. */
int busd_run(struct busd *busd, int (*reload)(struct busd *busd));

/* Closes and unlinks every segment, the socket and the lock file. */
void busd_stop(struct busd *busd);

#endif /* BUSD_BUSD_H */
