/* SPDX-License-Identifier: MIT */
/*
 * busctl ls [--json]         name, kind, depth, high water and capacity of
 *                            each entry (a topic's depth: its slowest
 *                            subscriber's lag; its high water: the most
 *                            any subscriber ever lagged)
 * busctl stat NAME [--json]  the figures of one queue or topic; a topic's
 *                            include each subscriber's lag and losses
 *
 * Figures are read from shared memory through an observer handle, which
 * neither produces nor consumes.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "busctl.h"

struct busctl_entry {
	char name[BUS_NAME_MAX + 1];
	uint32_t kind;
	int has_stats;
	struct bus_queue_stats stats;
};

struct busctl_listing {
	struct busctl_entry *entries;
	size_t count;
	size_t allocated;
	int failed; /* some figures could not be read */
};

/* Parses [--json] and at most one NAME.  -1 to go on, else a status. */
static int busctl_inspect_parse(const char *command, int argc, char **argv,
				int *json, const char **name)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		if (c != 'j')
			return busctl_bad_option(command, c, argv);
		*json = 1;
	}
	if (name) {
		if (optind >= argc)
			return busctl_usage_error("%s: missing NAME", command);
		*name = argv[optind++];
	}
	if (optind < argc)
		return busctl_usage_error("%s: unexpected '%s'", command,
					  argv[optind]);
	return -1;
}

/* Reads a queue's figures through a short-lived observer handle. */
static int busctl_read_stats(struct busctl *ctl, const char *name,
			     struct bus_queue_stats *stats,
			     struct bus_queue_settings *settings)
{
	bus_queue_t *queue;
	int err;

	err = bus_queue_open(ctl->bus, name, BUS_OBSERVER, NULL, &queue);
	if (err < 0)
		return err;
	err = bus_queue_stats(queue, stats);
	if (err >= 0 && settings)
		*settings = *bus_queue_settings(queue);
	bus_queue_close(queue);
	return err < 0 ? err : 0;
}

/* A topic's line in ls: the slowest subscriber's lag as its depth. */
static int busctl_read_topic_depth(struct busctl *ctl, const char *name,
				   struct bus_queue_stats *stats)
{
	struct bus_topic_stats figures;
	bus_topic_t *topic;
	int err;

	err = bus_topic_open(ctl->bus, name, BUS_OBSERVER, NULL, &topic);
	if (err < 0)
		return err;
	err = bus_topic_stats(topic, &figures);
	bus_topic_close(topic);
	if (err < 0)
		return err;
	stats->depth = figures.max_lag;
	stats->high_water = figures.high_water;
	stats->capacity = figures.capacity;
	return 0;
}

/* ---- ls ------------------------------------------------------------ */

static struct busctl_entry *busctl_listing_add(struct busctl_listing *list)
{
	struct busctl_entry *grown;
	size_t allocated;

	if (list->count == list->allocated) {
		allocated = list->allocated ? 2 * list->allocated : 16;
		grown = realloc(list->entries, allocated * sizeof(*grown));
		if (!grown)
			return NULL;
		list->entries = grown;
		list->allocated = allocated;
	}
	memset(&list->entries[list->count], 0, sizeof(list->entries[0]));
	return &list->entries[list->count++];
}

/*
 * Fills in a queue's figures.  A queue deleted since bus_list() named it
 * is dropped; one that cannot be read is listed without figures and
 * reported.
 */
static void busctl_listing_stats(struct busctl *ctl,
				 struct busctl_listing *list,
				 struct busctl_entry *entry)
{
	int err;

	if (entry->kind == BUS_SEGMENT_TOPIC)
		err = busctl_read_topic_depth(ctl, entry->name, &entry->stats);
	else if (entry->kind == BUS_SEGMENT_QUEUE)
		err = busctl_read_stats(ctl, entry->name, &entry->stats, NULL);
	else
		return;
	if (err == -ENOENT) {
		list->count--;
		return;
	}
	/* Not ours to read: listed, without figures, as ls(1) would. */
	if (err == -EACCES)
		return;
	if (err < 0) {
		busctl_fail(ctl, err, "ls: %s", entry->name);
		list->failed = 1;
		return;
	}
	entry->has_stats = 1;
}

static int busctl_listing_read(struct busctl *ctl, struct busctl_listing *list)
{
	struct busctl_entry *entry;
	uint32_t index;
	int err;

	for (index = 0;; index++) {
		entry = busctl_listing_add(list);
		if (!entry)
			return busctl_error("ls: %s", strerror(ENOMEM));
		err = bus_list(ctl->bus, index, entry->name, &entry->kind);
		if (err == -ENOENT) {
			list->count--;
			return BUSCTL_EXIT_OK;
		}
		if (err < 0)
			return busctl_fail(ctl, err, "ls");
		entry->name[BUS_NAME_MAX] = '\0';
		busctl_listing_stats(ctl, list, entry);
	}
}

static void busctl_print_figure(int known, uint64_t value, int width)
{
	if (known)
		printf(" %*" PRIu64, width, value);
	else
		printf(" %*s", width, "-");
}

static void busctl_ls_print_text(const struct busctl_listing *list)
{
	const struct busctl_entry *e;
	int width = 4;
	size_t i;

	for (i = 0; i < list->count; i++)
		if ((int)strlen(list->entries[i].name) > width)
			width = (int)strlen(list->entries[i].name);
	/* Also for an empty bus, so that a script can count on a header. */
	printf("%-*s %-5s %10s %10s %10s\n", width, "NAME", "KIND", "DEPTH",
	       "HIGH_WATER", "CAPACITY");
	for (i = 0; i < list->count; i++) {
		e = &list->entries[i];
		printf("%-*s %-5s", width, e->name, busctl_kind_name(e->kind));
		busctl_print_figure(e->has_stats, e->stats.depth, 10);
		busctl_print_figure(e->has_stats, e->stats.high_water, 10);
		busctl_print_figure(e->has_stats, e->stats.capacity, 10);
		putchar('\n');
	}
}

static void busctl_json_figure(const char *key, int known, uint64_t value)
{
	printf(", \"%s\": ", key);
	if (known)
		printf("%" PRIu64, value);
	else
		fputs("null", stdout);
}

static void busctl_ls_print_json(const struct busctl_listing *list)
{
	const struct busctl_entry *e;
	size_t i;

	fputs("[", stdout);
	for (i = 0; i < list->count; i++) {
		e = &list->entries[i];
		fputs(i ? ",\n  " : "\n  ", stdout);
		fputs("{\"name\": ", stdout);
		busctl_json_string(stdout, e->name);
		printf(", \"kind\": \"%s\"", busctl_kind_name(e->kind));
		busctl_json_figure("depth", e->has_stats, e->stats.depth);
		busctl_json_figure("high_water", e->has_stats,
				   e->stats.high_water);
		busctl_json_figure("capacity", e->has_stats,
				   e->stats.capacity);
		fputs("}", stdout);
	}
	fputs(list->count ? "\n]\n" : "]\n", stdout);
}

int busctl_ls(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_listing list = { 0 };
	int json = ctl->json;
	int status = busctl_inspect_parse("ls", argc, argv, &json, NULL);

	if (status >= 0)
		return status;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	status = busctl_listing_read(ctl, &list);
	if (status == BUSCTL_EXIT_OK) {
		if (json)
			busctl_ls_print_json(&list);
		else
			busctl_ls_print_text(&list);
		status = busctl_flush_stdout();
		if (list.failed)
			status = BUSCTL_EXIT_ERROR;
	}
	free(list.entries);
	return status;
}

/* ---- stat ---------------------------------------------------------- */

/* "0 (root)", or the bare number when the system has no name for it. */
static void busctl_print_id(const char *key, uint32_t id, int group, int width)
{
	char buffer[4096];
	struct passwd user, *found_user = NULL;
	struct group entry, *found_group = NULL;
	const char *name = NULL;

	if (group &&
	    !getgrgid_r((gid_t)id, &entry, buffer, sizeof(buffer),
			&found_group) &&
	    found_group)
		name = found_group->gr_name;
	if (!group &&
	    !getpwuid_r((uid_t)id, &user, buffer, sizeof(buffer),
			&found_user) &&
	    found_user)
		name = found_user->pw_name;
	if (name)
		printf("%-*s %u (%s)\n", width, key, id, name);
	else
		printf("%-*s %u\n", width, key, id);
}

/* Who may use it: owner, group and mode, as ls -l would say. */
static void busctl_access_print_text(const struct bus_access *access,
				     int width)
{
	busctl_print_id("owner", access->owner, 0, width);
	busctl_print_id("group", access->group, 1, width);
	printf("%-*s %04o\n", width, "mode", access->mode);
}

/* The same as JSON keys; the mode as an octal string, "0660". */
static void busctl_access_print_json(const struct bus_access *access)
{
	printf(",\n  \"owner\": %u,\n  \"group\": %u,\n  \"mode\": \"%04o\"",
	       access->owner, access->group, access->mode);
}

struct busctl_figure {
	const char *key;
	uint64_t value;
};

/* The figures of stat, in order; their keys are the JSON keys. */
static size_t busctl_stat_figures(const struct bus_queue_stats *s,
				  struct busctl_figure *f)
{
	size_t n = 0;

	f[n++] = (struct busctl_figure){ "depth", s->depth };
	f[n++] = (struct busctl_figure){ "high_water", s->high_water };
	f[n++] = (struct busctl_figure){ "capacity", s->capacity };
	f[n++] = (struct busctl_figure){ "enqueued", s->enqueued };
	f[n++] = (struct busctl_figure){ "dequeued", s->dequeued };
	f[n++] = (struct busctl_figure){ "acked", s->acked };
	f[n++] = (struct busctl_figure){ "nacked", s->nacked };
	f[n++] = (struct busctl_figure){ "redelivered", s->redelivered };
	f[n++] = (struct busctl_figure){ "dropped", s->dropped };
	f[n++] = (struct busctl_figure){ "rejected", s->rejected };
	f[n++] = (struct busctl_figure){ "leased", s->leased };
	f[n++] = (struct busctl_figure){ "producers", s->producers };
	f[n++] = (struct busctl_figure){ "consumers", s->consumers };
	f[n++] = (struct busctl_figure){ "expired", s->expired };
	f[n++] = (struct busctl_figure){ "dead_lettered", s->dead_lettered };
	f[n++] = (struct busctl_figure){ "dead_waiting", s->dead_waiting };
	f[n++] = (struct busctl_figure){ "timed_out", s->timed_out };
	f[n++] = (struct busctl_figure){ "backpressure_waits",
					 s->backpressure_waits };
	return n;
}

#define BUSCTL_STAT_FIGURES 18

/* A durable queue's journal figures (bus_queue_stats), after the others. */
static size_t busctl_stat_journal_figures(const struct bus_queue_stats *s,
					  struct busctl_figure *f)
{
	size_t n = 0;

	f[n++] = (struct busctl_figure){ "journal_bytes", s->journal_bytes };
	f[n++] = (struct busctl_figure){ "journal_lag", s->journal_lag };
	f[n++] = (struct busctl_figure){ "journal_syncs", s->journal_syncs };
	f[n++] = (struct busctl_figure){ "journal_sync_p50_ns",
					 s->journal_sync_p50_ns };
	f[n++] = (struct busctl_figure){ "journal_sync_p99_ns",
					 s->journal_sync_p99_ns };
	f[n++] = (struct busctl_figure){ "journal_write_errors",
					 s->journal_write_errors };
	f[n++] = (struct busctl_figure){ "journal_recovery_ns",
					 s->journal_recovery_ns };
	f[n++] = (struct busctl_figure){ "journal_recovered",
					 s->journal_recovered };
	f[n++] = (struct busctl_figure){ "journal_torn", s->journal_torn };
	return n;
}

#define BUSCTL_STAT_JOURNAL_FIGURES 9

static const char *busctl_sync_name(uint32_t sync)
{
	return sync == BUS_SYNC_NONE	 ? "none"
	       : sync == BUS_SYNC_ALWAYS ? "always"
					 : "interval";
}

/* "name" and "kind", the first keys of stat's object. */
static void busctl_stat_print_identity(const char *name, uint32_t kind)
{
	fputs("{\n  \"name\": ", stdout);
	busctl_json_string(stdout, name);
	printf(",\n  \"kind\": \"%s\",", busctl_kind_name(kind));
}

/* Every setting the queue was created with, as "settings": {...}. */
static void busctl_queue_settings_json(const struct bus_queue_settings *s)
{
	printf(",\n  \"settings\": {\"type\": \"%s\", \"slots\": %u, "
	       "\"max_message\": %u, \"header_room\": %u, \"overflow\": "
	       "\"%s\", \"max_unacked\": %u, \"max_producers\": %u, "
	       "\"max_consumers\": %u, \"ttl_ms\": %u, \"ack_timeout_ms\": "
	       "%u, \"max_deliveries\": %u, \"dead_letter\": ",
	       busctl_queue_type_name(s->type), s->slots, s->max_message,
	       s->header_room, busctl_overflow_name(s->overflow),
	       s->max_unacked, s->max_producers, s->max_consumers, s->ttl_ms,
	       s->ack_timeout_ms, s->max_deliveries);
	if (s->dead_letter[0])
		busctl_json_string(stdout, s->dead_letter);
	else
		fputs("null", stdout);
	/* The arena's size, its default resolved; 0: fixed cells. */
	printf(", \"ring_bytes\": %u", busctl_queue_arena_bytes(s));
	printf(", \"durable\": %s", s->durable ? "true" : "false");
	if (s->durable)
		printf(", \"sync\": \"%s\", \"sync_interval_ms\": %u, "
		       "\"segment_bytes\": %llu",
		       busctl_sync_name(s->sync),
		       s->sync_interval_ms ? s->sync_interval_ms : 10,
		       (unsigned long long)(s->segment_kib ? s->segment_kib
							   : 65536)
			       << 10);
	putchar('}');
}

static void busctl_stat_print_json(const char *name,
				   const struct bus_queue_stats *stats,
				   const struct bus_queue_settings *settings,
				   const struct bus_access *access,
				   const struct busctl_attachments *holders)
{
	struct busctl_figure figures[BUSCTL_STAT_FIGURES];
	size_t count = busctl_stat_figures(stats, figures);
	size_t i;

	busctl_stat_print_identity(name, BUS_SEGMENT_QUEUE);
	for (i = 0; i < count; i++)
		printf("%s\n  \"%s\": %" PRIu64, i ? "," : "", figures[i].key,
		       figures[i].value);
	if (settings->durable) {
		struct busctl_figure journal[BUSCTL_STAT_JOURNAL_FIGURES];

		count = busctl_stat_journal_figures(stats, journal);
		for (i = 0; i < count; i++)
			printf(",\n  \"%s\": %" PRIu64, journal[i].key,
			       journal[i].value);
	}
	busctl_queue_settings_json(settings);
	busctl_access_print_json(access);
	busctl_attachments_print_json(holders);
	fputs("\n}\n", stdout);
}

/* The figures, then the settings that explain them. */
static void busctl_stat_print_text(const struct bus_queue_stats *stats,
				   const struct bus_queue_settings *settings,
				   const struct bus_access *access,
				   const struct busctl_attachments *holders)
{
	struct busctl_figure figures[BUSCTL_STAT_FIGURES];
	size_t count = busctl_stat_figures(stats, figures);
	size_t i;

	for (i = 0; i < count; i++)
		printf("%-13s %" PRIu64 "\n", figures[i].key,
		       figures[i].value);
	if (settings->durable) {
		struct busctl_figure journal[BUSCTL_STAT_JOURNAL_FIGURES];

		count = busctl_stat_journal_figures(stats, journal);
		for (i = 0; i < count; i++)
			printf("%-13s %" PRIu64 "\n", journal[i].key,
			       journal[i].value);
	}
	printf("%-13s %s\n", "type", busctl_queue_type_name(settings->type));
	printf("%-13s %u\n", "slots", settings->slots);
	printf("%-13s %s\n", "overflow",
	       busctl_overflow_name(settings->overflow));
	printf("%-13s %u\n", "max_message", settings->max_message);
	printf("%-13s %u\n", "header_room", settings->header_room);
	if (busctl_queue_arena_bytes(settings))
		printf("%-13s %u (packed: payloads, keys and headers)\n",
		       "ring_bytes", busctl_queue_arena_bytes(settings));
	printf("%-13s %u\n", "max_unacked", settings->max_unacked);
	printf("%-13s %u\n", "max_producers", settings->max_producers);
	printf("%-13s %u\n", "max_consumers", settings->max_consumers);
	if (settings->ttl_ms)
		printf("%-13s %u ms\n", "ttl", settings->ttl_ms);
	if (settings->dead_letter[0])
		printf("%-13s %s (max_deliveries %u)\n", "dead_letter",
		       settings->dead_letter, settings->max_deliveries);
	if (settings->ack_timeout_ms)
		printf("%-13s %u ms\n", "ack_timeout",
		       settings->ack_timeout_ms);
	if (settings->durable)
		printf("%-13s yes (sync %s, every %u ms; journal files of "
		       "%u KiB)\n",
		       "durable", busctl_sync_name(settings->sync),
		       settings->sync_interval_ms ? settings->sync_interval_ms
						  : 10,
		       settings->segment_kib ? settings->segment_kib : 65536);
	busctl_access_print_text(access, 13);
	busctl_attachments_print_text(holders);
}

/* ---- stat of a topic --------------------------------------------- */

static int busctl_is_topic(struct busctl *ctl, const char *name)
{
	uint32_t kind;

	return busctl_kind_of(ctl, name, &kind) == 0 &&
	       kind == BUS_SEGMENT_TOPIC;
}

/* The topic's figures, in order; their keys are the JSON keys. */
static size_t busctl_topic_figures(const struct bus_topic_stats *s,
				   struct busctl_figure *f)
{
	size_t n = 0;

	f[n++] = (struct busctl_figure){ "published", s->published };
	f[n++] = (struct busctl_figure){ "rejected", s->rejected };
	f[n++] = (struct busctl_figure){ "received", s->received };
	f[n++] = (struct busctl_figure){ "lapped", s->lapped };
	f[n++] = (struct busctl_figure){ "lost", s->lost };
	f[n++] = (struct busctl_figure){ "padded", s->padded };
	f[n++] = (struct busctl_figure){ "tail", s->tail };
	f[n++] = (struct busctl_figure){ "capacity", s->capacity };
	f[n++] = (struct busctl_figure){ "max_lag", s->max_lag };
	f[n++] = (struct busctl_figure){ "high_water", s->high_water };
	f[n++] = (struct busctl_figure){ "publishers", s->publishers };
	f[n++] = (struct busctl_figure){ "subscribers", s->subscribers };
	f[n++] = (struct busctl_figure){ "backpressure_waits",
					 s->backpressure_waits };
	f[n++] = (struct busctl_figure){ "expired", s->expired };
	return n;
}

#define BUSCTL_TOPIC_FIGURES 14

/* A recorded topic's journal figures, after the others (as a durable
 * queue's). */
static size_t busctl_topic_journal_figures(const struct bus_topic_stats *s,
					   struct busctl_figure *f)
{
	size_t n = 0;

	f[n++] = (struct busctl_figure){ "journal_bytes", s->journal_bytes };
	f[n++] = (struct busctl_figure){ "journal_lag", s->journal_lag };
	f[n++] = (struct busctl_figure){ "journal_syncs", s->journal_syncs };
	f[n++] = (struct busctl_figure){ "journal_sync_p50_ns",
					 s->journal_sync_p50_ns };
	f[n++] = (struct busctl_figure){ "journal_sync_p99_ns",
					 s->journal_sync_p99_ns };
	f[n++] = (struct busctl_figure){ "journal_write_errors",
					 s->journal_write_errors };
	f[n++] = (struct busctl_figure){ "journal_recovery_ns",
					 s->journal_recovery_ns };
	f[n++] = (struct busctl_figure){ "journal_recovered",
					 s->journal_recovered };
	f[n++] = (struct busctl_figure){ "journal_torn", s->journal_torn };
	return n;
}

struct busctl_topic_view {
	struct bus_topic_stats stats;
	struct bus_latency latency;
	struct bus_topic_settings settings;
	struct bus_subscriber_stats *subscribers;
	uint32_t count;
	struct bus_access access;
};

static void busctl_topic_settings_json(const struct bus_topic_settings *s)
{
	printf(",\n  \"settings\": {\"slots\": %u, \"max_message\": %u, "
	       "\"header_room\": %u, \"slow_subscriber\": \"%s\", "
	       "\"max_subscribers\": %u, \"max_publishers\": %u, "
	       "\"history\": %u, \"ring_bytes\": %u, \"record\": %s",
	       s->slots, s->max_message, s->header_room,
	       busctl_slow_subscriber_name(s->slow_subscriber),
	       s->max_subscribers, s->max_publishers, s->history,
	       busctl_topic_arena_bytes(s), s->record ? "true" : "false");
	if (s->record)
		printf(", \"sync\": \"%s\", \"sync_interval_ms\": %u, "
		       "\"segment_bytes\": %llu, \"retain_bytes\": %llu, "
		       "\"retain_age_s\": %u",
		       busctl_sync_name(s->sync),
		       s->sync_interval_ms ? s->sync_interval_ms : 10,
		       (unsigned long long)(s->segment_kib ? s->segment_kib
							   : 65536)
			       << 10,
		       (unsigned long long)s->retain_mib << 20,
		       s->retain_age_s);
	putchar('}');
}

static void busctl_topic_print_json(const char *name,
				    const struct busctl_topic_view *v)
{
	struct busctl_figure figures[BUSCTL_TOPIC_FIGURES];
	size_t count = busctl_topic_figures(&v->stats, figures);

	busctl_stat_print_identity(name, BUS_SEGMENT_TOPIC);
	for (size_t i = 0; i < count; i++)
		printf("%s\n  \"%s\": %" PRIu64, i ? "," : "", figures[i].key,
		       figures[i].value);
	if (v->settings.record) {
		struct busctl_figure journal[BUSCTL_STAT_JOURNAL_FIGURES];

		count = busctl_topic_journal_figures(&v->stats, journal);
		for (size_t i = 0; i < count; i++)
			printf(",\n  \"%s\": %" PRIu64, journal[i].key,
			       journal[i].value);
	}
	busctl_topic_settings_json(&v->settings);
	busctl_access_print_json(&v->access);
	fputs(",\n  \"latency\": ", stdout);
	busctl_latency_print_json(&v->latency);
	fputs(",\n  \"subscriber_slots\": [", stdout);
	for (uint32_t i = 0; i < v->count; i++) {
		const struct bus_subscriber_stats *s = &v->subscribers[i];

		printf("%s\n    {\"slot\": %u, \"pid\": %d, \"position\": %" PRIu64
		       ", \"lag\": %" PRIu64 ", \"high_water\": %" PRIu64
		       ", \"received\": %" PRIu64 ", \"lapped\": %" PRIu64
		       ", \"lost\": %" PRIu64 ", \"latency\": ",
		       i ? "," : "", s->slot, (int)s->pid, s->position, s->lag,
		       s->high_water, s->received, s->lapped, s->lost);
		busctl_latency_print_json(&s->latency);
		fputs("}", stdout);
	}
	fputs(v->count ? "\n  ]\n}\n" : "]\n}\n", stdout);
}

static void busctl_topic_print_text(const struct busctl_topic_view *v)
{
	struct busctl_figure figures[BUSCTL_TOPIC_FIGURES];
	size_t count = busctl_topic_figures(&v->stats, figures);

	for (size_t i = 0; i < count; i++)
		printf("%-15s %" PRIu64 "\n", figures[i].key,
		       figures[i].value);
	if (v->settings.record) {
		struct busctl_figure journal[BUSCTL_STAT_JOURNAL_FIGURES];

		count = busctl_topic_journal_figures(&v->stats, journal);
		for (size_t i = 0; i < count; i++)
			printf("%-15s %" PRIu64 "\n", journal[i].key,
			       journal[i].value);
	}
	printf("%-15s %s\n", "slow_subscriber",
	       busctl_slow_subscriber_name(v->settings.slow_subscriber));
	printf("%-15s %u\n", "slots", v->settings.slots);
	printf("%-15s %u\n", "max_message", v->settings.max_message);
	printf("%-15s %u\n", "header_room", v->settings.header_room);
	if (busctl_topic_arena_bytes(&v->settings))
		printf("%-15s %u (packed: payloads, keys and headers)\n",
		       "ring_bytes", busctl_topic_arena_bytes(&v->settings));
	printf("%-15s %u\n", "max_subscribers", v->settings.max_subscribers);
	printf("%-15s %u\n", "max_publishers", v->settings.max_publishers);
	printf("%-15s %u\n", "history", v->settings.history);
	if (v->settings.record)
		printf("%-15s yes (sync %s, every %u ms; journal files of %u "
		       "KiB; kept: %u MiB, %u s, 0: all)\n",
		       "record", busctl_sync_name(v->settings.sync),
		       v->settings.sync_interval_ms
			       ? v->settings.sync_interval_ms
			       : 10,
		       v->settings.segment_kib ? v->settings.segment_kib
					       : 65536,
		       v->settings.retain_mib, v->settings.retain_age_s);
	busctl_access_print_text(&v->access, 15);
	busctl_latency_print_text(&v->latency, 15);
	if (!v->count)
		return;
	printf("%-6s %-8s %12s %12s %10s %12s %8s %12s %10s %10s %10s\n",
	       "slot", "pid", "position", "lag", "high_water", "received",
	       "lapped", "lost", "p50", "p99", "p99.9");
	for (uint32_t i = 0; i < v->count; i++) {
		const struct bus_subscriber_stats *s = &v->subscribers[i];
		char p50[24], p99[24], p999[24];

		printf("%-6u %-8d %12" PRIu64 " %12" PRIu64 " %10" PRIu64
		       " %12" PRIu64 " %8" PRIu64 " %12" PRIu64,
		       s->slot, (int)s->pid, s->position, s->lag,
		       s->high_water, s->received, s->lapped, s->lost);
		busctl_print_ns_column(s->latency.p50_ns, p50, sizeof(p50));
		busctl_print_ns_column(s->latency.p99_ns, p99, sizeof(p99));
		busctl_print_ns_column(s->latency.p999_ns, p999, sizeof(p999));
		putchar('\n');
	}
}

/* Reads figures, settings and the live subscribers through an observer. */
static int busctl_topic_read(struct busctl *ctl, const char *name,
			     struct busctl_topic_view *v)
{
	bus_topic_t *topic;
	int err;

	err = bus_access_get(ctl->bus, name, &v->access);
	if (err < 0)
		return err;
	err = bus_topic_open(ctl->bus, name, BUS_OBSERVER, NULL, &topic);
	if (err < 0)
		return err;
	v->settings = *bus_topic_settings(topic);
	v->subscribers =
		calloc(v->settings.max_subscribers, sizeof(*v->subscribers));
	err = v->subscribers ? bus_topic_stats(topic, &v->stats) : -ENOMEM;
	if (err >= 0)
		err = bus_topic_latency(topic, &v->latency);
	if (err >= 0)
		err = bus_topic_subscribers(topic, v->subscribers,
					    v->settings.max_subscribers);
	if (err >= 0)
		v->count = (uint32_t)err < v->settings.max_subscribers
				   ? (uint32_t)err
				   : v->settings.max_subscribers;
	bus_topic_close(topic);
	return err < 0 ? err : 0;
}

static int busctl_topic_stat(struct busctl *ctl, const char *name, int json)
{
	struct busctl_topic_view view = { 0 };
	int err = busctl_topic_read(ctl, name, &view);

	if (err < 0) {
		free(view.subscribers);
		return busctl_fail(ctl, err, "stat %s", name);
	}
	if (json)
		busctl_topic_print_json(name, &view);
	else
		busctl_topic_print_text(&view);
	free(view.subscribers);
	return busctl_flush_stdout();
}

int busctl_stat(struct busctl *ctl, int argc, char **argv)
{
	struct bus_queue_settings settings;
	struct busctl_attachments holders;
	struct bus_queue_stats stats;
	struct bus_access access;
	const char *name = NULL;
	int json = ctl->json;
	int status = busctl_inspect_parse("stat", argc, argv, &json, &name);
	int err;

	if (status >= 0)
		return status;
	if (busctl_check_name("stat", name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	if (busctl_is_topic(ctl, name))
		return busctl_topic_stat(ctl, name, json);
	err = bus_access_get(ctl->bus, name, &access);
	if (err >= 0)
		err = busctl_read_stats(ctl, name, &stats, &settings);
	if (err >= 0)
		err = busctl_read_attachments(ctl, name, &holders);
	if (err < 0)
		return busctl_fail(ctl, err, "stat %s", name);
	if (json)
		busctl_stat_print_json(name, &stats, &settings, &access,
				       &holders);
	else
		busctl_stat_print_text(&stats, &settings, &access, &holders);
	busctl_attachments_free(&holders);
	return busctl_flush_stdout();
}
