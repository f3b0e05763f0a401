/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bridge_status: the input as the last message of a status topic
 * (busbridge.8, STATUS TOPIC), read by busctl bridge.  Anyone allowed to
 * publish to the topic writes it.  Besides the sanitizers, a parse that
 * succeeds must give a bridge line's state and time, a bounded number of
 * rules and NUL-terminated words without control bytes (busctl prints
 * them to a terminal); a failure must come with a sentence.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_bridge_status: %s\n", what);
	abort();
}

static void check_word(const char *word)
{
	if (strnlen(word, BRIDGE_STATUS_WORD_MAX + 1) > BRIDGE_STATUS_WORD_MAX)
		fuzz_bug("a word is not terminated within its bound");
	for (; *word; word++)
		if ((unsigned char)*word < 0x20 || *word == 0x7f)
			fuzz_bug("a control byte in a word");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bridge_status status;
	char error[256];

	if (bridge_status_parse((const char *)data, size, &status, error,
				sizeof(error))) {
		if (!error[0])
			fuzz_bug("an error without a sentence");
		return 0;
	}
	if (!status.state[0] || !status.time_ns)
		fuzz_bug("accepted without a state or a time");
	if (status.rule_count > BRIDGE_STATUS_RULES_MAX)
		fuzz_bug("more rules than the bound");
	check_word(status.origin);
	check_word(status.state);
	check_word(status.nats);
	for (unsigned int i = 0; i < status.rule_count; i++) {
		check_word(status.rules[i].name);
		check_word(status.rules[i].kind);
	}
	return 0;
}
