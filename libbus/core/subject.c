/* SPDX-License-Identifier: MIT */
/*
 * NATS-style subjects: a name is dot-separated tokens; in a pattern `*`
 * stands for exactly one token and `>` (only as the last token) for one or
 * more trailing tokens.  A token is never empty.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "bus/bus.h"

/* The length of the token at s (up to the next '.' or the end). */
static size_t token_length(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot ? (size_t)(dot - s) : strlen(s);
}

int bus_pattern_check(const char *pattern)
{
	const char *p = pattern;

	if (!pattern || !*pattern || strlen(pattern) > BUS_NAME_MAX)
		return -EINVAL;
	for (;;) {
		size_t n = token_length(p);

		if (n == 0)
			return -EINVAL; /* "", ".a", "a..b", "a." */
		/* A wildcard is a whole token: "a*" and "*b" are literals
		 * in NATS, but they are never what was meant. */
		if (n > 1 && (memchr(p, '*', n) || memchr(p, '>', n)))
			return -EINVAL;
		if (n == 1 && *p == '>' && p[1] != '\0')
			return -EINVAL; /* '>' not last */
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

int bus_pattern_is_wildcard(const char *pattern)
{
	return pattern && (strchr(pattern, '*') || strchr(pattern, '>'));
}

int bus_subject_match(const char *pattern, const char *name)
{
	const char *p = pattern, *s = name;

	if (bus_pattern_check(pattern) || !name || !*name)
		return 0;
	for (;;) {
		size_t pn = token_length(p), sn = token_length(s);

		if (sn == 0)
			return 0; /* an empty token in the name */
		if (pn == 1 && *p == '>') {
			/* One or more tokens left: every one non-empty. */
			for (const char *c = s; *c; c++)
				if (*c == '.' && (c[1] == '.' || c[1] == '\0'))
					return 0;
			return 1;
		}
		if (!(pn == 1 && *p == '*') && (pn != sn || memcmp(p, s, pn)))
			return 0;
		if (p[pn] == '\0' || s[sn] == '\0')
			return p[pn] == '\0' && s[sn] == '\0';
		p += pn + 1;
		s += sn + 1;
	}
}
