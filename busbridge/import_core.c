/* SPDX-License-Identifier: MIT */
/*
 * [import NAME] from = SUBJECT-PATTERN, to = topic NAME: core NATS -> a
 * bus topic (or, with to = topic PREFIX.>, a topic for each subject:
 * import_topics.c).  At most once, like core NATS itself: a message the topic
 * cannot take within IMPORT_LOAN_TIMEOUT_NS (a block topic whose slowest
 * subscriber is a ring behind) is dropped and counted, and so are those
 * nats.c drops when this thread falls too far behind (slow consumer).
 */
#include <errno.h>
#include <string.h>

#include "bridge.h"

#define NEXT_TIMEOUT_MS 200 /* how often it looks at stopping */
#define IMPORT_LOAN_TIMEOUT_NS 100000000
#define PENDING_MESSAGES_MAX 65536
#define PENDING_BYTES_MAX (64 * 1024 * 1024)

int bridge_import_core_prepare(struct bridge_rule *rule)
{
	natsStatus s;

	s = natsConnection_SubscribeSync(&rule->nats_subscription,
					 rule->bridge->nats, rule->from);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(rule->nats_subscription,
						      PENDING_MESSAGES_MAX,
						      PENDING_BYTES_MAX);
	/* A round trip, so that the server has the interest before the
	 * bridge says it is ready: what is published after that arrives. */
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(rule->bridge->nats, 2000);
	if (s != NATS_OK) {
		bridge_log("import %s: cannot subscribe to %s: %s", rule->name,
			   rule->from, natsStatus_GetText(s));
		return -EIO;
	}
	return 0;
}

static void deliver(struct bridge_rule *rule, natsMsg *in)
{
	const void *data = natsMsg_GetData(in);
	int length = natsMsg_GetDataLength(in);
	struct bridge_trail trail;
	struct bus_message m;
	bus_topic_t *topic = rule->topic;
	int ret;

	if (bridge_headers_from_nats(in, &trail) ||
	    bridge_trail_refused(rule->bridge, &trail)) {
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	if (rule->to_each_subject)
		topic = bridge_import_topic_get(rule, natsMsg_GetSubject(in));
	/* Checked before the loan: a topic loan cannot be given back. */
	if (!topic || length < 0 ||
	    (uint32_t)length > bus_topic_settings(topic)->max_message) {
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	ret = bus_topic_loan(topic, &m, IMPORT_LOAN_TIMEOUT_NS);
	if (ret == -EIDRM && rule->to_each_subject)
		bridge_import_topic_lost(rule, topic);
	if (ret) {
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	if (length)
		memcpy(m.payload, data, (size_t)length);
	/* Origin and hops fit: the topic's header_room was checked at
	 * start (rules.c). */
	bridge_headers_to_bus(in, &trail, &m);
	if (bus_topic_commit(topic, &m, (uint32_t)length))
		bridge_count(&rule->stats.failed, 1);
	else
		bridge_count(&rule->stats.forwarded, 1);
}

/* nats.c counts what it dropped for this subscription; the figure takes
 * the growth since the last look. */
static void count_nats_drops(struct bridge_rule *rule, int64_t *seen)
{
	int64_t dropped = 0;

	if (natsSubscription_GetDropped(rule->nats_subscription, &dropped) ==
		    NATS_OK &&
	    dropped > *seen) {
		bridge_count(&rule->stats.dropped,
			     (uint64_t)(dropped - *seen));
		*seen = dropped;
	}
}

void *bridge_import_core_run(void *arg)
{
	struct bridge_rule *rule = arg;
	int64_t seen = 0;

	while (!bridge_stopping(rule->bridge)) {
		natsMsg *in = NULL;
		natsStatus s;

		s = natsSubscription_NextMsg(&in, rule->nats_subscription,
					     NEXT_TIMEOUT_MS);
		count_nats_drops(rule, &seen);
		bridge_lag_refresh(rule, s == NATS_TIMEOUT);
		if (s == NATS_OK) {
			deliver(rule, in);
			natsMsg_Destroy(in);
		} else if (s != NATS_TIMEOUT && s != NATS_SLOW_CONSUMER) {
			bridge_log("import %s: subscription to %s ended: %s; "
				   "this rule stops",
				   rule->name, rule->from,
				   natsStatus_GetText(s));
			break;
		}
	}
	bridge_import_topics_close(rule);
	return NULL;
}
