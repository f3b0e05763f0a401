/* SPDX-License-Identifier: MIT */
/*
 * busctl ls [--json]         name, kind, depth and capacity of each entry
 * busctl stat NAME [--json]  the figures of one queue
 *
 * Figures are read from shared memory through an observer handle, which
 * neither produces nor consumes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

	if (entry->kind != BUS_SEGMENT_QUEUE)
		return;
	err = busctl_read_stats(ctl, entry->name, &entry->stats, NULL);
	if (err == -ENOENT) {
		list->count--;
		return;
	}
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
	for (i = 0; i < list->count; i++) {
		e = &list->entries[i];
		printf("%-*s %-5s", width, e->name, busctl_kind_name(e->kind));
		busctl_print_figure(e->has_stats, e->stats.depth, 10);
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
		busctl_json_figure("capacity", e->has_stats,
				   e->stats.capacity);
		fputs("}", stdout);
	}
	fputs(list->count ? "\n]\n" : "]\n", stdout);
}

int busctl_ls(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_listing list = { 0 };
	int json = 0;
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
	return n;
}

#define BUSCTL_STAT_FIGURES 12

static void busctl_stat_print_json(const struct bus_queue_stats *stats)
{
	struct busctl_figure figures[BUSCTL_STAT_FIGURES];
	size_t count = busctl_stat_figures(stats, figures);
	size_t i;

	fputs("{", stdout);
	for (i = 0; i < count; i++)
		printf("%s\n  \"%s\": %" PRIu64, i ? "," : "", figures[i].key,
		       figures[i].value);
	fputs("\n}\n", stdout);
}

/* The figures, then the settings that explain them. */
static void busctl_stat_print_text(const struct bus_queue_stats *stats,
				   const struct bus_queue_settings *settings)
{
	struct busctl_figure figures[BUSCTL_STAT_FIGURES];
	size_t count = busctl_stat_figures(stats, figures);
	size_t i;

	for (i = 0; i < count; i++)
		printf("%-13s %" PRIu64 "\n", figures[i].key,
		       figures[i].value);
	printf("%-13s %s\n", "type", busctl_queue_type_name(settings->type));
	printf("%-13s %s\n", "overflow",
	       busctl_overflow_name(settings->overflow));
	printf("%-13s %u\n", "max_message", settings->max_message);
	printf("%-13s %u\n", "max_unacked", settings->max_unacked);
}

int busctl_stat(struct busctl *ctl, int argc, char **argv)
{
	struct bus_queue_settings settings;
	struct bus_queue_stats stats;
	const char *name = NULL;
	int json = 0;
	int status = busctl_inspect_parse("stat", argc, argv, &json, &name);
	int err;

	if (status >= 0)
		return status;
	if (busctl_check_name("stat", name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = busctl_read_stats(ctl, name, &stats, &settings);
	if (err < 0)
		return busctl_fail(ctl, err, "stat %s", name);
	if (json)
		busctl_stat_print_json(&stats);
	else
		busctl_stat_print_text(&stats, &settings);
	return busctl_flush_stdout();
}
