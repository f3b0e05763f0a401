/* SPDX-License-Identifier: MIT */
/*
 * The lock file that tells a live busd from a dead one: RUNTIME_DIR/BUS.lock,
 * held with flock() for as long as the daemon runs.  The kernel drops the
 * lock when the holder dies, however it dies, so leftovers of a crashed busd
 * never block a new start.  The file holds the holder's pid, for messages.
 */
#ifndef BUSD_LOCKFILE_H
#define BUSD_LOCKFILE_H

#include <limits.h>
#include <sys/types.h>

struct busd_lock {
	int fd;
	char path[PATH_MAX];
};

/*
 * Takes the lock of bus_name and writes our pid into it.  Returns 0,
 * -EWOULDBLOCK when another process holds it (*holder gets its pid, or 0
 * if unknown), or another negative errno.
 */
int busd_lock_acquire(struct busd_lock *lock, const char *bus_name,
		      pid_t *holder);

/* Removes the lock file and drops the lock. */
void busd_lock_release(struct busd_lock *lock);

#endif /* BUSD_LOCKFILE_H */
