/* SPDX-License-Identifier: MIT */
/*
 * STOMP frames: the parser of what clients send and the writer of what
 * busgate sends back (STOMP 1.0, 1.1 and 1.2).
 *
 * The parser works in place on the connection's input buffer and owns
 * nothing: header names and values point into the buffer, decoded there
 * (an escape sequence is two bytes and decodes to one, so decoding never
 * grows a string).  Nothing is changed until a whole frame is there, so a
 * caller that hears "need more" keeps its buffer as it was and calls again
 * when more bytes came.  Every error comes with a sentence for the ERROR
 * frame's message header.
 */
#ifndef BUSGATE_FRAME_H
#define BUSGATE_FRAME_H

#include <stdbool.h>
#include <stddef.h>

/* Headers of one frame; a client frame with more is refused. */
#define STOMP_HEADERS_MAX 64u

enum stomp_command {
	STOMP_NONE = 0, /* heart-beat end of lines, no frame */
	STOMP_CONNECT,
	STOMP_STOMP,
	STOMP_SEND,
	STOMP_SUBSCRIBE,
	STOMP_UNSUBSCRIBE,
	STOMP_ACK,
	STOMP_NACK,
	STOMP_BEGIN,
	STOMP_COMMIT,
	STOMP_ABORT,
	STOMP_DISCONNECT,
};

struct stomp_header {
	char *name;
	char *value;
};

struct stomp_frame {
	enum stomp_command command;
	unsigned int header_count;
	struct stomp_header headers[STOMP_HEADERS_MAX];
	char *body;
	size_t body_length;
};

/* Protocol versions as numbers: 10, 11, 12. */
#define STOMP_V10 10
#define STOMP_V11 11
#define STOMP_V12 12

/*
 * Parses the frame at the start of buf[0, length).  version says which
 * escapes apply (none in 1.0; CONNECT and STOMP frames are never
 * unescaped).  Returns the bytes the frame took (end of lines before it
 * and after its NUL included; frame->command is STOMP_NONE when there were
 * only end of lines, which are heart-beats), 0 when the frame is not
 * complete yet, or -EMSGSIZE (it is or will be over max_frame bytes),
 * -EPROTO (malformed: *why says how).  A frame that needs more bytes but
 * already holds max_frame is -EMSGSIZE at once.
 */
long stomp_frame_parse(char *buf, size_t length, size_t max_frame, int version,
		       struct stomp_frame *frame, const char **why);

/* The value of the first header called name (later repeats are ignored,
 * as the protocol says), or NULL. */
const char *stomp_header(const struct stomp_frame *frame, const char *name);

/* The name of a command, "" for STOMP_NONE. */
const char *stomp_command_name(enum stomp_command command);

/* true when s[0, length) is valid UTF-8 (no overlongs or surrogates). */
bool stomp_utf8_valid(const char *s, size_t length);

/*
 * Writes value escaped for a header of version into out (out_size bytes;
 * escaping at most doubles it).  Returns the length, or -EMSGSIZE.
 */
long stomp_header_escape(const char *value, size_t length, int version,
			 char *out, size_t out_size);

/* A header of a frame busgate writes. */
struct stomp_out_header {
	const char *name;
	const char *value;
};

/*
 * Writes a whole frame (command, the headers with their values escaped
 * for version, a blank line, the body and the NUL) into a buffer sized
 * from the real lengths, so a client's long receipt or id is never cut.
 * Returns the malloc(3)ed frame and its length with the NUL in *length,
 * or NULL when memory is short.
 */
char *stomp_frame_build(const char *command,
			const struct stomp_out_header *headers,
			unsigned int count, const char *body,
			size_t body_length, int version, size_t *length);

#endif /* BUSGATE_FRAME_H */
