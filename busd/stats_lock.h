/* SPDX-License-Identifier: MIT */
/*
 * The lock between the event loop and the metrics thread (metrics.h).
 *
 * The thread reads the registry's segments and admission's counts while
 * the loop changes them.  With no metrics endpoint there is no thread, and
 * the loop takes no lock at all: shared is set before the thread starts
 * and cleared after it is joined, both on the loop's thread, so the loop
 * reads it without a race.
 */
#ifndef BUSD_STATS_LOCK_H
#define BUSD_STATS_LOCK_H

#include <pthread.h>
#include <stdbool.h>

struct busd_stats_lock {
	pthread_mutex_t mutex;
	bool shared; /* a metrics thread runs */
};

static inline void busd_stats_lock(struct busd_stats_lock *lock)
{
	if (lock->shared)
		pthread_mutex_lock(&lock->mutex);
}

static inline void busd_stats_unlock(struct busd_stats_lock *lock)
{
	if (lock->shared)
		pthread_mutex_unlock(&lock->mutex);
}

#endif /* BUSD_STATS_LOCK_H */
