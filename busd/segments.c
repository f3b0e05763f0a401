/* SPDX-License-Identifier: MIT */
/* Shared-memory objects of the queues. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "detail.h"
#include "log.h"
#include "names.h"
#include "segment_lifecycle.h"
#include "segments.h"

/* Where glibc's shm_open() keeps its objects. */
#define BUSD_SHM_DIR "/dev/shm"

/*
 * ftruncate() on tmpfs reserves nothing: a segment that does not fit would
 * only fail later, as SIGBUS in whichever process first touches a missing
 * page.  fallocate() takes the pages now, or says ENOSPC now.
 */
static int busd_segment_reserve(int fd, size_t size)
{
	if (ftruncate(fd, (off_t)size))
		return -errno;
	if (fallocate(fd, 0, 0, (off_t)size) && errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

static int busd_segment_open(const char *shm_name, const char *name,
			     char *detail, size_t detail_size)
{
	int fd = shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			  0600);

	if (fd >= 0)
		return fd;
	if (errno == EEXIST)
		return bus__detail(detail, detail_size, -EEXIST,
				   "shared-memory object %s of '%s' "
				   "already exists",
				   shm_name, name);
	return bus__detail(detail, detail_size, -errno,
			   "cannot create shared-memory object %s: %s",
			   shm_name, strerror(errno));
}

/*
 * The shared-memory object of a new queue or topic (kind), size bytes
 * reserved and mapped at *base, its fd in *fd; or a negative errno with a
 * sentence, and nothing left behind.
 */
static int busd_segment_make(const char *bus_name, const char *name,
			     const char *kind, size_t size, int *fd,
			     void **base, char *detail, size_t detail_size)
{
	char shm_name[2 * BUS_NAME_MAX + 16];
	int ret;

	ret = bus__shm_name(shm_name, sizeof(shm_name), bus_name, name);
	if (ret < 0)
		return bus__detail(detail, detail_size, ret,
				   "'%s' is not a valid %s name", name, kind);
	*fd = busd_segment_open(shm_name, name, detail, detail_size);
	if (*fd < 0)
		return *fd;
	ret = busd_segment_reserve(*fd, size);
	if (ret) {
		bus__detail(detail, detail_size, ret,
			    "cannot reserve %zu bytes in /dev/shm for "
			    "%s '%s': %s",
			    size, kind, name, strerror(-ret));
		goto fail;
	}
	*base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*base != MAP_FAILED)
		return 0;
	ret = bus__detail(detail, detail_size, -errno,
			  "cannot map the segment of %s '%s': %s", kind, name,
			  strerror(errno));
fail:
	close(*fd);
	shm_unlink(shm_name);
	return ret;
}

/* Unmaps, closes and unlinks a segment; warns when it cannot unlink. */
static void busd_segment_unmake(const char *bus_name, const char *name, int fd,
				void *base, size_t size)
{
	char shm_name[2 * BUS_NAME_MAX + 16];

	if (bus__shm_name(shm_name, sizeof(shm_name), bus_name, name) >= 0 &&
	    shm_unlink(shm_name))
		busd_warning("cannot unlink %s: %s", shm_name,
			     strerror(errno));
	munmap(base, size);
	close(fd);
}

int busd_segment_create(const char *bus_name, const char *name,
			const struct bus_queue_settings *settings,
			struct busd_queue **out, char *detail,
			size_t detail_size)
{
	size_t size = bus__queue_segment_size(settings);
	struct bus__queue_geometry geometry;
	void *base;
	int fd, ret;

	ret = busd_segment_make(bus_name, name, "queue", size, &fd, &base,
				detail, detail_size);
	if (ret)
		return ret;
	busd_queue_segment_init(base, size, bus_name, name, settings);
	ret = bus__queue_segment_validate(base, size, &geometry, detail,
					  detail_size);
	if (!ret && !(*out = busd_queue_new(name, fd, &geometry)))
		ret = bus__detail(detail, detail_size, -ENOMEM,
				  "out of memory");
	if (ret)
		busd_segment_unmake(bus_name, name, fd, base, size);
	return ret;
}

void busd_segment_destroy(const char *bus_name, struct busd_queue *queue)
{
	busd_queue_close_segment(&queue->geometry);
	busd_segment_unmake(bus_name, queue->name, queue->fd,
			    queue->geometry.base, queue->geometry.size);
	busd_queue_free(queue);
}

void busd_segment_release(struct busd_queue *queue)
{
	munmap(queue->geometry.base, queue->geometry.size);
	close(queue->fd);
	busd_queue_free(queue);
}

/* ---- topics --------------------------------------------------------------- */

void busd_topic_segment_release(struct busd_topic *topic)
{
	munmap(topic->geometry.base, topic->geometry.size);
	close(topic->fd);
	busd_topic_free(topic);
}

int busd_topic_segment_create(const char *bus_name, const char *name,
			      const struct bus_topic_settings *settings,
			      struct busd_topic **out, char *detail,
			      size_t detail_size)
{
	size_t size = bus__topic_segment_size(settings);
	struct bus__topic_geometry geometry;
	void *base;
	int fd, ret;

	ret = busd_segment_make(bus_name, name, "topic", size, &fd, &base,
				detail, detail_size);
	if (ret)
		return ret;
	busd_topic_segment_init(base, size, bus_name, name, settings);
	ret = bus__topic_segment_validate(base, size, &geometry, detail,
					  detail_size);
	if (!ret && !(*out = busd_topic_new(name, fd, &geometry)))
		ret = bus__detail(detail, detail_size, -ENOMEM,
				  "out of memory");
	if (ret)
		busd_segment_unmake(bus_name, name, fd, base, size);
	return ret;
}

void busd_topic_segment_destroy(const char *bus_name, struct busd_topic *topic)
{
	busd_topic_close_segment(&topic->geometry);
	busd_segment_unmake(bus_name, topic->name, topic->fd,
			    topic->geometry.base, topic->geometry.size);
	busd_topic_free(topic);
}

int busd_segment_room(uint64_t needed, uint64_t *available)
{
	struct statvfs fs;

	if (statvfs(BUSD_SHM_DIR, &fs))
		return -errno;
	*available = (uint64_t)fs.f_bavail * fs.f_frsize;
	return needed <= *available ? 0 : -ENOSPC;
}

int busd_segment_room_for(uint64_t needed, const char *kind, const char *name,
			  char *detail, size_t detail_size)
{
	uint64_t available = 0;

	if (busd_segment_room(needed, &available) != -ENOSPC)
		return 0;
	snprintf(detail, detail_size,
		 "/dev/shm has %llu MiB free but %s '%s' needs %llu MiB",
		 busd_mib_down(available), kind, name, busd_mib_up(needed));
	return -ENOSPC;
}
