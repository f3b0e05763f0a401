/* SPDX-License-Identifier: MIT */
/*
 * Parsing command-line values and printing names (JSON is in json.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "busctl.h"

struct busctl_name {
	const char *text;
	uint32_t value;
};

static const struct busctl_name busctl_queue_types[] = {
	{ "mpmc", BUS_QUEUE_MPMC },
	{ "spsc", BUS_QUEUE_SPSC },
};

static const struct busctl_name busctl_overflows[] = {
	{ "block", BUS_OVERFLOW_BLOCK },
	{ "reject", BUS_OVERFLOW_REJECT },
	{ "drop-oldest", BUS_OVERFLOW_DROP_OLDEST },
};

static const struct busctl_name busctl_slow_subscribers[] = {
	{ "block", BUS_SLOW_SUBSCRIBER_BLOCK },
	{ "overwrite", BUS_SLOW_SUBSCRIBER_OVERWRITE },
};

static const struct busctl_name busctl_kinds[] = {
	{ "queue", BUS_SEGMENT_QUEUE },
	{ "topic", BUS_SEGMENT_TOPIC },
};

#define BUSCTL_COUNT(array) (sizeof(array) / sizeof((array)[0]))

static int busctl_name_lookup(const struct busctl_name *names, size_t count,
			      const char *text, uint32_t *value)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (strcmp(names[i].text, text) == 0) {
			*value = names[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *busctl_name_of(const struct busctl_name *names,
				  size_t count, uint32_t value)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (names[i].value == value)
			return names[i].text;
	return "unknown";
}

int busctl_parse_queue_type(const char *text, uint32_t *type)
{
	return busctl_name_lookup(busctl_queue_types,
				  BUSCTL_COUNT(busctl_queue_types), text,
				  type);
}

int busctl_parse_overflow(const char *text, uint32_t *overflow)
{
	return busctl_name_lookup(busctl_overflows,
				  BUSCTL_COUNT(busctl_overflows), text,
				  overflow);
}

const char *busctl_queue_type_name(uint32_t type)
{
	return busctl_name_of(busctl_queue_types,
			      BUSCTL_COUNT(busctl_queue_types), type);
}

const char *busctl_overflow_name(uint32_t overflow)
{
	return busctl_name_of(busctl_overflows, BUSCTL_COUNT(busctl_overflows),
			      overflow);
}

const char *busctl_kind_name(uint32_t kind)
{
	return busctl_name_of(busctl_kinds, BUSCTL_COUNT(busctl_kinds), kind);
}

int busctl_parse_slow_subscriber(const char *text, uint32_t *policy)
{
	return busctl_name_lookup(busctl_slow_subscribers,
				  BUSCTL_COUNT(busctl_slow_subscribers), text,
				  policy);
}

const char *busctl_slow_subscriber_name(uint32_t policy)
{
	return busctl_name_of(busctl_slow_subscribers,
			      BUSCTL_COUNT(busctl_slow_subscribers), policy);
}

int busctl_parse_u64(const char *text, uint64_t *out)
{
	unsigned long long value;
	char *end;

	/* strtoull() accepts a sign and leading blanks; a count does not. */
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = value;
	return 0;
}

int busctl_parse_u32(const char *text, uint32_t *out)
{
	uint64_t value;
	int err = busctl_parse_u64(text, &value);

	if (err < 0)
		return err;
	if (value > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)value;
	return 0;
}

int busctl_parse_seconds(const char *text, int64_t *ns)
{
	double seconds;
	char *end;

	if ((text[0] < '0' || text[0] > '9') && text[0] != '.')
		return -EINVAL;
	errno = 0;
	seconds = strtod(text, &end);
	/* Past about 292 years the nanoseconds no longer fit in 63 bits. */
	if (*end != '\0' || errno || !isfinite(seconds) || seconds < 0 ||
	    seconds > 9.2e9)
		return -EINVAL;
	*ns = (int64_t)(seconds * 1e9);
	return 0;
}

int64_t busctl_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
