/* SPDX-License-Identifier: MIT */
/* busd's io_uring event loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* Enough for every client's recv and poll between two turns of the loop;
 * a fuller queue is submitted early (busd_loop_sqe). */
#define BUSD_RING_ENTRIES 256

/* How long to wait before accepting again after running out of fds. */
#define BUSD_ACCEPT_PAUSE_NS 100000000

/* ---- set-up ------------------------------------------------------------- */

static int busd_loop_signals(struct busd_loop *loop)
{
	sigset_t set;

	/* A daemon keeps the stderr it was started with; if that was a pipe
	 * whose reader has gone, a log line must fail, not kill busd. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Unblocked, SIGHUP's default action would kill busd and leave its
	 * socket, lock and segments behind: it asks for a reload instead. */
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	loop->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return loop->signal_fd < 0 ? -errno : 0;
}

int busd_loop_init(struct busd_loop *loop)
{
	int ret;

	memset(loop, 0, sizeof(*loop));
	loop->signal_fd = -1;
	loop->accept_op.kind = BUSD_OP_ACCEPT;
	loop->pause_op.kind = BUSD_OP_PAUSE;
	loop->signal_op.kind = BUSD_OP_SIGNAL;
	loop->tick_op.kind = BUSD_OP_TICK;
	loop->pause.tv_nsec = BUSD_ACCEPT_PAUSE_NS;
	ret = busd_loop_signals(loop);
	if (ret)
		return ret;
	ret = io_uring_queue_init(BUSD_RING_ENTRIES, &loop->ring, 0);
	if (ret)
		return ret;
	loop->ring_ready = true;
	return 0;
}

void busd_loop_exit(struct busd_loop *loop)
{
	if (loop->ring_ready)
		io_uring_queue_exit(&loop->ring);
	loop->ring_ready = false;
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	loop->signal_fd = -1;
}

/* ---- queueing requests -------------------------------------------------- */

/* A free submission entry; a full queue is submitted to make room. */
static struct io_uring_sqe *busd_loop_sqe(struct busd_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	if (!sqe && io_uring_submit(&loop->ring) >= 0)
		sqe = io_uring_get_sqe(&loop->ring);
	return sqe;
}

static void busd_loop_track(struct io_uring_sqe *sqe, struct busd_op *op)
{
	io_uring_sqe_set_data(sqe, op);
	op->in_flight = true;
}

int busd_loop_receive(struct busd_loop *loop, struct busd_op *op, int fd,
		      void *buf, size_t length)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv(sqe, fd, buf, length, 0);
	busd_loop_track(sqe, op);
	return 0;
}

int busd_loop_poll(struct busd_loop *loop, struct busd_op *op, int fd)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	busd_loop_track(sqe, op);
	return 0;
}

/* The op still completes (-ECANCELED, or its result if it won the race). */
int busd_loop_cancel(struct busd_loop *loop, struct busd_op *op)
{
	struct io_uring_sqe *sqe;

	if (!op->in_flight)
		return 0;
	sqe = busd_loop_sqe(loop);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	io_uring_sqe_set_data(sqe, NULL);
	return 0;
}

int busd_loop_timeout_at(struct busd_loop *loop, struct busd_op *op,
			 struct __kernel_timespec *when)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_timeout(sqe, when, 0, IORING_TIMEOUT_ABS);
	busd_loop_track(sqe, op);
	return 0;
}

static int busd_loop_accept(struct busd_loop *loop)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_accept(sqe, loop->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	busd_loop_track(sqe, &loop->accept_op);
	return 0;
}

static int busd_loop_pause(struct busd_loop *loop)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_timeout(sqe, &loop->pause, 0, 0);
	busd_loop_track(sqe, &loop->pause_op);
	return 0;
}

/* Arms the tick timer if some queue needs it and it is not armed. */
static void busd_loop_arm_tick(struct busd_loop *loop)
{
	uint64_t interval = loop->events->tick_interval(loop->events->context);
	struct io_uring_sqe *sqe;

	if (!interval || loop->tick_op.in_flight || loop->stop)
		return;
	sqe = busd_loop_sqe(loop);
	if (!sqe)
		return; /* the next turn tries again */
	loop->tick.tv_sec = (long long)(interval / 1000000000u);
	loop->tick.tv_nsec = (long long)(interval % 1000000000u);
	io_uring_prep_timeout(sqe, &loop->tick, 0, 0);
	busd_loop_track(sqe, &loop->tick_op);
}

static int busd_loop_read_signal(struct busd_loop *loop)
{
	struct io_uring_sqe *sqe = busd_loop_sqe(loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, loop->signal_fd, &loop->signal,
			   sizeof(loop->signal), 0);
	busd_loop_track(sqe, &loop->signal_op);
	return 0;
}

/* ---- completions -------------------------------------------------------- */

static void busd_loop_on_accept(struct busd_loop *loop, int result)
{
	if (loop->stop) {
		if (result >= 0)
			close(result);
		return;
	}
	if (result >= 0) {
		loop->events->accept(loop->events->context, result);
	} else if (result == -EMFILE || result == -ENFILE ||
		   result == -ENOBUFS || result == -ENOMEM) {
		/* Accepting again at once would spin: give clients a moment
		 * to go away. */
		busd_warning("cannot accept a client: %s", strerror(-result));
		if (busd_loop_pause(loop) == 0)
			return;
	} else if (result != -ECONNABORTED && result != -EINTR) {
		busd_warning("cannot accept a client: %s", strerror(-result));
	}
	if (busd_loop_accept(loop))
		busd_error("cannot queue an accept request");
}

static void busd_loop_on_pause(struct busd_loop *loop)
{
	if (!loop->stop && busd_loop_accept(loop))
		busd_error("cannot queue an accept request");
}

static void busd_loop_on_signal(struct busd_loop *loop, int result)
{
	if (result == (int)sizeof(loop->signal) &&
	    loop->signal.ssi_signo == SIGHUP) {
		busd_info("reloading on SIGHUP (from pid %u)",
			  (unsigned int)loop->signal.ssi_pid);
		loop->events->reload(loop->events->context);
		if (busd_loop_read_signal(loop)) {
			busd_error("cannot queue a signalfd read; stopping");
			loop->stop = true;
		}
		return;
	}
	if (result == (int)sizeof(loop->signal)) {
		busd_info("stopping on SIG%s",
			  sigabbrev_np((int)loop->signal.ssi_signo));
		loop->stop = true;
		return;
	}
	busd_error("cannot read the signalfd (%s); stopping",
		   result < 0 ? strerror(-result) : "short read");
	loop->stop = true;
}

static void busd_loop_dispatch(struct busd_loop *loop, struct busd_op *op,
			       int result)
{
	if (!op)
		return; /* a cancel request's own completion */
	op->in_flight = false;
	switch (op->kind) {
	case BUSD_OP_ACCEPT:
		busd_loop_on_accept(loop, result);
		break;
	case BUSD_OP_PAUSE:
		busd_loop_on_pause(loop);
		break;
	case BUSD_OP_SIGNAL:
		busd_loop_on_signal(loop, result);
		break;
	case BUSD_OP_RECEIVE:
		loop->events->receive(loop->events->context, op->client,
				      result);
		break;
	case BUSD_OP_EXIT:
		loop->events->exit(loop->events->context, op->client, result);
		break;
	case BUSD_OP_TICK:
		if (!loop->stop)
			loop->events->tick(loop->events->context);
		break;
	case BUSD_OP_HELLO_DEADLINE:
		loop->events->hello_deadline(loop->events->context, result);
		break;
	}
}

/*
 * Handles every completion there is.  A handler may free a client, but
 * never one with a request still in the ring, so no later completion of
 * this batch can point at freed memory.
 */
static void busd_loop_reap(struct busd_loop *loop)
{
	struct io_uring *ring = &loop->ring;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;

	io_uring_for_each_cqe(ring, head, cqe)
	{
		busd_loop_dispatch(loop, io_uring_cqe_get_data(cqe), cqe->res);
		seen++;
	}
	io_uring_cq_advance(ring, seen);
}

static int busd_loop_turn(struct busd_loop *loop)
{
	int ret = io_uring_submit_and_wait(&loop->ring, 1);

	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
		busd_error("io_uring_submit_and_wait: %s", strerror(-ret));
		return ret;
	}
	busd_loop_reap(loop);
	return 0;
}

int busd_loop_run(struct busd_loop *loop, int listen_fd,
		  const struct busd_loop_events *events)
{
	int ret;

	loop->listen_fd = listen_fd;
	loop->events = events;
	if (busd_loop_accept(loop) || busd_loop_read_signal(loop))
		return -EBUSY;
	while (!loop->stop) {
		busd_loop_arm_tick(loop);
		ret = busd_loop_turn(loop);
		if (ret)
			return ret;
	}
	return 0;
}

void busd_loop_drain(struct busd_loop *loop,
		     const struct busd_loop_events *events)
{
	loop->stop = true;
	if (!loop->ring_ready)
		return;
	loop->events = events;
	busd_loop_cancel(loop, &loop->accept_op);
	busd_loop_cancel(loop, &loop->pause_op);
	busd_loop_cancel(loop, &loop->tick_op);
	events->cancel(events->context);
	while (events->busy(events->context) || loop->accept_op.in_flight ||
	       loop->pause_op.in_flight || loop->tick_op.in_flight) {
		if (busd_loop_turn(loop))
			return;
	}
}
