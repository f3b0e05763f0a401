/* SPDX-License-Identifier: MIT */
/* busctl bench: the two pinned threads every case runs (see bench.h). */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "bench.h"

struct busctl_bench_thread {
	busctl_bench_side_fn fn;
	void *arg;
	int ret;
};

static void *busctl_bench_thread_main(void *arg)
{
	struct busctl_bench_thread *t = arg;

	t->ret = t->fn(t->arg);
	return NULL;
}

/* Pinned from its first instruction: the attribute, not a later call. */
static int busctl_bench_spawn(pthread_t *thread, int cpu,
			      struct busctl_bench_thread *t)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	pthread_attr_init(&attr);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!ret)
		ret = pthread_create(thread, &attr, busctl_bench_thread_main,
				     t);
	pthread_attr_destroy(&attr);
	return -ret;
}

int busctl_bench_pair(struct busctl_bench *b, busctl_bench_side_fn first,
		      busctl_bench_side_fn second, void *arg)
{
	struct busctl_bench_thread t[2] = { { first, arg, 0 },
					    { second, arg, 0 } };
	const int *cpu = b->options.cpu;
	pthread_t thread[2];
	int ret;

	/* The second side first: the first one starts the exchange and
	 * should find its peer already waiting. */
	ret = busctl_bench_spawn(&thread[1], cpu[1], &t[1]);
	if (ret) {
		busctl_error("bench: cannot start a thread on CPU %d: %s",
			     cpu[1], strerror(-ret));
		return ret;
	}
	ret = busctl_bench_spawn(&thread[0], cpu[0], &t[0]);
	if (ret) {
		busctl_error("bench: cannot start a thread on CPU %d: %s",
			     cpu[0], strerror(-ret));
		/* The second side would wait for a peer that never comes. */
		busctl_bench_abort(&b->stop, -1);
		pthread_join(thread[1], NULL);
		return ret;
	}
	pthread_join(thread[0], NULL);
	pthread_join(thread[1], NULL);
	return t[0].ret ? t[0].ret : t[1].ret;
}
