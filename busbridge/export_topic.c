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
 *
 * Throughput (perf/README.md, bridge-tp): the thread takes what the topic
 * holds in batches of up to BATCH_MAX, the first receive waiting and the
 * rest not, and pays once per batch what need not be paid per message:
 * the clock reads that carry the publish time over to the wall clock, the
 * lag figure, and the natsMsg_Destroy() calls.  The last matter most:
 * nats.c hands every destroyed natsMsg (and its header map, some twenty
 * small allocations) to its garbage-collector thread, waking it when it
 * sleeps; destroying a batch in a row wakes it about once a batch rather
 * than once a message, which on a small host is a context switch saved
 * each time.  The subject is expanded once per topic, not per message.
 */
#include <errno.h>
#include <string.h>

#include "bridge.h"

#define RECEIVE_TIMEOUT_NS 200000000 /* how often it looks at stopping */
#define BATCH_MAX 64

struct export_batch {
	natsMsg *sent[BATCH_MAX];
	unsigned int count;
	uint64_t realtime_offset_ns; /* read at the batch's first message */
	/* The subject of the last topic seen (a wildcard's topics take
	 * turns; a plain subscription has one). */
	char topic[BUS_NAME_MAX + 1];
	char subject[BRIDGE_SUBJECT_MAX + 1];
	bool subject_ok;
};

/* The NATS subject for topic, expanded again only when the topic changes. */
static const char *subject_for(struct bridge_rule *rule,
			       struct export_batch *batch, const char *topic)
{
	if (!strcmp(batch->topic, topic))
		return batch->subject_ok ? batch->subject : NULL;
	snprintf(batch->topic, sizeof(batch->topic), "%s", topic);
	batch->subject_ok = !bridge_subject_expand(rule->to,
						   rule->bridge->config.origin,
						   topic, batch->subject,
						   sizeof(batch->subject));
	return batch->subject_ok ? batch->subject : NULL;
}

static void forward(struct bridge_rule *rule, struct export_batch *batch,
		    const struct bus_message *m, const char *topic)
{
	struct bridge *bridge = rule->bridge;
	const char *subject;
	natsMsg *out = NULL;
	int ret;

	if (!bridge_nats_up(bridge)) {
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	subject = subject_for(rule, batch, topic);
	if (!subject) {
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	if (natsMsg_Create(&out, subject, NULL, m->payload, (int)m->length) !=
	    NATS_OK) {
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	ret = bridge_headers_to_nats_at(bridge, m, batch->realtime_offset_ns,
					out);
	if (ret == -ELOOP)
		bridge_count(&rule->stats.dropped, 1);
	else if (ret ||
		 natsConnection_PublishMsg(bridge->nats, out) != NATS_OK)
		bridge_count(&rule->stats.failed, 1);
	else
		bridge_count(&rule->stats.forwarded, 1);
	/* Destroyed with the batch (export_batch_end()): see the top. */
	batch->sent[batch->count++] = out;
}

static int receive(struct bridge_rule *rule, struct bus_message *m,
		   const char **topic, uint64_t *lost, int64_t timeout_ns)
{
	if (rule->wildcard)
		return bus_wildcard_receive(rule->wildcard, m, topic, lost,
					    timeout_ns);
	*topic = rule->from;
	return bus_subscription_receive(rule->subscription, m, lost,
					timeout_ns);
}

static void release(struct bridge_rule *rule)
{
	if (rule->wildcard)
		bus_wildcard_release(rule->wildcard);
	else
		bus_subscription_release(rule->subscription);
}

static void export_batch_end(struct export_batch *batch)
{
	for (unsigned int i = 0; i < batch->count; i++)
		natsMsg_Destroy(batch->sent[i]);
	batch->count = 0;
}

/*
 * Forwards what the topic holds, up to BATCH_MAX messages, waiting up to
 * RECEIVE_TIMEOUT_NS for the first.  0 while the rule goes on; the bus's
 * error when it stops.
 */
static int export_batch(struct bridge_rule *rule, struct export_batch *batch)
{
	int64_t timeout_ns = RECEIVE_TIMEOUT_NS;
	int ret = 0;

	while (batch->count < BATCH_MAX) {
		struct bus_message m;
		const char *topic = NULL;
		uint64_t lost = 0;

		ret = receive(rule, &m, &topic, &lost, timeout_ns);
		if (ret == -EBADMSG) {
			bridge_count(&rule->stats.dropped, 1);
			continue;
		}
		if (ret < 0)
			break;
		if (timeout_ns) {
			batch->realtime_offset_ns =
				bridge_realtime_offset_ns();
			timeout_ns = BUS_NOWAIT;
		}
		bridge_count(&rule->stats.dropped, lost);
		forward(rule, batch, &m, topic);
		release(rule);
	}
	export_batch_end(batch);
	/* Idle: the lag is read at once, so that it drops to 0. */
	bridge_lag_refresh(rule, ret == -ETIMEDOUT);
	if (ret == -ETIMEDOUT || ret == -EAGAIN || ret == -EINTR || ret >= 0)
		return 0;
	bridge_log("export %s: topic %s: %s; this rule stops", rule->name,
		   rule->from, bus_strerror(ret));
	return ret;
}

void *bridge_export_topic_run(void *arg)
{
	struct bridge_rule *rule = arg;
	struct export_batch batch = { .count = 0 };

	while (!bridge_stopping(rule->bridge))
		if (export_batch(rule, &batch))
			break;
	return NULL;
}
