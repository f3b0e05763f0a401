/* SPDX-License-Identifier: MIT */
/* The WebSocket handshake and framing (see ws.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "ws.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Subprotocols in the order busgate prefers them. */
static const char *const stomp_protocols[] = {
	"v12.stomp",
	"v11.stomp",
	"v10.stomp",
};

/* true when the comma-separated list holds token (case-insensitive). */
static bool list_has(const char *list, size_t length, const char *token)
{
	size_t token_length = strlen(token), i = 0;

	while (i < length) {
		size_t start, end;

		while (i < length &&
		       (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		start = i;
		while (i < length && list[i] != ',')
			i++;
		end = i;
		while (end > start &&
		       (list[end - 1] == ' ' || list[end - 1] == '\t'))
			end--;
		if (end - start == token_length &&
		    !strncasecmp(list + start, token, token_length))
			return true;
	}
	return false;
}

struct request_headers {
	bool upgrade, connection, version;
	const char *key;
	size_t key_length;
	const char *protocols;
	size_t protocols_length;
	const char *origin;
	size_t origin_length;
};

static void on_header(const char *line, size_t length,
		      struct request_headers *h)
{
	const char *colon = memchr(line, ':', length);
	size_t name_length, value_length;
	const char *value;

	if (!colon)
		return;
	name_length = (size_t)(colon - line);
	value = colon + 1;
	value_length = length - name_length - 1;
	while (value_length && (*value == ' ' || *value == '\t')) {
		value++;
		value_length--;
	}
	while (value_length && (value[value_length - 1] == ' ' ||
				value[value_length - 1] == '\t'))
		value_length--;
#define IS(name)                            \
	(name_length == sizeof(name) - 1 && \
	 !strncasecmp(line, name, name_length))
	if (IS("Upgrade"))
		h->upgrade = list_has(value, value_length, "websocket");
	else if (IS("Connection"))
		h->connection = list_has(value, value_length, "upgrade");
	else if (IS("Sec-WebSocket-Version"))
		h->version = value_length == 2 && !memcmp(value, "13", 2);
	else if (IS("Sec-WebSocket-Key")) {
		h->key = value;
		h->key_length = value_length;
	} else if (IS("Origin")) {
		h->origin = value;
		h->origin_length = value_length;
	} else if (IS("Sec-WebSocket-Protocol")) {
		h->protocols = value;
		h->protocols_length = value_length;
	}
#undef IS
}

/* true when origins (separated by spaces or commas) holds origin exactly
 * (case-insensitive, as scheme and host are) or is "*". */
static bool origin_allowed(const char *origins, const char *origin,
			   size_t length)
{
	const char *at = origins;

	while (*at) {
		size_t n;

		at += strspn(at, " \t,");
		n = strcspn(at, " \t,");
		if ((n == 1 && *at == '*') ||
		    (n && n == length && !strncasecmp(at, origin, n)))
			return true;
		at += n;
	}
	return false;
}

static void make_accept(const char *key, size_t key_length, char *out)
{
	struct sha1_ctx sha;
	uint8_t digest[SHA1_DIGEST_SIZE];

	sha1_init(&sha);
	sha1_update(&sha, key_length, (const uint8_t *)key);
	sha1_update(&sha, sizeof(ws_guid) - 1, (const uint8_t *)ws_guid);
	sha1_digest(&sha, sizeof(digest), digest);
	base64_encode_raw(out, sizeof(digest), digest);
	out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
}

/* The request line: GET PATH[?QUERY] HTTP/1.1. */
static int check_request_line(const char *line, size_t length,
			      const char *path, struct ws_upgrade *upgrade,
			      const char **why)
{
	size_t path_length = strlen(path);
	const char *target, *space;

	if (length < 4 || memcmp(line, "GET ", 4)) {
		upgrade->status = 400;
		*why = "only GET upgrades to a WebSocket";
		return -1;
	}
	target = line + 4;
	space = memchr(target, ' ', length - 4);
	if (!space || (size_t)(line + length - space) < 9 ||
	    memcmp(space + 1, "HTTP/1.1", 8)) {
		upgrade->status = 400;
		*why = "the request line is not GET PATH HTTP/1.1";
		return -1;
	}
	if ((size_t)(space - target) < path_length ||
	    memcmp(target, path, path_length) ||
	    (target + path_length != space && target[path_length] != '?')) {
		upgrade->status = 404;
		*why = "no WebSocket endpoint at this path";
		return -1;
	}
	return 0;
}

long ws_upgrade_parse(const char *buf, size_t length, const char *path,
		      const char *origins, struct ws_upgrade *upgrade,
		      const char **why)
{
	struct request_headers h = { 0 };
	const char *end = NULL;
	size_t at = 0;

	for (size_t i = 3; i < length && i < WS_REQUEST_MAX; i++)
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4)) {
			end = buf + i + 1;
			break;
		}
	if (!end) {
		if (length >= WS_REQUEST_MAX) {
			*why = "the upgrade request is too long";
			return -EMSGSIZE;
		}
		return 0;
	}
	upgrade->protocol = NULL;
	upgrade->accept[0] = '\0';
	upgrade->status = 101;
	while (buf + at < end) {
		const char *line = buf + at;
		const char *crlf = memchr(line, '\r', (size_t)(end - line));
		size_t n = crlf ? (size_t)(crlf - line) : 0;

		if (!crlf || !n)
			break;
		if (at == 0) {
			if (check_request_line(line, n, path, upgrade, why))
				return end - buf;
		} else {
			on_header(line, n, &h);
		}
		at += n + 2;
	}
	if (!h.upgrade || !h.connection || !h.key || h.key_length != 24) {
		upgrade->status = 400;
		*why = "not a WebSocket upgrade (Upgrade, Connection or "
		       "Sec-WebSocket-Key missing)";
		return end - buf;
	}
	if (!h.version) {
		upgrade->status = 426;
		*why = "only WebSocket version 13 is spoken";
		return end - buf;
	}
	/* A browser names the page that opened the socket; any page could
	 * otherwise drive the bus with the gateway's rights.  Clients that
	 * are not browsers send no Origin. */
	if (h.origin && !origin_allowed(origins, h.origin, h.origin_length)) {
		upgrade->status = 403;
		*why = "this Origin is not in websocket_origins";
		return end - buf;
	}
	for (size_t i = 0; h.protocols && i < 3; i++)
		if (list_has(h.protocols, h.protocols_length,
			     stomp_protocols[i])) {
			upgrade->protocol = stomp_protocols[i];
			break;
		}
	make_accept(h.key, h.key_length, upgrade->accept);
	return end - buf;
}

int ws_upgrade_answer(const struct ws_upgrade *upgrade, const char *why,
		      char *out, size_t size)
{
	int n;

	if (upgrade->status == 101)
		n = snprintf(out, size,
			     "HTTP/1.1 101 Switching Protocols\r\n"
			     "Upgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Accept: %s\r\n"
			     "%s%s%s\r\n",
			     upgrade->accept,
			     upgrade->protocol ? "Sec-WebSocket-Protocol: "
					       : "",
			     upgrade->protocol ? upgrade->protocol : "",
			     upgrade->protocol ? "\r\n" : "");
	else
		n = snprintf(out, size,
			     "HTTP/1.1 %d %s\r\n"
			     "Content-Type: text/plain\r\n"
			     "Content-Length: %zu\r\n"
			     "%s"
			     "Connection: close\r\n\r\n%s\n",
			     upgrade->status,
			     upgrade->status == 404   ? "Not Found"
			     : upgrade->status == 426 ? "Upgrade Required"
			     : upgrade->status == 403 ? "Forbidden"
						      : "Bad Request",
			     strlen(why) + 1,
			     upgrade->status == 426
				     ? "Sec-WebSocket-Version: 13\r\n"
				     : "",
			     why);
	if (n < 0 || (size_t)n >= size)
		return -EMSGSIZE;
	return n;
}

long ws_frame_parse(const uint8_t *buf, size_t length, size_t max_payload,
		    struct ws_frame *frame, const char **why)
{
	size_t header = 2;
	uint64_t payload;

	if (length < 2)
		return 0;
	frame->fin = buf[0] & 0x80;
	frame->opcode = (enum ws_opcode)(buf[0] & 0x0f);
	if (buf[0] & 0x70) {
		*why = "reserved bits set (no extension was agreed)";
		return -EPROTO;
	}
	if (!(buf[1] & 0x80)) {
		*why = "a client frame without a mask";
		return -EPROTO;
	}
	switch (frame->opcode) {
	case WS_CONTINUATION:
	case WS_TEXT:
	case WS_BINARY:
		break;
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!frame->fin || (buf[1] & 0x7f) > 125) {
			*why = "a control frame that is fragmented or over "
			       "125 bytes";
			return -EPROTO;
		}
		/* RFC 6455 5.5.1: a close body is empty or starts with a
		 * 2-byte status code. */
		if (frame->opcode == WS_CLOSE && (buf[1] & 0x7f) == 1) {
			*why = "a close frame with a 1-byte body";
			return -EPROTO;
		}
		break;
	default:
		*why = "an unknown opcode";
		return -EPROTO;
	}
	payload = buf[1] & 0x7f;
	if (payload == 126) {
		if (length < 4)
			return 0;
		payload = (uint64_t)buf[2] << 8 | buf[3];
		header = 4;
	} else if (payload == 127) {
		if (length < 10)
			return 0;
		payload = 0;
		for (int i = 0; i < 8; i++)
			payload = payload << 8 | buf[2 + i];
		header = 10;
	}
	if (payload > max_payload) {
		*why = "a WebSocket frame larger than max_frame";
		return -EMSGSIZE;
	}
	if (length < header + 4)
		return 0;
	memcpy(frame->mask, buf + header, 4);
	header += 4;
	frame->header_length = header;
	frame->payload_length = payload;
	if (length - header < payload)
		return 0;
	return (long)(header + payload);
}

void ws_unmask(uint8_t *payload, size_t length, const uint8_t mask[4],
	       size_t offset)
{
	for (size_t i = 0; i < length; i++)
		payload[i] ^= mask[(offset + i) & 3];
}

size_t ws_frame_header(uint8_t *out, enum ws_opcode opcode, uint64_t length)
{
	out[0] = 0x80 | (uint8_t)opcode;
	if (length < 126) {
		out[1] = (uint8_t)length;
		return 2;
	}
	if (length <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(length >> 8);
		out[3] = (uint8_t)length;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
	return 10;
}
