/* SPDX-License-Identifier: MIT */
/* The [bus] keys of the connection limits (admission.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"

struct busd_limits_key {
	const char *name;
	size_t offset;	  /* of the field in struct busd_limits */
	const char *what; /* what the number counts, for a sentence */
};

static const struct busd_limits_key busd_limits_keys[] = {
	{ "max_connections_per_user",
	  offsetof(struct busd_limits, max_connections_per_user),
	  "connections" },
	{ "hello_timeout_ms", offsetof(struct busd_limits, hello_timeout_ms),
	  "milliseconds" },
	{ "reserved_descriptors",
	  offsetof(struct busd_limits, reserved_descriptors), "descriptors" },
};

#define BUSD_LIMITS_KEY_COUNT \
	(sizeof(busd_limits_keys) / sizeof(busd_limits_keys[0]))

void busd_limits_default(struct busd_limits *limits)
{
	limits->max_connections_per_user =
		BUSD_MAX_CONNECTIONS_PER_USER_DEFAULT;
	limits->hello_timeout_ms = BUSD_HELLO_TIMEOUT_MS_DEFAULT;
	limits->reserved_descriptors = BUSD_RESERVED_DESCRIPTORS_DEFAULT;
	limits->given = 0;
}

/* Decimal digits only, as config.c reads numbers: no sign, no spaces. */
static int busd_limits_parse(const char *value, uint32_t *out)
{
	unsigned long long number;
	char *end;

	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	number = strtoull(value, &end, 10);
	if (errno || *end || number > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)number;
	return 0;
}

int busd_limits_set(struct busd_limits *limits, const char *key,
		    const char *value, char *why, size_t why_size)
{
	const struct busd_limits_key *k = NULL;
	unsigned int bit = 0;
	uint32_t number;

	for (unsigned int i = 0; i < BUSD_LIMITS_KEY_COUNT; i++) {
		if (!strcmp(busd_limits_keys[i].name, key)) {
			k = &busd_limits_keys[i];
			bit = 1u << i;
		}
	}
	if (!k)
		return -ENOENT;
	if (limits->given & bit)
		return -EEXIST;
	if (busd_limits_parse(value, &number)) {
		snprintf(why, why_size,
			 "%s must be a whole number of %s (0: "
			 "no limit), not '%s'",
			 key, k->what, value);
		return -EINVAL;
	}
	memcpy((char *)limits + k->offset, &number, sizeof(number));
	limits->given |= bit;
	return 0;
}
