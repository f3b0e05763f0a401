/* SPDX-License-Identifier: MIT */
/*
 * The daemon as a whole: what it owns, and how it starts and stops.
 *
 * Start: block SIGINT/SIGTERM and set up the ring; make the runtime
 * directory; take the bus's lock file; remove what a dead busd of this bus
 * left (socket, segments); check that /dev/shm can hold the configured
 * queues and create them; listen on the control socket.  Stop: the same
 * backwards, unlinking every segment.
 */
#ifndef BUSD_BUSD_H
#define BUSD_BUSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>

#include "admission.h"
#include "announcer.h"
#include "clock.h"
#include "clients.h"
#include "config.h"
#include "hello_deadline.h"
#include "lockfile.h"
#include "loop.h"
#include "metrics.h"
#include "registry.h"

struct busd {
	const char *bus_name;
	struct busd_loop loop;
	struct busd_lock lock;
	struct busd_registry registry;
	struct busd_clients clients;
	/* Who may hold connections, and for how long without HELLO. */
	struct busd_admission admission;
	struct busd_hello_deadline hello_deadline;
	gid_t admin_group; /* [bus] admin_group; BUSD_NO_GROUP when none */
	struct bus_announce *announce; /* /shmbus.BUS: new topics */
	struct busd_routes *routes;    /* /shmbus.BUS%routes */
	/* The Prometheus endpoint's thread and the registry lock it shares
	 * with the loop (metrics.h); NULL when [bus] metrics is not set. */
	struct busd_metrics *metrics;
	int listen_fd;
	/* A clean stop unlinks queues that hold messages too (busd -d). */
	bool discard_on_stop;
	struct bus_log_page *log_page; /* warnings and errors (log_page.h) */
	/* Durable queues' journals and their thread (durable.h). */
	struct busd_durable *durable;
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
};

/*
 * Starts serving bus_name with the queues of config.  Returns 0, or a
 * negative errno after saying why ("busd: ...").  Call busd_stop() either
 * way.
 */
int busd_start(struct busd *busd, const char *bus_name,
	       const struct busd_config *config);

/* Closes and unlinks every segment, the socket and the lock file. */
void busd_stop(struct busd *busd);

#endif /* BUSD_BUSD_H */
