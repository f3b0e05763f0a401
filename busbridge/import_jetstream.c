/* SPDX-License-Identifier: MIT */
/*
 * [import NAME] from = jetstream STREAM DURABLE, to = queue NAME:
 * JetStream -> a bus queue, at least once.
 *
 * A durable pull consumer (made when missing, explicit acks, ack_wait
 * seconds) hands the thread a batch at a time; each message is committed
 * to the bus queue first and acked to JetStream after, so a bridge killed
 * in between leaves JetStream to deliver it again after ack_wait: that,
 * and an ack lost on its way, are where duplicates on the bus come from.
 * A message the queue cannot take in time (full) is nacked with a delay,
 * and one larger than the queue's max_message is terminated and logged:
 * no later try could fit it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define FETCH_BATCH 32
#define FETCH_TIMEOUT_MS 500
#define IMPORT_LOAN_TIMEOUT_NS 1000000000
#define NAK_DELAY_MS 1000

static int ensure_consumer(struct bridge_rule *rule)
{
	jsConsumerInfo *info = NULL;
	jsConsumerConfig config;
	jsErrCode code = 0;
	natsStatus s;

	s = js_GetConsumerInfo(&info, rule->js, rule->from, rule->durable,
			       NULL, &code);
	jsConsumerInfo_Destroy(info);
	if (s == NATS_OK)
		return 0;
	if (code == JSStreamNotFoundErr) {
		bridge_log("import %s: JetStream has no stream %s", rule->name,
			   rule->from);
		return -ENOENT;
	}
	if (code != JSConsumerNotFoundErr && s != NATS_NOT_FOUND) {
		bridge_log("import %s: cannot ask JetStream about %s %s: %s "
			   "(is nats-server running with -js?)",
			   rule->name, rule->from, rule->durable,
			   natsStatus_GetText(s));
		return -EIO;
	}
	jsConsumerConfig_Init(&config);
	config.Durable = rule->durable;
	config.AckPolicy = js_AckExplicit;
	config.AckWait = (int64_t)rule->ack_wait_s * 1000000000;
	info = NULL;
	s = js_AddConsumer(&info, rule->js, rule->from, &config, NULL, &code);
	jsConsumerInfo_Destroy(info);
	if (s != NATS_OK) {
		bridge_log(
			"import %s: cannot create consumer %s on stream %s: "
			"%s",
			rule->name, rule->durable, rule->from,
			nats_GetLastError(NULL));
		return code == JSStreamNotFoundErr ? -ENOENT : -EIO;
	}
	return 0;
}

int bridge_import_jetstream_prepare(struct bridge_rule *rule)
{
	jsSubOptions options;
	jsErrCode code = 0;
	natsStatus s;
	int ret;

	if (natsConnection_JetStream(&rule->js, rule->bridge->nats, NULL) !=
	    NATS_OK) {
		bridge_log("import %s: no JetStream context: %s", rule->name,
			   nats_GetLastError(NULL));
		return -EIO;
	}
	ret = ensure_consumer(rule);
	if (ret)
		return ret;
	jsSubOptions_Init(&options);
	options.Stream = rule->from;
	options.Consumer = rule->durable;
	s = js_PullSubscribe(&rule->nats_subscription, rule->js, NULL,
			     rule->durable, NULL, &options, &code);
	if (s != NATS_OK) {
		bridge_log("import %s: cannot pull from %s %s: %s", rule->name,
			   rule->from, rule->durable, nats_GetLastError(NULL));
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
	int ret;

	if (bridge_headers_from_nats(in, &trail) ||
	    bridge_trail_refused(rule->bridge, &trail)) {
		natsMsg_Term(in, NULL);
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	if (length < 0 ||
	    (uint32_t)length > bus_queue_settings(rule->queue)->max_message) {
		bridge_log(
			"import %s: a message of %d bytes does not fit queue "
			"%s; JetStream is told to drop it",
			rule->name, length, rule->to);
		natsMsg_Term(in, NULL);
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	ret = bus_loan(rule->queue, &m, IMPORT_LOAN_TIMEOUT_NS);
	if (ret) {
		natsMsg_NakWithDelay(in, NAK_DELAY_MS, NULL);
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	if (length)
		memcpy(m.payload, data, (size_t)length);
	bridge_headers_to_bus(in, &trail, &m);
	ret = bus_commit(rule->queue, &m, (uint32_t)length);
	if (ret) {
		natsMsg_NakWithDelay(in, NAK_DELAY_MS, NULL);
		bridge_count(&rule->stats.failed, 1);
		return;
	}
	/* The bus has it: only now may JetStream forget it. */
	natsMsg_Ack(in, NULL);
	bridge_count(&rule->stats.forwarded, 1);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

void *bridge_import_jetstream_run(void *arg)
{
	struct bridge_rule *rule = arg;

	while (!bridge_stopping(rule->bridge)) {
		natsMsgList list = { 0 };
		natsStatus s;

		if (!bridge_nats_up(rule->bridge)) {
			sleep_ms(100);
			continue;
		}
		s = natsSubscription_Fetch(&list, rule->nats_subscription,
					   FETCH_BATCH, FETCH_TIMEOUT_MS,
					   NULL);
		if (s != NATS_OK && s != NATS_TIMEOUT) {
			/* A server going away shows here first; the
			 * reconnect is nats.c's, the pause is ours. */
			sleep_ms(200);
			continue;
		}
		bridge_count(&rule->stats.in_flight, (uint64_t)list.Count);
		for (int i = 0; i < list.Count; i++) {
			deliver(rule, list.Msgs[i]);
			bridge_count(&rule->stats.in_flight, (uint64_t)-1);
		}
		natsMsgList_Destroy(&list);
	}
	return NULL;
}
