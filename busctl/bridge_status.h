/* SPDX-License-Identifier: MIT */
/*
 * The figures a busbridge publishes on its status topic (busbridge.8,
 * STATUS TOPIC), parsed.  The text comes from whoever may publish to the
 * topic, so nothing in it is trusted: every field is bounded, a line or
 * word that does not parse is an error, never a crash.
 */
#ifndef BUSCTL_BRIDGE_STATUS_H
#define BUSCTL_BRIDGE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_STATUS_RULES_MAX 256
#define BRIDGE_STATUS_WORD_MAX 255
/* A figure the bridge cannot read (lag=-). */
#define BRIDGE_STATUS_UNKNOWN UINT64_MAX

struct bridge_status_rule {
	char name[BRIDGE_STATUS_WORD_MAX + 1];
	char kind[BRIDGE_STATUS_WORD_MAX + 1];
	uint64_t forwarded, failed, dropped, in_flight, lag;
};

struct bridge_status {
	char origin[BRIDGE_STATUS_WORD_MAX + 1];
	char state[BRIDGE_STATUS_WORD_MAX + 1];
	char nats[BRIDGE_STATUS_WORD_MAX + 1];
	int64_t pid;
	bool connected;
	uint64_t reconnects;
	uint64_t time_ns;     /* CLOCK_REALTIME of the figures */
	uint64_t interval_ms; /* how often they come */
	unsigned int rule_count;
	struct bridge_status_rule rules[BRIDGE_STATUS_RULES_MAX];
};

/*
 * Parses length bytes of text into *out.  0, or -EBADMSG with a sentence
 * in error (naming the line) when the text is not a bridge's status.
 */
int bridge_status_parse(const char *text, size_t length,
			struct bridge_status *out, char *error,
			size_t error_size);

#endif
