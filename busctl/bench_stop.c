/* SPDX-License-Identifier: MIT */
/*
 * busctl bench's stop: Ctrl-C and failed sides (see bench.h).
 *
 * The sides block in the library (BUS_FOREVER: a deadline would cost a
 * clock read per call and change what we measure) or spin on the floor's
 * lines, so a flag alone would not reach them.  Instead SIGINT and SIGTERM
 * are blocked in every thread and taken by sigwait() in a watcher thread,
 * which cancels every open handle (bus_queue_cancel() and its kin are the
 * calls another thread may make) and stops the floor.  The main thread
 * then joins the sides and deletes the temporary queue or topic as after
 * any case.
 */
#include <errno.h>
#include <string.h>

#include "bench.h"

/* SIGUSR1 is the watcher's own: busctl_bench_stop_end() ends it so. */
static void busctl_bench_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
}

static void busctl_bench_cancel(enum busctl_bench_handle_kind kind,
				void *handle)
{
	if (kind == BUSCTL_BENCH_QUEUE)
		bus_queue_cancel(handle);
	else if (kind == BUSCTL_BENCH_TOPIC)
		bus_topic_cancel(handle);
	else
		bus_subscription_cancel(handle);
}

void busctl_bench_abort(struct busctl_bench_stop *stop, int why)
{
	int none = 0;

	/* The first reason stays: a side that fails because the other was
	 * cancelled by Ctrl-C must not turn it into a failure. */
	atomic_compare_exchange_strong(&stop->why, &none, why);
	pthread_mutex_lock(&stop->lock);
	for (unsigned int i = 0; i < stop->handle_count; i++)
		busctl_bench_cancel(stop->handles[i].kind,
				    stop->handles[i].handle);
	if (stop->floor)
		floor_spin_stop(stop->floor);
	pthread_mutex_unlock(&stop->lock);
}

int busctl_bench_stopped(struct busctl_bench_stop *stop)
{
	return atomic_load(&stop->why);
}

static void *busctl_bench_watcher(void *arg)
{
	struct busctl_bench_stop *stop = arg;
	sigset_t set;
	int signo;

	busctl_bench_signals(&set);
	for (;;) {
		if (sigwait(&set, &signo) || signo == SIGUSR1)
			return NULL;
		busctl_bench_abort(stop, signo);
	}
}

int busctl_bench_stop_start(struct busctl_bench_stop *stop)
{
	sigset_t set;
	int ret;

	memset(stop, 0, sizeof(*stop));
	pthread_mutex_init(&stop->lock, NULL);
	busctl_bench_signals(&set);
	ret = pthread_sigmask(SIG_BLOCK, &set, &stop->old_mask);
	if (ret)
		return -ret;
	ret = pthread_create(&stop->watcher, NULL, busctl_bench_watcher, stop);
	if (ret) {
		pthread_sigmask(SIG_SETMASK, &stop->old_mask, NULL);
		return -ret;
	}
	stop->watching = true;
	return 0;
}

void busctl_bench_stop_end(struct busctl_bench_stop *stop)
{
	if (stop->watching) {
		pthread_kill(stop->watcher, SIGUSR1);
		pthread_join(stop->watcher, NULL);
		stop->watching = false;
	}
	pthread_sigmask(SIG_SETMASK, &stop->old_mask, NULL);
	pthread_mutex_destroy(&stop->lock);
}

int busctl_bench_watch(struct busctl_bench_stop *stop,
		       enum busctl_bench_handle_kind kind, void *handle)
{
	int ret = 0;

	pthread_mutex_lock(&stop->lock);
	if (stop->handle_count == BUSCTL_BENCH_HANDLES) {
		ret = -ENOSPC;
	} else {
		stop->handles[stop->handle_count].kind = kind;
		stop->handles[stop->handle_count++].handle = handle;
		/* A stop that came before the handle did still reaches it. */
		if (atomic_load(&stop->why))
			busctl_bench_cancel(kind, handle);
	}
	pthread_mutex_unlock(&stop->lock);
	return ret;
}

void busctl_bench_forget(struct busctl_bench_stop *stop, void *handle)
{
	pthread_mutex_lock(&stop->lock);
	for (unsigned int i = 0; i < stop->handle_count; i++) {
		if (stop->handles[i].handle != handle)
			continue;
		stop->handles[i] = stop->handles[--stop->handle_count];
		break;
	}
	pthread_mutex_unlock(&stop->lock);
}

void busctl_bench_watch_floor(struct busctl_bench_stop *stop,
			      struct floor_spin_shared *floor)
{
	pthread_mutex_lock(&stop->lock);
	stop->floor = floor;
	if (floor && atomic_load(&stop->why))
		floor_spin_stop(floor);
	pthread_mutex_unlock(&stop->lock);
}
