/* SPDX-License-Identifier: MIT */
/*
 * [export NAME] from = queue NAME: bus queue -> JetStream, at least once.
 *
 * The thread takes a window of up to in_flight messages from the bus
 * (never more than the queue lets one consumer hold), publishes each
 * asynchronously and waits for JetStream's acks.  Only a message that
 * JetStream acked is acked on the bus; one refused or not acked in time
 * is nacked, so the bus delivers it again.  The bus handle stays in this
 * thread: nats.c's ack callback only marks the window slot, and the acks
 * and nacks are done here afterwards.
 *
 * Duplicates: if the bridge dies between JetStream's ack and the bus ack,
 * the bus delivers the message again and the bridge publishes it again.
 * Every message carries Nats-Msg-Id = origin:queue:sequence, the bus
 * sequence being the same on every delivery, so JetStream drops the copy
 * within the stream's duplicate window (2 minutes by default).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define RECEIVE_TIMEOUT_NS 200000000
#define ACK_WAIT_MS 5000
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000

enum slot_state {
	SLOT_PENDING, /* sent, no answer yet */
	SLOT_ACKED,   /* JetStream has it: ack on the bus */
	SLOT_FAILED,  /* refused or unanswered: nack on the bus */
	SLOT_DROPPED, /* gone round max_hops bridges: acked away */
};

struct window {
	pthread_mutex_t lock; /* between this thread and nats.c's acks */
	unsigned int size;
	struct bus_message *messages;
	/* Compared only, never dereferenced: nats.c hands the message back
	 * in the ack callback, which finds its slot by it. */
	const natsMsg **sent;
	enum slot_state *state;
	char error[160]; /* the last refusal, for the log */
};

static void sleep_ms(unsigned int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *ack, jsPubAckErr *error,
		   void *closure)
{
	struct window *w = closure;

	pthread_mutex_lock(&w->lock);
	/* Only a pending slot matches: a message destroyed earlier in the
	 * window may have had the same address. */
	for (unsigned int i = 0; i < w->size; i++) {
		if (w->sent[i] != msg || w->state[i] != SLOT_PENDING)
			continue;
		w->state[i] = ack ? SLOT_ACKED : SLOT_FAILED;
		if (!ack && error)
			snprintf(w->error, sizeof(w->error), "%s",
				 error->ErrText
					 ? error->ErrText
					 : natsStatus_GetText(error->Err));
		break;
	}
	pthread_mutex_unlock(&w->lock);
	natsMsg_Destroy(msg);
}

static int window_create(struct bridge_rule *rule)
{
	struct window *w = calloc(1, sizeof(*w));
	unsigned int size = rule->in_flight;
	uint32_t max_unacked = bus_queue_settings(rule->queue)->max_unacked;

	if (!w)
		return -ENOMEM;
	if (max_unacked && size > max_unacked)
		size = max_unacked;
	w->size = size;
	w->messages = calloc(size, sizeof(*w->messages));
	w->sent = calloc(size, sizeof(*w->sent));
	w->state = calloc(size, sizeof(*w->state));
	pthread_mutex_init(&w->lock, NULL);
	rule->state = w;
	if (!w->messages || !w->sent || !w->state)
		return -ENOMEM;
	return 0;
}

/* A stream named by stream = is made when missing, capturing the
 * subject of this queue; an existing one is left as it is. */
static int ensure_stream(struct bridge_rule *rule)
{
	char subject[BRIDGE_SUBJECT_MAX + 1];
	const char *subjects[1] = { subject };
	jsStreamInfo *info = NULL;
	jsStreamConfig config;
	jsErrCode code = 0;
	natsStatus s;

	s = js_GetStreamInfo(&info, rule->js, rule->stream, NULL, &code);
	jsStreamInfo_Destroy(info);
	if (s == NATS_OK)
		return 0;
	if (s != NATS_NOT_FOUND && code != JSStreamNotFoundErr) {
		bridge_log("export %s: cannot ask JetStream about stream %s: "
			   "%s (is nats-server running with -js?)",
			   rule->name, rule->stream, natsStatus_GetText(s));
		return -EIO;
	}
	bridge_subject_expand(rule->to, rule->bridge->config.origin,
			      rule->from, subject, sizeof(subject));
	jsStreamConfig_Init(&config);
	config.Name = rule->stream;
	config.Subjects = subjects;
	config.SubjectsLen = 1;
	config.Storage = js_FileStorage;
	/* In a JetStream cluster, replicas > 1 keeps the stream through the
	 * loss of a minority of its servers. */
	config.Replicas = (int64_t)rule->replicas;
	info = NULL;
	s = js_AddStream(&info, rule->js, &config, NULL, &code);
	jsStreamInfo_Destroy(info);
	if (s != NATS_OK) {
		bridge_log(
			"export %s: cannot create stream %s for subject %s: "
			"%s",
			rule->name, rule->stream, subject,
			nats_GetLastError(NULL));
		return -EIO;
	}
	bridge_log("export %s: created stream %s for subject %s", rule->name,
		   rule->stream, subject);
	return 0;
}

int bridge_export_queue_prepare(struct bridge_rule *rule)
{
	jsOptions options;
	struct window *w;
	int ret;

	ret = window_create(rule);
	if (ret)
		return ret;
	w = rule->state;
	jsOptions_Init(&options);
	options.Wait = ACK_WAIT_MS;
	options.PublishAsync.MaxPending = w->size;
	options.PublishAsync.AckHandler = on_ack;
	options.PublishAsync.AckHandlerClosure = w;
	if (natsConnection_JetStream(&rule->js, rule->bridge->nats,
				     &options) != NATS_OK) {
		bridge_log("export %s: no JetStream context: %s", rule->name,
			   nats_GetLastError(NULL));
		return -EIO;
	}
	return rule->stream[0] ? ensure_stream(rule) : 0;
}

/* Builds and sends slot i; the ack callback or settle() settles it. */
static void publish(struct bridge_rule *rule, struct window *w, unsigned int i,
		    const char *subject)
{
	const struct bus_message *m = &w->messages[i];
	char id[BRIDGE_ORIGIN_MAX + BUS_NAME_MAX + 32];
	natsMsg *out = NULL;
	int ret = -EIO;

	snprintf(id, sizeof(id), "%s:%.63s:%" PRIu64,
		 rule->bridge->config.origin, rule->from, m->header->sequence);
	if (natsMsg_Create(&out, subject, NULL, m->payload, (int)m->length) ==
	    NATS_OK) {
		ret = bridge_headers_to_nats(rule->bridge, m, out);
		if (!ret &&
		    natsMsgHeader_Set(out, "Nats-Msg-Id", id) != NATS_OK)
			ret = -EIO;
	}
	/* Marked before the publish: its ack may come before it returns. */
	pthread_mutex_lock(&w->lock);
	w->sent[i] = out;
	w->state[i] = ret == -ELOOP ? SLOT_DROPPED
		      : ret	    ? SLOT_FAILED
				    : SLOT_PENDING;
	pthread_mutex_unlock(&w->lock);
	if (!ret && js_PublishMsgAsync(rule->js, &out, NULL) != NATS_OK) {
		/* Not taken: no callback will come for it. */
		pthread_mutex_lock(&w->lock);
		w->state[i] = SLOT_FAILED;
		pthread_mutex_unlock(&w->lock);
	}
	natsMsg_Destroy(out); /* NULL once nats.c took it */
}

/* Waits for the acks of the window; those that did not come are taken
 * out of nats.c's hands and stay pending, which means a nack. */
static void wait_for_acks(struct bridge_rule *rule)
{
	jsPubOptions options;
	natsMsgList late;

	jsPubOptions_Init(&options);
	options.MaxWait = ACK_WAIT_MS;
	if (js_PublishAsyncComplete(rule->js, &options) == NATS_OK)
		return;
	if (js_PublishAsyncGetPendingList(&late, rule->js) == NATS_OK)
		natsMsgList_Destroy(&late);
}

/* Acks and nacks on the bus; returns how many failed. */
static unsigned int settle(struct bridge_rule *rule, struct window *w,
			   unsigned int count)
{
	unsigned int failed = 0;

	pthread_mutex_lock(&w->lock);
	for (unsigned int i = 0; i < count; i++) {
		if (w->state[i] == SLOT_DROPPED) {
			bus_ack(rule->queue, &w->messages[i]);
			bridge_count(&rule->stats.dropped, 1);
		} else if (w->state[i] == SLOT_ACKED) {
			/* -ESTALE: busd took it back after ack_timeout_ms;
			 * its next delivery is a duplicate JetStream drops. */
			bus_ack(rule->queue, &w->messages[i]);
			bridge_count(&rule->stats.forwarded, 1);
		} else {
			bus_nack(rule->queue, &w->messages[i]);
			bridge_count(&rule->stats.failed, 1);
			failed++;
		}
		w->sent[i] = NULL;
		w->state[i] = SLOT_FAILED;
	}
	if (failed && w->error[0]) {
		bridge_log("export %s: JetStream refused %u message(s): %s; "
			   "they stay on queue %s",
			   rule->name, failed, w->error, rule->from);
		w->error[0] = '\0';
	}
	pthread_mutex_unlock(&w->lock);
	return failed;
}

/* One window: receive, publish, wait, settle.  Returns how many failed,
 * or a negative errno when nothing was received. */
static int one_window(struct bridge_rule *rule, struct window *w,
		      const char *subject)
{
	int count;
	unsigned int failed;

	count = bus_receive_batch(rule->queue, w->messages, w->size,
				  RECEIVE_TIMEOUT_NS);
	if (count <= 0)
		return count < 0 ? count : -EAGAIN;
	bridge_count(&rule->stats.in_flight, (uint64_t)count);
	for (int i = 0; i < count; i++)
		publish(rule, w, (unsigned int)i, subject);
	wait_for_acks(rule);
	failed = settle(rule, w, (unsigned int)count);
	bridge_count(&rule->stats.in_flight, -(uint64_t)count);
	return (int)failed;
}

void *bridge_export_queue_run(void *arg)
{
	struct bridge_rule *rule = arg;
	struct window *w = rule->state;
	char subject[BRIDGE_SUBJECT_MAX + 1];
	unsigned int retry_ms = RETRY_FIRST_MS;

	bridge_subject_expand(rule->to, rule->bridge->config.origin,
			      rule->from, subject, sizeof(subject));
	while (!bridge_stopping(rule->bridge)) {
		int ret;

		/* While NATS is away the messages wait on the bus, where
		 * another consumer (or this bridge, later) can have them. */
		if (!bridge_nats_up(rule->bridge)) {
			bridge_lag_refresh(rule, false);
			sleep_ms(100);
			continue;
		}
		ret = one_window(rule, w, subject);
		bridge_lag_refresh(rule, ret == -ETIMEDOUT || ret == -EAGAIN);
		if (ret == -ETIMEDOUT || ret == -EAGAIN || ret == -EINTR ||
		    ret == 0) {
			if (ret == 0)
				retry_ms = RETRY_FIRST_MS;
			continue;
		}
		if (ret == -EBADMSG) {
			bridge_count(&rule->stats.dropped, 1);
			continue;
		}
		if (ret < 0) {
			bridge_log("export %s: queue %s: %s; this rule stops",
				   rule->name, rule->from, bus_strerror(ret));
			break;
		}
		/* Failures: nacked messages come straight back, so pause
		 * rather than spin against a JetStream that refuses. */
		sleep_ms(retry_ms);
		if (retry_ms < RETRY_MAX_MS)
			retry_ms *= 2;
	}
	return NULL;
}

void bridge_export_queue_free(struct bridge_rule *rule)
{
	struct window *w = rule->state;

	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->messages);
	free(w->sent);
	free(w->state);
	free(w);
	rule->state = NULL;
}
