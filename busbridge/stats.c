/* SPDX-License-Identifier: MIT */
/*
 * The figures of every rule, one line each, on SIGUSR1 and at exit:
 *
 *   busbridge: figures: RULE KIND forwarded=N failed=N dropped=N in_flight=N
 *
 * Read while the threads count: each figure is exact on its own, the four
 * of a line are not one snapshot.
 *
 * And the lag of each rule: messages waiting behind the bridge in its
 * source.  Only the rule's own thread may use its bus handle (bus.h), so
 * that thread reads the lag and stores it for the others to read
 * (bridge_lag_refresh()), rather than the metrics thread reading the
 * handle itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "bridge.h"

static const char *const kind_names[] = {
	[BRIDGE_EXPORT_TOPIC] = "export-topic",
	[BRIDGE_EXPORT_QUEUE] = "export-queue",
	[BRIDGE_IMPORT_CORE] = "import-core",
	[BRIDGE_IMPORT_JETSTREAM] = "import-jetstream",
	[BRIDGE_EXPORT_SERVICE] = "export-service",
	[BRIDGE_IMPORT_SERVICE] = "import-service",
};

#define LAG_REFRESH_NS 100000000

const char *bridge_kind_name(enum bridge_rule_kind kind)
{
	return kind_names[kind];
}

static uint64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* nats.c's count of messages it received for the subscription and the
 * rule's thread has not taken yet. */
static uint64_t nats_pending(natsSubscription *subscription)
{
	int messages = 0;

	if (!subscription ||
	    natsSubscription_GetPending(subscription, &messages, NULL) !=
		    NATS_OK ||
	    messages < 0)
		return BRIDGE_LAG_UNKNOWN;
	return (uint64_t)messages;
}

/* A bus pattern spans topics made at any time, and a JetStream
 * consumer's backlog is on the server (a request away): not read. */
static uint64_t read_lag(struct bridge_rule *rule)
{
	struct bus_subscriber_stats subscriber;
	struct bus_queue_stats queue;

	switch (rule->kind) {
	case BRIDGE_EXPORT_TOPIC:
		if (!rule->subscription ||
		    bus_subscription_stats(rule->subscription, &subscriber))
			return BRIDGE_LAG_UNKNOWN;
		return subscriber.lag;
	case BRIDGE_EXPORT_QUEUE:
	case BRIDGE_EXPORT_SERVICE:
		if (!rule->queue || bus_queue_stats(rule->queue, &queue))
			return BRIDGE_LAG_UNKNOWN;
		return queue.depth;
	case BRIDGE_IMPORT_CORE:
	case BRIDGE_IMPORT_SERVICE:
		return nats_pending(rule->nats_subscription);
	case BRIDGE_IMPORT_JETSTREAM:
		break;
	}
	return BRIDGE_LAG_UNKNOWN;
}

void bridge_lag_refresh(struct bridge_rule *rule, bool force)
{
	uint64_t now = monotonic_ns();

	if (!force && now - rule->stats.lag_read_ns < LAG_REFRESH_NS)
		return;
	rule->stats.lag_read_ns = now;
	/* Relaxed: a figure, as bridge_count() (bridge.h) says. */
	atomic_store_explicit(&rule->stats.lag, read_lag(rule),
			      memory_order_relaxed);
}

void bridge_stats_print(const struct bridge *bridge, FILE *out)
{
	for (unsigned int i = 0; i < bridge->config.rule_count; i++) {
		const struct bridge_rule *rule = &bridge->config.rules[i];
		const struct bridge_stats *s = &rule->stats;

		fprintf(out,
			"busbridge: figures: %s %s forwarded=%" PRIu64
			" failed=%" PRIu64 " dropped=%" PRIu64
			" in_flight=%" PRIu64 "\n",
			rule->name, kind_names[rule->kind],
			bridge_figure(&s->forwarded),
			bridge_figure(&s->failed), bridge_figure(&s->dropped),
			bridge_figure(&s->in_flight));
	}
	fflush(out);
}
