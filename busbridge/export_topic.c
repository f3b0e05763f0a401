/* SPDX-License-Identifier: MIT */
/*
 * [export NAME] from = topic PATTERN: bus topic -> core NATS.
 *
 * Each message goes out once, as it is (at most once: core NATS has no
 * acks).  The thread must never hold a topic's publishers back, so it
 * never waits for NATS: nats.c buffers the publish and its own thread
 * writes it out; while the connection is away a message is dropped and
 * counted rather than buffered.  Under slow_subscriber = overwrite a
 * bridge that falls behind is lapped, and the bus tells it how many it
 * lost: those count as dropped too.
 */
#include <errno.h>
#include <string.h>

#include "bridge.h"

#define RECEIVE_TIMEOUT_NS 200000000 /* how often it looks at stopping */

static void forward(struct bridge_rule *rule, const struct bus_message *m,
		    const char *topic)
{
	struct bridge *bridge = rule->bridge;
	char subject[BRIDGE_SUBJECT_MAX + 1];
	natsMsg *out = NULL;
	int ret;

	if (!bridge_nats_up(bridge)) {
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	if (bridge_subject_expand(rule->to, bridge->config.origin, topic,
				  subject, sizeof(subject))) {
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	if (natsMsg_Create(&out, subject, NULL, m->payload,
			   (int)m->length) != NATS_OK) {
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	ret = bridge_headers_to_nats(bridge, m, out);
	if (ret == -ELOOP)
		bridge_count(&rule->stats.dropped, 1);
	else if (ret || natsConnection_PublishMsg(bridge->nats, out) != NATS_OK)
		bridge_count(&rule->stats.failed, 1);
	else
		bridge_count(&rule->stats.forwarded, 1);
	natsMsg_Destroy(out);
}

static int receive(struct bridge_rule *rule, struct bus_message *m,
		   const char **topic, uint64_t *lost)
{
	if (rule->wildcard)
		return bus_wildcard_receive(rule->wildcard, m, topic, lost,
					    RECEIVE_TIMEOUT_NS);
	*topic = rule->from;
	return bus_subscription_receive(rule->subscription, m, lost,
					RECEIVE_TIMEOUT_NS);
}

static void release(struct bridge_rule *rule)
{
	if (rule->wildcard)
		bus_wildcard_release(rule->wildcard);
	else
		bus_subscription_release(rule->subscription);
}

void *bridge_export_topic_run(void *arg)
{
	struct bridge_rule *rule = arg;

	while (!bridge_stopping(rule->bridge)) {
		struct bus_message m;
		const char *topic = NULL;
		uint64_t lost = 0;
		int ret = receive(rule, &m, &topic, &lost);

		/* Idle: the lag is read at once, so that it drops to 0. */
		bridge_lag_refresh(rule, ret == -ETIMEDOUT);
		if (ret == -ETIMEDOUT || ret == -EAGAIN || ret == -EINTR)
			continue;
		if (ret == -EBADMSG) {
			bridge_count(&rule->stats.dropped, 1);
			continue;
		}
		if (ret < 0) {
			bridge_log("export %s: topic %s: %s; this rule stops",
				   rule->name, rule->from, bus_strerror(ret));
			break;
		}
		bridge_count(&rule->stats.dropped, lost);
		forward(rule, &m, topic);
		release(rule);
	}
	return NULL;
}
