/* SPDX-License-Identifier: MIT */
/* The flock()ed lock file of a bus. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"
#include "names.h"
#include "segment.h"

/* A few rounds are plenty: each lost race means another busd exited. */
#define BUSD_LOCK_ATTEMPTS 8

static pid_t busd_lock_read_pid(int fd)
{
	char text[32];
	ssize_t length = pread(fd, text, sizeof(text) - 1, 0);

	if (length <= 0)
		return 0;
	text[length] = '\0';
	return (pid_t)strtol(text, NULL, 10);
}

static int busd_lock_write_pid(int fd)
{
	char text[32];
	int length = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) || pwrite(fd, text, (size_t)length, 0) != length)
		return -errno;
	return 0;
}

/*
 * The holder unlinks the file before it lets go of the lock.  A process
 * that opened the file before the unlink may then win the lock on an inode
 * nobody else will ever look at; it must see that the path no longer leads
 * to its inode, and start over.
 */
static int busd_lock_is_current(int fd, const char *path)
{
	struct stat held, named;

	if (fstat(fd, &held))
		return -errno;
	if (stat(path, &named))
		return errno == ENOENT ? 0 : -errno;
	return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

/* One attempt: 1 if locked, 0 to try again, or a negative errno. */
static int busd_lock_try(struct busd_lock *lock, pid_t *holder)
{
	int ret;

	lock->fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock->fd < 0)
		return -errno;
	if (flock(lock->fd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		*holder = busd_lock_read_pid(lock->fd);
		goto fail;
	}
	ret = busd_lock_is_current(lock->fd, lock->path);
	if (ret > 0)
		return 1;
fail:
	close(lock->fd);
	lock->fd = -1;
	return ret;
}

int busd_lock_acquire(struct busd_lock *lock, const char *bus_name,
		      pid_t *holder)
{
	int ret;

	lock->fd = -1;
	*holder = 0;
	ret = bus__lock_path(lock->path, sizeof(lock->path), bus_name);
	if (ret < 0)
		return ret;
	for (int i = 0; i < BUSD_LOCK_ATTEMPTS; i++) {
		ret = busd_lock_try(lock, holder);
		if (ret > 0) {
			ret = busd_lock_write_pid(lock->fd);
			if (ret)
				busd_lock_release(lock);
			return ret;
		}
		if (ret < 0)
			return ret;
	}
	return -EWOULDBLOCK;
}

void busd_lock_release(struct busd_lock *lock)
{
	if (lock->fd < 0)
		return;
	unlink(lock->path);
	close(lock->fd);
	lock->fd = -1;
}
