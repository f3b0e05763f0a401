/* SPDX-License-Identifier: MIT */
/* Durable queues and recorded topics created at run time, kept in
 * DATA_DIR/NAME/queue.conf or topic.conf (busd/durable_store.h).  One
 * format for both: a table of keys per kind says where each goes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/bus.h"
#include "catalog.h"
#include "config.h"
#include "detail.h"
#include "durable_store.h"
#include "journal_thread.h"
#include "log.h"
#include "queues.h"
#include "registry.h"
#include "segment.h"
#include "topic_segment.h"
#include "topics.h"

/* The file's keys: where each goes, its largest value, its base. */
struct store_key {
	const char *name;
	size_t offset; /* in the kind's settings, or ACCESS_* */
	size_t size;   /* of the field: 1, 2 or 4 bytes */
	unsigned long long max;
	int base;
	/* Added after format 1 was first written: a file of an older busd
	 * lacks it, which means 0 (the default). */
	bool optional;
};

enum { ACCESS_OWNER = -1, ACCESS_GROUP = -2, ACCESS_MODE = -3 };

#define KEY(type, field, max, optional)                               \
	{                                                             \
#field, offsetof(struct type, field),                 \
			sizeof(((struct type *)0)->field), (max), 10, \
			(optional)                                    \
	}
#define SETTING(field, max) KEY(bus_queue_settings, field, max, false)
/* A setting newer than the format: 0 when the file has none. */
#define LATER_SETTING(field, max) KEY(bus_queue_settings, field, max, true)
#define TOPIC_SETTING(field, max) KEY(bus_topic_settings, field, max, false)
/* owner, group and mode: the same in both kinds of file. */
#define ACCESS_KEY(name, which, max, base)                       \
	{                                                        \
		(name), (size_t)(which), 4, (max), (base), false \
	}

static const struct store_key queue_keys[] = {
	SETTING(type, BUS_QUEUE_SPSC),
	SETTING(slots, UINT32_MAX),
	SETTING(max_message, UINT32_MAX),
	SETTING(overflow, BUS_OVERFLOW_DROP_OLDEST),
	SETTING(max_unacked, UINT32_MAX),
	SETTING(max_producers, UINT32_MAX),
	SETTING(max_consumers, UINT32_MAX),
	SETTING(header_room, UINT32_MAX),
	SETTING(max_deliveries, UINT32_MAX),
	SETTING(ack_timeout_ms, UINT32_MAX),
	SETTING(ttl_ms, UINT32_MAX),
	SETTING(sync, BUS_SYNC_ALWAYS),
	SETTING(sync_interval_ms, BUS_SYNC_INTERVAL_MAX_MS),
	SETTING(segment_kib, UINT32_MAX),
	/* A packed (spsc) queue's arena: kept, so that the queue comes back
	 * with the arena its journal was filled from (durable_recover.c). */
	LATER_SETTING(ring_bytes, UINT32_MAX),
	ACCESS_KEY("owner", ACCESS_OWNER, UINT32_MAX, 10),
	ACCESS_KEY("group", ACCESS_GROUP, UINT32_MAX, 10),
	ACCESS_KEY("mode", ACCESS_MODE, 0777, 8),
};

/* A recorded topic's: record itself is implied by the file. */
static const struct store_key topic_keys[] = {
	TOPIC_SETTING(slots, UINT32_MAX),
	TOPIC_SETTING(max_message, UINT32_MAX),
	TOPIC_SETTING(slow_subscriber, BUS_SLOW_SUBSCRIBER_OVERWRITE),
	TOPIC_SETTING(max_subscribers, UINT32_MAX),
	TOPIC_SETTING(max_publishers, UINT32_MAX),
	TOPIC_SETTING(history, UINT32_MAX),
	TOPIC_SETTING(header_room, UINT32_MAX),
	TOPIC_SETTING(sync, BUS_SYNC_ALWAYS),
	TOPIC_SETTING(sync_interval_ms, BUS_SYNC_INTERVAL_MAX_MS),
	TOPIC_SETTING(segment_kib, UINT32_MAX),
	TOPIC_SETTING(retain_mib, UINT32_MAX),
	TOPIC_SETTING(retain_age_s, UINT32_MAX),
	TOPIC_SETTING(ring_bytes, UINT32_MAX),
	ACCESS_KEY("owner", ACCESS_OWNER, UINT32_MAX, 10),
	ACCESS_KEY("group", ACCESS_GROUP, UINT32_MAX, 10),
	ACCESS_KEY("mode", ACCESS_MODE, 0777, 8),
};

/* Besides the keys: format, name, and a queue's dead_letter (optional). */
#define STORE_FORMAT 1u

/* What differs between a durable queue's file and a recorded topic's. */
struct store_kind {
	const char *file;
	const char *what; /* for sentences */
	const struct store_key *keys;
	unsigned int key_count;
	size_t settings_size;
	bool dead_letter; /* a queue's dead_letter key */
	/* Marks the settings durable or recorded and checks them as the
	 * library does: 0 or -EINVAL with why. */
	int (*finish)(void *settings, char *why, size_t why_size);
};

static int finish_queue(void *settings, char *why, size_t why_size)
{
	struct bus_queue_settings *s = settings;

	s->durable = 1;
	return bus__queue_settings_check(s, why, why_size);
}

static int finish_topic(void *settings, char *why, size_t why_size)
{
	struct bus_topic_settings *s = settings;

	s->record = 1;
	return bus__topic_settings_check(s, why, why_size);
}

static const struct store_kind queue_kind = {
	.file = BUSD_DURABLE_STORE_FILE,
	.what = "durable queue",
	.keys = queue_keys,
	.key_count = sizeof(queue_keys) / sizeof(queue_keys[0]),
	.settings_size = sizeof(struct bus_queue_settings),
	.dead_letter = true,
	.finish = finish_queue,
};

static const struct store_kind topic_kind = {
	.file = BUSD_TOPIC_STORE_FILE,
	.what = "recorded topic",
	.keys = topic_keys,
	.key_count = sizeof(topic_keys) / sizeof(topic_keys[0]),
	.settings_size = sizeof(struct bus_topic_settings),
	.finish = finish_topic,
};

_Static_assert(sizeof(queue_keys) / sizeof(queue_keys[0]) <= 32 &&
		       sizeof(topic_keys) / sizeof(topic_keys[0]) <= 32,
	       "store_parser.given has a bit per key");

struct store_parser {
	const struct store_kind *kind;
	const char *name;
	void *settings;
	struct busd_access *access;
	uint32_t given; /* one bit per key of the kind */
	bool format, named, dead_letter;
	char *why;
	size_t why_size;
	int line;
	bool failed;
	const char *next; /* the text not read yet */
};

/* inih's reader: one line of the text, counting lines for the errors. */
static char *store_read_line(char *line, int size, void *user)
{
	struct store_parser *p = user;
	const char *end;
	size_t n;

	if (!*p->next || size < 2)
		return NULL;
	end = strchr(p->next, '\n');
	n = end ? (size_t)(end - p->next) + 1 : strlen(p->next);
	if (n > (size_t)size - 1)
		n = (size_t)size - 1; /* inih takes the rest as another line */
	memcpy(line, p->next, n);
	line[n] = '\0';
	p->next += n;
	p->line++;
	return line;
}

__attribute__((format(printf, 2, 3))) static int
store_fail(struct store_parser *p, const char *format, ...)
{
	if (!p->failed) {
		char text[256];
		va_list args;

		va_start(args, format);
		vsnprintf(text, sizeof(text), format, args);
		va_end(args);
		snprintf(p->why, p->why_size, "line %d: %s", p->line, text);
	}
	p->failed = true;
	return 0; /* inih: stop at the first error */
}

/* A whole number in base, at most max; -EINVAL for anything else. */
static int parse_number(const char *value, int base, unsigned long long max,
			unsigned long long *out)
{
	char *end;

	if (!value[0] || value[0] == '-' || value[0] == '+' || value[0] == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoull(value, &end, base);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static void store_set(struct store_parser *p, const struct store_key *k,
		      unsigned long long v)
{
	switch ((int)k->offset) {
	case ACCESS_OWNER:
		p->access->owner = (uid_t)v;
		return;
	case ACCESS_GROUP:
		p->access->group = (gid_t)v;
		return;
	case ACCESS_MODE:
		p->access->mode = (mode_t)v;
		return;
	}
	if (k->size == 1) {
		uint8_t x = (uint8_t)v;

		memcpy((char *)p->settings + k->offset, &x, 1);
	} else if (k->size == 2) {
		uint16_t x = (uint16_t)v;

		memcpy((char *)p->settings + k->offset, &x, 2);
	} else {
		uint32_t x = (uint32_t)v;

		memcpy((char *)p->settings + k->offset, &x, 4);
	}
}

static int store_on_key(void *user, const char *section, const char *key,
			const char *value)
{
	struct store_parser *p = user;
	unsigned long long v;

	if (section[0])
		return store_fail(p,
				  "no [section] belongs in this file, "
				  "not [%s]",
				  section);
	if (!strcmp(key, "format")) {
		if (p->format)
			return store_fail(p, "'%s' is set twice", key);
		if (parse_number(value, 10, UINT32_MAX, &v) ||
		    v != STORE_FORMAT)
			return store_fail(p, "format must be 1, not '%s'",
					  value);
		p->format = true;
		return 1;
	}
	if (!strcmp(key, "name")) {
		if (p->named)
			return store_fail(p, "'%s' is set twice", key);
		if (strcmp(value, p->name))
			return store_fail(p,
					  "name '%s' is not the directory's, "
					  "'%s'",
					  value, p->name);
		p->named = true;
		return 1;
	}
	if (p->kind->dead_letter && !strcmp(key, "dead_letter")) {
		struct bus_queue_settings *s = p->settings;

		if (p->dead_letter)
			return store_fail(p, "'%s' is set twice", key);
		if (bus_name_check(value))
			return store_fail(p,
					  "dead_letter must be a queue name, "
					  "not '%s'",
					  value);
		snprintf(s->dead_letter, sizeof(s->dead_letter), "%s", value);
		p->dead_letter = true;
		return 1;
	}
	for (unsigned int i = 0; i < p->kind->key_count; i++) {
		const struct store_key *k = &p->kind->keys[i];

		if (strcmp(key, k->name))
			continue;
		if (p->given & (1u << i))
			return store_fail(p, "'%s' is set twice", key);
		if (parse_number(value, k->base, k->max, &v))
			return store_fail(p, "%s cannot be '%s'", key, value);
		store_set(p, k, v);
		p->given |= 1u << i;
		return 1;
	}
	return store_fail(p, "unknown key '%s'", key);
}

static int store_parse(const struct store_kind *kind, const char *text,
		       size_t length, const char *name, void *settings,
		       struct busd_access *access, char *why, size_t why_size)
{
	struct store_parser p = {
		.kind = kind,
		.name = name,
		.settings = settings,
		.access = access,
		.why = why,
		.why_size = why_size,
	};
	char *copy;
	int ret;

	if (memchr(text, '\0', length))
		return bus__detail(why, why_size, -EINVAL,
				   "a NUL byte: not a text file");
	copy = malloc(length + 1);
	if (!copy)
		return bus__detail(why, why_size, -ENOMEM, "out of memory");
	memcpy(copy, text, length);
	copy[length] = '\0';
	memset(settings, 0, kind->settings_size);
	memset(access, 0, sizeof(*access));
	p.next = copy;
	ret = ini_parse_stream(store_read_line, &p, store_on_key, &p);
	free(copy);
	if (p.failed)
		return -EINVAL;
	if (ret > 0)
		return bus__detail(why, why_size, -EINVAL,
				   "line %d: expected key = value", ret);
	if (ret < 0)
		return bus__detail(why, why_size, -ENOMEM, "out of memory");
	if (!p.format || !p.named)
		return bus__detail(why, why_size, -EINVAL, "no '%s' key",
				   p.format ? "name" : "format");
	for (unsigned int i = 0; i < kind->key_count; i++)
		if (!(p.given & (1u << i)) && !kind->keys[i].optional)
			return bus__detail(why, why_size, -EINVAL,
					   "no '%s' key", kind->keys[i].name);
	return kind->finish(settings, why, why_size);
}

int busd_durable_store_parse(const char *text, size_t length, const char *name,
			     struct bus_queue_settings *settings,
			     struct busd_access *access, char *why,
			     size_t why_size)
{
	return store_parse(&queue_kind, text, length, name, settings, access,
			   why, why_size);
}

int busd_topic_store_parse(const char *text, size_t length, const char *name,
			   struct bus_topic_settings *settings,
			   struct busd_access *access, char *why,
			   size_t why_size)
{
	return store_parse(&topic_kind, text, length, name, settings, access,
			   why, why_size);
}

/* ---- writing ------------------------------------------------------------ */

static int write_text(int fd, const char *text, size_t length)
{
	while (length) {
		ssize_t n = write(fd, text, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		length -= (size_t)n;
	}
	return 0;
}

/* What a file keeps of one queue or topic. */
struct store_item {
	const char *name;
	const void *settings;
	const struct busd_access *access;
	const char *dead_letter; /* a queue's, or "" */
};

static int format_store(char *text, size_t size, const struct store_kind *kind,
			const struct store_item *item)
{
	const void *s = item->settings;
	size_t used;
	int n;

	n = snprintf(text, size,
		     "# busd: %s '%s', created at run time.  busd makes it "
		     "again\n# from this file at start unless the "
		     "configuration lists it; busctl\n# delete removes it.  "
		     "Written by busd: do not edit.\n"
		     "format = %u\nname = %s\n",
		     kind->what, item->name, STORE_FORMAT, item->name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	used = (size_t)n;
	for (unsigned int i = 0; i < kind->key_count; i++) {
		const struct store_key *k = &kind->keys[i];
		unsigned long long v = 0;

		switch ((int)k->offset) {
		case ACCESS_OWNER:
			v = item->access->owner;
			break;
		case ACCESS_GROUP:
			v = item->access->group;
			break;
		case ACCESS_MODE:
			v = item->access->mode & 0777;
			break;
		default:
			if (k->size == 1) {
				uint8_t x;

				memcpy(&x, (const char *)s + k->offset, 1);
				v = x;
			} else if (k->size == 2) {
				uint16_t x;

				memcpy(&x, (const char *)s + k->offset, 2);
				v = x;
			} else {
				uint32_t x;

				memcpy(&x, (const char *)s + k->offset, 4);
				v = x;
			}
		}
		n = snprintf(text + used, size - used,
			     k->base == 8 ? "%s = 0%llo\n" : "%s = %llu\n",
			     k->name, v);
		if (n < 0 || (size_t)n >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	if (item->dead_letter[0]) {
		n = snprintf(text + used, size - used, "dead_letter = %s\n",
			     item->dead_letter);
		if (n < 0 || (size_t)n >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	return (int)used;
}

static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/* The file, written atomically: a temporary file, fsync, rename, fsync
 * of the directory. */
static int store_save(const struct busd_catalog *catalog,
		      const struct store_kind *kind,
		      const struct store_item *item, char *detail,
		      size_t detail_size)
{
	const struct busd_durable *d = catalog->durable;
	char dir[PATH_MAX], path[PATH_MAX + 32], temp[PATH_MAX + 32];
	char text[2048];
	int fd, length, ret;

	length = format_store(text, sizeof(text), kind, item);
	if (length < 0 || snprintf(dir, sizeof(dir), "%s/%s", d->data_dir,
				   item->name) >= (int)sizeof(dir))
		return bus__detail(detail, detail_size, -ENAMETOOLONG,
				   "the data_dir path is too long");
	snprintf(path, sizeof(path), "%s/%s", dir, kind->file);
	snprintf(temp, sizeof(temp), "%s/.%s.tmp", dir, kind->file);
	fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		ret = -errno;
	else {
		ret = write_text(fd, text, (size_t)length);
		if (!ret && fsync(fd))
			ret = -errno;
		close(fd);
		if (!ret && rename(temp, path))
			ret = -errno;
		if (!ret)
			ret = sync_dir(dir);
		if (ret)
			unlink(temp);
	}
	if (ret)
		return bus__detail(detail, detail_size, ret,
				   "cannot keep the settings of %s '%s' in "
				   "%s: %s",
				   kind->what, item->name, path,
				   strerror(-ret));
	return 0;
}

int busd_durable_store_save(const struct busd_catalog *catalog,
			    const struct busd_queue *queue, char *detail,
			    size_t detail_size)
{
	struct store_item item = {
		.name = queue->name,
		.settings = &queue->geometry.settings,
		.access = &queue->access,
		.dead_letter = queue->geometry.settings.dead_letter,
	};

	if (!catalog->durable || !queue->geometry.settings.durable)
		return 0;
	return store_save(catalog, &queue_kind, &item, detail, detail_size);
}

int busd_topic_store_save(const struct busd_catalog *catalog,
			  const struct busd_topic *topic, char *detail,
			  size_t detail_size)
{
	struct store_item item = {
		.name = topic->name,
		.settings = &topic->geometry.settings,
		.access = &topic->access,
		.dead_letter = "",
	};

	if (!catalog->durable || !topic->geometry.settings.record)
		return 0;
	return store_save(catalog, &topic_kind, &item, detail, detail_size);
}

/* ---- restoring ---------------------------------------------------------- */

/* A queue or a topic of the configuration: one namespace, and the
 * configuration wins. */
static bool configured(const struct busd_config *config, const char *name)
{
	for (unsigned int i = 0; i < config->queue_count; i++)
		if (!strcmp(config->queues[i].name, name))
			return true;
	for (unsigned int i = 0; i < config->topic_count; i++)
		if (!strcmp(config->topics[i].name, name))
			return true;
	return false;
}

static int read_text(const char *path, char **text, size_t *length)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > 65536) {
		close(fd);
		return -EINVAL;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, *text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*text);
		return n < 0 ? -errno : -EIO;
	}
	*length = (size_t)n;
	return 0;
}

/* The kind's create, as busctl create would have asked. */
static int store_create(struct busd_catalog *catalog,
			const struct store_kind *kind, const char *name,
			const void *settings, const struct bus_access *wanted,
			char *why, size_t why_size)
{
	if (kind == &queue_kind)
		return busd_queue_create(catalog, name, settings, wanted, why,
					 why_size);
	return busd_topic_create(catalog, name, settings, wanted, why,
				 why_size);
}

static int restore_one(struct busd_catalog *catalog,
		       const struct store_kind *kind, const char *name,
		       const char *path)
{
	union {
		struct bus_queue_settings queue;
		struct bus_topic_settings topic;
	} settings;
	struct busd_access access;
	struct bus_access wanted;
	char why[512], *text = NULL;
	size_t length = 0;
	int ret;

	ret = read_text(path, &text, &length);
	if (ret) {
		busd_refuse("cannot read %s (%s '%s', created at run time): "
			    "%s",
			    path, kind->what, name,
			    ret == -EINVAL ? "not a small regular file"
					   : strerror(-ret));
		return ret;
	}
	ret = store_parse(kind, text, length, name, &settings, &access, why,
			  sizeof(why));
	free(text);
	if (ret) {
		busd_refuse("%s: %s (the settings of %s '%s', created at run "
			    "time: fix or remove the file)",
			    path, why, kind->what, name);
		return ret;
	}
	wanted = (struct bus_access){
		.given = BUS_ACCESS_OWNER | BUS_ACCESS_GROUP | BUS_ACCESS_MODE,
		.owner = (uint32_t)access.owner,
		.group = (uint32_t)access.group,
		.mode = (uint32_t)access.mode,
	};
	ret = store_create(catalog, kind, name, &settings, &wanted, why,
			   sizeof(why));
	if (ret) {
		busd_refuse("cannot make %s '%s' again from %s: %s",
			    kind->what, name, path, why);
		return ret;
	}
	busd_info("%s '%s': created at run time, made again from %s",
		  kind == &queue_kind ? "queue" : "topic", name, path);
	return 0;
}

static int store_restore(struct busd_catalog *catalog,
			 const struct busd_config *config,
			 const struct store_kind *kind)
{
	const struct busd_durable *d = catalog->durable;
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	if (!d)
		return 0;
	dir = opendir(d->data_dir);
	if (!dir)
		return 0; /* no durable queue yet */
	while (!ret && (e = readdir(dir))) {
		char path[PATH_MAX + 300];
		struct stat st;

		if (e->d_name[0] == '.' || bus_name_check(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", d->data_dir,
			 e->d_name, kind->file);
		if (lstat(path, &st) && errno == ENOENT)
			continue; /* a configured one's journal */
		if (configured(config, e->d_name)) {
			busd_debug("'%s': the configuration's settings, not "
				   "those of %s",
				   e->d_name, path);
			continue;
		}
		if (busd_registry_find(&catalog->registry, e->d_name) ||
		    busd_registry_find_topic(&catalog->registry, e->d_name))
			continue; /* adopted */
		ret = restore_one(catalog, kind, e->d_name, path);
	}
	closedir(dir);
	return ret;
}

int busd_durable_store_restore(struct busd_catalog *catalog,
			       const struct busd_config *config)
{
	return store_restore(catalog, config, &queue_kind);
}

int busd_topic_store_restore(struct busd_catalog *catalog,
			     const struct busd_config *config)
{
	return store_restore(catalog, config, &topic_kind);
}
