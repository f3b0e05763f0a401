/* SPDX-License-Identifier: MIT */
/*
 * A rule's life: its bus side is opened and checked first (so that an
 * unknown queue or topic stops the bridge before it touches NATS), then
 * its NATS side is set up and its thread started; at the end the thread
 * is joined and everything closed in the reverse order.  Closing a queue
 * handle gives back what it received and did not ack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static const char *kind_word(const struct bridge_rule *rule)
{
	return rule->is_export ? "export" : "import";
}

static int refuse(struct bridge_rule *rule, const char *what, const char *name,
		  int error)
{
	struct bridge *bridge = rule->bridge;
	const char *detail = bus_error_detail(bridge->bus);

	if (error == -ENOENT)
		bridge_log("%s:%d: [%s %s]: bus %s has no %s '%s'",
			   bridge->config.path, rule->line, kind_word(rule),
			   rule->name, bus_name(bridge->bus), what, name);
	else
		bridge_log("%s:%d: [%s %s]: %s '%s': %s%s%s%s",
			   bridge->config.path, rule->line, kind_word(rule),
			   rule->name, what, name, bus_strerror(error),
			   *detail ? " (" : "", detail, *detail ? ")" : "");
	return error;
}

/* Imports write Shmbus-Origin and Shmbus-Hops onto what they commit. */
static int check_header_room(struct bridge_rule *rule, const char *what,
			     uint32_t header_room)
{
	if (header_room >= BRIDGE_HEADER_ROOM_MIN)
		return 0;
	bridge_log("%s:%d: [import %s]: %s '%s' has header_room %u; an "
		   "import needs at least %u to carry Shmbus-Origin and "
		   "Shmbus-Hops, which keep messages from looping (set "
		   "header_room in busd's config)",
		   rule->bridge->config.path, rule->line, rule->name, what,
		   rule->to, header_room, BRIDGE_HEADER_ROOM_MIN);
	return -EINVAL;
}

static int open_export_topic(struct bridge_rule *rule)
{
	bus_t *bus = rule->bridge->bus;
	const struct bus_topic_settings *settings;
	int ret;

	/* A pattern also takes topics made later: nothing to check yet. */
	if (bus_pattern_is_wildcard(rule->from)) {
		ret = bus_subscribe_pattern(bus, rule->from, NULL,
					    &rule->wildcard);
		return ret ? refuse(rule, "topic pattern", rule->from, ret)
			   : 0;
	}
	ret = bus_subscribe(bus, rule->from, NULL, &rule->subscription);
	if (ret)
		return refuse(rule, "topic", rule->from, ret);
	settings = bus_subscription_settings(rule->subscription);
	if (settings->slow_subscriber == BUS_SLOW_SUBSCRIBER_BLOCK)
		bridge_log(
			"warning: [export %s]: topic %s has slow_subscriber "
			"= block, so a bridge that falls a ring behind holds "
			"its publishers back; overwrite suits an export",
			rule->name, rule->from);
	return 0;
}

int bridge_rule_open(struct bridge_rule *rule)
{
	bus_t *bus = rule->bridge->bus;
	int ret;

	switch (rule->kind) {
	case BRIDGE_EXPORT_TOPIC:
		return open_export_topic(rule);
	case BRIDGE_EXPORT_QUEUE:
		ret = bus_queue_open(bus, rule->from, BUS_CONSUMER, NULL,
				     &rule->queue);
		return ret ? refuse(rule, "queue", rule->from, ret) : 0;
	case BRIDGE_IMPORT_CORE:
		/* Each subject's topic is opened when its first message
		 * comes (import_topics.c). */
		if (rule->to_each_subject)
			return 0;
		ret = bus_topic_open(bus, rule->to, BUS_PRODUCER, NULL,
				     &rule->topic);
		if (ret)
			return refuse(rule, "topic", rule->to, ret);
		return check_header_room(
			rule, "topic",
			bus_topic_settings(rule->topic)->header_room);
	case BRIDGE_IMPORT_JETSTREAM:
		ret = bus_queue_open(bus, rule->to, BUS_PRODUCER, NULL,
				     &rule->queue);
		if (ret)
			return refuse(rule, "queue", rule->to, ret);
		return check_header_room(
			rule, "queue",
			bus_queue_settings(rule->queue)->header_room);
	case BRIDGE_EXPORT_SERVICE:
		ret = bus_queue_open(bus, rule->from, BUS_CONSUMER, NULL,
				     &rule->queue);
		if (!ret)
			ret = bus_responder_open(bus, &rule->responder);
		return ret ? refuse(rule, "service queue", rule->from, ret)
			   : 0;
	case BRIDGE_IMPORT_SERVICE:
		ret = bus_requester_open(bus, rule->to, rule->reply_to,
					 &rule->requester);
		return ret ? refuse(rule, "service queue (or its reply_to)",
				    rule->to, ret)
			   : 0;
	}
	return -EINVAL;
}

int bridge_rule_start(struct bridge_rule *rule)
{
	static void *(*const run[])(void *) = {
		[BRIDGE_EXPORT_TOPIC] = bridge_export_topic_run,
		[BRIDGE_EXPORT_QUEUE] = bridge_export_queue_run,
		[BRIDGE_IMPORT_CORE] = bridge_import_core_run,
		[BRIDGE_IMPORT_JETSTREAM] = bridge_import_jetstream_run,
		[BRIDGE_EXPORT_SERVICE] = bridge_export_service_run,
		[BRIDGE_IMPORT_SERVICE] = bridge_import_service_run,
	};
	int ret = 0;

	if (rule->kind == BRIDGE_EXPORT_QUEUE)
		ret = bridge_export_queue_prepare(rule);
	else if (rule->kind == BRIDGE_IMPORT_CORE)
		ret = bridge_import_core_prepare(rule);
	else if (rule->kind == BRIDGE_IMPORT_JETSTREAM)
		ret = bridge_import_jetstream_prepare(rule);
	else if (rule->kind == BRIDGE_IMPORT_SERVICE)
		ret = bridge_import_service_prepare(rule);
	if (ret)
		return ret;
	/* The first value, read here before the thread owns the handles. */
	bridge_lag_refresh(rule, true);
	ret = pthread_create(&rule->thread, NULL, run[rule->kind], rule);
	if (ret) {
		bridge_log("%s %s: cannot start a thread: %s", kind_word(rule),
			   rule->name, strerror(ret));
		return -ret;
	}
	rule->thread_started = true;
	return 0;
}

void bridge_rule_stop(struct bridge_rule *rule)
{
	if (rule->thread_started)
		pthread_join(rule->thread, NULL);
	rule->thread_started = false;
	if (rule->nats_subscription) {
		natsSubscription_Unsubscribe(rule->nats_subscription);
		natsSubscription_Destroy(rule->nats_subscription);
		rule->nats_subscription = NULL;
	}
	if (rule->js) {
		jsCtx_Destroy(rule->js);
		rule->js = NULL;
	}
	if (rule->kind == BRIDGE_EXPORT_QUEUE)
		bridge_export_queue_free(rule);
	else
		/* The import service's reply buffer, or an import's table
		 * of topics (its thread closed them). */
		free(rule->state);
	rule->state = NULL;
	if (rule->requester)
		bus_requester_close(rule->requester);
	if (rule->responder)
		bus_responder_close(rule->responder);
	rule->requester = NULL;
	rule->responder = NULL;
	if (rule->wildcard)
		bus_wildcard_close(rule->wildcard);
	if (rule->subscription)
		bus_unsubscribe(rule->subscription);
	if (rule->queue)
		bus_queue_close(rule->queue);
	if (rule->topic)
		bus_topic_close(rule->topic);
	rule->wildcard = NULL;
	rule->subscription = NULL;
	rule->queue = NULL;
	rule->topic = NULL;
}
