/* SPDX-License-Identifier: MIT */
/*
 * JSON output without a JSON library: strings escaped by hand, payloads
 * as text when they are valid UTF-8 and as base64 otherwise, and the one
 * object per line that peek, consume and sub print for each message.
 *
 * Numbers are printed as exact integers (nanoseconds, counts): a reader
 * that wants human units has the text form.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "busctl.h"

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t busctl_utf8_sequence(const unsigned char *s, size_t n)
{
	uint32_t code;
	size_t length, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		length = 2, code = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		length = 3, code = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		length = 4, code = s[0] & 0x07;
	else
		return 0;
	if (length > n)
		return 0;
	for (i = 1; i < length; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
	    (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
		return 0;
	return length;
}

int busctl_utf8_valid(const void *data, size_t length)
{
	const unsigned char *s = data;
	size_t step;

	for (size_t i = 0; i < length; i += step) {
		step = busctl_utf8_sequence(s + i, length - i);
		if (!step)
			return 0;
	}
	return 1;
}

void busctl_json_bytes(FILE *out, const void *data, size_t length)
{
	const unsigned char *c = data;
	size_t step;

	fputc('"', out);
	for (size_t i = 0; i < length; i++) {
		/* A stray byte (a header value need not be UTF-8) as the code
		 * point of the same number, so the document stays valid. */
		if (c[i] >= 0x80) {
			step = busctl_utf8_sequence(c + i, length - i);
			if (step)
				fwrite(c + i, 1, step, out);
			else
				fprintf(out, "\\u%04x", c[i]);
			i += step ? step - 1 : 0;
		} else if (c[i] == '"' || c[i] == '\\')
			fprintf(out, "\\%c", c[i]);
		else if (c[i] == '\n')
			fputs("\\n", out);
		else if (c[i] == '\t')
			fputs("\\t", out);
		else if (c[i] < 0x20 || c[i] == 0x7f)
			fprintf(out, "\\u%04x", c[i]);
		else
			fputc(c[i], out);
	}
	fputc('"', out);
}

void busctl_json_string(FILE *out, const char *text)
{
	busctl_json_bytes(out, text, strlen(text));
}

static void busctl_base64(FILE *out, const unsigned char *s, size_t length)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	fputc('"', out);
	for (i = 0; i + 2 < length; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | s[i + 1] << 8 | s[i + 2];

		fprintf(out, "%c%c%c%c", digits[v >> 18], digits[v >> 12 & 63],
			digits[v >> 6 & 63], digits[v & 63]);
	}
	if (length - i == 1)
		fprintf(out, "%c%c==", digits[s[i] >> 2],
			digits[(s[i] & 3) << 4]);
	else if (length - i == 2)
		fprintf(out, "%c%c%c=", digits[s[i] >> 2],
			digits[(s[i] & 3) << 4 | s[i + 1] >> 4],
			digits[(s[i + 1] & 15) << 2]);
	fputc('"', out);
}

void busctl_json_payload(FILE *out, const void *data, size_t length)
{
	if (busctl_utf8_valid(data, length)) {
		fputs("\"encoding\": \"utf8\", \"payload\": ", out);
		busctl_json_bytes(out, data, length);
	} else {
		fputs("\"encoding\": \"base64\", \"payload\": ", out);
		busctl_base64(out, data, length);
	}
}

/*
 * publish_time_ns is CLOCK_MONOTONIC; the wall-clock time is worked out
 * from the distance to now, which is what a reader of a log wants.
 */
static void busctl_json_publish_time(FILE *out, uint64_t monotonic_ns)
{
	struct timespec real;
	int64_t wall_ns;
	time_t seconds;
	struct tm tm;
	char text[32];

	fprintf(out, ", \"publish_time_ns\": %" PRIu64, monotonic_ns);
	if (!monotonic_ns)
		return;
	clock_gettime(CLOCK_REALTIME, &real);
	wall_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
		  (busctl_now_ns() - (int64_t)monotonic_ns);
	seconds = (time_t)(wall_ns / 1000000000);
	if (!gmtime_r(&seconds, &tm) ||
	    !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
		return;
	fprintf(out, ", \"publish_time\": \"%s.%06" PRId64 "Z\"", text,
		wall_ns % 1000000000 / 1000);
}

/* "key", "reply_to" and "headers" of a received view. */
void busctl_json_meta(FILE *out, const struct bus_message *message)
{
	char name[BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char value[BUS_MESSAGE_KEY_MAX + 1];
	int has = message && message->header &&
		  message->header->extension_length;

	/* peek copies no header room: leave out what it cannot know. */
	if (!message)
		return;
	fputs(", \"key\": ", out);
	if (has && bus_message_key(message, value, sizeof(value)) > 0)
		busctl_json_string(out, value);
	else
		fputs("null", out);
	fputs(", \"reply_to\": ", out);
	if (has && bus_message_reply_to(message, value, sizeof(value)) > 0)
		busctl_json_string(out, value);
	else
		fputs("null", out);
	fputs(", \"headers\": {", out);
	for (uint32_t i = 0; has; i++) {
		if (bus_message_header_at(message, i, name, sizeof(name),
					  value, sizeof(value)) < 0)
			break;
		fputs(i ? ", " : "", out);
		busctl_json_string(out, name);
		fputs(": ", out);
		busctl_json_string(out, value);
	}
	fputc('}', out);
}

void busctl_json_message(FILE *out, const char *where, const char *name,
			 const struct bus_message_header *h,
			 const struct bus_message *message,
			 const void *payload, size_t length)
{
	fprintf(out, "{\"%s\": ", where);
	busctl_json_string(out, name);
	fprintf(out,
		", \"sequence\": %" PRIu64 ", \"producer\": %u"
		", \"delivery_count\": %u, \"redelivered\": %s",
		h->sequence, h->producer_id, h->delivery_count,
		h->flags & BUS_MESSAGE_REDELIVERED ? "true" : "false");
	busctl_json_publish_time(out, h->publish_time_ns);
	fprintf(out,
		", \"correlation_id\": %" PRIu64 ", \"expiry_ns\": %" PRIu64,
		h->correlation_id, h->expiry_ns);
	busctl_json_meta(out, message);
	fprintf(out, ", \"length\": %zu, ", length);
	busctl_json_payload(out, payload, length);
	fputs("}\n", out);
}
