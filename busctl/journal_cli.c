/* SPDX-License-Identifier: MIT */
/* Shared by busctl record, dump and replay (journal_cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal_cli.h"

int busctl_journal_view(struct busctl_journal_view *v,
			const struct bus_journal_message *m)
{
	if (m->extension_length > BUS_QUEUE_HEADER_ROOM_MAX)
		return -EBADMSG;
	memset(&v->header, 0, sizeof(v->header));
	v->header.header_length = sizeof(v->header);
	v->header.header_version = BUS_MESSAGE_HEADER_VERSION;
	v->header.flags = (uint8_t)m->flags;
	v->header.sequence = m->sequence;
	v->header.correlation_id = m->correlation_id;
	v->header.delivery_count = m->delivery_count;
	v->header.extension_length = (uint16_t)m->extension_length;
	if (m->extension_length)
		memcpy(v->room, m->extension, m->extension_length);
	memset(&v->message, 0, sizeof(v->message));
	v->message.header = &v->header;
	/* The room ends where a payload would start: the accessors bound
	 * what they read by it. */
	v->message.payload = v->room + m->extension_length;
	return 0;
}

int busctl_journal_meta(const struct busctl_journal_view *v,
			struct busctl_journal_strings *s,
			struct busctl_meta *meta)
{
	int ret;

	memset(meta, 0, sizeof(*meta));
	meta->correlation = v->header.correlation_id;
	if (!v->header.extension_length)
		return 0;
	ret = bus_message_key(&v->message, s->key, sizeof(s->key));
	if (ret < 0)
		return ret;
	if (ret > 0)
		meta->key = s->key;
	ret = bus_message_reply_to(&v->message, s->reply_to,
				   sizeof(s->reply_to));
	if (ret < 0)
		return ret;
	if (ret > 0)
		meta->reply_to = s->reply_to;
	for (uint32_t i = 0; i < BUS_MESSAGE_HEADERS_MAX; i++) {
		ret = bus_message_header_at(&v->message, i, s->names[i],
					    sizeof(s->names[i]), s->values[i],
					    sizeof(s->values[i]));
		if (ret == -ENOENT)
			break;
		if (ret < 0)
			return ret;
		meta->names[i] = s->names[i];
		meta->values[i] = s->values[i];
		meta->count++;
	}
	return 0;
}

uint32_t busctl_journal_extension(const struct bus_message *message,
				  uint8_t *out)
{
	const uint8_t *start, *end;
	uint32_t length;

	if (!message->header || !message->payload)
		return 0;
	start = (const uint8_t *)message->header + sizeof(*message->header);
	end = message->payload;
	length = message->header->extension_length;
	/* Bounded by the view's room, as the library's readers bound it. */
	if (end < start || length > (size_t)(end - start) ||
	    length > BUS_QUEUE_HEADER_ROOM_MAX)
		return 0;
	memcpy(out, start, length);
	return length;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t busctl_journal_wall_ns(uint64_t monotonic_ns)
{
	uint64_t real = clock_ns(CLOCK_REALTIME), mono;

	if (!monotonic_ns)
		return real;
	mono = clock_ns(CLOCK_MONOTONIC);
	return monotonic_ns > mono ? real : real - (mono - monotonic_ns);
}

const char *busctl_journal_format_time(char *out, size_t size,
				       uint64_t wall_ns)
{
	time_t seconds = (time_t)(wall_ns / 1000000000u);
	struct tm tm;
	char text[32];

	if (!gmtime_r(&seconds, &tm) ||
	    !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(text, sizeof(text), "@%lld", (long long)seconds);
	snprintf(out, size, "%s.%09" PRIu64 "Z", text, wall_ns % 1000000000u);
	return out;
}

/* ".123" after seconds: nanoseconds, or -1. */
static int64_t fraction_ns(const char *p, const char **end)
{
	int64_t ns = 0, scale = 100000000;

	if (*p != '.') {
		*end = p;
		return 0;
	}
	for (p++; *p >= '0' && *p <= '9'; p++) {
		ns += (*p - '0') * scale;
		scale /= 10;
	}
	*end = p;
	return ns;
}

/* "-10m": that long before now (s, m, h or d; a bare number is
 * seconds), as CLOCK_REALTIME ns. */
static int parse_ago(const char *text, uint64_t *value)
{
	static const struct {
		char unit;
		uint64_t ns;
	} units[] = { { 's', 1000000000ull },
		      { 'm', 60000000000ull },
		      { 'h', 3600000000000ull },
		      { 'd', 86400000000000ull } };
	uint64_t scale = 1000000000ull, now = clock_ns(CLOCK_REALTIME);
	unsigned long long n;
	char *stop;

	if (text[1] < '0' || text[1] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(text + 1, &stop, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*stop) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == *stop)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || stop[1])
			return -EINVAL;
		scale = units[i].ns;
	}
	if (n > now / scale)
		return -ERANGE;
	*value = now - (uint64_t)n * scale;
	return 0;
}

static int parse_time(const char *text, uint64_t *value)
{
	const char *end;
	struct tm tm;
	time_t seconds;
	int64_t ns;

	if (text[0] == '-')
		return parse_ago(text, value);
	if (text[0] == '@') {
		char *stop;
		unsigned long long s;

		if (text[1] < '0' || text[1] > '9')
			return -EINVAL;
		errno = 0;
		s = strtoull(text + 1, &stop, 10);
		if (stop == text + 1)
			return -EINVAL;
		/* Nanoseconds since 1970 in 64 bits: up to 2554. */
		if (errno == ERANGE || s > UINT64_MAX / 1000000000u - 1)
			return -ERANGE;
		ns = fraction_ns(stop, &end);
		if (*end)
			return -EINVAL;
		*value = (uint64_t)s * 1000000000u + (uint64_t)ns;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -EINVAL;
	ns = fraction_ns(end, &end);
	if (*end == 'Z')
		end++;
	if (*end)
		return -EINVAL;
	seconds = timegm(&tm);
	if (seconds < 0)
		return -EINVAL;
	*value = (uint64_t)seconds * 1000000000u + (uint64_t)ns;
	return 0;
}

int busctl_journal_parse_position(const char *text, uint64_t *value,
				  int *is_time)
{
	if (text[0] >= '0' && text[0] <= '9' && !strpbrk(text, "-:T")) {
		*is_time = 0;
		return busctl_parse_u64(text, value);
	}
	*is_time = 1;
	return parse_time(text, value);
}
