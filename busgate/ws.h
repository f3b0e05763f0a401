/* SPDX-License-Identifier: MIT */
/*
 * WebSocket (RFC 6455), server side, as much as STOMP over WebSocket needs:
 * the upgrade handshake (SHA-1 and base64 from nettle) and the framing.
 * Pure functions over buffers, so that the fuzzer reaches them as the
 * gateway does.
 *
 * Messages are not kept whole: the payload of every data frame, fragment
 * or not, is appended to the connection's STOMP byte stream, because a
 * STOMP frame may span WebSocket messages and one message may hold several
 * STOMP frames (stomp.js and RabbitMQ's plugin treat them so).
 */
#ifndef BUSGATE_WS_H
#define BUSGATE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest upgrade request busgate reads. */
#define WS_REQUEST_MAX 8192u
/* Longest server frame header: 2 + 8 bytes of length. */
#define WS_HEADER_MAX 10u

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

struct ws_upgrade {
	char accept[32];      /* Sec-WebSocket-Accept, NUL-terminated */
	const char *protocol; /* the subprotocol chosen, or NULL */
	int status;	      /* 101, or the HTTP status to refuse with */
};

/*
 * Reads the upgrade request at the start of buf[0, length) for path.
 * Returns the request's length (through its empty line) with *upgrade
 * filled (status 101, or 400/403/404/426 with *why; 403 for an Origin
 * header not in origins, a list separated by spaces or commas where "*"
 * allows any), 0 when the request is
 * not complete, -EMSGSIZE past WS_REQUEST_MAX.
 */
long ws_upgrade_parse(const char *buf, size_t length, const char *path,
		      const char *origins, struct ws_upgrade *upgrade,
		      const char **why);

/* Writes the answer to an upgrade (101, or the refusal with why as its
 * body) into out; returns its length or -EMSGSIZE. */
int ws_upgrade_answer(const struct ws_upgrade *upgrade, const char *why,
		      char *out, size_t size);

struct ws_frame {
	bool fin;
	enum ws_opcode opcode;
	size_t header_length;
	uint64_t payload_length;
	uint8_t mask[4];
};

/* WebSocket close codes busgate sends. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_TOO_BIG 1009

/*
 * Parses a client frame at buf[0, length): returns header plus payload
 * bytes when the whole frame is there, 0 when not yet, -EPROTO
 * (unmasked, reserved bits or opcode, a control
 * frame that is fragmented or over 125 bytes) or -EMSGSIZE (payload over
 * max_payload), with *why.
 */
long ws_frame_parse(const uint8_t *buf, size_t length, size_t max_payload,
		    struct ws_frame *frame, const char **why);

/* Unmasks payload in place; offset is the payload's position in the
 * frame (the mask key repeats every 4 bytes). */
void ws_unmask(uint8_t *payload, size_t length, const uint8_t mask[4],
	       size_t offset);

/* Writes an unmasked server frame header (FIN set) into out
 * (WS_HEADER_MAX bytes) and returns its length. */
size_t ws_frame_header(uint8_t *out, enum ws_opcode opcode, uint64_t length);

#endif /* BUSGATE_WS_H */
