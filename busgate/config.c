/* SPDX-License-Identifier: MIT */
/*
 * busgate's ini file, read with libinih through config_lines (as busd
 * and busbridge read theirs), so that every error names its line.  One
 * section, [gateway]; see busgate(8) for the keys.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config_lines.h"
#include "gate.h"

struct parser {
	struct gate_config *config;
	FILE *file;
	int line;
	unsigned int errors;
	bool in_gateway;
};

__attribute__((format(printf, 2, 3))) static void
config_error(struct parser *p, const char *format, ...)
{
	va_list args;

	fprintf(stderr, "busgate: %s:%d: ", p->config->path, p->line);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	p->errors++;
}

int gate_config_default(struct gate_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->bus, "default");
	strcpy(c->listen, "127.0.0.1:61613");
	strcpy(c->websocket, "127.0.0.1:15674");
	strcpy(c->websocket_path, "/ws");
	c->max_frame = 1u << 20;
	c->output_limit = 4u << 20;
	c->transaction_limit = 16u << 20;
	c->max_connections = 16384;
	c->heartbeat_send_ms = 10000;
	c->heartbeat_receive_ms = 10000;
	c->connect_timeout_ms = 10000;
	c->frame_timeout_ms = 30000;
	c->prefetch = 0;
	c->auto_create = true;
	/* 256 slots of 64 KiB: 16 MiB of /dev/shm per queue made. */
	c->queue_slots = 256;
	c->topic_slots = 256;
	c->max_message = 65536;
	c->header_room = 1024;
	return 0;
}

static int parse_number(const char *value, unsigned long low,
			unsigned long high, unsigned long *out)
{
	char *end;

	if (*value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(value, &end, 10);
	if (errno || *end || *out < low || *out > high)
		return -EINVAL;
	return 0;
}

static int parse_heartbeat(const char *value, struct gate_config *c)
{
	unsigned long send, receive;
	char copy[64], *comma;

	if (strlen(value) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, value);
	comma = strchr(copy, ',');
	if (!comma)
		return -EINVAL;
	*comma = '\0';
	if (parse_number(copy, 0, 86400000, &send) ||
	    parse_number(comma + 1, 0, 86400000, &receive))
		return -EINVAL;
	c->heartbeat_send_ms = (unsigned int)send;
	c->heartbeat_receive_ms = (unsigned int)receive;
	return 0;
}

static int copy_text(char *out, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return -EINVAL;
	strcpy(out, value);
	return 0;
}

struct number_key {
	const char *name;
	unsigned long low, high;
	size_t offset;
	size_t width;
};

#define NUMBER_KEY(field, low, high)                                    \
	{                                                               \
#field, low, high, offsetof(struct gate_config, field), \
			sizeof(((struct gate_config *)0)->field)        \
	}

static const struct number_key number_keys[] = {
	NUMBER_KEY(max_frame, 256, 64ul << 20),
	NUMBER_KEY(output_limit, 65536, 1ul << 30),
	NUMBER_KEY(transaction_limit, 0, 1ul << 34),
	NUMBER_KEY(max_connections, 1, 1000000),
	NUMBER_KEY(connect_timeout_ms, 0, 86400000),
	NUMBER_KEY(frame_timeout_ms, 0, 86400000),
	NUMBER_KEY(prefetch, 0, 1000000),
	NUMBER_KEY(queue_slots, 2, 1ul << 24),
	NUMBER_KEY(topic_slots, 2, 1ul << 24),
	NUMBER_KEY(max_message, 1, 64ul << 20),
	NUMBER_KEY(header_room, 0, 65536),
};

static bool set_number(struct parser *p, const char *key, const char *value)
{
	for (size_t i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]);
	     i++) {
		const struct number_key *k = &number_keys[i];
		unsigned long n;
		char *field = (char *)p->config + k->offset;

		if (strcmp(key, k->name))
			continue;
		if (parse_number(value, k->low, k->high, &n)) {
			config_error(p,
				     "%s = '%s' is not a whole number from "
				     "%lu to %lu",
				     key, value, k->low, k->high);
			return true;
		}
		if (k->width == sizeof(size_t))
			*(size_t *)field = n;
		else
			*(uint32_t *)field = (uint32_t)n;
		return true;
	}
	return false;
}

static void on_gateway_key(struct parser *p, const char *key,
			   const char *value)
{
	struct gate_config *c = p->config;

	if (set_number(p, key, value))
		return;
	if (!strcmp(key, "bus")) {
		if (bus_name_check(value) ||
		    copy_text(c->bus, sizeof(c->bus), value))
			config_error(p, "bus = '%s' is not a bus name", value);
	} else if (!strcmp(key, "listen")) {
		if (copy_text(c->listen, sizeof(c->listen), value))
			config_error(p, "listen is too long");
	} else if (!strcmp(key, "websocket")) {
		if (copy_text(c->websocket, sizeof(c->websocket), value))
			config_error(p, "websocket is too long");
	} else if (!strcmp(key, "websocket_path")) {
		if (value[0] != '/' ||
		    copy_text(c->websocket_path, sizeof(c->websocket_path),
			      value))
			config_error(p,
				     "websocket_path = '%s' is not a path "
				     "such as /ws",
				     value);
	} else if (!strcmp(key, "websocket_origins")) {
		if (copy_text(c->websocket_origins,
			      sizeof(c->websocket_origins), value))
			config_error(p, "websocket_origins is too long");
	} else if (!strcmp(key, "users")) {
		if (copy_text(c->users, sizeof(c->users), value))
			config_error(p, "users is too long");
	} else if (!strcmp(key, "heartbeat")) {
		if (parse_heartbeat(value, c))
			config_error(p,
				     "heartbeat = '%s' is not SEND_MS,"
				     "RECEIVE_MS",
				     value);
	} else if (!strcmp(key, "auto_create")) {
		if (!strcmp(value, "yes"))
			c->auto_create = true;
		else if (!strcmp(value, "no"))
			c->auto_create = false;
		else
			config_error(p, "auto_create is yes or no");
	} else {
		config_error(p, "unknown key '%s' in [gateway]", key);
	}
}

static int on_key(void *user, const char *section, const char *key,
		  const char *value)
{
	struct parser *p = user;

	(void)section;
	if (p->in_gateway)
		on_gateway_key(p, key, value);
	else
		config_error(p, "'%s' is outside [gateway]", key);
	return 1;
}

static char *read_line(char *line, int size, void *stream)
{
	struct parser *p = stream;
	char section[128], why[96];
	enum config_line kind;

	if (!config_line_read(line, size, p->file, p->line == 0, &kind,
			      section, sizeof(section), why, sizeof(why)))
		return NULL;
	p->line++;
	if (kind == CONFIG_LINE_BROKEN) {
		config_error(p, "%s", why);
	} else if (kind == CONFIG_LINE_SECTION) {
		p->in_gateway = !strcmp(section, "gateway");
		if (!p->in_gateway)
			config_error(p,
				     "unknown section [%s]; busgate reads "
				     "[gateway]",
				     section);
	}
	return line;
}

int gate_config_read(struct gate_config *config)
{
	struct parser p = { .config = config };
	int ret;

	p.file = fopen(config->path, "re");
	if (!p.file) {
		fprintf(stderr, "busgate: %s: %s\n", config->path,
			strerror(errno));
		return -errno;
	}
	ret = ini_parse_stream(read_line, &p, on_key, &p);
	fclose(p.file);
	if (ret > 0) {
		p.line = ret;
		config_error(&p, "expected [section] or key = value");
	}
	/* The bus takes rings of a power of two only: say so now rather
	 * than at the first queue made. */
	if (config->queue_slots & (config->queue_slots - 1) ||
	    config->topic_slots & (config->topic_slots - 1)) {
		fprintf(stderr,
			"busgate: %s: queue_slots and topic_slots must "
			"be powers of two\n",
			config->path);
		p.errors++;
	}
	return p.errors ? -EINVAL : 0;
}
