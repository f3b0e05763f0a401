/* SPDX-License-Identifier: MIT */
/*
 * What every handle object shares: its link to the Bus, the one-thread
 * rule, closing, the blocking-call loop that releases the GIL, and the
 * waitset file descriptor behind the asyncio helpers.
 */
#include "shmbus_ext.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

/* Longest wait with the GIL released before signals are checked. */
#define WAIT_SLICE_NS 100000000LL

int shmbus_handle_enter(struct shmbus_handle *h)
{
	if (!h->bus) {
		PyErr_Format(PyExc_ValueError, "%s is closed",
			     Py_TYPE(h)->tp_name);
		return -1;
	}
	if (h->bus->fork_generation != shmbus_fork_generation) {
		PyErr_SetString(PyExc_RuntimeError,
				"this handle belongs to the parent process: "
				"after fork() call shmbus.connect() again");
		return -1;
	}
	if (h->busy) {
		PyErr_Format(PyExc_RuntimeError,
			     "%s is in use by another thread (one thread per "
			     "handle; only cancel() may come from another)",
			     Py_TYPE(h)->tp_name);
		return -1;
	}
	return 0;
}

int shmbus_handle_ours(struct shmbus_handle *h)
{
	if (!h->bus || h->bus->fork_generation == shmbus_fork_generation)
		return 0;
	PyErr_SetString(PyExc_RuntimeError,
			"this handle belongs to the parent process: after "
			"fork() call shmbus.connect() again");
	return -1;
}

void shmbus_handle_attach(struct shmbus_handle *h, BusObject *bus,
			  shmbus_close_fn close,
			  shmbus_waitset_add_fn waitset_add)
{
	h->waitset_add = waitset_add;
	h->bus = (BusObject *)Py_NewRef(bus);
	h->close = close;
	h->prev = NULL;
	h->next = bus->handles;
	if (bus->handles)
		bus->handles->prev = h;
	bus->handles = h;
}

static void detach(struct shmbus_handle *h)
{
	BusObject *bus = h->bus;

	if (h->prev)
		h->prev->next = h->next;
	else
		bus->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
	h->bus = NULL;
	Py_DECREF(bus);
}

static void close_now(struct shmbus_handle *h)
{
	/* A child of fork() must not close its parent's handles: that
	 * would talk to busd on the parent's connection. */
	int ours = h->bus->fork_generation == shmbus_fork_generation;

	if (h->waitset && ours)
		bus_waitset_destroy(h->waitset);
	h->waitset = NULL;
	if (ours)
		h->close(h);
	detach(h);
}

int shmbus_handle_close(struct shmbus_handle *h)
{
	if (!h->bus)
		return 0;
	if (h->busy) {
		PyErr_SetString(PyExc_RuntimeError,
				"close() while another thread waits on the "
				"handle: cancel() it first");
		return -1;
	}
	if (shmbus_messages_close(h) < 0)
		return -1;
	close_now(h);
	return 0;
}

void shmbus_handle_dealloc(struct shmbus_handle *h)
{
	if (h->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)h);
	if (h->bus)
		close_now(h);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int wait_slice(struct shmbus_handle *h, shmbus_wait_fn fn,
		      void *context, int64_t slice)
{
	int rc;

	h->busy = 1;
	Py_BEGIN_ALLOW_THREADS rc = fn(context, slice);
	Py_END_ALLOW_THREADS h->busy = 0;
	return rc;
}

int shmbus_wait(struct shmbus_handle *h, shmbus_wait_fn fn, void *context,
		int64_t timeout_ns, int probe)
{
	int64_t deadline = 0, left = WAIT_SLICE_NS;
	int rc;

	if (probe || timeout_ns == BUS_NOWAIT) {
		rc = fn(context, BUS_NOWAIT);
		if (rc != -EAGAIN || timeout_ns == BUS_NOWAIT)
			return rc;
	}
	if (timeout_ns != BUS_FOREVER)
		deadline = now_ns() + timeout_ns;
	for (;;) {
		if (timeout_ns != BUS_FOREVER) {
			left = deadline - now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		rc = wait_slice(h, fn, context,
				left < WAIT_SLICE_NS ? left : WAIT_SLICE_NS);
		if (rc != -ETIMEDOUT && rc != -EINTR)
			return rc;
		if (PyErr_CheckSignals() < 0)
			return SHMBUS_RAISED;
	}
}

int shmbus_call_once(struct shmbus_handle *h, shmbus_wait_fn fn, void *context,
		     int64_t timeout_ns)
{
	int rc = wait_slice(h, fn, context, timeout_ns);

	if (rc == -EINTR && PyErr_CheckSignals() < 0)
		return SHMBUS_RAISED;
	return rc;
}

PyObject *shmbus_handle_arm(struct shmbus_handle *h)
{
	int rc, fd;

	if (shmbus_handle_enter(h) < 0)
		return NULL;
	if (!h->waitset_add) {
		PyErr_Format(PyExc_TypeError, "%s cannot be awaited",
			     Py_TYPE(h)->tp_name);
		return NULL;
	}
	if (!h->waitset) {
		rc = bus_waitset_create(&h->waitset);
		if (rc < 0)
			return shmbus_raise_detail(rc, "", "waitset");
		rc = h->waitset_add(h, h->waitset);
		if (rc < 0) {
			bus_waitset_destroy(h->waitset);
			h->waitset = NULL;
			return shmbus_raise_detail(rc, "", "waitset");
		}
	}
	fd = bus_waitset_fd(h->waitset);
	if (fd < 0)
		return shmbus_raise_detail(
			fd, "", "waitset fd (asyncio needs Linux 6.7+)");
	rc = bus_waitset_arm(h->waitset);
	if (rc < 0)
		return shmbus_raise_detail(rc, "", "waitset arm");
	return PyLong_FromLong(fd);
}

PyObject *shmbus_handle_disarm(struct shmbus_handle *h)
{
	void *ready[1];
	int rc;

	if (!h->bus || !h->waitset)
		Py_RETURN_NONE;
	/* A wait that does not wait disarms; "ready" or -EAGAIN alike. */
	rc = bus_waitset_wait(h->waitset, BUS_NOWAIT, ready, 1);
	if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT)
		return shmbus_raise_detail(rc, "", "waitset");
	Py_RETURN_NONE;
}

void shmbus_keep_loan(struct shmbus_handle *h, const struct bus_message *loan)
{
	/* Never full (see kept in shmbus_ext.h); were it, the loan would
	 * stay claimed until the handle closes, which pads it. */
	if (h->kept_count < SHMBUS_KEPT_MAX)
		h->kept[h->kept_count++] = *loan;
}

int shmbus_take_kept_loan(struct shmbus_handle *h, struct bus_message *out)
{
	if (!h->kept_count)
		return 0;
	*out = h->kept[--h->kept_count];
	out->extras = 0;
	return 1;
}

int shmbus_one_loan(struct shmbus_handle *h)
{
	if (!h->messages)
		return 0;
	PyErr_SetString(PyExc_RuntimeError,
			"the handle has a loan already: commit it first (one "
			"loan at a time per handle)");
	return -1;
}
