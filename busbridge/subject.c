/* SPDX-License-Identifier: MIT */
/*
 * NATS subjects: dot-separated, non-empty tokens of printable characters
 * other than space; in a pattern '*' is a whole token and '>' the whole
 * last token.  nats-server refuses anything else, so the bridge refuses it
 * in the config file, where the user can still see which line it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"

static bool token_char_ok(char c)
{
	return c > ' ' && c < 0x7f && c != '.';
}

int bridge_subject_check(const char *subject, bool wildcards_allowed)
{
	const char *token = subject;

	if (!*subject || strlen(subject) > BRIDGE_SUBJECT_MAX)
		return -EINVAL;
	for (;;) {
		size_t length = 0;

		while (token[length] && token[length] != '.') {
			if (!token_char_ok(token[length]))
				return -EINVAL;
			length++;
		}
		if (!length)
			return -EINVAL;
		if (length == 1 && (*token == '*' || *token == '>')) {
			if (!wildcards_allowed)
				return -EINVAL;
			if (*token == '>' && token[1])
				return -EINVAL; /* '>' only last */
		} else if (memchr(token, '*', length) ||
			   memchr(token, '>', length)) {
			return -EINVAL; /* a wildcard inside a token */
		}
		if (!token[length])
			return 0;
		token += length + 1;
	}
}

/*
 * Writes template with {name} replaced by origin and {subject} by the bus
 * subject.  -EINVAL for another {...} or a '{' without '}', -ENAMETOOLONG
 * when out is too small.
 */
int bridge_subject_expand(const char *template, const char *origin,
			  const char *subject, char *out, size_t size)
{
	size_t used = 0;

	while (*template) {
		const char *piece = template;
		size_t length = 1;

		if (*template == '{') {
			if (!strncmp(template, "{name}", 6)) {
				piece = origin;
				template += 6;
			} else if (!strncmp(template, "{subject}", 9)) {
				piece = subject;
				template += 9;
			} else {
				return -EINVAL;
			}
			length = strlen(piece);
		} else {
			template ++;
		}
		if (used + length >= size)
			return -ENAMETOOLONG;
		memcpy(out + used, piece, length);
		used += length;
	}
	out[used] = '\0';
	return 0;
}

/* The template must give a valid subject without wildcards for any bus
 * subject; "x" stands for one, which is a valid token like every name. */
int bridge_template_check(const char *template, const char *origin,
			  char *detail, size_t size)
{
	char subject[BRIDGE_SUBJECT_MAX * 2];
	int ret;

	ret = bridge_subject_expand(template, origin, "x", subject,
				    sizeof(subject));
	if (ret == -EINVAL) {
		snprintf(detail, size,
			 "only {name} and {subject} may stand "
			 "in braces");
		return ret;
	}
	if (ret || bridge_subject_check(subject, false)) {
		snprintf(detail, size,
			 "not a NATS subject without wildcards "
			 "(non-empty dotted tokens)");
		return -EINVAL;
	}
	return 0;
}
