/* SPDX-License-Identifier: MIT */
/*
 * fuzz_stomp_frame: the input as bytes a client sends busgate.
 *
 * The first byte picks the STOMP version the parser runs under (none yet,
 * 1.0, 1.1, 1.2) and whether the rest goes through the WebSocket layer
 * first (the upgrade request, then frames, unmasked into a byte stream)
 * as busgate's WebSocket port does.  Then frames are parsed one after
 * another from a buffer of exactly the input's size, so that ASan sees
 * any read past the end.  Besides the sanitizers, these properties are
 * checked: a parse never takes more bytes than it has; every header and
 * the body lie inside the frame it took; headers are valid UTF-8 without
 * NUL; and escaping a decoded value and decoding it again gives it back.
 * The ERROR and RECEIPT frames busgate answers a frame with are built from
 * its headers (any length) and must parse back with them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_stomp_frame: %s\n", what);
	abort();
}

static bool inside(const char *p, size_t n, const char *start, size_t length)
{
	return p >= start && p + n <= start + length;
}

/* Escape then parse a one-header frame: the value must come back. */
static void check_escape_round_trip(const char *value, int version)
{
	size_t n = strlen(value);
	char *frame = malloc(4 * n + 64);
	struct stomp_frame parsed;
	const char *why = "";
	long e, used;
	size_t at;

	if (!frame)
		return;
	memcpy(frame, "ACK\nid:", 7);
	e = stomp_header_escape(value, n, version, frame + 7, 2 * n + 1);
	if (e < 0)
		fuzz_bug("escaping overflowed twice the length");
	at = 7 + (size_t)e;
	memcpy(frame + at, "\n\n", 3); /* and the NUL */
	used = stomp_frame_parse(frame, at + 3, 1u << 20, version, &parsed,
				 &why);
	/* 1.0 cannot carry LF or a leading space; 1.1 cannot carry CR. */
	if (version >= STOMP_V11 && !strpbrk(value, "\r") &&
	    (used <= 0 || strcmp(stomp_header(&parsed, "id"), value)))
		fuzz_bug("an escaped header did not parse back to itself");
	free(frame);
}

/* busgate's answer to frame f: an ERROR carrying a header value of f as
 * receipt-id and message, and a piece of its body; it must parse back. */
static void check_answer(const struct stomp_frame *f, int version)
{
	const char *receipt = stomp_header(f, "receipt");
	const char *value = f->header_count ? f->headers[0].value : "";
	struct stomp_out_header headers[3] = {
		{ "message", value },
		{ "receipt-id", receipt ? receipt : value },
		{ "content-length", "" },
	};
	size_t body = f->body_length > 1024 ? 1024 : f->body_length;
	char length[32];
	struct stomp_frame parsed;
	const char *why = "";
	size_t n;
	char *out;
	long used;

	/* As busgate does: 1.2 before CONNECT said otherwise. */
	if (!version)
		version = STOMP_V12;
	snprintf(length, sizeof(length), "%zu", body);
	headers[2].value = length;
	out = stomp_frame_build("ERROR", headers, 3, f->body, body, version,
				&n);
	if (!out)
		return;
	if (memcmp(out, "ERROR\n", 6))
		fuzz_bug("an ERROR frame that does not start with ERROR");
	/* The parser takes client commands only: read it back as a SEND
	 * (the 5 bytes after the E). */
	memcpy(out + 1, "SEND\n", 5);
	used = stomp_frame_parse(out + 1, n - 1, n, version, &parsed, &why);
	if (used != (long)n - 1 || parsed.body_length != body)
		fuzz_bug("an ERROR frame busgate built did not parse back");
	if (version >= STOMP_V11 && !strpbrk(headers[1].value, "\r") &&
	    strcmp(stomp_header(&parsed, "receipt-id"), headers[1].value))
		fuzz_bug("an ERROR frame lost its receipt-id");
	free(out);
}

static void check_frame(const struct stomp_frame *f, const char *start,
			size_t length, int version)
{
	for (unsigned int i = 0; i < f->header_count; i++) {
		const char *name = f->headers[i].name;
		const char *value = f->headers[i].value;

		if (!inside(name, strlen(name) + 1, start, length) ||
		    !inside(value, strlen(value) + 1, start, length))
			fuzz_bug("a header outside the frame");
		if (!stomp_utf8_valid(name, strlen(name)) ||
		    !stomp_utf8_valid(value, strlen(value)))
			fuzz_bug("a header that is not UTF-8");
		if (i == 0 && version >= STOMP_V11)
			check_escape_round_trip(value, version);
	}
	if (f->body && !inside(f->body, f->body_length, start, length))
		fuzz_bug("the body outside the frame");
	check_answer(f, version);
}

static void parse_stream(char *buf, size_t length, int version)
{
	size_t at = 0;

	while (at < length) {
		struct stomp_frame frame;
		const char *why = "";
		long used = stomp_frame_parse(buf + at, length - at, 4096,
					      version, &frame, &why);

		if (used <= 0)
			return;
		if ((size_t)used > length - at)
			fuzz_bug("a frame longer than the bytes it had");
		if (frame.command != STOMP_NONE)
			check_frame(&frame, buf + at, (size_t)used, version);
		at += (size_t)used;
		if (frame.command == STOMP_CONNECT && !version)
			version = STOMP_V12;
	}
}

/* The WebSocket port: an upgrade, then frames into a STOMP stream. */
static void parse_websocket(uint8_t *buf, size_t length, int version)
{
	struct ws_upgrade upgrade;
	const char *why = "";
	char answer[1024];
	long used = ws_upgrade_parse((char *)buf, length, "/ws",
				     "http://a.example *x", &upgrade, &why);
	char *stream;
	size_t at, stream_length = 0;

	if (used <= 0)
		return;
	if ((size_t)used > length)
		fuzz_bug("an upgrade longer than the bytes it had");
	if (ws_upgrade_answer(&upgrade, why, answer, sizeof(answer)) < 0 &&
	    upgrade.status == 101)
		fuzz_bug("no room for the 101 answer");
	stream = malloc(length ? length : 1);
	if (!stream)
		return;
	for (at = (size_t)used; at < length;) {
		struct ws_frame frame;
		long n = ws_frame_parse(buf + at, length - at, 4096, &frame,
					&why);

		if (n <= 0)
			break;
		if ((size_t)n > length - at ||
		    frame.header_length + frame.payload_length != (size_t)n)
			fuzz_bug("a WebSocket frame longer than its bytes");
		ws_unmask(buf + at + frame.header_length,
			  (size_t)frame.payload_length, frame.mask, 0);
		if (frame.opcode <= WS_BINARY) {
			memcpy(stream + stream_length,
			       buf + at + frame.header_length,
			       (size_t)frame.payload_length);
			stream_length += (size_t)frame.payload_length;
		}
		at += (size_t)n;
	}
	parse_stream(stream, stream_length, version);
	free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = { 0, STOMP_V10, STOMP_V11, STOMP_V12 };
	uint8_t *copy;
	int version;

	if (size < 1)
		return 0;
	version = versions[data[0] & 3];
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 4)
		parse_websocket(copy, size - 1, version);
	else
		parse_stream((char *)copy, size - 1, version);
	free(copy);
	return 0;
}
