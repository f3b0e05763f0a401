/* SPDX-License-Identifier: MIT */
/* Parser of a busbridge's status text: see bridge_status.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_status.h"

struct cursor {
	const char *at;
	const char *end;
	unsigned int line;
	char *error;
	size_t error_size;
};

__attribute__((format(printf, 2, 3))) static int fail(struct cursor *c,
						      const char *format, ...)
{
	va_list args;
	int n = snprintf(c->error, c->error_size, "line %u: ", c->line);

	if (n >= 0 && (size_t)n < c->error_size) {
		va_start(args, format);
		vsnprintf(c->error + n, c->error_size - (size_t)n, format,
			  args);
		va_end(args);
	}
	return -EBADMSG;
}

/* The next space-separated word of the current line into word; false at
 * the end of the line (or of the text). */
static int next_word(struct cursor *c, char word[BRIDGE_STATUS_WORD_MAX + 1],
		     bool *found)
{
	size_t length = 0;

	while (c->at < c->end && *c->at == ' ')
		c->at++;
	*found = c->at < c->end && *c->at != '\n';
	while (c->at < c->end && *c->at != ' ' && *c->at != '\n') {
		/* No control bytes: busctl prints the words to a terminal. */
		if ((unsigned char)*c->at < 0x20 || *c->at == 0x7f)
			return fail(c, "a control byte (0x%02x) in a word",
				    (unsigned char)*c->at);
		if (length == BRIDGE_STATUS_WORD_MAX)
			return fail(c, "a word longer than %d bytes",
				    BRIDGE_STATUS_WORD_MAX);
		word[length++] = *c->at++;
	}
	word[length] = '\0';
	return 0;
}

static int parse_number(struct cursor *c, const char *key, const char *text,
			bool dash_is_unknown, uint64_t *out)
{
	char *end;

	if (dash_is_unknown && !strcmp(text, "-")) {
		*out = BRIDGE_STATUS_UNKNOWN;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return fail(c, "%s='%s' is not a number", key, text);
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno || *end)
		return fail(c, "%s='%s' is not a number", key, text);
	return 0;
}

/* The KEY=VALUE words of a "bridge" line. */
static int bridge_word(struct cursor *c, const char *key, const char *value,
		       struct bridge_status *s)
{
	uint64_t n = 0;
	int ret = 0;

	if (!strcmp(key, "state"))
		snprintf(s->state, sizeof(s->state), "%s", value);
	else if (!strcmp(key, "nats"))
		snprintf(s->nats, sizeof(s->nats), "%s", value);
	else if (!strcmp(key, "pid")) {
		ret = parse_number(c, key, value, false, &n);
		s->pid = n > INT32_MAX ? -1 : (int64_t)n;
	} else if (!strcmp(key, "connected")) {
		ret = parse_number(c, key, value, false, &n);
		s->connected = n != 0;
	} else if (!strcmp(key, "reconnects"))
		ret = parse_number(c, key, value, false, &s->reconnects);
	else if (!strcmp(key, "time_ns"))
		ret = parse_number(c, key, value, false, &s->time_ns);
	else if (!strcmp(key, "interval_ms"))
		ret = parse_number(c, key, value, false, &s->interval_ms);
	/* Other keys: a newer bridge's; skipped. */
	return ret;
}

static int rule_word(struct cursor *c, const char *key, const char *value,
		     struct bridge_status_rule *r)
{
	static const struct {
		const char *key;
		size_t offset;
	} figures[] = {
		{ "forwarded",
		  offsetof(struct bridge_status_rule, forwarded) },
		{ "failed", offsetof(struct bridge_status_rule, failed) },
		{ "dropped", offsetof(struct bridge_status_rule, dropped) },
		{ "in_flight",
		  offsetof(struct bridge_status_rule, in_flight) },
		{ "lag", offsetof(struct bridge_status_rule, lag) },
	};

	if (!strcmp(key, "kind")) {
		snprintf(r->kind, sizeof(r->kind), "%s", value);
		return 0;
	}
	for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
		if (!strcmp(key, figures[i].key))
			return parse_number(
				c, key, value, true,
				(uint64_t *)((char *)r + figures[i].offset));
	}
	return 0;
}

/* The words after "bridge ORIGIN" or "rule NAME", up to the line's end. */
static int parse_words(struct cursor *c, struct bridge_status *s,
		       struct bridge_status_rule *rule)
{
	char word[BRIDGE_STATUS_WORD_MAX + 1];
	bool found;
	int ret;

	for (;;) {
		char *equals;

		ret = next_word(c, word, &found);
		if (ret || !found)
			return ret;
		equals = strchr(word, '=');
		if (!equals || equals == word)
			return fail(c, "'%s' is not KEY=VALUE", word);
		*equals = '\0';
		ret = rule ? rule_word(c, word, equals + 1, rule)
			   : bridge_word(c, word, equals + 1, s);
		if (ret)
			return ret;
	}
}

static int parse_line(struct cursor *c, struct bridge_status *s,
		      bool *seen_bridge)
{
	char kind[BRIDGE_STATUS_WORD_MAX + 1];
	char name[BRIDGE_STATUS_WORD_MAX + 1];
	bool found;
	int ret = next_word(c, kind, &found);

	if (ret || !found)
		return ret; /* an empty line */
	ret = next_word(c, name, &found);
	if (ret)
		return ret;
	if (!found)
		return fail(c, "'%s' without a name", kind);
	if (!*seen_bridge && strcmp(kind, "bridge"))
		return fail(c,
			    "expected 'bridge ORIGIN ...' first, found '%s'",
			    kind);
	if (!strcmp(kind, "bridge")) {
		if (*seen_bridge)
			return fail(c, "a second bridge line");
		*seen_bridge = true;
		snprintf(s->origin, sizeof(s->origin), "%s", name);
		return parse_words(c, s, NULL);
	}
	if (!strcmp(kind, "rule")) {
		struct bridge_status_rule *r;

		if (s->rule_count == BRIDGE_STATUS_RULES_MAX)
			return fail(c, "more than %d rules",
				    BRIDGE_STATUS_RULES_MAX);
		r = &s->rules[s->rule_count++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->lag = BRIDGE_STATUS_UNKNOWN;
		return parse_words(c, s, r);
	}
	/* A newer bridge's kind of line: skipped. */
	while (c->at < c->end && *c->at != '\n')
		c->at++;
	return 0;
}

int bridge_status_parse(const char *text, size_t length,
			struct bridge_status *out, char *error,
			size_t error_size)
{
	struct cursor c = { text, text + length, 1, error, error_size };
	bool seen_bridge = false;

	memset(out, 0, sizeof(*out));
	if (error_size)
		error[0] = '\0';
	while (c.at < c.end) {
		int ret = parse_line(&c, out, &seen_bridge);

		if (ret)
			return ret;
		if (c.at < c.end) /* at the '\n' */
			c.at++;
		c.line++;
	}
	if (!seen_bridge)
		return fail(&c, "no 'bridge ORIGIN ...' line");
	if (!out->state[0] || !out->time_ns)
		return fail(&c, "the bridge line has no state or time_ns");
	return 0;
}
