/* SPDX-License-Identifier: MIT */
/*
 * Shared (not private) futex wrappers: the words live in memory mapped by
 * several processes, so FUTEX_PRIVATE_FLAG must never be used.
 */
#ifndef BUS_FUTEX_H
#define BUS_FUTEX_H

#include <stdint.h>
#include <time.h>

/*
 * Sleeps while *word == expected, until woken or the absolute
 * CLOCK_MONOTONIC deadline (NULL: none).  0 when woken or the word had
 * changed, -ETIMEDOUT, -EINTR.
 */
int bus__futex_wait(_Atomic uint32_t *word, uint32_t expected,
		    const struct timespec *deadline);

/* Wakes every sleeper on word. */
void bus__futex_wake_all(_Atomic uint32_t *word);

#endif /* BUS_FUTEX_H */
