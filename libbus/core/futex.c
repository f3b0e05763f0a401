/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "futex.h"

int bus__futex_wait(_Atomic uint32_t *word, uint32_t expected,
		    const struct timespec *deadline)
{
	/* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC
	 * (no FUTEX_CLOCK_REALTIME), so a restart never stretches it. */
	long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET,
			  expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);

	if (rc == 0)
		return 0;
	if (errno == EAGAIN)
		return 0;
	if (errno == ETIMEDOUT)
		return -ETIMEDOUT;
	if (errno == EINTR)
		return -EINTR;
	return -errno;
}

void bus__futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL,
		0);
}
