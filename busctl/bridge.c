/* SPDX-License-Identifier: MIT */
/*
 * busctl [--json] bridge [NAME]: the figures of the busbridges on this
 * bus, read as the last value of each bridge's status topic
 * (busbridge.ORIGIN.CONFIG unless its config names another; busbridge.8,
 * STATUS TOPIC).  A bridge killed with -9 leaves its last figures there: they
 * are shown as stale once three intervals old.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge_status.h"
#include "busctl.h"

#define STATUS_PREFIX "busbridge."
#define STATUS_TEXT_MAX 65536u

static uint64_t realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* How old the figures are, in ms (0 for figures from the future: another
 * clock's). */
static uint64_t age_ms(const struct bridge_status *s, uint64_t now)
{
	return now > s->time_ns ? (now - s->time_ns) / 1000000u : 0;
}

/* running, stopped, or stale: running by its word, but silent for three
 * of its intervals (killed, or its host's bus connection gone). */
static const char *state_of(const struct bridge_status *s, uint64_t now)
{
	uint64_t interval = s->interval_ms ? s->interval_ms : 1000;

	/* interval_ms comes from the topic: capped so 3x cannot wrap. */
	if (interval > UINT64_MAX / 3)
		interval = UINT64_MAX / 3;
	if (!strcmp(s->state, "running") && age_ms(s, now) > 3 * interval)
		return "stale";
	return s->state;
}

static void print_figure(uint64_t value, int width)
{
	if (value == BRIDGE_STATUS_UNKNOWN)
		printf(" %*s", width, "-");
	else
		printf(" %*" PRIu64, width, value);
}

static void print_text(const char *topic, const struct bridge_status *s,
		       uint64_t now)
{
	printf("bridge %s (topic %s): %s, %s, %" PRIu64 " reconnect%s, "
	       "pid %" PRId64 ", figures %" PRIu64 ".%" PRIu64 " s old\n",
	       s->origin, topic, state_of(s, now),
	       s->connected ? "connected" : "not connected", s->reconnects,
	       s->reconnects == 1 ? "" : "s", s->pid, age_ms(s, now) / 1000,
	       age_ms(s, now) % 1000 / 100);
	if (s->connected)
		printf("  nats: %s\n", s->nats);
	printf("  %-24s %-16s %10s %8s %8s %9s %8s\n", "RULE", "KIND",
	       "FORWARDED", "FAILED", "DROPPED", "IN_FLIGHT", "LAG");
	for (unsigned int i = 0; i < s->rule_count; i++) {
		const struct bridge_status_rule *r = &s->rules[i];

		printf("  %-24s %-16s", r->name, r->kind);
		print_figure(r->forwarded, 10);
		print_figure(r->failed, 8);
		print_figure(r->dropped, 8);
		print_figure(r->in_flight, 9);
		print_figure(r->lag, 8);
		printf("\n");
	}
}

static void print_json_figure(const char *key, uint64_t value)
{
	if (value == BRIDGE_STATUS_UNKNOWN)
		printf(", \"%s\": null", key);
	else
		printf(", \"%s\": %" PRIu64, key, value);
}

/* One object a line, as busctl's other --json output. */
static void print_json(const char *topic, const struct bridge_status *s,
		       uint64_t now)
{
	printf("{\"bridge\": ");
	busctl_json_string(stdout, s->origin);
	printf(", \"topic\": ");
	busctl_json_string(stdout, topic);
	printf(", \"state\": ");
	busctl_json_string(stdout, state_of(s, now));
	printf(", \"pid\": %" PRId64 ", \"connected\": %s, \"nats\": ", s->pid,
	       s->connected ? "true" : "false");
	if (s->connected)
		busctl_json_string(stdout, s->nats);
	else
		printf("null");
	printf(", \"reconnects\": %" PRIu64 ", \"age_ms\": %" PRIu64
	       ", \"rules\": [",
	       s->reconnects, age_ms(s, now));
	for (unsigned int i = 0; i < s->rule_count; i++) {
		const struct bridge_status_rule *r = &s->rules[i];

		printf("%s{\"rule\": ", i ? ", " : "");
		busctl_json_string(stdout, r->name);
		printf(", \"kind\": ");
		busctl_json_string(stdout, r->kind);
		print_json_figure("forwarded", r->forwarded);
		print_json_figure("failed", r->failed);
		print_json_figure("dropped", r->dropped);
		print_json_figure("in_flight", r->in_flight);
		print_json_figure("lag", r->lag);
		printf("}");
	}
	printf("]}\n");
}

/* Reads and prints one status topic; an error is reported and returned. */
static int show_topic(struct busctl *ctl, const char *topic, char *text,
		      struct bridge_status *status)
{
	char error[256];
	bus_topic_t *handle;
	int length;

	length = bus_topic_open(ctl->bus, topic, BUS_OBSERVER, NULL, &handle);
	if (length < 0)
		return busctl_fail(ctl, length, "bridge: topic '%s'", topic);
	length = bus_topic_last(handle, text, STATUS_TEXT_MAX, NULL);
	bus_topic_close(handle);
	if (length == -EAGAIN)
		return busctl_error("bridge: topic '%s' holds no figures yet "
				    "(its bridge has not published)",
				    topic);
	if (length < 0)
		return busctl_fail(ctl, length, "bridge: topic '%s'", topic);
	if (bridge_status_parse(text, (size_t)length, status, error,
				sizeof(error)))
		return busctl_error("bridge: topic '%s' does not hold a "
				    "bridge's figures: %s",
				    topic, error);
	if (ctl->json)
		print_json(topic, status, realtime_ns());
	else
		print_text(topic, status, realtime_ns());
	return 0;
}

/* Whether topic is a status topic to show: with no name, every
 * busbridge.*; with one, busbridge.NAME, busbridge.NAME.* (a bridge's
 * default is busbridge.ORIGIN.CONFIG) or the topic NAME itself (a
 * status_topic of the config's choosing). */
static bool wanted(const char *topic, const char *name)
{
	size_t prefix = strlen(STATUS_PREFIX), length;

	if (!name)
		return !strncmp(topic, STATUS_PREFIX, prefix);
	if (!strcmp(topic, name))
		return true;
	length = strlen(name);
	return !strncmp(topic, STATUS_PREFIX, prefix) &&
	       !strncmp(topic + prefix, name, length) &&
	       (topic[prefix + length] == '\0' ||
		topic[prefix + length] == '.');
}

int busctl_bridge(struct busctl *ctl, int argc, char **argv)
{
	char topic[BUS_NAME_MAX + 1];
	struct bridge_status *status = NULL;
	const char *name = NULL;
	char *text = NULL;
	unsigned int shown = 0;
	int c, ret = BUSCTL_EXIT_OK;

	c = getopt_long(argc, argv, ":", NULL, NULL);
	if (c != -1)
		return busctl_bad_option("bridge", c, argv);
	if (argc - optind > 1)
		return busctl_usage_error("bridge: unexpected '%s'",
					  argv[optind + 1]);
	if (optind < argc)
		name = argv[optind];
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	text = malloc(STATUS_TEXT_MAX);
	status = malloc(sizeof(*status));
	if (!text || !status) {
		ret = busctl_fail(ctl, -ENOMEM, "bridge");
		goto out;
	}
	for (uint32_t index = 0;; index++) {
		uint32_t kind;
		int err = bus_list(ctl->bus, index, topic, &kind);

		if (err == -ENOENT)
			break;
		if (err < 0) {
			ret = busctl_fail(ctl, err, "bridge: ls");
			goto out;
		}
		if (kind != BUS_SEGMENT_TOPIC || !wanted(topic, name))
			continue;
		if (show_topic(ctl, topic, text, status))
			ret = BUSCTL_EXIT_ERROR;
		shown++;
	}
	if (!shown && name)
		ret = busctl_error(
			"bridge: no busbridge '%s' publishes its "
			"figures on bus '%s' (no topic %s, " STATUS_PREFIX
			"%s or " STATUS_PREFIX
			"%s.*; see status_topic in busbridge(8))",
			name, ctl->bus_name, name, name, name);
	else if (!shown)
		ret = busctl_error(
			"bridge: no busbridge publishes its figures "
			"on bus '%s' (no topic " STATUS_PREFIX "*; "
			"see status_topic in busbridge(8))",
			ctl->bus_name);
out:
	free(status);
	free(text);
	if (busctl_flush_stdout())
		ret = BUSCTL_EXIT_ERROR;
	return ret;
}
