/* SPDX-License-Identifier: MIT */
/*
 * Removing a bus whose busd died for good: every segment, the
 * announcement page, and busd's files in the runtime directory.  A clean
 * stop keeps queues that still hold messages for the next busd; this is
 * the way to say there will be none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "announce.h"
#include "bus/bus.h"
#include "error_log.h"
#include "names.h"
#include "route_table.h"
#include "segment.h"

/*
 * Takes the bus's lock as busd does (busd/lockfile.c): -EBUSY while a
 * busd holds it.  Held, no busd can start on the bus while we remove it.
 */
static int lock_bus(const char *bus_name, char *path, size_t size)
{
	struct stat held, named;
	int fd;

	if (bus__lock_path(path, size, bus_name) < 0)
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 8; attempt++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		/* No runtime directory: no busd of this user ran since boot
		 * (or it was removed); go on without the lock. */
		if (fd < 0)
			return errno == ENOENT ? -ENOENT : -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int error = errno;

			close(fd);
			return error == EWOULDBLOCK ? -EBUSY : -error;
		}
		/* A busd that stopped unlinked the file before it let go:
		 * our inode must still be the one the path names. */
		if (!fstat(fd, &held) && !stat(path, &named) &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

static int remove_segments(const char *bus_name)
{
	char prefix[BUS_NAME_MAX + 16], shm_name[NAME_MAX + 2];
	struct dirent *entry;
	size_t length;
	int removed = 0;
	DIR *dir;

	/* "shmbus.BUS:" cannot match another bus: ':' is in no bus name. */
	length = (size_t)snprintf(prefix, sizeof(prefix),
				  "shmbus.%s:", bus_name);
	dir = opendir("/dev/shm");
	if (!dir)
		return -errno;
	while ((entry = readdir(dir))) {
		if (strncmp(entry->d_name, prefix, length))
			continue;
		snprintf(shm_name, sizeof(shm_name), "/%s", entry->d_name);
		if (shm_unlink(shm_name) == 0)
			removed++;
	}
	closedir(dir);
	return removed;
}

static void remove_runtime_file(const char *bus_name, const char *suffix)
{
	char dir[PATH_MAX], path[PATH_MAX + BUS_NAME_MAX + 16];

	if (bus_runtime_dir(dir, sizeof(dir)) < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s%s", dir, bus_name, suffix);
	unlink(path);
}

int bus_remove(const char *bus_name)
{
	char lock_path[PATH_MAX], announce[NAME_MAX + 2];
	int fd, removed;

	if (bus_name_check(bus_name))
		return -EINVAL;
	fd = lock_bus(bus_name, lock_path, sizeof(lock_path));
	if (fd < 0 && fd != -ENOENT)
		return fd;
	removed = remove_segments(bus_name);
	if (bus__announce_name(announce, sizeof(announce), bus_name) >= 0)
		shm_unlink(announce);
	if (bus__route_table_name(announce, sizeof(announce), bus_name) >= 0)
		shm_unlink(announce);
	if (bus__log_name(announce, sizeof(announce), bus_name) >= 0)
		shm_unlink(announce);
	remove_runtime_file(bus_name, ".sock");
	remove_runtime_file(bus_name, ".access");
	if (fd >= 0) {
		/* Unlinked before it is let go, as busd does. */
		unlink(lock_path);
		close(fd);
	}
	return removed;
}
