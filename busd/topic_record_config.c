/* SPDX-License-Identifier: MIT */
/*
 * The keys of recorded topics.  sync, sync_interval_ms and segment_bytes
 * mean what they mean for durable queues, and are parsed by the same code
 * (durable_config.c) so that both say the same thing about a bad value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "durable_config.h"
#include "topic_record_config.h"

/* A whole number, then an optional suffix from units: its multiplier. */
struct unit {
	const char *suffix;
	uint64_t factor;
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "k", 1ull << 10 },
	{ "kib", 1ull << 10 },
	{ "m", 1ull << 20 },
	{ "mib", 1ull << 20 },
	{ "g", 1ull << 30 },
	{ "gib", 1ull << 30 },
	{ "t", 1ull << 40 },
	{ "tib", 1ull << 40 },
	{ NULL, 0 },
};

static const struct unit age_units[] = {
	{ "", 1 },     { "s", 1 },     { "m", 60 },
	{ "h", 3600 }, { "d", 86400 }, { NULL, 0 },
};

static int parse_with_unit(const char *value, const struct unit *units,
			   uint64_t *out)
{
	unsigned long long n;
	char *end;

	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno)
		return -EINVAL;
	for (const struct unit *u = units; u->suffix; u++) {
		if (strcasecmp(end, u->suffix))
			continue;
		if (n > UINT64_MAX / u->factor)
			return -EINVAL;
		*out = n * u->factor;
		return 0;
	}
	return -EINVAL;
}

static int parse_record(struct bus_topic_settings *s, const char *value,
			char *why, size_t why_size)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "1")) {
		s->record = 1;
		return 0;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false") ||
	    !strcmp(value, "0")) {
		s->record = 0;
		return 0;
	}
	snprintf(why, why_size, "record must be yes or no, not '%s'", value);
	return -EINVAL;
}

/* Kept in MiB, rounded up: the layout has 32 bits for it. */
static int parse_retain_bytes(struct bus_topic_settings *s, const char *value,
			      char *why, size_t why_size)
{
	uint64_t n;

	if (parse_with_unit(value, size_units, &n) == 0 &&
	    ((n + (1u << 20) - 1) >> 20) <= UINT32_MAX) {
		s->retain_mib = (uint32_t)((n + (1u << 20) - 1) >> 20);
		return 0;
	}
	snprintf(why, why_size,
		 "retain_bytes must be a size (K, M, G or T may follow; kept "
		 "in whole MiB, 0: keep everything), not '%s'",
		 value);
	return -EINVAL;
}

static int parse_retain_age(struct bus_topic_settings *s, const char *value,
			    char *why, size_t why_size)
{
	uint64_t n;

	if (parse_with_unit(value, age_units, &n) == 0 && n <= UINT32_MAX) {
		s->retain_age_s = (uint32_t)n;
		return 0;
	}
	snprintf(why, why_size,
		 "retain_age must be seconds, or a number with s, m, h or d "
		 "(at most %u s; 0: keep everything), not '%s'",
		 UINT32_MAX, value);
	return -EINVAL;
}

/* sync, sync_interval_ms, segment_bytes: as a durable queue has them. */
static int parse_shared(struct bus_topic_settings *s, const char *key,
			const char *value, char *why, size_t why_size)
{
	struct bus_queue_settings q = {
		.sync = s->sync,
		.sync_interval_ms = s->sync_interval_ms,
		.segment_kib = s->segment_kib,
	};
	int ret = busd_durable_config_key(&q, key, value, why, why_size);

	if (ret)
		return ret;
	s->sync = q.sync;
	s->sync_interval_ms = q.sync_interval_ms;
	s->segment_kib = q.segment_kib;
	return 0;
}

int busd_topic_record_config_key(struct bus_topic_settings *s, const char *key,
				 const char *value, char *why, size_t why_size)
{
	if (!strcmp(key, "record"))
		return parse_record(s, value, why, why_size);
	if (!strcmp(key, "retain_bytes"))
		return parse_retain_bytes(s, value, why, why_size);
	if (!strcmp(key, "retain_age"))
		return parse_retain_age(s, value, why, why_size);
	if (!strcmp(key, "sync") || !strcmp(key, "sync_interval_ms") ||
	    !strcmp(key, "segment_bytes"))
		return parse_shared(s, key, value, why, why_size);
	return -ENOENT;
}
