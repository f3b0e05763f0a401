/* SPDX-License-Identifier: MIT */
/*
 * Reading busbridge's ini file with libinih, the way busd/config.c does:
 * the file is fed to inih through a reader that counts lines and spots
 * every [section] line itself, so that each error names its line and an
 * empty [export NAME] is still seen (and refused for lacking from).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "bridge.h"
#include "config_lines.h"

enum bridge_section {
	SECTION_NONE, /* before the first section */
	SECTION_BRIDGE,
	SECTION_RULE,	 /* the last rule of the table */
	SECTION_INVALID, /* already reported: its keys are skipped */
};

struct parser {
	struct bridge_config *config;
	FILE *file;
	int line;
	unsigned int errors;
	enum bridge_section section;
};

__attribute__((format(printf, 3, 4))) static void
config_error_at(struct parser *p, int line, const char *format, ...)
{
	va_list args;

	fprintf(stderr, "busbridge: %s:%d: ", p->config->path, line);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	p->errors++;
}

#define config_error(p, ...) config_error_at((p), (p)->line, __VA_ARGS__)

static struct bridge_rule *current_rule(struct parser *p)
{
	return &p->config->rules[p->config->rule_count - 1];
}

/* ---- [bridge] ---------------------------------------------------------- */

static int parse_count(const char *value, unsigned int low, unsigned int high,
		       unsigned int *out)
{
	char *end;
	unsigned long n;

	if (*value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || *end || n < low || n > high)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

/* The origin becomes one subject token and part of Nats-Msg-Id, whose
 * fields are split at ':'; bus name characters minus '.' fit both. */
static int origin_check(const char *name)
{
	size_t length = strlen(name);

	if (!length || length > BRIDGE_ORIGIN_MAX)
		return -EINVAL;
	return strspn(name,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == length
		       ? 0
		       : -EINVAL;
}

static void add_server(struct parser *p, const char *list)
{
	const char *item = list;

	while (*item) {
		size_t skip = strspn(item, " \t,");
		size_t length;

		item += skip;
		length = strcspn(item, " \t,");
		if (!length)
			break;
		if (p->config->server_count == BRIDGE_SERVERS_MAX) {
			config_error(p, "more than %d NATS servers",
				     BRIDGE_SERVERS_MAX);
			return;
		}
		if (length > BRIDGE_URL_MAX || (strncmp(item, "nats://", 7) &&
						strncmp(item, "tls://", 6))) {
			config_error(p,
				     "nats = '%.*s' is not a URL such as "
				     "nats://HOST:PORT",
				     (int)(length > 200 ? 200 : length), item);
			return;
		}
		memcpy(p->config->servers[p->config->server_count], item,
		       length);
		p->config->servers[p->config->server_count++][length] = '\0';
		item += length;
	}
	if (!p->config->server_count)
		config_error(p, "nats needs at least one URL such as "
				"nats://127.0.0.1:4222");
}

static int parse_yes_no(const char *value, bool *out)
{
	if (!strcmp(value, "yes"))
		*out = true;
	else if (!strcmp(value, "no"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static void on_bridge_key(struct parser *p, const char *key, const char *value)
{
	struct bridge_config *c = p->config;

	if (!strcmp(key, "bus")) {
		if (bus_name_check(value))
			config_error(p,
				     "bus = '%s' is not a bus name: 1 to %d "
				     "letters, digits, '_', '-' and '.'",
				     value, BUS_NAME_MAX);
		else
			snprintf(c->bus, sizeof(c->bus), "%s", value);
	} else if (!strcmp(key, "nats")) {
		c->server_count = 0;
		add_server(p, value);
	} else if (!strcmp(key, "name")) {
		if (origin_check(value))
			config_error(p,
				     "name = '%s' is not an origin id: 1 to "
				     "%d letters, digits, '_' and '-'",
				     value, BRIDGE_ORIGIN_MAX);
		else
			snprintf(c->origin, sizeof(c->origin), "%s", value);
	} else if (!strcmp(key, "metrics")) {
		if (bridge_metrics_parse_address(value, &c->metrics))
			config_error(p,
				     "metrics = '%s' is not HOST:PORT with "
				     "an IP address (127.0.0.1:9465; port 0 "
				     "picks a free one)",
				     value);
		else
			c->has_metrics = true;
	} else if (!strcmp(key, "max_hops")) {
		if (parse_count(value, 1, 255, &c->max_hops))
			config_error(p,
				     "max_hops = '%s' is not a number from "
				     "1 to 255",
				     value);
	} else if (!strcmp(key, "send_asap")) {
		if (parse_yes_no(value, &c->send_asap))
			config_error(p,
				     "send_asap = '%s' is neither yes nor "
				     "no",
				     value);
		else
			c->send_asap_set = true;
	} else if (!strcmp(key, "status_topic")) {
		if (strcmp(value, "none") && bus_name_check(value))
			config_error(p,
				     "status_topic = '%s' is neither a topic "
				     "name (1 to %d letters, digits, '_', '-' "
				     "and '.') nor none",
				     value, BUS_NAME_MAX);
		else
			snprintf(c->status_topic, sizeof(c->status_topic),
				 "%s", strcmp(value, "none") ? value : "");
		c->status_topic_set = true;
	} else {
		config_error(p,
			     "unknown key '%s' in [bridge]; expected bus, "
			     "nats, name, max_hops, send_asap, metrics or "
			     "status_topic",
			     key);
	}
}

/* ---- [export NAME] and [import NAME] ----------------------------------- */

/* Splits value into up to max words; returns how many, or max + 1 when
 * there are more.  Each word must fit BRIDGE_SUBJECT_MAX. */
static int split_words(const char *value, char words[][BRIDGE_SUBJECT_MAX + 1],
		       int max)
{
	int count = 0;

	for (;;) {
		size_t length;

		value += strspn(value, " \t");
		if (!*value)
			return count;
		length = strcspn(value, " \t");
		if (count == max || length > BRIDGE_SUBJECT_MAX)
			return max + 1;
		memcpy(words[count], value, length);
		words[count++][length] = '\0';
		value += length;
	}
}

static void on_export_from(struct parser *p, struct bridge_rule *rule,
			   const char *value)
{
	char words[2][BRIDGE_SUBJECT_MAX + 1];
	int count = split_words(value, words, 2);

	if (count == 2 && !strcmp(words[0], "topic")) {
		if (bus_pattern_check(words[1]))
			config_error(p,
				     "from = topic '%s': not a topic name "
				     "or pattern (dotted names, '*' for one "
				     "token, '>' last)",
				     words[1]);
		rule->kind = BRIDGE_EXPORT_TOPIC;
	} else if (count == 2 && !strcmp(words[0], "queue")) {
		if (bus_name_check(words[1]))
			config_error(p, "from = queue '%s': not a queue name",
				     words[1]);
		rule->kind = BRIDGE_EXPORT_QUEUE;
	} else if (count == 2 && !strcmp(words[0], "service")) {
		if (bus_name_check(words[1]))
			config_error(p,
				     "from = service '%s': not a queue "
				     "name",
				     words[1]);
		rule->kind = BRIDGE_EXPORT_SERVICE;
	} else {
		config_error(p,
			     "from = '%s': expected 'topic PATTERN', "
			     "'queue NAME' or 'service QUEUE'",
			     value);
		return;
	}
	snprintf(rule->from, sizeof(rule->from), "%s", words[1]);
	rule->has_from = true;
}

static void on_import_from(struct parser *p, struct bridge_rule *rule,
			   const char *value)
{
	char words[3][BRIDGE_SUBJECT_MAX + 1];
	int count = split_words(value, words, 3);

	if (count >= 1 && !strcmp(words[0], "jetstream")) {
		if (count != 3 || bus_name_check(words[1]) ||
		    bus_name_check(words[2]) || strchr(words[1], '.') ||
		    strchr(words[2], '.')) {
			config_error(p,
				     "from = '%s': expected 'jetstream "
				     "STREAM DURABLE', two names of letters, "
				     "digits, '_' and '-'",
				     value);
			return;
		}
		rule->kind = BRIDGE_IMPORT_JETSTREAM;
		snprintf(rule->durable, sizeof(rule->durable), "%.63s",
			 words[2]);
		snprintf(rule->from, sizeof(rule->from), "%.255s", words[1]);
	} else if (count == 2 && !strcmp(words[0], "service")) {
		if (bridge_subject_check(words[1], false)) {
			config_error(p,
				     "from = service '%s': not a NATS "
				     "subject without wildcards",
				     words[1]);
			return;
		}
		rule->kind = BRIDGE_IMPORT_SERVICE;
		snprintf(rule->from, sizeof(rule->from), "%s", words[1]);
	} else if (count == 1) {
		if (bridge_subject_check(words[0], true)) {
			config_error(p,
				     "from = '%s' is not a NATS subject "
				     "pattern (non-empty dotted tokens, '*' "
				     "for one token, '>' last)",
				     words[0]);
			return;
		}
		rule->kind = BRIDGE_IMPORT_CORE;
		snprintf(rule->from, sizeof(rule->from), "%s", words[0]);
	} else {
		config_error(p,
			     "from = '%s': expected a NATS subject "
			     "pattern, 'jetstream STREAM DURABLE' or 'service "
			     "SUBJECT'",
			     value);
		return;
	}
	rule->has_from = true;
}

static void on_import_to(struct parser *p, struct bridge_rule *rule,
			 const char *value)
{
	char words[2][BRIDGE_SUBJECT_MAX + 1];
	int count = split_words(value, words, 2);
	size_t length = count == 2 ? strlen(words[1]) : 0;

	/* topic PREFIX.> or topic >: a topic for each subject. */
	if (count == 2 && !strcmp(words[0], "topic") && length &&
	    words[1][length - 1] == '>' &&
	    (length == 1 || words[1][length - 2] == '.')) {
		words[1][length == 1 ? 0 : length - 2] = '\0';
		if (words[1][0] && bus_name_check(words[1])) {
			config_error(p,
				     "to = '%s': the prefix before '.>' is "
				     "not a topic name",
				     value);
			return;
		}
		rule->to_each_subject = true;
	} else if (count != 2 ||
		   (strcmp(words[0], "queue") && strcmp(words[0], "topic")) ||
		   bus_name_check(words[1])) {
		config_error(p,
			     "to = '%s': expected 'queue NAME', 'topic "
			     "NAME' or 'topic PREFIX.>' with bus names",
			     value);
		return;
	}
	rule->to_queue = !strcmp(words[0], "queue");
	snprintf(rule->to, sizeof(rule->to), "%s", words[1]);
	rule->has_to = true;
}

static void on_export_to(struct parser *p, struct bridge_rule *rule,
			 const char *value)
{
	if (strlen(value) > BRIDGE_SUBJECT_MAX) {
		config_error(p, "to is longer than %d characters",
			     BRIDGE_SUBJECT_MAX);
		return;
	}
	/* Checked once the origin is known (finish_rule). */
	snprintf(rule->to, sizeof(rule->to), "%s", value);
	rule->has_to = true;
}

static void on_rule_key(struct parser *p, const char *key, const char *value)
{
	struct bridge_rule *rule = current_rule(p);

	if (!strcmp(key, "from")) {
		if (rule->is_export)
			on_export_from(p, rule, value);
		else
			on_import_from(p, rule, value);
	} else if (!strcmp(key, "to")) {
		if (rule->is_export)
			on_export_to(p, rule, value);
		else
			on_import_to(p, rule, value);
	} else if (rule->is_export && !strcmp(key, "mode")) {
		if (strcmp(value, "core") && strcmp(value, "jetstream"))
			config_error(p,
				     "mode = '%s': expected core or "
				     "jetstream",
				     value);
		rule->jetstream_mode = !strcmp(value, "jetstream");
		rule->has_mode = true;
	} else if (rule->is_export && !strcmp(key, "stream")) {
		if (bus_name_check(value) || strchr(value, '.'))
			config_error(p,
				     "stream = '%s' is not a stream name: "
				     "letters, digits, '_' and '-'",
				     value);
		snprintf(rule->stream, sizeof(rule->stream), "%s", value);
	} else if (rule->is_export && !strcmp(key, "replicas")) {
		if (parse_count(value, 1, 5, &rule->replicas))
			config_error(p,
				     "replicas = '%s' is not a number from "
				     "1 to 5",
				     value);
	} else if (rule->is_export && !strcmp(key, "in_flight")) {
		if (parse_count(value, 1, 4096, &rule->in_flight))
			config_error(p,
				     "in_flight = '%s' is not a number "
				     "from 1 to 4096",
				     value);
	} else if (!strcmp(key, "timeout_ms")) {
		if (parse_count(value, 1, 600000, &rule->timeout_ms))
			config_error(p,
				     "timeout_ms = '%s' is not a number of "
				     "milliseconds from 1 to 600000",
				     value);
	} else if (!rule->is_export && !strcmp(key, "reply_to")) {
		if (bus_name_check(value))
			config_error(p, "reply_to = '%s' is not a bus name",
				     value);
		snprintf(rule->reply_to, sizeof(rule->reply_to), "%.63s",
			 value);
	} else if (!rule->is_export && !strcmp(key, "ack_wait")) {
		if (parse_count(value, 1, 3600, &rule->ack_wait_s))
			config_error(p,
				     "ack_wait = '%s' is not a number of "
				     "seconds from 1 to 3600",
				     value);
	} else if (rule->is_export) {
		config_error(p,
			     "unknown key '%s' in [export %s]; expected "
			     "from, to, mode, stream, replicas, in_flight or "
			     "timeout_ms",
			     key, rule->name);
	} else {
		config_error(p,
			     "unknown key '%s' in [import %s]; expected "
			     "from, to, ack_wait, reply_to or timeout_ms",
			     key, rule->name);
	}
}

static int on_key(void *user, const char *section, const char *key,
		  const char *value)
{
	struct parser *p = user;

	switch (p->section) {
	case SECTION_NONE:
		config_error(p,
			     "key '%s' comes before any section; put it "
			     "under [bridge], [export NAME] or [import NAME]",
			     key);
		p->section = SECTION_INVALID;
		break;
	case SECTION_BRIDGE:
		on_bridge_key(p, key, value);
		break;
	case SECTION_RULE:
		on_rule_key(p, key, value);
		break;
	case SECTION_INVALID:
		break;
	}
	return 1; /* go on: report every error of the file at once */
}

/* ---- sections ---------------------------------------------------------- */

static struct bridge_rule *find_rule(struct bridge_config *config,
				     const char *name)
{
	for (unsigned int i = 0; i < config->rule_count; i++) {
		if (!strcmp(config->rules[i].name, name))
			return &config->rules[i];
	}
	return NULL;
}

static int add_rule(struct parser *p, const char *name, bool is_export)
{
	struct bridge_config *c = p->config;
	struct bridge_rule *rule;

	if (c->rule_count == c->rule_capacity) {
		unsigned int capacity = c->rule_capacity ? c->rule_capacity * 2
							 : 8;
		struct bridge_rule *rules =
			realloc(c->rules, capacity * sizeof(*rules));

		if (!rules)
			return -ENOMEM;
		c->rules = rules;
		c->rule_capacity = capacity;
	}
	rule = &c->rules[c->rule_count++];
	memset(rule, 0, sizeof(*rule));
	snprintf(rule->name, sizeof(rule->name), "%.63s", name);
	rule->line = p->line;
	rule->is_export = is_export;
	rule->in_flight = BRIDGE_IN_FLIGHT_DEFAULT;
	rule->ack_wait_s = BRIDGE_ACK_WAIT_DEFAULT_S;
	rule->replicas = 1;
	rule->timeout_ms = BRIDGE_SERVICE_TIMEOUT_DEFAULT_MS;
	return 0;
}

static void on_section(struct parser *p, const char *text)
{
	char kind[16], name[BUS_NAME_MAX + 2], extra[2];
	int count;

	p->section = SECTION_INVALID;
	if (!strcmp(text, "bridge")) {
		p->section = SECTION_BRIDGE;
		return;
	}
	count = sscanf(text, "%15s %64s %1s", kind, name, extra);
	if (count < 1 || (strcmp(kind, "export") && strcmp(kind, "import"))) {
		config_error(p,
			     "unknown section [%s]; expected [bridge], "
			     "[export NAME] or [import NAME]",
			     text);
		return;
	}
	if (count != 2 || bus_name_check(name)) {
		config_error(p,
			     "[%s] needs one rule name: 1 to %d letters, "
			     "digits, '_', '-' and '.'",
			     text, BUS_NAME_MAX);
		return;
	}
	if (find_rule(p->config, name)) {
		config_error(p, "a rule named '%s' is defined twice", name);
		return;
	}
	if (add_rule(p, name, !strcmp(kind, "export"))) {
		config_error(p, "out of memory");
		return;
	}
	p->section = SECTION_RULE;
}

/* inih's reader: one line per call, counted, every [section] line seen
 * (config_lines.h). */
static char *read_line(char *line, int size, void *stream)
{
	struct parser *p = stream;
	char section[BUS_NAME_MAX + 64], why[96];
	enum config_line kind;

	if (!config_line_read(line, size, p->file, p->line == 0, &kind,
			      section, sizeof(section), why, sizeof(why)))
		return NULL;
	p->line++;
	if (kind == CONFIG_LINE_BROKEN) {
		config_error(p, "%s", why);
		p->section = SECTION_INVALID;
	} else if (kind == CONFIG_LINE_SECTION) {
		p->section = SECTION_INVALID;
		on_section(p, section);
	}
	return line;
}

/* ---- checks across keys ------------------------------------------------ */

static void finish_export(struct parser *p, struct bridge_rule *rule)
{
	struct bridge_config *c = p->config;
	char detail[160];

	if (!rule->has_mode)
		rule->jetstream_mode = rule->kind == BRIDGE_EXPORT_QUEUE;
	if (rule->kind == BRIDGE_EXPORT_TOPIC && rule->jetstream_mode)
		config_error_at(p, rule->line,
				"[export %s]: a topic goes to "
				"core NATS (mode = core); JetStream takes "
				"queues",
				rule->name);
	if (rule->kind == BRIDGE_EXPORT_QUEUE && !rule->jetstream_mode)
		config_error_at(p, rule->line,
				"[export %s]: a queue goes to "
				"JetStream only (mode = jetstream): core NATS "
				"has no acks and would lose messages",
				rule->name);
	if (rule->kind == BRIDGE_EXPORT_TOPIC && rule->stream[0])
		config_error_at(p, rule->line,
				"[export %s]: stream is for "
				"queues exported to JetStream",
				rule->name);
	if (rule->replicas > 1 && !rule->stream[0])
		config_error_at(
			p, rule->line,
			"[export %s]: replicas is for "
			"the stream the bridge creates (stream = NAME)",
			rule->name);
	if (!rule->has_to && rule->kind == BRIDGE_EXPORT_SERVICE)
		/* Callers on other hosts need not know this one's name. */
		snprintf(rule->to, sizeof(rule->to),
			 "shmbus.service.{subject}");
	else if (!rule->has_to)
		snprintf(rule->to, sizeof(rule->to),
			 "shmbus.{name}.{subject}");
	if (bridge_template_check(rule->to, c->origin, detail, sizeof(detail)))
		config_error_at(p, rule->line, "[export %s]: to = '%s': %s",
				rule->name, rule->to, detail);
}

static void finish_import(struct parser *p, struct bridge_rule *rule)
{
	if (!rule->has_to) {
		config_error_at(p, rule->line,
				"[import %s] needs to = queue "
				"NAME or to = topic NAME",
				rule->name);
		return;
	}
	if (rule->to_each_subject &&
	    (rule->kind != BRIDGE_IMPORT_CORE ||
	     rule->from[strlen(rule->from) - 1] != '>'))
		config_error_at(p, rule->line,
				"[import %s]: to = topic "
				"PREFIX.> maps the tokens that from's '>' "
				"matched, so it needs from = a core NATS "
				"pattern ending in '>'",
				rule->name);
	if (rule->kind == BRIDGE_IMPORT_CORE && rule->to_queue)
		config_error_at(p, rule->line,
				"[import %s]: core NATS goes "
				"to a topic; use from = jetstream STREAM "
				"DURABLE for a queue",
				rule->name);
	if (rule->kind == BRIDGE_IMPORT_SERVICE &&
	    (!rule->to_queue || !rule->reply_to[0]))
		config_error_at(
			p, rule->line,
			"[import %s]: a service goes "
			"to a queue (to = queue NAME) and needs reply_to "
			"= a queue the bridge waits on for the replies",
			rule->name);
	if (rule->kind == BRIDGE_IMPORT_JETSTREAM && !rule->to_queue)
		config_error_at(
			p, rule->line,
			"[import %s]: JetStream goes "
			"to a queue (to = queue NAME), so that NATS is "
			"acked only after the bus took the message",
			rule->name);
}

/* busbridge.ORIGIN.CONFIG, CONFIG the config file's name without its
 * directory and extension, in letters, digits, '_' and '-': two bridges
 * of one host (busbridge.8 suggests one for streams, one for requests)
 * then keep their figures apart. */
static void default_status_topic(struct bridge_config *c)
{
	const char *base = strrchr(c->path, '/');
	char config[BUS_NAME_MAX + 1];
	size_t n = 0;

	for (base = base ? base + 1 : c->path;
	     *base && *base != '.' && n < sizeof(config) - 1; base++) {
		bool ok = (*base >= 'a' && *base <= 'z') ||
			  (*base >= 'A' && *base <= 'Z') ||
			  (*base >= '0' && *base <= '9') || *base == '_' ||
			  *base == '-';

		config[n++] = ok ? *base : '_';
	}
	config[n] = '\0';
	if (snprintf(c->status_topic, sizeof(c->status_topic),
		     "busbridge.%s%s%s", c->origin, n ? "." : "",
		     config) >= (int)sizeof(c->status_topic))
		snprintf(c->status_topic, sizeof(c->status_topic),
			 "busbridge.%s", c->origin);
}

/* A request waits for its reply: the flusher's 1 ms would be part of
 * every service call, once each way. */
static bool carries_requests(const struct bridge_config *c)
{
	for (unsigned int i = 0; i < c->rule_count; i++)
		if (c->rules[i].kind == BRIDGE_EXPORT_SERVICE ||
		    c->rules[i].kind == BRIDGE_IMPORT_SERVICE)
			return true;
	return false;
}

static void finish(struct parser *p)
{
	struct bridge_config *c = p->config;

	if (!c->origin[0]) {
		char host[256];

		/* A host name may hold dots, which would make several
		 * subject tokens: its first label is the default. */
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		if (origin_check(host)) {
			config_error_at(p, 1,
					"the host name '%s' is no origin "
					"id; set name = ... in [bridge]",
					host);
		}
		snprintf(c->origin, sizeof(c->origin), "%s", host);
	}
	if (!c->server_count)
		snprintf(c->servers[c->server_count++], BRIDGE_URL_MAX + 1,
			 "nats://127.0.0.1:4222");
	if (!c->rule_count)
		config_error_at(p, p->line,
				"no [export NAME] or [import NAME] "
				"section: nothing to bridge");
	for (unsigned int i = 0; i < c->rule_count; i++) {
		struct bridge_rule *rule = &c->rules[i];

		if (!rule->has_from) {
			config_error_at(p, rule->line,
					"[%s %s] needs from = "
					"...",
					rule->is_export ? "export" : "import",
					rule->name);
			continue;
		}
		if (rule->is_export)
			finish_export(p, rule);
		else
			finish_import(p, rule);
	}
	if (!c->send_asap_set)
		c->send_asap = carries_requests(c);
	if (!c->status_topic_set)
		default_status_topic(c);
}

int bridge_config_read(const char *path, struct bridge_config *config)
{
	struct parser p = { .config = config, .section = SECTION_NONE };
	int ret;

	memset(config, 0, sizeof(*config));
	config->path = path;
	config->max_hops = BRIDGE_HOPS_DEFAULT;
	p.file = fopen(path, "r");
	if (!p.file) {
		fprintf(stderr,
			"busbridge: cannot read the config file %s: "
			"%s\n",
			path, strerror(errno));
		return -errno;
	}
	ret = ini_parse_stream(read_line, &p, on_key, &p);
	fclose(p.file);
	/* inih gives the first line that is neither a comment, a section nor
	 * key = value (broken section lines never reach it). */
	if (ret > 0)
		config_error_at(&p, ret, "expected [section] or key = value");
	finish(&p);
	if (p.errors) {
		bridge_config_free(config);
		return -EINVAL;
	}
	return 0;
}

void bridge_config_free(struct bridge_config *config)
{
	free(config->rules);
	config->rules = NULL;
	config->rule_count = 0;
	config->rule_capacity = 0;
}
