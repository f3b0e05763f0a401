/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomics.h"
#include "uring.h"

#define ENTRIES 4

static int enter(int fd, unsigned int submit, unsigned int complete,
		 unsigned int flags)
{
	long ret = syscall(SYS_io_uring_enter, fd, submit, complete, flags,
			   NULL, 0);

	return ret < 0 ? -errno : (int)ret;
}

/* 1 when the kernel knows opcode. */
static int supported(int fd, uint8_t opcode)
{
	size_t size = sizeof(struct io_uring_probe) +
		      256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *probe = calloc(1, size);
	int ok = 0;

	if (!probe)
		return 0;
	if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe,
		    256) == 0 &&
	    probe->last_op >= opcode)
		ok = !!(probe->ops[opcode].flags & IO_URING_OP_SUPPORTED);
	free(probe);
	return ok;
}

int bus__uring_open(struct bus__uring *r)
{
	struct io_uring_params p;
	uint8_t *rings;
	size_t sq_size, cq_size;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(SYS_io_uring_setup, ENTRIES, &p);
	if (r->fd < 0)
		return errno == EPERM || errno == ENOSYS ? -ENOSYS : -errno;
	ret = -ENOSYS;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP) ||
	    !supported(r->fd, BUS__IORING_OP_FUTEX_WAITV))
		goto fail;
	sq_size = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
	cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->rings_size = sq_size > cq_size ? sq_size : cq_size;
	r->rings = mmap(NULL, r->rings_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->rings == MAP_FAILED) {
		r->rings = NULL;
		ret = -errno;
		goto fail;
	}
	r->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		r->sqes = NULL;
		ret = -errno;
		goto fail;
	}
	rings = r->rings;
	r->sq_tail = (_Atomic uint32_t *)(rings + p.sq_off.tail);
	r->sq_mask = *(uint32_t *)(rings + p.sq_off.ring_mask);
	r->sq_array = (uint32_t *)(rings + p.sq_off.array);
	r->cq_head = (_Atomic uint32_t *)(rings + p.cq_off.head);
	r->cq_tail = (_Atomic uint32_t *)(rings + p.cq_off.tail);
	r->cq_mask = *(uint32_t *)(rings + p.cq_off.ring_mask);
	r->cqes = rings + p.cq_off.cqes;
	return 0;
fail:
	bus__uring_close(r);
	return ret;
}

void bus__uring_close(struct bus__uring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_size);
	if (r->rings)
		munmap(r->rings, r->rings_size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int bus__uring_submit(struct bus__uring *r, uint8_t opcode, uint64_t addr,
		      uint32_t len, uint64_t user_data)
{
	/* Only we write the SQ tail: relaxed is enough to read it. */
	uint32_t tail = bus__load_relaxed(r->sq_tail);
	uint32_t index = tail & r->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)r->sqes + index;
	int ret;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->addr = addr;
	sqe->len = len;
	sqe->user_data = user_data;
	r->sq_array[index] = index;
	/* Release: the kernel reads the entry after it sees the tail. */
	bus__store_release(r->sq_tail, tail + 1);
	ret = enter(r->fd, 1, 0, 0);
	return ret == 1 ? 0 : ret < 0 ? ret : -EAGAIN;
}

int bus__uring_reap(struct bus__uring *r, uint64_t *user_data, int32_t *res)
{
	uint32_t head = bus__load_relaxed(r->cq_head);
	const struct io_uring_cqe *cqe;

	/* Acquire: the entry is written before the kernel's tail. */
	if (head == bus__load_acquire(r->cq_tail))
		return 0;
	cqe = (const struct io_uring_cqe *)r->cqes + (head & r->cq_mask);
	*user_data = cqe->user_data;
	*res = cqe->res;
	/* Release: we are done with the entry. */
	bus__store_release(r->cq_head, head + 1);
	return 1;
}

int bus__uring_wait(struct bus__uring *r)
{
	int ret = enter(r->fd, 0, 1, IORING_ENTER_GETEVENTS);

	return ret < 0 ? ret : 0;
}
