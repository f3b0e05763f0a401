/* SPDX-License-Identifier: MIT */
/*
 * Reading busd's ini file with libinih.
 *
 * inih parses key = value lines and calls busd_config_on_key() for each;
 * it does not count lines for the handler, and it only reports sections that
 * hold keys.  So the file is fed to inih through busd_config_read_line()
 * (config_lines/), which counts lines and sees every [section] line
 * itself: an empty [queue NAME] still makes a queue, and every message can
 * name its line.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "bus/bus.h"
#include "config.h"
#include "durable_config.h"
#include "topic_record_config.h"
#include "config_lines.h"
#include "log.h"
#include "message_area.h"
#include "segment.h"
#include "topic_segment.h"

enum busd_config_section {
	BUSD_SECTION_NONE, /* before the first section */
	BUSD_SECTION_BUS,
	BUSD_SECTION_QUEUE,
	BUSD_SECTION_TOPIC,
	BUSD_SECTION_ROUTE,   /* [route NAME] or [address NAME] */
	BUSD_SECTION_INVALID, /* already reported: its keys are skipped */
};

struct busd_config_parser {
	struct busd_config *config;
	const char *path;
	FILE *file;
	int line; /* the line inih is working on */
	unsigned int errors;
	enum busd_config_section section;
	unsigned int queue; /* index of the current [queue NAME] */
	unsigned int topic; /* index of the current [topic NAME] */
	unsigned int route; /* index of the current [route|address NAME] */
};

/* ---- messages ---------------------------------------------------------- */

static void busd_config_verror(struct busd_config_parser *p, int line,
			       const char *format, va_list args)
{
	char text[512];

	vsnprintf(text, sizeof(text), format, args);
	busd_refuse("%s:%d: %s", p->path, line, text);
	p->errors++;
}

__attribute__((format(printf, 2, 3))) static void
busd_config_error(struct busd_config_parser *p, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	busd_config_verror(p, p->line, format, args);
	va_end(args);
}

__attribute__((format(printf, 3, 4))) static void
busd_config_error_at(struct busd_config_parser *p, int line,
		     const char *format, ...)
{
	va_list args;

	va_start(args, format);
	busd_config_verror(p, line, format, args);
	va_end(args);
}

/* ---- the queue table --------------------------------------------------- */

static struct busd_queue_config *busd_config_find(struct busd_config *config,
						  const char *name)
{
	for (unsigned int i = 0; i < config->queue_count; i++) {
		if (!strcmp(config->queues[i].name, name))
			return &config->queues[i];
	}
	return NULL;
}

static int busd_config_grow(struct busd_config *config)
{
	unsigned int capacity =
		config->queue_capacity ? config->queue_capacity * 2 : 8;
	struct busd_queue_config *queues;

	queues = realloc(config->queues, capacity * sizeof(*queues));
	if (!queues)
		return -ENOMEM;
	config->queues = queues;
	config->queue_capacity = capacity;
	return 0;
}

/* Appends a queue with the default settings; returns its index. */
static int busd_config_add(struct busd_config *config, const char *name,
			   int line)
{
	struct busd_queue_config *queue;
	int ret;

	if (config->queue_count == config->queue_capacity) {
		ret = busd_config_grow(config);
		if (ret)
			return ret;
	}
	queue = &config->queues[config->queue_count];
	memset(queue, 0, sizeof(*queue));
	snprintf(queue->name, sizeof(queue->name), "%s", name);
	bus_queue_settings_default(&queue->settings);
	queue->line = line;
	return (int)config->queue_count++;
}

/* No admin group, a socket everyone may connect to, busd's group. */
static void busd_config_bus_default(struct busd_bus_config *bus)
{
	bus->admin_group = (gid_t)-1;
	bus->socket_mode = 0666;
	bus->socket_group = (gid_t)-1;
	memset(&bus->metrics, 0, sizeof(bus->metrics));
	memset(&bus->dashboard, 0, sizeof(bus->dashboard));
	bus->log_level = -1;
	bus->log_file[0] = '\0';
	bus->data_dir[0] = '\0';
	bus->given = 0;
	busd_limits_default(&bus->limits);
}

int busd_config_default(struct busd_config *config)
{
	int ret;

	memset(config, 0, sizeof(*config));
	busd_config_bus_default(&config->bus);
	ret = busd_config_add(config, "default", 0);
	return ret < 0 ? ret : 0;
}

void busd_config_free(struct busd_config *config)
{
	free(config->queues);
	free(config->topics);
	free(config->routes);
	memset(config, 0, sizeof(*config));
}

/* ---- values ------------------------------------------------------------ */

struct busd_config_word {
	const char *word;
	uint32_t value;
};

static const struct busd_config_word busd_config_types[] = {
	{ "mpmc", BUS_QUEUE_MPMC },
	{ "spsc", BUS_QUEUE_SPSC },
	{ NULL, 0 },
};

static const struct busd_config_word busd_config_overflows[] = {
	{ "block", BUS_OVERFLOW_BLOCK },
	{ "reject", BUS_OVERFLOW_REJECT },
	{ "drop-oldest", BUS_OVERFLOW_DROP_OLDEST },
	{ NULL, 0 },
};

static int busd_config_parse_word(const struct busd_config_word *words,
				  const char *value, uint32_t *out)
{
	for (; words->word; words++) {
		if (!strcmp(words->word, value)) {
			*out = words->value;
			return 0;
		}
	}
	return -EINVAL;
}

static int busd_config_parse_type(const char *value, uint32_t *out)
{
	return busd_config_parse_word(busd_config_types, value, out);
}

static int busd_config_parse_overflow(const char *value, uint32_t *out)
{
	return busd_config_parse_word(busd_config_overflows, value, out);
}

/* Decimal digits only: no sign, no spaces, nothing after the number. */
static int busd_config_parse_number(const char *value, uint32_t *out)
{
	unsigned long long number;
	char *end;

	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	number = strtoull(value, &end, 10);
	if (errno || *end || number > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)number;
	return 0;
}

/* ---- owner, group and mode --------------------------------------------- */

/* Octal permission bits, like chmod's: "0660", "640"; at most 0777. */
static int busd_config_parse_mode(const char *value, uint32_t *out)
{
	unsigned long mode;
	char *end;

	if (!value[0] || strspn(value, "01234567") != strlen(value))
		return -EINVAL;
	errno = 0;
	mode = strtoul(value, &end, 8);
	if (errno || *end || mode > 0777)
		return -EINVAL;
	*out = (uint32_t)mode;
	return 0;
}

/*
 * A number, or a name for the system's user (or group) database.  The
 * ids -1 are refused: chown(2) reads them as "leave it".
 */
static int busd_config_parse_id(const char *value, bool group, uint32_t *out)
{
	char buffer[4096];
	struct passwd user, *found_user = NULL;
	struct group entry, *found_group = NULL;
	int ret;

	if (!busd_config_parse_number(value, out))
		return *out == UINT32_MAX ? -EINVAL : 0;
	if (!value[0])
		return -EINVAL;
	if (group) {
		ret = getgrnam_r(value, &entry, buffer, sizeof(buffer),
				 &found_group);
		if (!ret && found_group)
			*out = (uint32_t)found_group->gr_gid;
		return ret ? -ret : found_group ? 0 : -ENOENT;
	}
	ret = getpwnam_r(value, &user, buffer, sizeof(buffer), &found_user);
	if (!ret && found_user)
		*out = (uint32_t)found_user->pw_uid;
	return ret ? -ret : found_user ? 0 : -ENOENT;
}

/* Says what is wrong with an owner or group value. */
static void busd_config_id_error(struct busd_config_parser *p, const char *key,
				 bool group, const char *value, int error)
{
	if (error == -ENOENT)
		busd_config_error(p,
				  "%s '%s' is no %s on this system; give a "
				  "name from %s or a number",
				  key, value, group ? "group" : "user",
				  group ? "/etc/group" : "/etc/passwd");
	else if (error == -EINVAL)
		busd_config_error(p,
				  "%s must be a %s name or number, not "
				  "'%s'",
				  key, group ? "group" : "user", value);
	else
		busd_config_error(p, "cannot look up %s '%s': %s", key, value,
				  strerror(-error));
}

/*
 * owner, group and mode of [queue NAME] or [topic NAME].  Returns false
 * when key is none of them (the caller goes on), true when it was handled,
 * errors included.
 */
static bool busd_config_set_access(struct busd_config_parser *p,
				   struct bus_access *access,
				   const char *section, const char *name,
				   const char *key, const char *value)
{
	uint32_t bit, *field;
	bool group = false;
	int ret;

	if (!strcmp(key, "owner")) {
		bit = BUS_ACCESS_OWNER;
		field = &access->owner;
	} else if (!strcmp(key, "group")) {
		bit = BUS_ACCESS_GROUP;
		field = &access->group;
		group = true;
	} else if (!strcmp(key, "mode")) {
		bit = BUS_ACCESS_MODE;
		field = &access->mode;
	} else {
		return false;
	}
	if (access->given & bit) {
		busd_config_error(p, "'%s' is set twice in [%s %s]", key,
				  section, name);
		return true;
	}
	if (bit == BUS_ACCESS_MODE)
		ret = busd_config_parse_mode(value, field);
	else
		ret = busd_config_parse_id(value, group, field);
	if (ret && bit == BUS_ACCESS_MODE)
		busd_config_error(p,
				  "mode must be octal permission bits up "
				  "to 0777, like 0660, not '%s'",
				  value);
	else if (ret)
		busd_config_id_error(p, key, group, value, ret);
	else
		access->given |= bit;
	return true;
}

/* ---- keys of [bus] ----------------------------------------------------- */

enum {
	BUSD_BUS_ADMIN_GROUP = 1u << 0,
	BUSD_BUS_SOCKET_MODE = 1u << 1,
	BUSD_BUS_SOCKET_GROUP = 1u << 2,
	BUSD_BUS_METRICS = 1u << 3,
	BUSD_BUS_LOG_LEVEL = 1u << 4,
	BUSD_BUS_DASHBOARD = 1u << 5,
	BUSD_BUS_LOG_FILE = 1u << 6,
	BUSD_BUS_DATA_DIR = 1u << 7,
};

/* data_dir = PATH: absolute, like log_file (busd/durable.h). */
static void busd_config_set_data_dir(struct busd_config_parser *p,
				     const char *value)
{
	struct busd_bus_config *bus = &p->config->bus;

	if (bus->given & BUSD_BUS_DATA_DIR) {
		busd_config_error(p, "'data_dir' is set twice in [bus]");
		return;
	}
	if (value[0] != '/' || strlen(value) >= sizeof(bus->data_dir)) {
		busd_config_error(p,
				  "data_dir must be an absolute path "
				  "shorter than %zu bytes, not '%s'",
				  sizeof(bus->data_dir), value);
		return;
	}
	snprintf(bus->data_dir, sizeof(bus->data_dir), "%s", value);
	bus->given |= BUSD_BUS_DATA_DIR;
}

/* log_file = PATH: absolute, since busd may run from anywhere (and
 * detaches to /). */
static void busd_config_set_log_file(struct busd_config_parser *p,
				     const char *value)
{
	struct busd_bus_config *bus = &p->config->bus;

	if (bus->given & BUSD_BUS_LOG_FILE) {
		busd_config_error(p, "'log_file' is set twice in [bus]");
		return;
	}
	if (value[0] != '/' || strlen(value) >= sizeof(bus->log_file)) {
		busd_config_error(p,
				  "log_file must be an absolute path "
				  "shorter than %zu bytes, not '%s'",
				  sizeof(bus->log_file), value);
		return;
	}
	snprintf(bus->log_file, sizeof(bus->log_file), "%s", value);
	bus->given |= BUSD_BUS_LOG_FILE;
}

/* metrics, dashboard and log_level: values that are not owners or
 * modes. */
static void busd_config_set_bus_other(struct busd_config_parser *p,
				      unsigned int bit, const char *value)
{
	struct busd_bus_config *bus = &p->config->bus;
	char why[256];
	int level;

	if (bit == BUSD_BUS_METRICS || bit == BUSD_BUS_DASHBOARD) {
		if (busd_http_parse_address(
			    bit == BUSD_BUS_METRICS ? "metrics" : "dashboard",
			    value,
			    bit == BUSD_BUS_METRICS ? &bus->metrics
						    : &bus->dashboard,
			    why, sizeof(why))) {
			busd_config_error(p, "%s", why);
			return;
		}
	} else {
		level = busd_log_level_parse(value);
		if (level < 0) {
			busd_config_error(p,
					  "log_level must be error, "
					  "warning, info or debug, not '%s'",
					  value);
			return;
		}
		bus->log_level = level;
	}
	bus->given |= bit;
}

/* The connection limits (admission.h), and the sentence for a key that
 * [bus] does not have. */
static void busd_config_set_limit(struct busd_config_parser *p,
				  const char *key, const char *value)
{
	char why[256];
	int ret = busd_limits_set(&p->config->bus.limits, key, value, why,
				  sizeof(why));

	if (ret == -ENOENT)
		busd_config_error(p,
				  "unknown key '%s' in [bus]; it has "
				  "admin_group, socket_mode, socket_group, "
				  "metrics, dashboard, log_level, log_file, "
				  "data_dir, " BUSD_LIMITS_KEY_NAMES,
				  key);
	else if (ret == -EEXIST)
		busd_config_error(p, "'%s' is set twice in [bus]", key);
	else if (ret)
		busd_config_error(p, "%s", why);
}

static void busd_config_set_bus(struct busd_config_parser *p, const char *key,
				const char *value)
{
	struct busd_bus_config *bus = &p->config->bus;
	unsigned int bit;
	uint32_t number;
	int ret;

	if (!strcmp(key, "admin_group"))
		bit = BUSD_BUS_ADMIN_GROUP;
	else if (!strcmp(key, "socket_mode"))
		bit = BUSD_BUS_SOCKET_MODE;
	else if (!strcmp(key, "socket_group"))
		bit = BUSD_BUS_SOCKET_GROUP;
	else if (!strcmp(key, "metrics"))
		bit = BUSD_BUS_METRICS;
	else if (!strcmp(key, "log_level"))
		bit = BUSD_BUS_LOG_LEVEL;
	else if (!strcmp(key, "dashboard"))
		bit = BUSD_BUS_DASHBOARD;
	else if (!strcmp(key, "data_dir")) {
		busd_config_set_data_dir(p, value);
		return;
	} else if (!strcmp(key, "log_file")) {
		busd_config_set_log_file(p, value);
		return;
	} else {
		busd_config_set_limit(p, key, value);
		return;
	}
	if (bus->given & bit) {
		busd_config_error(p, "'%s' is set twice in [bus]", key);
		return;
	}
	if (bit == BUSD_BUS_METRICS || bit == BUSD_BUS_LOG_LEVEL ||
	    bit == BUSD_BUS_DASHBOARD) {
		busd_config_set_bus_other(p, bit, value);
		return;
	}
	if (bit == BUSD_BUS_SOCKET_MODE) {
		ret = busd_config_parse_mode(value, &number);
		if (ret) {
			busd_config_error(p,
					  "socket_mode must be octal "
					  "permission bits up to 0777, like "
					  "0660, not '%s'",
					  value);
			return;
		}
		bus->socket_mode = (mode_t)number;
	} else {
		ret = busd_config_parse_id(value, true, &number);
		if (ret) {
			busd_config_id_error(p, key, true, value, ret);
			return;
		}
		if (bit == BUSD_BUS_ADMIN_GROUP)
			bus->admin_group = (gid_t)number;
		else
			bus->socket_group = (gid_t)number;
	}
	bus->given |= bit;
}

/* ---- keys of [queue NAME] ---------------------------------------------- */

struct busd_config_key {
	const char *name;
	size_t offset; /* of the field in struct bus_queue_settings */
	int (*parse)(const char *value, uint32_t *out);
	const char *expected;
};

#define BUSD_KEY(field, parser, what)                                       \
	{                                                                   \
#field, offsetof(struct bus_queue_settings, field), parser, \
			what                                                \
	}

static const struct busd_config_key busd_config_keys[] = {
	BUSD_KEY(type, busd_config_parse_type, "mpmc or spsc"),
	BUSD_KEY(slots, busd_config_parse_number, "a whole number"),
	BUSD_KEY(max_message, busd_config_parse_number, "a whole number"),
	BUSD_KEY(overflow, busd_config_parse_overflow,
		 "block, reject or drop-oldest"),
	BUSD_KEY(max_unacked, busd_config_parse_number, "a whole number"),
	BUSD_KEY(max_producers, busd_config_parse_number, "a whole number"),
	BUSD_KEY(max_consumers, busd_config_parse_number, "a whole number"),
	BUSD_KEY(header_room, busd_config_parse_number, "a whole number"),
	BUSD_KEY(max_deliveries, busd_config_parse_number, "a whole number"),
	BUSD_KEY(ack_timeout_ms, busd_config_parse_number, "a whole number"),
	BUSD_KEY(ttl_ms, busd_config_parse_number, "a whole number"),
	/* Packed (spsc) queues' arena; the settings check says when it is
	 * out of range or given to an mpmc queue. */
	BUSD_KEY(ring_bytes, busd_config_parse_number, "a whole number"),
};

#define BUSD_KEY_COUNT (sizeof(busd_config_keys) / sizeof(busd_config_keys[0]))

static int busd_config_key_index(const char *name)
{
	for (unsigned int i = 0; i < BUSD_KEY_COUNT; i++) {
		if (!strcmp(busd_config_keys[i].name, name))
			return (int)i;
	}
	return -ENOENT;
}

static bool busd_config_given(const struct busd_queue_config *queue,
			      const char *key)
{
	return queue->given & (1u << busd_config_key_index(key));
}

/* dead_letter = NAME: a string, checked against the other queues once the
 * whole file is read (busd_config_check_dead_letter). */
static void busd_config_set_dead_letter(struct busd_config_parser *p,
					struct busd_queue_config *queue,
					const char *value)
{
	if (queue->dead_letter_line) {
		busd_config_error(p,
				  "'dead_letter' is set twice in [queue %s]",
				  queue->name);
		return;
	}
	if (bus_name_check(value)) {
		busd_config_error(p,
				  "dead_letter must be a queue name: 1 to "
				  "%d letters, digits, '_', '-' or '.', not "
				  "'%s'",
				  BUS_NAME_MAX, value);
		return;
	}
	snprintf(queue->settings.dead_letter,
		 sizeof(queue->settings.dead_letter), "%s", value);
	queue->dead_letter_line = p->line;
}

/* durable, sync, sync_interval_ms, segment_bytes (busd/durable.h):
 * true when name was one of them. */
static bool busd_config_set_durable(struct busd_config_parser *p,
				    struct busd_queue_config *queue,
				    const char *name, const char *value)
{
	char why[256];
	int ret = busd_durable_config_key(&queue->settings, name, value, why,
					  sizeof(why));

	if (ret == -ENOENT)
		return false;
	if (ret)
		busd_config_error(p, "%s", why);
	return true;
}

static void busd_config_set(struct busd_config_parser *p,
			    struct busd_queue_config *queue, const char *name,
			    const char *value)
{
	const struct busd_config_key *key;
	int index = busd_config_key_index(name);

	if (busd_config_set_access(p, &queue->access, "queue", queue->name,
				   name, value))
		return;
	if (!strcmp(name, "dead_letter")) {
		busd_config_set_dead_letter(p, queue, value);
		return;
	}
	if (busd_config_set_durable(p, queue, name, value))
		return;
	if (index < 0) {
		busd_config_error(p, "unknown key '%s' in [queue %s]", name,
				  queue->name);
		return;
	}
	key = &busd_config_keys[index];
	if (queue->given & (1u << index)) {
		busd_config_error(p, "'%s' is set twice in [queue %s]", name,
				  queue->name);
		return;
	}
	if (key->parse(value,
		       (uint32_t *)((char *)&queue->settings + key->offset))) {
		busd_config_error(p, "%s must be %s, not '%s'", name,
				  key->expected, value);
		return;
	}
	queue->given |= 1u << index;
}

/* ---- [topic NAME] ------------------------------------------------------ */

static const struct busd_config_word busd_config_slow_subscribers[] = {
	{ "block", BUS_SLOW_SUBSCRIBER_BLOCK },
	{ "overwrite", BUS_SLOW_SUBSCRIBER_OVERWRITE },
	{ NULL, 0 },
};

static int busd_config_parse_slow_subscriber(const char *value, uint32_t *out)
{
	return busd_config_parse_word(busd_config_slow_subscribers, value,
				      out);
}

#define BUSD_TOPIC_KEY(field, parser, what)                                 \
	{                                                                   \
#field, offsetof(struct bus_topic_settings, field), parser, \
			what                                                \
	}

static const struct busd_config_key busd_config_topic_keys[] = {
	BUSD_TOPIC_KEY(slots, busd_config_parse_number, "a whole number"),
	BUSD_TOPIC_KEY(max_message, busd_config_parse_number,
		       "a whole number"),
	BUSD_TOPIC_KEY(slow_subscriber, busd_config_parse_slow_subscriber,
		       "block or overwrite"),
	BUSD_TOPIC_KEY(max_subscribers, busd_config_parse_number,
		       "a whole number"),
	BUSD_TOPIC_KEY(max_publishers, busd_config_parse_number,
		       "a whole number"),
	BUSD_TOPIC_KEY(history, busd_config_parse_number, "a whole number"),
	BUSD_TOPIC_KEY(header_room, busd_config_parse_number,
		       "a whole number"),
	/* Packed (single-publisher) topics' arena, checked likewise. */
	BUSD_TOPIC_KEY(ring_bytes, busd_config_parse_number, "a whole number"),
};

#define BUSD_TOPIC_KEY_COUNT \
	(sizeof(busd_config_topic_keys) / sizeof(busd_config_topic_keys[0]))

/* record, sync, sync_interval_ms, segment_bytes, retain_bytes,
 * retain_age (busd/topic_record.h): true when name was one of them. */
static bool busd_config_set_record(struct busd_config_parser *p,
				   struct busd_topic_config *topic,
				   const char *name, const char *value)
{
	char why[256];
	int ret = busd_topic_record_config_key(&topic->settings, name, value,
					       why, sizeof(why));

	if (ret == -ENOENT)
		return false;
	if (ret)
		busd_config_error(p, "%s", why);
	return true;
}

static void busd_config_set_topic(struct busd_config_parser *p,
				  struct busd_topic_config *topic,
				  const char *name, const char *value)
{
	const struct busd_config_key *key = NULL;
	unsigned int index;

	if (busd_config_set_access(p, &topic->access, "topic", topic->name,
				   name, value))
		return;
	if (busd_config_set_record(p, topic, name, value))
		return;
	for (index = 0; index < BUSD_TOPIC_KEY_COUNT; index++) {
		if (!strcmp(busd_config_topic_keys[index].name, name)) {
			key = &busd_config_topic_keys[index];
			break;
		}
	}
	if (!key) {
		busd_config_error(p, "unknown key '%s' in [topic %s]", name,
				  topic->name);
		return;
	}
	if (topic->given & (1u << index)) {
		busd_config_error(p, "'%s' is set twice in [topic %s]", name,
				  topic->name);
		return;
	}
	if (key->parse(value,
		       (uint32_t *)((char *)&topic->settings + key->offset))) {
		busd_config_error(p, "%s must be %s, not '%s'", name,
				  key->expected, value);
		return;
	}
	topic->given |= 1u << index;
}

static struct busd_topic_config *
busd_config_find_topic(struct busd_config *config, const char *name)
{
	for (unsigned int i = 0; i < config->topic_count; i++) {
		if (!strcmp(config->topics[i].name, name))
			return &config->topics[i];
	}
	return NULL;
}

/* True, after saying so, when a topic already has the name. */
static bool busd_config_topic_taken(struct busd_config_parser *p,
				    const char *name)
{
	const struct busd_topic_config *topic =
		busd_config_find_topic(p->config, name);

	if (topic)
		busd_config_error(p,
				  "'%s' is already a topic, defined on line "
				  "%d; queues and topics share one namespace",
				  name, topic->line);
	return topic != NULL;
}

/* Appends a topic with the default settings; returns its index. */
static int busd_config_add_topic(struct busd_config *config, const char *name,
				 int line)
{
	struct busd_topic_config *topics, *topic;
	unsigned int capacity;

	if (config->topic_count == config->topic_capacity) {
		capacity = config->topic_capacity ? config->topic_capacity * 2
						  : 8;
		topics = realloc(config->topics, capacity * sizeof(*topics));
		if (!topics)
			return -ENOMEM;
		config->topics = topics;
		config->topic_capacity = capacity;
	}
	topic = &config->topics[config->topic_count];
	memset(topic, 0, sizeof(*topic));
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	bus_topic_settings_default(&topic->settings);
	topic->line = line;
	return (int)config->topic_count++;
}

static void busd_config_on_topic(struct busd_config_parser *p,
				 const char *name)
{
	const struct busd_queue_config *queue;
	int index;

	if (bus_name_check(name)) {
		busd_config_error(p,
				  "'%s' is not a valid topic name: use 1 to "
				  "%d letters, digits, '_', '-' or '.'",
				  name, BUS_NAME_MAX);
		return;
	}
	queue = busd_config_find(p->config, name);
	if (queue) {
		busd_config_error(p,
				  "'%s' is already a queue, defined on line "
				  "%d; queues and topics share one namespace",
				  name, queue->line);
		return;
	}
	if (busd_config_topic_taken(p, name))
		return;
	index = busd_config_add_topic(p->config, name, p->line);
	if (index < 0) {
		busd_config_error(p, "out of memory");
		return;
	}
	p->section = BUSD_SECTION_TOPIC;
	p->topic = (unsigned int)index;
}

static void busd_config_finish_topic(struct busd_config_parser *p,
				     struct busd_topic_config *topic)
{
	char detail[256];

	if (bus__topic_settings_check(&topic->settings, detail,
				      sizeof(detail)))
		busd_config_error_at(p, topic->line, "[topic %s]: %s",
				     topic->name, detail);
}

/* inih's handler: one key = value line.  Always 1: errors are counted. */
static int busd_config_on_key(void *user, const char *section,
			      const char *name, const char *value)
{
	struct busd_config_parser *p = user;

	switch (p->section) {
	case BUSD_SECTION_NONE:
		busd_config_error(p,
				  "key '%s' comes before any section; put "
				  "it under [bus], [queue NAME] or "
				  "[topic NAME]",
				  name);
		break;
	case BUSD_SECTION_BUS:
		busd_config_set_bus(p, name, value);
		break;
	case BUSD_SECTION_QUEUE:
		busd_config_set(p, &p->config->queues[p->queue], name, value);
		break;
	case BUSD_SECTION_TOPIC:
		busd_config_set_topic(p, &p->config->topics[p->topic], name,
				      value);
		break;
	case BUSD_SECTION_ROUTE: {
		char detail[256];

		if (busd_route_config_key(&p->config->routes[p->route], name,
					  value, detail, sizeof(detail)))
			busd_config_error(p, "%s", detail);
		break;
	}
	case BUSD_SECTION_INVALID:
		break;
	}
	return 1;
}

/* ---- sections ---------------------------------------------------------- */

static void busd_config_on_queue(struct busd_config_parser *p,
				 const char *name)
{
	const struct busd_queue_config *other;
	int index;

	if (bus_name_check(name)) {
		busd_config_error(p,
				  "'%s' is not a valid queue name: use 1 to "
				  "%d letters, digits, '_', '-' or '.'",
				  name, BUS_NAME_MAX);
		return;
	}
	other = busd_config_find(p->config, name);
	if (other) {
		busd_config_error(p,
				  "queue '%s' is already defined on line %d",
				  name, other->line);
		return;
	}
	if (busd_config_topic_taken(p, name))
		return;
	index = busd_config_add(p->config, name, p->line);
	if (index < 0) {
		busd_config_error(p, "out of memory");
		return;
	}
	p->section = BUSD_SECTION_QUEUE;
	p->queue = (unsigned int)index;
}

static void busd_config_on_route(struct busd_config_parser *p, uint32_t kind,
				 const char *name)
{
	char detail[256];
	int index = busd_route_config_begin(&p->config->routes,
					    &p->config->route_count,
					    &p->config->route_capacity, kind,
					    name, p->line, detail,
					    sizeof(detail));

	if (index < 0) {
		busd_config_error(p, "%s", detail);
		return;
	}
	p->section = BUSD_SECTION_ROUTE;
	p->route = (unsigned int)index;
}

/* The text between '[' and ']', as written. */
static void busd_config_on_section(struct busd_config_parser *p, char *text)
{
	size_t length = strlen(text);

	while (length && strchr(" \t", text[length - 1]))
		text[--length] = '\0';
	text += strspn(text, " \t");
	if (!strcmp(text, "bus")) {
		p->section = BUSD_SECTION_BUS;
	} else if (!strncmp(text, "queue", 5) && text[5] &&
		   strchr(" \t", text[5])) {
		busd_config_on_queue(p, text + 5 + strspn(text + 5, " \t"));
	} else if (!strcmp(text, "queue")) {
		busd_config_error(p, "a queue section needs a name: "
				     "[queue NAME]");
	} else if (!strncmp(text, "topic", 5) && text[5] &&
		   strchr(" \t", text[5])) {
		busd_config_on_topic(p, text + 5 + strspn(text + 5, " \t"));
	} else if (!strcmp(text, "topic")) {
		busd_config_error(p, "a topic section needs a name: "
				     "[topic NAME]");
	} else if (!strncmp(text, "route", 5) && text[5] &&
		   strchr(" \t", text[5])) {
		busd_config_on_route(p, BUS_ROUTE_RULE,
				     text + 5 + strspn(text + 5, " \t"));
	} else if (!strncmp(text, "address", 7) && text[7] &&
		   strchr(" \t", text[7])) {
		busd_config_on_route(p, BUS_ROUTE_UNROUTABLE,
				     text + 7 + strspn(text + 7, " \t"));
	} else {
		busd_config_error(p,
				  "unknown section [%s]; expected [bus], "
				  "[queue NAME], [topic NAME], [route NAME] "
				  "or [address NAME]",
				  text);
	}
}

/* ---- reading ----------------------------------------------------------- */

/* inih's fgets-like reader: one line per call, counted, every [section]
 * line seen (config_lines.h). */
static char *busd_config_read_line(char *line, int size, void *stream)
{
	struct busd_config_parser *p = stream;
	char section[BUS_NAME_MAX + 64], why[96];
	enum config_line kind;

	if (!config_line_read(line, size, p->file, p->line == 0, &kind,
			      section, sizeof(section), why, sizeof(why)))
		return NULL;
	p->line++;
	if (kind == CONFIG_LINE_BROKEN) {
		busd_config_error(p, "%s", why);
		p->section = BUSD_SECTION_INVALID;
	} else if (kind == CONFIG_LINE_SECTION) {
		p->section = BUSD_SECTION_INVALID;
		busd_config_on_section(p, section);
	}
	return line;
}

/* Settings that depend on others, then the library's own check. */
static void busd_config_finish_queue(struct busd_config_parser *p,
				     struct busd_queue_config *queue)
{
	struct bus_queue_settings *s = &queue->settings;
	char detail[256];

	if (s->type == BUS_QUEUE_SPSC) {
		if (!busd_config_given(queue, "max_producers"))
			s->max_producers = 1;
		if (!busd_config_given(queue, "max_consumers"))
			s->max_consumers = 1;
	}
	/* A small queue cannot lend more messages than it has slots. */
	if (!busd_config_given(queue, "max_unacked") &&
	    s->max_unacked > s->slots)
		s->max_unacked = s->slots;
	if (bus__queue_settings_check(s, detail, sizeof(detail)))
		busd_config_error_at(p, queue->line, "[queue %s]: %s",
				     queue->name, detail);
}

/*
 * The dead-letter queue must be another [queue] of this file, mpmc (busd
 * writes into it besides its producers), take every message of the
 * queue, and be durable when the queue is (else its dead letters would
 * not survive a reboot).  Errors name the dead_letter line.
 */
static void
busd_config_check_dead_letter(struct busd_config_parser *p,
			      const struct busd_queue_config *queue)
{
	const struct bus_queue_settings *s = &queue->settings;
	const struct busd_queue_config *target;
	int line = queue->dead_letter_line;

	if (!line)
		return;
	if (!strcmp(s->dead_letter, queue->name)) {
		busd_config_error_at(p, line,
				     "[queue %s]: a queue cannot be "
				     "its own dead-letter queue",
				     queue->name);
		return;
	}
	target = busd_config_find(p->config, s->dead_letter);
	if (!target) {
		busd_config_error_at(p, line,
				     "[queue %s]: dead-letter queue "
				     "'%s' does not exist (no [queue %s] in "
				     "this file)",
				     queue->name, s->dead_letter,
				     s->dead_letter);
		return;
	}
	if (target->settings.type != BUS_QUEUE_MPMC)
		busd_config_error_at(p, line,
				     "[queue %s]: dead-letter queue "
				     "'%s' must be mpmc",
				     queue->name, s->dead_letter);
	else if (s->durable && !target->settings.durable)
		busd_config_error_at(p, line,
				     "[queue %s]: dead-letter queue "
				     "'%s' must be durable too (durable = "
				     "yes): this queue is, and its dead "
				     "letters would not survive a reboot",
				     queue->name, s->dead_letter);
	else if (target->settings.max_message < s->max_message ||
		 target->settings.header_room <
			 busd_dead_letter_room_needed(s))
		busd_config_error_at(
			p, line,
			"[queue %s]: dead-letter queue '%s' must take "
			"messages of max_message %u and header_room %u%s",
			queue->name, s->dead_letter, s->max_message,
			busd_dead_letter_room_needed(s),
			bus__queue_is_packed(s)
				? " (this spsc queue packs its messages: its "
				  "header_room is a limit, 512 when 0)"
				: "");
}

int busd_config_read(struct busd_config *config, const char *path)
{
	struct busd_config_parser p = {
		.config = config,
		.path = path,
		.section = BUSD_SECTION_NONE,
	};
	struct stat st;
	int ret;

	memset(config, 0, sizeof(*config));
	busd_config_bus_default(&config->bus);
	p.file = fopen(path, "r");
	if (!p.file) {
		ret = -errno;
		busd_refuse("cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	/* fopen() opens a directory, and reading it gives nothing: busd
	 * would serve an empty bus instead of saying the path is wrong. */
	if (fstat(fileno(p.file), &st) == 0 && S_ISDIR(st.st_mode)) {
		busd_refuse("%s is a directory, not a configuration file; "
			    "give -c the file itself",
			    path);
		fclose(p.file);
		return -EISDIR;
	}
	ret = ini_parse_stream(busd_config_read_line, &p, busd_config_on_key,
			       &p);
	fclose(p.file);
	/*
	 * inih returns the first line it could not parse: one that is neither
	 * a comment, a section nor key = value (broken section lines never
	 * reach it).
	 */
	if (ret > 0)
		busd_config_error_at(&p, ret,
				     "expected [section] or "
				     "key = value");
	for (unsigned int i = 0; i < config->queue_count; i++)
		busd_config_finish_queue(&p, &config->queues[i]);
	for (unsigned int i = 0; i < config->queue_count; i++)
		busd_config_check_dead_letter(&p, &config->queues[i]);
	for (unsigned int i = 0; i < config->topic_count; i++)
		busd_config_finish_topic(&p, &config->topics[i]);
	for (unsigned int i = 0; i < config->route_count; i++) {
		char detail[256];

		if (busd_route_config_finish(&config->routes[i], detail,
					     sizeof(detail)))
			busd_config_error_at(&p, config->routes[i].line, "%s",
					     detail);
	}
	if (p.errors) {
		busd_config_free(config);
		return -EINVAL;
	}
	return 0;
}
