/* SPDX-License-Identifier: MIT */
/*
 * A minimal io_uring of raw system calls (no liburing in libbus): one
 * request at a time, for a waitset's file descriptor.  Internal.
 */
#ifndef BUS_URING_H
#define BUS_URING_H

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

struct bus__uring {
	int fd;
	void *rings; /* SQ and CQ rings: one mapping (IORING_FEAT_SINGLE_MMAP) */
	size_t rings_size;
	void *sqes;
	size_t sqes_size;
	_Atomic uint32_t *sq_tail;
	uint32_t *sq_array;
	uint32_t sq_mask;
	_Atomic uint32_t *cq_head;
	_Atomic uint32_t *cq_tail;
	uint32_t cq_mask;
	void *cqes;
};

/* Sets up a small ring that supports IORING_OP_FUTEX_WAITV (Linux 6.7):
 * 0, -ENOSYS when the kernel lacks it (or io_uring), or a negative errno. */
int bus__uring_open(struct bus__uring *ring);
void bus__uring_close(struct bus__uring *ring);

/* Submits one request: opcode, addr, len, user_data. */
int bus__uring_submit(struct bus__uring *ring, uint8_t opcode, uint64_t addr,
		      uint32_t len, uint64_t user_data);

/* Takes one completion if any: 1 and its user_data and res, or 0. */
int bus__uring_reap(struct bus__uring *ring, uint64_t *user_data,
		    int32_t *res);

/* Waits for at least one completion (no timeout). */
int bus__uring_wait(struct bus__uring *ring);

#define BUS__IORING_OP_FUTEX_WAITV 53

#endif /* BUS_URING_H */
