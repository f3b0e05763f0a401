/* SPDX-License-Identifier: MIT */
/*
 * [bridge] status_topic: the bridge's figures, once a second, as the last
 * value of a topic on its own bus, which `busctl bridge` reads.  The bus
 * carries them, so busctl needs no address of the bridge's, and the
 * topic's owner, group and mode decide who may read them.
 *
 * The message is text, one item a line, words of KEY=VALUE (busbridge.8,
 * STATUS TOPIC):
 *
 *   bridge ORIGIN state=running pid=N connected=1 reconnects=N
 *          time_ns=N interval_ms=N nats=URL
 *   rule NAME kind=KIND forwarded=N failed=N dropped=N in_flight=N lag=N|-
 *
 * state is running, or stopped in the last message a bridge publishes as
 * it stops; time_ns is CLOCK_REALTIME, so that a reader in another
 * process sees how old the figures are (a bridge killed with -9 says
 * nothing: its figures only grow old).
 *
 * The topic is made with overwrite (a slow reader never holds the bridge
 * back); its handle belongs to the status thread, and to main() again
 * after the thread is joined.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

#define STATUS_INTERVAL_MS 1000u
#define STATUS_STEP_NS 100000000L
/* Room for about a hundred rules; a longer text is cut at a line. */
#define STATUS_MAX_MESSAGE 16384u

static uint64_t realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Appends to buf; false once the line did not fit (buf keeps what came
 * before it). */
static bool append(char *buf, size_t size, size_t *used, const char *line)
{
	size_t length = strlen(line);

	if (*used + length >= size)
		return false;
	memcpy(buf + *used, line, length + 1);
	*used += length;
	return true;
}

static size_t status_format(const struct bridge *bridge, const char *state,
			    char *buf, size_t size)
{
	char url[BRIDGE_URL_MAX + 1] = "";
	char line[512];
	size_t used = 0;
	bool connected = bridge->nats && natsConnection_Status(bridge->nats) ==
						 NATS_CONN_STATUS_CONNECTED;

	/* Without credentials: whoever may read the topic sees it. */
	if (connected)
		bridge_connected_url(bridge->nats, url, sizeof(url));
	snprintf(line, sizeof(line),
		 "bridge %s state=%s pid=%d connected=%d "
		 "reconnects=%" PRIu64 " time_ns=%" PRIu64 " interval_ms=%u "
		 "nats=%s\n",
		 bridge->config.origin, state, (int)getpid(), connected,
		 bridge_figure(&bridge->reconnects), realtime_ns(),
		 STATUS_INTERVAL_MS, url[0] ? url : "-");
	append(buf, size, &used, line);
	for (unsigned int i = 0; i < bridge->config.rule_count; i++) {
		const struct bridge_rule *rule = &bridge->config.rules[i];
		const struct bridge_stats *s = &rule->stats;
		uint64_t lag = bridge_figure(&s->lag);
		char lag_text[24] = "-";

		if (lag != BRIDGE_LAG_UNKNOWN)
			snprintf(lag_text, sizeof(lag_text), "%" PRIu64, lag);
		snprintf(line, sizeof(line),
			 "rule %s kind=%s forwarded=%" PRIu64
			 " failed=%" PRIu64 " dropped=%" PRIu64
			 " in_flight=%" PRIu64 " lag=%s\n",
			 rule->name, bridge_kind_name(rule->kind),
			 bridge_figure(&s->forwarded),
			 bridge_figure(&s->failed), bridge_figure(&s->dropped),
			 bridge_figure(&s->in_flight), lag_text);
		if (!append(buf, size, &used, line))
			break;
	}
	return used;
}

static void status_publish(struct bridge *bridge, const char *state)
{
	static char text[STATUS_MAX_MESSAGE];
	size_t length = status_format(bridge, state, text, sizeof(text));
	int ret = bus_publish(bridge->status_topic, text, length, BUS_NOWAIT);

	/* Once: a topic deleted under us must not fill the log. */
	if (ret < 0 && !bridge->status_failed) {
		bridge_log("status_topic %s: cannot publish the figures: %s",
			   bridge->config.status_topic, bus_strerror(ret));
		bridge->status_failed = true;
	}
}

static void *status_run(void *arg)
{
	struct bridge *bridge = arg;
	struct timespec step = { 0, STATUS_STEP_NS };
	unsigned int steps = 0;

	status_publish(bridge, "running");
	while (!bridge_stopping(bridge)) {
		nanosleep(&step, NULL);
		if (++steps * (STATUS_STEP_NS / 1000000) < STATUS_INTERVAL_MS)
			continue;
		steps = 0;
		status_publish(bridge, "running");
	}
	return NULL;
}

/* Another running bridge's fresh figures on the topic (two bridges given
 * one status_topic) would be overwritten by ours, and ours by its: said
 * once at start. */
static void warn_if_shared(struct bridge *bridge)
{
	static char text[STATUS_MAX_MESSAGE];
	unsigned long long time_ns = 0;
	const char *pid_word, *time_word;
	int length, pid = 0;

	length = bus_topic_last(bridge->status_topic, text, sizeof(text) - 1,
				NULL);
	if (length <= 0)
		return;
	text[length] = '\0';
	text[strcspn(text, "\n")] = '\0'; /* the bridge line */
	pid_word = strstr(text, " pid=");
	time_word = strstr(text, " time_ns=");
	if (!strstr(text, " state=running") || !pid_word || !time_word ||
	    sscanf(pid_word, " pid=%d", &pid) != 1 ||
	    sscanf(time_word, " time_ns=%llu", &time_ns) != 1 ||
	    pid == (int)getpid() ||
	    realtime_ns() - time_ns > 3ull * STATUS_INTERVAL_MS * 1000000u)
		return;
	bridge_log("warning: status_topic %s: a bridge with pid %d publishes "
		   "its figures there too; give each bridge its own "
		   "status_topic",
		   bridge->config.status_topic, pid);
}

/* Makes the topic where missing (busd's admin rights needed) and opens it
 * to publish.  Not being able to is a warning, not a reason to stop
 * bridging: the figures are also on SIGUSR1 and [bridge] metrics. */
static int status_open(struct bridge *bridge)
{
	const char *name = bridge->config.status_topic;
	struct bus_topic_settings settings;
	int ret;

	bus_topic_settings_default(&settings);
	settings.slots = 4;
	settings.max_message = STATUS_MAX_MESSAGE;
	settings.slow_subscriber = BUS_SLOW_SUBSCRIBER_OVERWRITE;
	ret = bus_topic_create(bridge->bus, name, &settings);
	if (ret < 0 && ret != -EEXIST) {
		bridge_log("status_topic %s: cannot create it (%s): figures "
			   "not published on the bus; an admin can create it "
			   "(busctl create %s --topic --max-message %u "
			   "--slow-subscriber overwrite), or set status_topic "
			   "= none",
			   name, bus_strerror(ret), name, STATUS_MAX_MESSAGE);
		return ret;
	}
	ret = bus_topic_open(bridge->bus, name, BUS_PRODUCER, NULL,
			     &bridge->status_topic);
	if (ret < 0) {
		bridge_log("status_topic %s: cannot publish to it (%s): "
			   "figures not published on the bus",
			   name, bus_strerror(ret));
		bridge->status_topic = NULL;
		return ret;
	}
	warn_if_shared(bridge);
	return 0;
}

void bridge_status_start(struct bridge *bridge)
{
	int ret;

	if (!bridge->config.status_topic[0] || status_open(bridge) < 0)
		return;
	ret = pthread_create(&bridge->status_thread, NULL, status_run, bridge);
	if (ret) {
		bridge_log("status_topic %s: no thread: %s",
			   bridge->config.status_topic, strerror(ret));
		bus_topic_close(bridge->status_topic);
		bridge->status_topic = NULL;
		return;
	}
	bridge->status_thread_started = true;
}

/* After bridge->stopping is set, before the rules and NATS go: the last
 * message says the bridge stopped, with its final figures. */
void bridge_status_stop(struct bridge *bridge)
{
	if (bridge->status_thread_started) {
		pthread_join(bridge->status_thread, NULL);
		bridge->status_thread_started = false;
	}
	if (!bridge->status_topic)
		return;
	status_publish(bridge, "stopped");
	bus_topic_close(bridge->status_topic);
	bridge->status_topic = NULL;
}
