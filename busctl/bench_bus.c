/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: what the bus cases share: the temporary names, handles
 * that a stop cancels, and a side's error report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_bus.h"

struct hist *busctl_bench_hist_new(void)
{
	struct hist *h = malloc(sizeof(*h));

	if (h)
		hist_reset(h);
	return h;
}

const char *busctl_bench_wait_name(enum bus_wait_strategy wait)
{
	if (wait == BUS_WAIT_BUSY)
		return "busy";
	if (wait == BUS_WAIT_FUTEX)
		return "futex";
	return "spin-futex";
}

int busctl_bench_side_fail(struct busctl_bench *b, int error, const char *what)
{
	/* A side cancelled by the stop says nothing: whoever stopped it
	 * has said why. */
	if (error == -ECANCELED && busctl_bench_stopped(&b->stop))
		return error;
	busctl_fail(b->ctl, error, "bench: %s", what);
	busctl_bench_abort(&b->stop, -1);
	return error;
}

int busctl_bench_payload_fail(struct busctl_bench *b, const char *who,
			      uint64_t seq)
{
	busctl_error("bench: %s: message %llu arrived torn, out of order or "
		     "of the wrong length",
		     who, (unsigned long long)seq);
	busctl_bench_abort(&b->stop, -1);
	return -EBADMSG;
}

void busctl_bench_name(const struct busctl_bench *b, const char *suffix,
		       char *name, size_t size)
{
	snprintf(name, size, "%s.%s", b->prefix, suffix);
}

int busctl_bench_create_queue(struct busctl_bench *b, const char *name,
			      uint32_t max_unacked)
{
	struct bus_queue_settings settings;
	int ret;

	bus_queue_settings_default(&settings);
	settings.type = BUS_QUEUE_SPSC;
	settings.max_producers = 1;
	settings.max_consumers = 1;
	settings.max_message = b->options.size;
	if (max_unacked > settings.max_unacked)
		settings.max_unacked = max_unacked;
	ret = bus_queue_create(b->ctl->bus, name, &settings);
	if (ret < 0)
		busctl_fail(b->ctl, ret, "bench: create temporary queue %s",
			    name);
	return ret;
}

int busctl_bench_create_topic(struct busctl_bench *b, const char *name)
{
	struct bus_topic_settings settings;
	int ret;

	bus_topic_settings_default(&settings);
	settings.max_message = b->options.size;
	settings.slow_subscriber = BUS_SLOW_SUBSCRIBER_BLOCK;
	settings.max_publishers = 1;
	ret = bus_topic_create(b->ctl->bus, name, &settings);
	if (ret < 0)
		busctl_fail(b->ctl, ret, "bench: create temporary topic %s",
			    name);
	return ret;
}

/* Queues and topics are deleted the same way (bus_queue_delete() takes
 * either). */
int busctl_bench_delete(struct busctl_bench *b, const char *name)
{
	int ret = bus_queue_delete(b->ctl->bus, name);

	if (ret < 0)
		busctl_fail(b->ctl, ret,
			    "bench: delete temporary %s (delete "
			    "it with 'busctl delete %s')",
			    name, name);
	return ret;
}

int busctl_bench_open_queue(struct busctl_bench *b, const char *name,
			    enum bus_role role, enum bus_wait_strategy wait,
			    bus_queue_t **out)
{
	struct bus_queue_options options = { .wait = wait };
	int ret;

	*out = NULL;
	ret = bus_queue_open(b->ctl->bus, name, role, &options, out);
	if (ret < 0) {
		busctl_fail(b->ctl, ret, "bench: open %s", name);
		return ret;
	}
	ret = busctl_bench_watch(&b->stop, BUSCTL_BENCH_QUEUE, *out);
	if (ret < 0) {
		bus_queue_close(*out);
		*out = NULL;
		busctl_error("bench: %s", strerror(-ret));
	}
	return ret;
}

void busctl_bench_close_queue(struct busctl_bench *b, bus_queue_t *queue)
{
	if (!queue)
		return;
	busctl_bench_forget(&b->stop, queue);
	bus_queue_close(queue);
}
