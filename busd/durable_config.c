/* SPDX-License-Identifier: MIT */
/* The keys of durable queues and where their journals live. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "durable_config.h"

static int parse_u64(const char *value, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!value[0] || value[0] == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value)
		return -EINVAL;
	/* Sizes may say K, M or G (binary). */
	if (!strcasecmp(end, "k") || !strcasecmp(end, "kib"))
		n <<= 10;
	else if (!strcasecmp(end, "m") || !strcasecmp(end, "mib"))
		n <<= 20;
	else if (!strcasecmp(end, "g") || !strcasecmp(end, "gib"))
		n <<= 30;
	else if (*end)
		return -EINVAL;
	*out = n;
	return 0;
}

static int parse_yes_no(const char *value, uint8_t *out)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "1"))
		*out = 1;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "0"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

int busd_durable_config_key(struct bus_queue_settings *s, const char *key,
			    const char *value, char *why, size_t why_size)
{
	uint64_t n;

	if (!strcmp(key, "durable")) {
		if (parse_yes_no(value, &s->durable) == 0)
			return 0;
		snprintf(why, why_size, "durable must be yes or no, not '%s'",
			 value);
	} else if (!strcmp(key, "sync")) {
		if (!strcmp(value, "none"))
			s->sync = BUS_SYNC_NONE;
		else if (!strcmp(value, "interval"))
			s->sync = BUS_SYNC_INTERVAL;
		else if (!strcmp(value, "always"))
			s->sync = BUS_SYNC_ALWAYS;
		else {
			snprintf(why, why_size,
				 "sync must be none, interval or always, not "
				 "'%s'",
				 value);
			return -EINVAL;
		}
		return 0;
	} else if (!strcmp(key, "sync_interval_ms")) {
		if (parse_u64(value, &n) == 0 && n >= 1 &&
		    n <= BUS_SYNC_INTERVAL_MAX_MS) {
			s->sync_interval_ms = (uint16_t)n;
			return 0;
		}
		snprintf(why, why_size,
			 "sync_interval_ms must be from 1 to %u, not '%s'",
			 BUS_SYNC_INTERVAL_MAX_MS, value);
	} else if (!strcmp(key, "segment_bytes")) {
		/* Kept in KiB (the segment header has 32 bits for it). */
		if (parse_u64(value, &n) == 0 &&
		    n >= (uint64_t)BUS_JOURNAL_SEGMENT_KIB_MIN << 10 &&
		    n <= (uint64_t)UINT32_MAX << 10) {
			s->segment_kib = (uint32_t)((n + 1023) >> 10);
			return 0;
		}
		snprintf(why, why_size,
			 "segment_bytes must be a size from %u KiB to 4 TiB "
			 "(K, M and G may follow), not '%s'",
			 BUS_JOURNAL_SEGMENT_KIB_MIN, value);
	} else {
		return -ENOENT;
	}
	return -EINVAL;
}

int busd_durable_default_dir(const char *bus_name, char *path, size_t size)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (geteuid() == 0)
		n = snprintf(path, size, "/var/lib/shmbus/%s", bus_name);
	else if (state && state[0] == '/')
		n = snprintf(path, size, "%s/shmbus/%s", state, bus_name);
	else if (home && home[0] == '/')
		n = snprintf(path, size, "%s/.local/state/shmbus/%s", home,
			     bus_name);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
