/* SPDX-License-Identifier: MIT */
/* Starting and stopping the daemon, and the queues it owns. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "busd.h"
#include "control_socket.h"
#include "log.h"
#include "segments.h"
#include "topics.h"

#define BUSD_MIB (UINT64_C(1) << 20)

static unsigned long long busd_mib_down(uint64_t bytes)
{
	return (unsigned long long)(bytes / BUSD_MIB);
}

static unsigned long long busd_mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + BUSD_MIB - 1) / BUSD_MIB);
}

/* ---- queues ------------------------------------------------------------- */

int busd_queue_create(struct busd *busd, const char *name,
		      const struct bus_queue_settings *settings,
		      const struct bus_access *access, char *detail,
		      size_t detail_size)
{
	struct busd_access resolved;
	struct busd_queue *queue;
	uint64_t needed, available;
	int ret;

	ret = bus__queue_settings_check(settings, detail, detail_size);
	if (!ret)
		ret = busd_access_resolve(access, &resolved, detail,
					  detail_size);
	if (ret)
		return ret;
	needed = bus__queue_segment_size(settings);
	if (busd_segment_room(needed, &available) == -ENOSPC) {
		snprintf(detail, detail_size,
			 "/dev/shm has %llu MiB free but queue '%s' needs "
			 "%llu MiB", busd_mib_down(available), name,
			 busd_mib_up(needed));
		return -ENOSPC;
	}
	ret = busd_segment_create(busd->bus_name, name, settings, &queue,
				  detail, detail_size);
	if (ret)
		return ret;
	queue->access = resolved;
	ret = busd_registry_add(&busd->registry, queue);
	if (ret) {
		busd_segment_destroy(busd->bus_name, queue);
		snprintf(detail, detail_size, "out of memory");
		return ret;
	}
	busd_debug("queue '%s': %s, %u slots of %u bytes, %zu bytes of "
		   "shared memory; owner %u, group %u, mode %04o", name,
		   settings->type == BUS_QUEUE_SPSC ? "spsc" : "mpmc",
		   settings->slots, settings->max_message,
		   queue->geometry.size, (unsigned int)resolved.owner,
		   (unsigned int)resolved.group, (unsigned int)resolved.mode);
	return 0;
}

/*
 * Nobody detaches here: the queue is gone for good, so there is nothing to
 * redeliver, and a client still working in the segment must not see busd
 * rewrite cells under it.  Its own mapping outlives ours.
 */
void busd_queue_delete(struct busd *busd, struct busd_queue *queue)
{
	busd_registry_remove(&busd->registry, queue);
	busd_segment_destroy(busd->bus_name, queue);
	/* bus_list indices moved: wildcard subscribers list again. */
	busd_announce_change(busd->announce);
}

/* ---- starting ----------------------------------------------------------- */

/* Each client costs two fds (socket and pidfd): take what we may. */
static void busd_raise_fd_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit))
		return;
	if (limit.rlim_cur >= limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	setrlimit(RLIMIT_NOFILE, &limit);
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
		busd_refuse("the runtime directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

static int busd_find_socket_path(struct busd *busd)
{
	int ret = bus__socket_path(busd->socket_path,
				   sizeof(busd->socket_path), busd->bus_name);

	if (ret < 0)
		busd_refuse("the socket path of bus '%s' is longer than %zu "
			    "bytes; point BUS_RUNTIME_DIR at a shorter "
			    "directory", busd->bus_name,
			    sizeof(busd->socket_path) - 1);
	return ret < 0 ? ret : 0;
}

static int busd_take_lock(struct busd *busd)
{
	pid_t holder;
	int ret = busd_lock_acquire(&busd->lock, busd->bus_name, &holder);

	if (ret == -EWOULDBLOCK && holder > 0)
		busd_refuse("bus '%s' is already running (pid %d)",
			    busd->bus_name, (int)holder);
	else if (ret == -EWOULDBLOCK)
		busd_refuse("bus '%s' is already running", busd->bus_name);
	else if (ret)
		busd_refuse("cannot take the lock file %s: %s",
			    busd->lock.path, strerror(-ret));
	return ret;
}

/* With the lock held, nothing of this bus can belong to a live busd. */
static void busd_remove_leftovers(struct busd *busd)
{
	int removed;

	if (unlink(busd->socket_path) == 0)
		busd_debug("removed the stale socket %s", busd->socket_path);
	removed = busd_segment_remove_stale(busd->bus_name);
	if (removed > 0)
		busd_info("removed %d segment%s left by a previous busd",
			  removed, removed == 1 ? "" : "s");
	else if (removed < 0)
		busd_warning("cannot look for stale segments in /dev/shm: %s",
			     strerror(-removed));
}

static int busd_check_room(const struct busd_config *config)
{
	uint64_t needed = 0, available;
	int ret;

	for (unsigned int i = 0; i < config->queue_count; i++)
		needed += bus__queue_segment_size(&config->queues[i].settings);
	ret = busd_segment_room(needed, &available);
	if (ret == -ENOSPC)
		busd_refuse("/dev/shm has %llu MiB free but the configuration "
			    "needs %llu MiB", busd_mib_down(available),
			    busd_mib_up(needed));
	else if (ret)
		busd_refuse("cannot see how much room /dev/shm has: %s",
			    strerror(-ret));
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
		ret = busd_queue_create(busd, queue->name, &queue->settings,
					&queue->access, detail,
					sizeof(detail));
		if (ret) {
			busd_refuse("cannot create queue '%s': %s", queue->name,
				    detail);
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

int busd_start(struct busd *busd, const char *bus_name,
	       const struct busd_config *config)
{
	int ret;

	memset(busd, 0, sizeof(*busd));
	busd->bus_name = bus_name;
	busd->admin_group = config->bus.admin_group;
	busd->listen_fd = -1;
	busd->lock.fd = -1;
	busd->loop.signal_fd = -1;
	busd_raise_fd_limit();
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
	busd_remove_leftovers(busd);
	ret = busd_announce_open(busd->bus_name, &busd->announce);
	if (ret)
		busd_refuse("cannot create the announcement page of bus "
			    "'%s' in /dev/shm: %s", bus_name, strerror(-ret));
	if (!ret)
		ret = busd_check_room(config);
	if (!ret)
		ret = busd_create_queues(busd, config);
	if (!ret)
		ret = busd_topics_start(busd, config);
	if (!ret)
		ret = busd_listen(busd, &config->bus);
	if (!ret)
		busd_info("serving bus '%s' at %s with %u queue%s and %u "
			  "topic%s", bus_name, busd->socket_path,
			  busd->registry.count,
			  busd->registry.count == 1 ? "" : "s",
			  busd->registry.topic_count,
			  busd->registry.topic_count == 1 ? "" : "s");
	return ret;
}

/* ---- stopping ----------------------------------------------------------- */

void busd_stop(struct busd *busd)
{
	/* No new clients: the socket path goes first. */
	if (busd->listen_fd >= 0)
		unlink(busd->socket_path);
	/* Then the segments, so that blocked clients wake and see CLOSED. */
	busd_topics_stop(busd);
	busd_announce_close(busd->bus_name, busd->announce);
	busd->announce = NULL;
	while (busd->registry.count)
		busd_queue_delete(busd,
				  busd->registry.queues[busd->registry.count -
							1]);
	busd_registry_free(&busd->registry);
	busd_clients_drop_all(busd);
	busd_loop_drain(busd);
	if (busd->listen_fd >= 0)
		close(busd->listen_fd);
	busd->listen_fd = -1;
	busd_loop_exit(&busd->loop);
	busd_lock_release(&busd->lock);
}
