/* SPDX-License-Identifier: MIT */
/*
 * The STOMP frame parser and header escaping (see frame.h).
 *
 * A frame is a command line, header lines, an empty line, a body and a NUL:
 * the body runs content-length bytes when the header is there, else up to
 * the first NUL.  Lines end in LF or CR LF.  The parser first finds where
 * the frame ends without touching the buffer, then cuts and decodes it in
 * place; so a partial frame costs a rescan when more bytes come, bounded
 * by max_frame.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static const char *const command_names[] = {
	[STOMP_NONE] = "",
	[STOMP_CONNECT] = "CONNECT",
	[STOMP_STOMP] = "STOMP",
	[STOMP_SEND] = "SEND",
	[STOMP_SUBSCRIBE] = "SUBSCRIBE",
	[STOMP_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[STOMP_ACK] = "ACK",
	[STOMP_NACK] = "NACK",
	[STOMP_BEGIN] = "BEGIN",
	[STOMP_COMMIT] = "COMMIT",
	[STOMP_ABORT] = "ABORT",
	[STOMP_DISCONNECT] = "DISCONNECT",
};

const char *stomp_command_name(enum stomp_command command)
{
	if ((unsigned int)command >=
	    sizeof(command_names) / sizeof(command_names[0]))
		return "";
	return command_names[command];
}

static enum stomp_command command_lookup(const char *line, size_t length)
{
	unsigned int i;

	for (i = 1; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (strlen(command_names[i]) == length &&
		    !memcmp(command_names[i], line, length))
			return (enum stomp_command)i;
	return STOMP_NONE;
}

bool stomp_utf8_valid(const char *s, size_t length)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < length) {
		unsigned char c = p[i];
		size_t need;
		uint32_t point;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			point = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			point = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			point = c & 0x07;
		} else {
			return false;
		}
		if (length - i <= need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			point = point << 6 | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and points past U+10FFFF. */
		if ((need == 2 && point < 0x800) ||
		    (need == 3 && point < 0x10000) || point > 0x10ffff ||
		    (point >= 0xd800 && point <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* Where the line that starts at from ends (its LF), or -1 if not there. */
static long line_end(const char *buf, size_t from, size_t limit)
{
	const char *lf;

	if (from >= limit)
		return -1;
	lf = memchr(buf + from, '\n', limit - from);
	return lf ? lf - buf : -1;
}

/* The line [from, lf) without a CR before the LF. */
static size_t line_length(const char *buf, size_t from, size_t lf)
{
	size_t n = lf - from;

	return n && buf[lf - 1] == '\r' ? n - 1 : n;
}

static int parse_content_length(const char *value, size_t length, size_t *out)
{
	size_t n = 0;

	/* "content-length: 5", as STOMP 1.0 clients write it. */
	while (length && (*value == ' ' || *value == '\t')) {
		value++;
		length--;
	}
	while (length &&
	       (value[length - 1] == ' ' || value[length - 1] == '\t'))
		length--;

	if (!length || length > 12)
		return -EPROTO;
	for (size_t i = 0; i < length; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -EPROTO;
		n = n * 10 + (size_t)(value[i] - '0');
	}
	*out = n;
	return 0;
}

/* Decodes escapes of s in place; -EPROTO for an undefined one. */
static int unescape(char *s, int version)
{
	char *in = s, *out = s;

	while (*in) {
		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		switch (in[1]) {
		case 'n':
			*out++ = '\n';
			break;
		case 'c':
			*out++ = ':';
			break;
		case '\\':
			*out++ = '\\';
			break;
		case 'r':
			/* \r is undefined before 1.2. */
			if (version < STOMP_V12)
				return -EPROTO;
			*out++ = '\r';
			break;
		default:
			return -EPROTO;
		}
		in += 2;
	}
	*out = '\0';
	return 0;
}

struct scan {
	size_t command_end; /* the command line's LF */
	size_t body_start;
	size_t body_length;
	size_t frame_end; /* one past the NUL */
	unsigned int headers;
};

/* Finds the frame's extent without writing; 0 when incomplete. */
static long scan_frame(const char *buf, size_t length, size_t max_frame,
		       struct scan *s, const char **why)
{
	size_t limit = length < max_frame ? length : max_frame;
	size_t at, content_length = 0;
	bool have_length = false;
	long lf = line_end(buf, 0, limit);

	if (lf < 0)
		goto incomplete;
	s->command_end = (size_t)lf;
	s->headers = 0;
	at = (size_t)lf + 1;
	for (;;) {
		size_t n;

		lf = line_end(buf, at, limit);
		if (lf < 0)
			goto incomplete;
		n = line_length(buf, at, (size_t)lf);
		if (!n)
			break;
		if (++s->headers > STOMP_HEADERS_MAX) {
			*why = "more than 64 headers";
			return -EPROTO;
		}
		if (n > 15 && !have_length &&
		    !memcmp(buf + at, "content-length:", 15)) {
			if (parse_content_length(buf + at + 15, n - 15,
						 &content_length)) {
				*why = "content-length is not a number of "
				       "bytes";
				return -EPROTO;
			}
			have_length = true;
		}
		at = (size_t)lf + 1;
	}
	s->body_start = (size_t)lf + 1;
	if (have_length) {
		if (content_length >= max_frame ||
		    s->body_start + content_length >= max_frame) {
			*why = "the frame is larger than max_frame";
			return -EMSGSIZE;
		}
		if (s->body_start + content_length >= length)
			return 0;
		if (buf[s->body_start + content_length] != '\0') {
			*why = "the body does not end in NUL after "
			       "content-length bytes";
			return -EPROTO;
		}
		s->body_length = content_length;
	} else {
		const char *nul = s->body_start < limit
					  ? memchr(buf + s->body_start, '\0',
						   limit - s->body_start)
					  : NULL;

		if (!nul)
			goto incomplete;
		s->body_length = (size_t)(nul - buf) - s->body_start;
	}
	s->frame_end = s->body_start + s->body_length + 1;
	return (long)s->frame_end;
incomplete:
	if (length >= max_frame) {
		*why = "the frame is larger than max_frame";
		return -EMSGSIZE;
	}
	return 0;
}

static int cut_headers(char *buf, const struct scan *s, int version,
		       bool escapes, struct stomp_frame *frame,
		       const char **why)
{
	size_t at = s->command_end + 1;

	frame->header_count = 0;
	while (at < s->body_start - 1) {
		size_t lf = (size_t)line_end(buf, at, s->body_start);
		size_t n = line_length(buf, at, lf);
		char *line = buf + at, *colon;
		struct stomp_header *h;

		if (!n)
			break;
		if (memchr(line, '\0', n)) {
			*why = "a NUL byte in a header";
			return -EPROTO;
		}
		line[n] = '\0';
		buf[lf] = '\0';
		colon = memchr(line, ':', n);
		if (!colon || colon == line) {
			*why = colon ? "a header without a name"
				     : "a header line without ':'";
			return -EPROTO;
		}
		*colon = '\0';
		h = &frame->headers[frame->header_count++];
		h->name = line;
		h->value = colon + 1;
		/* STOMP 1.0 clients often write "name: value". */
		if (version == STOMP_V10)
			while (*h->value == ' ')
				h->value++;
		if (escapes && (unescape(h->name, version) ||
				unescape(h->value, version))) {
			*why = "an undefined escape sequence in a header";
			return -EPROTO;
		}
		if (!stomp_utf8_valid(h->name, strlen(h->name)) ||
		    !stomp_utf8_valid(h->value, strlen(h->value))) {
			*why = "a header that is not valid UTF-8";
			return -EPROTO;
		}
		at = lf + 1;
	}
	return 0;
}

/* End of lines between frames are heart-beats: how many bytes, or 0 when
 * a lone CR waits for its LF; -EPROTO for a CR without LF. */
static long skip_heartbeats(const char *buf, size_t length, const char **why)
{
	size_t i = 0;

	while (i < length) {
		if (buf[i] == '\n') {
			i++;
		} else if (buf[i] == '\r') {
			if (i + 1 == length)
				break;
			if (buf[i + 1] != '\n') {
				*why = "a CR that is not followed by LF";
				return -EPROTO;
			}
			i += 2;
		} else {
			break;
		}
	}
	return (long)i;
}

long stomp_frame_parse(char *buf, size_t length, size_t max_frame, int version,
		       struct stomp_frame *frame, const char **why)
{
	struct scan s;
	long skipped = skip_heartbeats(buf, length, why);
	long total;
	size_t command_length;
	bool escapes;

	frame->command = STOMP_NONE;
	frame->header_count = 0;
	frame->body = NULL;
	frame->body_length = 0;
	if (skipped)
		return skipped;
	total = scan_frame(buf, length, max_frame, &s, why);
	if (total <= 0)
		return total;
	command_length = line_length(buf, 0, s.command_end);
	frame->command = command_lookup(buf, command_length);
	if (frame->command == STOMP_NONE) {
		*why = "unknown command";
		return -EPROTO;
	}
	buf[command_length] = '\0';
	escapes = version >= STOMP_V11 && frame->command != STOMP_CONNECT &&
		  frame->command != STOMP_STOMP;
	if (cut_headers(buf, &s, version, escapes, frame, why))
		return -EPROTO;
	frame->body = buf + s.body_start;
	frame->body_length = s.body_length;
	if (frame->body_length && frame->command != STOMP_SEND) {
		*why = "only SEND frames may have a body";
		return -EPROTO;
	}
	return total;
}

const char *stomp_header(const struct stomp_frame *frame, const char *name)
{
	for (unsigned int i = 0; i < frame->header_count; i++)
		if (!strcmp(frame->headers[i].name, name))
			return frame->headers[i].value;
	return NULL;
}

long stomp_header_escape(const char *value, size_t length, int version,
			 char *out, size_t out_size)
{
	size_t n = 0;

	for (size_t i = 0; i < length; i++) {
		const char *put = NULL;
		char c = value[i];

		if (version >= STOMP_V11) {
			if (c == '\\')
				put = "\\\\";
			else if (c == '\n')
				put = "\\n";
			else if (c == ':')
				put = "\\c";
			else if (c == '\r' && version >= STOMP_V12)
				put = "\\r";
		}
		if (put) {
			if (n + 2 > out_size)
				return -EMSGSIZE;
			out[n++] = put[0];
			out[n++] = put[1];
		} else {
			/* 1.0 and 1.1 cannot carry these in a header. */
			if (c == '\n' || (c == '\r' && version < STOMP_V12))
				c = ' ';
			if (n + 1 > out_size)
				return -EMSGSIZE;
			out[n++] = c;
		}
	}
	return (long)n;
}

char *stomp_frame_build(const char *command,
			const struct stomp_out_header *headers,
			unsigned int count, const char *body,
			size_t body_length, int version, size_t *length)
{
	size_t size = strlen(command) + 1 + 1 + body_length + 1;
	size_t n;
	char *out;

	/* Escaping at most doubles a value. */
	for (unsigned int i = 0; i < count; i++)
		size += strlen(headers[i].name) + 1 +
			2 * strlen(headers[i].value) + 1;
	out = malloc(size);
	if (!out)
		return NULL;
	n = strlen(command);
	memcpy(out, command, n);
	out[n++] = '\n';
	for (unsigned int i = 0; i < count; i++) {
		size_t name = strlen(headers[i].name);
		long e;

		memcpy(out + n, headers[i].name, name);
		n += name;
		out[n++] = ':';
		e = stomp_header_escape(headers[i].value,
					strlen(headers[i].value), version,
					out + n, size - n);
		if (e < 0) { /* cannot be: the room is twice the value */
			free(out);
			return NULL;
		}
		n += (size_t)e;
		out[n++] = '\n';
	}
	out[n++] = '\n';
	if (body_length)
		memcpy(out + n, body, body_length);
	n += body_length;
	out[n++] = '\0';
	*length = n;
	return out;
}
