/* SPDX-License-Identifier: MIT */
/* Starting and stopping the daemon. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_store.h"
#include "adopt.h"
#include "announcer.h"
#include "busd.h"
#include "clients.h"
#include "control_socket.h"
#include "dead_letter.h"
#include "durable.h"
#include "durable_store.h"
#include "topic_record.h"
#include "hello_deadline.h"
#include "log.h"
#include "log_page.h"
#include "names.h"
#include "queues.h"
#include "routes.h"
#include "segments.h"
#include "stats.h"
#include "topics.h"
#include "tsc_measure.h"

/* ---- starting ----------------------------------------------------------- */

/*
 * Each client costs two fds (socket and pidfd): take what we may.  The
 * last reserved_descriptors of them are for admins (admission.h).
 */
static void busd_raise_fd_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit))
		return;
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit))
			getrlimit(RLIMIT_NOFILE, &limit);
	}
	busd_debug("up to %llu file descriptors",
		   (unsigned long long)limit.rlim_cur);
}

/*
 * Whoever may write the directory may put a socket of their own where
 * clients look for busd's, or remove busd's lock file: refuse rather
 * than serve from a directory that others control.
 */
static int busd_check_runtime_dir(const char *dir, const struct stat *st)
{
	if (st->st_uid != geteuid()) {
		busd_refuse("the runtime directory %s belongs to uid %u, not "
			    "to busd's user (uid %u): another user could "
			    "replace the control socket; use a directory of "
			    "busd's own (BUS_RUNTIME_DIR)",
			    dir, (unsigned int)st->st_uid,
			    (unsigned int)geteuid());
		return -EPERM;
	}
	if (st->st_mode & S_IWOTH) {
		busd_refuse("the runtime directory %s is writable by everyone "
			    "(mode %04o): anyone could replace the control "
			    "socket; chmod o-w %s, or use another directory",
			    dir, (unsigned int)(st->st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

static int busd_make_runtime_dir(void)
{
	char dir[PATH_MAX];
	struct stat st;
	int ret;

	if (bus_runtime_dir(dir, sizeof(dir)) < 0) {
		busd_refuse("the runtime directory name is too long");
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ret = -errno;
		busd_refuse("cannot create the runtime directory %s: %s", dir,
			    strerror(-ret));
		return ret;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		busd_refuse("the runtime directory %s is not a directory",
			    dir);
		return -ENOTDIR;
	}
	return busd_check_runtime_dir(dir, &st);
}

static int busd_find_socket_path(struct busd *busd)
{
	int ret = bus__socket_path(busd->socket_path,
				   sizeof(busd->socket_path),
				   busd->catalog.bus_name);

	if (ret < 0)
		busd_refuse("the socket path of bus '%s' is longer than %zu "
			    "bytes; point BUS_RUNTIME_DIR at a shorter "
			    "directory",
			    busd->catalog.bus_name,
			    sizeof(busd->socket_path) - 1);
	return ret < 0 ? ret : 0;
}

static int busd_take_lock(struct busd *busd)
{
	pid_t holder;
	int ret = busd_lock_acquire(&busd->lock, busd->catalog.bus_name,
				    &holder);

	if (ret == -EWOULDBLOCK && holder > 0)
		busd_refuse("bus '%s' is already running (pid %d)",
			    busd->catalog.bus_name, (int)holder);
	else if (ret == -EWOULDBLOCK)
		busd_refuse("bus '%s' is already running",
			    busd->catalog.bus_name);
	else if (ret)
		busd_refuse("cannot take the lock file %s: %s",
			    busd->lock.path, strerror(-ret));
	return ret;
}

/*
 * Whether /dev/shm holds nothing of this bus: then a start that fails
 * removes everything it made, rather than leave segments nobody needs
 * (no previous busd's messages are at stake).
 */
static bool busd_bus_is_fresh(const char *bus_name)
{
	char prefix[BUS_NAME_MAX + 16];
	size_t length;
	struct dirent *entry;
	bool fresh = true;
	DIR *shm = opendir("/dev/shm");

	if (!shm)
		return false;
	length = (size_t)snprintf(prefix, sizeof(prefix), "shmbus.%s",
				  bus_name);
	while (fresh && (entry = readdir(shm))) {
		if (strncmp(entry->d_name, prefix, length))
			continue;
		/* shmbus.BUS, shmbus.BUS:NAME, shmbus.BUS%log ... */
		fresh = !strchr(":%", entry->d_name[length]);
	}
	closedir(shm);
	return fresh;
}

/* With the lock held, nothing of this bus can belong to a live busd: its
 * socket goes, its segments are adopted (adopt.h). */
static void busd_remove_stale_socket(struct busd *busd)
{
	if (unlink(busd->socket_path) == 0)
		busd_debug("removed the stale socket %s", busd->socket_path);
}

static int busd_check_room(const struct busd *busd,
			   const struct busd_config *config)
{
	uint64_t needed = 0, available;
	int ret;

	for (unsigned int i = 0; i < config->queue_count; i++) {
		/* An adopted queue has its room already. */
		if (busd_registry_find(&busd->catalog.registry,
				       config->queues[i].name))
			continue;
		needed += bus__queue_segment_size(&config->queues[i].settings);
	}
	ret = busd_segment_room(needed, &available);
	if (ret == -ENOSPC)
		busd_refuse("/dev/shm has %llu MiB free but the configuration "
			    "needs %llu MiB",
			    busd_mib_down(available), busd_mib_up(needed));
	else if (ret)
		busd_refuse("cannot see how much room /dev/shm has: %s",
			    strerror(-ret));
	return ret;
}

static bool busd_queue_attached(const struct busd_queue *queue)
{
	for (uint32_t i = 0; i < queue->geometry.attachment_count; i++)
		if (queue->owners[i])
			return true;
	return false;
}

/*
 * A configured queue that a previous busd left (adopt.h): the config's
 * owner, group and mode apply; settings that differ hold until the queue
 * is empty, since remaking it would lose its messages.
 */
static int busd_queue_reconcile(struct busd *busd,
				const struct busd_queue_config *config)
{
	struct busd_queue *queue =
		busd_registry_find(&busd->catalog.registry, config->name);
	uint64_t messages = bus__queue_messages(&queue->geometry);
	char detail[256];
	int ret;

	ret = busd_access_resolve(&config->access, &queue->access, detail,
				  sizeof(detail));
	if (ret) {
		busd_refuse("queue '%s': %s", config->name, detail);
		return ret;
	}
	busd_access_store_save(&busd->catalog);
	if (!memcmp(&queue->geometry.settings, &config->settings,
		    sizeof(config->settings)))
		return 0;
	if (messages || busd_queue_attached(queue)) {
		busd_warning(
			"queue '%s' holds %llu message%s and its settings "
			"differ from the configuration: it is used as it "
			"is until it is empty (then delete and create it, "
			"or restart busd)",
			config->name, (unsigned long long)messages,
			messages == 1 ? "" : "s");
		return 0;
	}
	busd_info("queue '%s' was empty: made again with the configured "
		  "settings",
		  config->name);
	busd_queue_delete(&busd->catalog, queue);
	ret = busd_queue_create(&busd->catalog, config->name,
				&config->settings, &config->access, detail,
				sizeof(detail));
	if (ret)
		busd_refuse("cannot create queue '%s': %s", config->name,
			    detail);
	return ret;
}

static int busd_create_queues(struct busd *busd,
			      const struct busd_config *config)
{
	const struct busd_queue_config *queue;
	char detail[256];
	int ret;

	for (unsigned int i = 0; i < config->queue_count; i++) {
		queue = &config->queues[i];
		if (busd_registry_find(&busd->catalog.registry, queue->name)) {
			ret = busd_queue_reconcile(busd, queue);
			if (ret)
				return ret;
			continue;
		}
		ret = busd_queue_create(&busd->catalog, queue->name,
					&queue->settings, &queue->access,
					detail, sizeof(detail));
		if (ret) {
			busd_refuse("cannot create queue '%s': %s",
				    queue->name, detail);
			return ret;
		}
	}
	return 0;
}

static int busd_listen(struct busd *busd, const struct busd_bus_config *bus)
{
	int fd = busd_control_listen(busd->socket_path, bus->socket_mode,
				     bus->socket_group);

	if (fd == -EPERM && bus->socket_group != BUSD_NO_GROUP) {
		busd_refuse("cannot give %s to socket_group %u: busd's user "
			    "must be root or a member of that group",
			    busd->socket_path,
			    (unsigned int)bus->socket_group);
		return fd;
	}
	if (fd < 0) {
		busd_refuse("cannot listen on %s: %s", busd->socket_path,
			    strerror(-fd));
		return fd;
	}
	busd->listen_fd = fd;
	return 0;
}

/* ---- the loop's callbacks: what its completions mean here ------------ */

static void busd_on_accept(void *context, int socket_fd)
{
	struct busd *busd = context;

	busd_client_accept(&busd->clients, socket_fd);
}

static void busd_on_receive(void *context, struct busd_client *client,
			    int result)
{
	struct busd *busd = context;

	busd_client_on_receive(&busd->clients, client, result);
}

static void busd_on_exit(void *context, struct busd_client *client, int result)
{
	struct busd *busd = context;

	busd_client_on_exit(&busd->clients, client, result);
}

static void busd_on_hello_deadline(void *context, int result)
{
	struct busd *busd = context;

	busd_hello_deadline_on_timeout(&busd->hello_deadline, result);
}

static uint64_t busd_tick_interval(void *context)
{
	struct busd *busd = context;

	return busd_dead_letter_interval(&busd->catalog.registry);
}

static void busd_on_tick(void *context)
{
	struct busd *busd = context;

	busd_dead_letter_tick(&busd->catalog.registry);
}

static void busd_on_reload(void *context)
{
	struct busd *busd = context;

	if (busd->reload)
		busd->reload(busd);
}

static void busd_cancel(void *context)
{
	struct busd *busd = context;

	busd_loop_cancel(&busd->loop, &busd->hello_deadline.op);
}

static bool busd_busy(void *context)
{
	struct busd *busd = context;

	return busd->clients.list.head || busd->hello_deadline.op.in_flight;
}

/* Hands each layer what it works on; nothing is opened yet. */
static void busd_wire(struct busd *busd)
{
	busd->events = (struct busd_loop_events){
		.context = busd,
		.accept = busd_on_accept,
		.receive = busd_on_receive,
		.exit = busd_on_exit,
		.hello_deadline = busd_on_hello_deadline,
		.tick_interval = busd_tick_interval,
		.tick = busd_on_tick,
		.reload = busd_on_reload,
		.cancel = busd_cancel,
		.busy = busd_busy,
	};
	busd->catalog.clients = &busd->clients.list;
	busd->handlers.catalog = &busd->catalog;
	busd->handlers.clients = &busd->clients.list;
	busd->handlers.hello_deadline = &busd->hello_deadline;
	busd->handlers.lock = &busd->stats_lock;
	busd->handlers.admin_group = &busd->admin_group;
	busd->handlers.started_wall = busd->started_wall;
	busd->handlers.started = busd->started;
	busd_clients_init(&busd->clients, &busd->loop, &busd->catalog,
			  &busd->admission, &busd->hello_deadline,
			  &busd->handlers);
}

int busd_start(struct busd *busd, const char *bus_name,
	       const struct busd_config *config)
{
	int ret;

	memset(busd, 0, sizeof(*busd));
	busd->catalog.bus_name = bus_name;
	busd->admin_group = config->bus.admin_group;
	busd->listen_fd = -1;
	busd->lock.fd = -1;
	busd->loop.signal_fd = -1;
	pthread_mutex_init(&busd->stats_lock.mutex, NULL);
	clock_gettime(CLOCK_REALTIME, &busd->started_wall);
	clock_gettime(CLOCK_MONOTONIC, &busd->started);
	busd_raise_fd_limit();
	busd_admission_init(&busd->admission, &config->bus.limits,
			    &busd->admin_group, &busd->stats_lock);
	busd_hello_deadline_init(&busd->hello_deadline,
				 config->bus.limits.hello_timeout_ms,
				 &busd->loop, &busd->admission);
	/* The first reading of the TSC rate measurement (clock.h). */
	bus__clock_now_ns(&busd->clock);
	busd_wire(busd);
	ret = busd_loop_init(&busd->loop);
	if (ret) {
		busd_refuse("cannot set up the io_uring event loop: %s",
			    strerror(-ret));
		return ret;
	}
	ret = busd_find_socket_path(busd);
	if (!ret)
		ret = busd_make_runtime_dir();
	if (!ret)
		ret = busd_take_lock(busd);
	if (ret)
		return ret;
	busd_remove_stale_socket(busd);
	busd->fresh = busd_bus_is_fresh(bus_name);
	/* Without it busd still works; only the shared copy is missing. */
	if (busd_error_log_open(bus_name, &busd->log_page))
		busd_warning("cannot keep an error log in /dev/shm");
	ret = busd_announce_open(busd->catalog.bus_name,
				 &busd->catalog.announce);
	if (ret)
		busd_refuse("cannot create the announcement page of bus "
			    "'%s' in /dev/shm: %s",
			    bus_name, strerror(-ret));
	if (!ret)
		ret = busd_routes_open(busd->catalog.bus_name, config,
				       &busd->routes);
	busd->handlers.routes = busd->routes;
	if (!ret)
		ret = busd_durable_start(&busd->catalog, config);
	if (!ret)
		ret = busd_topic_record_start(&busd->catalog, config);
	if (!ret)
		ret = busd_adopt_segments(&busd->catalog, &busd->clients);
	if (!ret)
		busd_dead_letter_recover(&busd->catalog.registry);
	if (!ret)
		ret = busd_check_room(busd, config);
	if (!ret)
		ret = busd_create_queues(busd, config);
	if (!ret)
		ret = busd_durable_store_restore(&busd->catalog, config);
	if (!ret)
		ret = busd_topics_start(&busd->catalog, config);
	if (!ret)
		ret = busd_topic_store_restore(&busd->catalog, config);
	/* The TSC rate clients start from (HELLO), known before any can
	 * connect: sleeps what is left of 20 ms since the first reading. */
	if (!ret && !busd_clock_measure(&busd->clock))
		busd_debug("no TSC rate to hand out (no usable TSC, or "
			   "BUS_CLOCK=monotonic): clients measure their own");
	if (!ret)
		ret = busd_listen(busd, &config->bus);
	if (!ret)
		ret = busd_metrics_start(&busd->catalog, &busd->admission,
					 &busd->stats_lock,
					 &config->bus.metrics,
					 &config->bus.dashboard,
					 &busd->metrics);
	busd->serving = ret == 0;
	if (!ret)
		busd_info("serving bus '%s' at %s with %u queue%s and %u "
			  "topic%s",
			  bus_name, busd->socket_path,
			  busd->catalog.registry.count,
			  busd->catalog.registry.count == 1 ? "" : "s",
			  busd->catalog.registry.topic_count,
			  busd->catalog.registry.topic_count == 1 ? "" : "s");
	return ret;
}

int busd_run(struct busd *busd, int (*reload)(struct busd *busd))
{
	busd->reload = reload;
	/* main sets it after busd_start(), with what a reload needs. */
	busd->handlers.config_path = busd->config_path;
	return busd_loop_run(&busd->loop, busd->listen_fd, &busd->events);
}

/* ---- stopping ----------------------------------------------------------- */

/*
 * A queue that still holds messages outlives a clean stop, and so does one
 * that clients are attached to: a producer may be between its loan and
 * its commit, and a message committed into an unlinked queue would be
 * lost.
 */
static bool busd_keeps(const struct busd *busd, const struct busd_queue *q)
{
	return !busd->discard_on_stop &&
	       (bus__queue_messages(&q->geometry) || busd_queue_attached(q));
}

/*
 * Kept queues stay as they are, attachments and all, for the next busd to
 * adopt (adopt.h); the others are deleted, so that clients that look see
 * CLOSED.
 */
/* Whether queue is the dead-letter queue of a queue that stays. */
static bool busd_needed_by_kept(const struct busd *busd,
				const struct busd_queue *queue,
				const bool *keep)
{
	const struct busd_registry *r = &busd->catalog.registry;

	for (unsigned int i = 0; i < r->count; i++)
		if (keep[i] &&
		    !strcmp(r->queues[i]->geometry.settings.dead_letter,
			    queue->name))
			return true;
	return false;
}

static void busd_stop_queues(struct busd *busd)
{
	struct busd_registry *r = &busd->catalog.registry;
	unsigned int kept = 0;
	bool *keep = calloc(r->count ? r->count : 1, sizeof(*keep));
	bool grew = true;

	/* Without memory to decide, everything is kept. */
	for (unsigned int i = 0; keep && i < r->count; i++)
		keep[i] = busd_keeps(busd, r->queues[i]);
	/* A kept queue's messages may yet move to its dead-letter queue:
	 * keep that one too, and so on down a chain. */
	while (keep && grew) {
		grew = false;
		for (unsigned int i = 0; i < r->count; i++) {
			if (keep[i] || busd->discard_on_stop ||
			    !busd_needed_by_kept(busd, r->queues[i], keep))
				continue;
			keep[i] = grew = true;
		}
	}
	for (unsigned int i = r->count; keep && i-- > 0;) {
		if (!keep[i])
			busd_queue_delete(&busd->catalog, r->queues[i]);
	}
	free(keep);
	/* The access file now lists the kept ones alone. */
	while (r->count) {
		struct busd_queue *queue = r->queues[r->count - 1];

		busd_info("kept queue '%s' (%llu message%s) for the next "
			  "busd",
			  queue->name,
			  (unsigned long long)bus__queue_messages(
				  &queue->geometry),
			  bus__queue_messages(&queue->geometry) == 1 ? ""
								     : "s");
		busd_registry_remove(r, queue);
		busd_segment_release(queue);
		kept++;
	}
	/* Without a successful start the file may be another busd's, or
	 * the next one's to read. */
	if (!kept && (busd->serving || busd->fresh))
		busd_access_store_remove(busd->catalog.bus_name);
}

/* A start that failed half way: every segment stays as it is, for the
 * next busd to adopt; only our mappings and fds go. */
static void busd_let_go(struct busd *busd)
{
	struct busd_registry *r = &busd->catalog.registry;

	while (r->topic_count) {
		struct busd_topic *topic = r->topics[r->topic_count - 1];

		busd_registry_remove_topic(r, topic);
		busd_topic_segment_release(topic);
	}
	while (r->count) {
		struct busd_queue *queue = r->queues[r->count - 1];

		busd_registry_remove(r, queue);
		busd_segment_release(queue);
	}
	if (busd->catalog.announce)
		munmap(busd->catalog.announce, BUS_ANNOUNCE_SIZE);
	busd->catalog.announce = NULL;
	busd_routes_release(busd->routes);
	busd->routes = NULL;
}

void busd_stop(struct busd *busd)
{
	/* A failed start of a fresh bus takes back all it made. */
	bool undo = !busd->serving && busd->fresh;

	/* No scrape may walk the registry while it is taken apart. */
	busd_metrics_stop(busd->metrics);
	busd->metrics = NULL;
	if (undo)
		busd->discard_on_stop = true;
	else if (!busd->serving)
		busd_let_go(busd);
	/* No new clients: the socket path goes first. */
	if (busd->listen_fd >= 0)
		unlink(busd->socket_path);
	/* Then the segments, so that blocked clients wake and see CLOSED. */
	busd_topics_stop(&busd->catalog);
	busd_announce_close(busd->catalog.bus_name, busd->catalog.announce);
	busd->catalog.announce = NULL;
	busd_routes_close(busd->catalog.bus_name, busd->routes);
	busd->routes = NULL;
	busd_stop_queues(busd);
	busd_topic_record_stop(&busd->catalog);
	busd_durable_stop(&busd->catalog);
	busd_registry_free(&busd->catalog.registry);
	busd_clients_drop_all(&busd->clients);
	busd_loop_drain(&busd->loop, &busd->events);
	if (busd->listen_fd >= 0)
		close(busd->listen_fd);
	busd->listen_fd = -1;
	busd_loop_exit(&busd->loop);
	busd_admission_exit(&busd->admission);
	pthread_mutex_destroy(&busd->stats_lock.mutex);
	/* A failed start leaves the log for whoever looks into why, unless
	 * the bus was fresh: then the reason went to stderr alone. */
	busd_error_log_close(busd->catalog.bus_name, busd->log_page,
			     busd->serving || undo);
	busd->log_page = NULL;
	busd_lock_release(&busd->lock);
}
