/* SPDX-License-Identifier: MIT */
/*
 * [import NAME] from = service SUBJECT, to = queue QUEUE: NATS requests on
 * SUBJECT -> bus requests to the service queue QUEUE, whose responders
 * answer; their replies -> the NATS requesters.
 *
 * The subscription is in the queue group "shmbus-service", so that several
 * bridges (several hosts offering the service) share the requests rather
 * than each answering every one.  Each request is a bus_request() on the
 * rule's requester (replies come back on reply_to), one at a time.  When
 * the bus has no responder (-ENXIO, at once), or none answered in
 * timeout_ms, the NATS requester gets an empty reply with the header
 * Shmbus-Status (503 no responders, 504 timeout, 500 and the error), which
 * an exporting bridge turns back into its bus requester's error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bridge.h"

#define NEXT_TIMEOUT_MS 200 /* how often it looks at stopping */
#define SERVICE_GROUP "shmbus-service"
#define REPLY_MAX (1024 * 1024)

int bridge_import_service_prepare(struct bridge_rule *rule)
{
	natsStatus s;

	rule->state = malloc(REPLY_MAX);
	if (!rule->state)
		return -ENOMEM;
	s = natsConnection_QueueSubscribeSync(&rule->nats_subscription,
					      rule->bridge->nats, rule->from,
					      SERVICE_GROUP);
	/* As a core import: the interest is in place before READY. */
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(rule->bridge->nats, 2000);
	if (s != NATS_OK) {
		bridge_log("import %s: cannot subscribe to %s: %s", rule->name,
			   rule->from, natsStatus_GetText(s));
		return -EIO;
	}
	return 0;
}

static void reply_status(struct bridge_rule *rule, const char *subject,
			 int error)
{
	char status[128];
	natsMsg *out = NULL;

	if (error == -ENXIO)
		snprintf(status, sizeof(status), "%s",
			 BRIDGE_STATUS_NO_RESPONDERS);
	else if (error == -ETIMEDOUT)
		snprintf(status, sizeof(status), "504 timeout");
	else
		snprintf(status, sizeof(status), "500 %s",
			 bus_strerror(error));
	if (natsMsg_Create(&out, subject, NULL, NULL, 0) == NATS_OK &&
	    natsMsgHeader_Set(out, BRIDGE_HEADER_STATUS, status) == NATS_OK)
		natsConnection_PublishMsg(rule->bridge->nats, out);
	natsMsg_Destroy(out);
}

static void serve(struct bridge_rule *rule, natsMsg *in)
{
	const char *reply_subject = natsMsg_GetReply(in);
	struct bridge_trail trail;
	int ret;

	if (!reply_subject || !*reply_subject ||
	    bridge_headers_from_nats(in, &trail) ||
	    bridge_trail_refused(rule->bridge, &trail)) {
		bridge_count(&rule->stats.dropped, 1);
		return;
	}
	bridge_count(&rule->stats.in_flight, 1);
	ret = bus_request(rule->requester, natsMsg_GetData(in),
			  (size_t)natsMsg_GetDataLength(in), rule->state,
			  REPLY_MAX, (int64_t)rule->timeout_ms * 1000000);
	bridge_count(&rule->stats.in_flight, (uint64_t)-1);
	if (ret < 0) {
		bridge_count(&rule->stats.failed, 1);
		reply_status(rule, reply_subject, ret);
		return;
	}
	if (natsConnection_Publish(rule->bridge->nats, reply_subject,
				   rule->state, ret) == NATS_OK)
		bridge_count(&rule->stats.forwarded, 1);
	else
		bridge_count(&rule->stats.failed, 1);
}

void *bridge_import_service_run(void *arg)
{
	struct bridge_rule *rule = arg;

	while (!bridge_stopping(rule->bridge)) {
		natsMsg *in = NULL;
		natsStatus s;

		s = natsSubscription_NextMsg(&in, rule->nats_subscription,
					     NEXT_TIMEOUT_MS);
		bridge_lag_refresh(rule, s == NATS_TIMEOUT);
		if (s == NATS_OK) {
			serve(rule, in);
			natsMsg_Destroy(in);
		} else if (s != NATS_TIMEOUT && s != NATS_SLOW_CONSUMER) {
			bridge_log("import %s: subscription to %s ended: %s; "
				   "this rule stops",
				   rule->name, rule->from,
				   natsStatus_GetText(s));
			break;
		}
	}
	return NULL;
}
