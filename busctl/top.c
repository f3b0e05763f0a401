/* SPDX-License-Identifier: MIT */
/*
 * busctl top [--interval MS] [--once] [-n COUNT] [--sort depth|rate|name]
 *
 * A live view of every queue and topic of the bus: message rates per
 * second (from two readings of the counters), depth, leases, lag,
 * capacity, producers and consumers (publishers and subscribers), losses
 * and refusals.  Figures are read from shared memory through observer
 * handles, which change nothing.
 *
 * The first screen comes after a short first interval (at most
 * BUSCTL_TOP_FIRST_MS), so rates are known at once.  In a terminal
 * (stdout a tty, TERM set and not "dumb") each screen clears the last
 * with ANSI codes, lines are cut to the terminal's width (a wrapped row
 * would push the header off the screen) and keys work (top_keys.c);
 * otherwise each is a plain block of text after a blank line, fit for a
 * pipe, a log or a dumb terminal.  --json prints one snapshot per line
 * instead.  --once (or -n COUNT) ends after one (COUNT) screens; q,
 * SIGINT or SIGTERM end the loop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "busctl.h"
#include "top_keys.h"

#define BUSCTL_TOP_INTERVAL_MS 1000u
#define BUSCTL_TOP_INTERVAL_MIN_MS 50u
#define BUSCTL_TOP_FIRST_MS 250u

/* One queue or topic in one reading. */
struct busctl_top_row {
	char name[BUS_NAME_MAX + 1];
	uint32_t kind;
	int known;    /* figures read (not: no r on it, or it went away) */
	uint64_t in;  /* enqueued or published */
	uint64_t out; /* dequeued or received (every subscriber) */
	uint64_t depth, leased, lag, capacity;
	uint64_t loss; /* dropped (queue) or lost (topic) */
	uint64_t rejected;
	uint32_t producers, consumers;
};

struct busctl_top_reading {
	struct busctl_top_row *rows;
	size_t count;
	size_t allocated;
	int64_t at_ns;
};

struct busctl_top {
	struct busctl *ctl;
	uint32_t interval_ms;
	uint64_t count; /* screens to print; 0: until stopped */
	int ansi;
	int json;
	enum busctl_top_sort sort;
	size_t first_row;      /* scrolled past this many rows */
	int columns, lines;    /* of the terminal; 0: not a terminal */
	unsigned long screens; /* drawn so far */
	struct busctl_top_reading last, now;
	struct busctl_top_keys keys;
};

/* ---- reading ------------------------------------------------------- */

static void busctl_top_queue(struct busctl *ctl, struct busctl_top_row *row)
{
	struct bus_queue_stats s;
	bus_queue_t *queue;

	if (bus_queue_open(ctl->bus, row->name, BUS_OBSERVER, NULL, &queue))
		return;
	if (bus_queue_stats(queue, &s) == 0) {
		row->in = s.enqueued;
		row->out = s.dequeued;
		row->depth = s.depth;
		row->leased = s.leased;
		row->capacity = s.capacity;
		row->loss = s.dropped;
		row->rejected = s.rejected;
		row->producers = s.producers;
		row->consumers = s.consumers;
		row->known = 1;
	}
	bus_queue_close(queue);
}

static void busctl_top_topic(struct busctl *ctl, struct busctl_top_row *row)
{
	struct bus_topic_stats s;
	bus_topic_t *topic;

	if (bus_topic_open(ctl->bus, row->name, BUS_OBSERVER, NULL, &topic))
		return;
	if (bus_topic_stats(topic, &s) == 0) {
		row->in = s.published;
		row->out = s.received;
		row->lag = s.max_lag;
		row->capacity = s.capacity;
		row->loss = s.lost;
		row->rejected = s.rejected;
		row->producers = s.publishers;
		row->consumers = s.subscribers;
		row->known = 1;
	}
	bus_topic_close(topic);
}

static struct busctl_top_row *busctl_top_add(struct busctl_top_reading *r)
{
	struct busctl_top_row *grown;
	size_t allocated;

	if (r->count == r->allocated) {
		allocated = r->allocated ? 2 * r->allocated : 16;
		grown = realloc(r->rows, allocated * sizeof(*grown));
		if (!grown)
			return NULL;
		r->rows = grown;
		r->allocated = allocated;
	}
	memset(&r->rows[r->count], 0, sizeof(r->rows[0]));
	return &r->rows[r->count++];
}

/* Lists the bus and reads every entry's figures.  0 or an exit status. */
static int busctl_top_read(struct busctl_top *top,
			   struct busctl_top_reading *r)
{
	struct busctl_top_row *row;
	int err;

	r->count = 0;
	for (uint32_t index = 0;; index++) {
		row = busctl_top_add(r);
		if (!row)
			return busctl_error("top: %s", strerror(ENOMEM));
		err = bus_list(top->ctl->bus, index, row->name, &row->kind);
		if (err == -ENOENT) {
			r->count--;
			break;
		}
		if (err < 0)
			return busctl_fail(top->ctl, err, "top");
		if (row->kind == BUS_SEGMENT_TOPIC)
			busctl_top_topic(top->ctl, row);
		else
			busctl_top_queue(top->ctl, row);
	}
	r->at_ns = busctl_now_ns();
	return BUSCTL_EXIT_OK;
}

/* ---- one row's figures, as drawn and as JSON ------------------------- */

/* What the reading before says about a row: its rates, or none. */
struct busctl_top_rates {
	int known;
	double in, out; /* messages per second */
};

static const struct busctl_top_row *
busctl_top_find(const struct busctl_top_reading *r,
		const struct busctl_top_row *row)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->rows[i].kind == row->kind &&
		    !strcmp(r->rows[i].name, row->name))
			return &r->rows[i];
	return NULL;
}

/* No rate without an earlier reading, or after a counter went back (the
 * name was deleted and created again). */
static struct busctl_top_rates
busctl_top_rates_of(const struct busctl_top *top,
		    const struct busctl_top_row *row)
{
	const struct busctl_top_row *before = busctl_top_find(&top->last, row);
	double seconds = (double)(top->now.at_ns - top->last.at_ns) / 1e9;
	struct busctl_top_rates rates = { 0 };

	if (!row->known || !before || !before->known || seconds <= 0 ||
	    row->in < before->in || row->out < before->out)
		return rates;
	rates.known = 1;
	rates.in = (double)(row->in - before->in) / seconds;
	rates.out = (double)(row->out - before->out) / seconds;
	return rates;
}

/* ---- sorting ------------------------------------------------------- */

struct busctl_top_sorted {
	const struct busctl_top_row *row;
	struct busctl_top_rates rates;
	double key; /* larger first; unused for name */
};

static int busctl_top_by_name(const void *a, const void *b)
{
	const struct busctl_top_sorted *x = a, *y = b;

	return strcmp(x->row->name, y->row->name);
}

static int busctl_top_by_key(const void *a, const void *b)
{
	const struct busctl_top_sorted *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return busctl_top_by_name(a, b);
}

/* The rows of now with their rates, in the order top->sort says. */
static struct busctl_top_sorted *busctl_top_sort(const struct busctl_top *top)
{
	const struct busctl_top_reading *r = &top->now;
	struct busctl_top_sorted *sorted =
		calloc(r->count + 1, sizeof(*sorted));

	if (!sorted)
		return NULL;
	for (size_t i = 0; i < r->count; i++) {
		const struct busctl_top_row *row = &r->rows[i];

		sorted[i].row = row;
		sorted[i].rates = busctl_top_rates_of(top, row);
		if (top->sort == BUSCTL_TOP_SORT_RATE)
			sorted[i].key = sorted[i].rates.known
						? sorted[i].rates.in
						: -1;
		else
			sorted[i].key = !row->known ? -1
					: row->kind == BUS_SEGMENT_TOPIC
						? (double)row->lag
						: (double)row->depth;
	}
	qsort(sorted, r->count, sizeof(*sorted),
	      top->sort == BUSCTL_TOP_SORT_NAME ? busctl_top_by_name
						: busctl_top_by_key);
	return sorted;
}

/* ---- text ---------------------------------------------------------- */

/*
 * Everything after the name, in columns that fit 80 with a 12-letter
 * name: a queue's DEPTH is its depth, a topic's its slowest subscriber's
 * lag (as in ls).  The least needed columns come last, where a narrow
 * terminal cuts them.
 */
#define BUSCTL_TOP_COLUMNS "%-5s %7s %7s %6s %6s %6s %6s %4s %4s %6s"
#define BUSCTL_TOP_FIXED_WIDTH 67 /* a space and the columns above */

static void busctl_top_figure(char *out, size_t size, int known,
			      uint64_t value)
{
	if (known)
		busctl_format_count(out, size, (double)value);
	else
		snprintf(out, size, "-");
}

static void busctl_top_rate(char *out, size_t size, int known, double rate)
{
	if (known)
		busctl_format_count(out, size, rate);
	else
		snprintf(out, size, "-");
}

/* Prints a line, cut to the terminal's width when there is one. */
static void busctl_top_line(const struct busctl_top *top, const char *line)
{
	if (top->columns > 0)
		printf("%.*s\n", top->columns, line);
	else
		printf("%s\n", line);
}

static void busctl_top_print_row(const struct busctl_top *top,
				 const struct busctl_top_sorted *s, int width)
{
	const struct busctl_top_row *row = s->row;
	int queue = row->kind != BUS_SEGMENT_TOPIC;
	char in[16], out[16], depth[16], capacity[16], loss[16];
	char rejected[16], producers[16], consumers[16], leased[16];
	char name[BUS_NAME_MAX + 2], line[256];
	int length = (int)strlen(row->name);

	/* A name cut short ends in '~', so it is never taken for another. */
	if (length > width)
		snprintf(name, sizeof(name), "%.*s~", width - 1, row->name);
	else
		snprintf(name, sizeof(name), "%s", row->name);
	busctl_top_rate(in, sizeof(in), s->rates.known, s->rates.in);
	busctl_top_rate(out, sizeof(out), s->rates.known, s->rates.out);
	busctl_top_figure(depth, sizeof(depth), row->known,
			  queue ? row->depth : row->lag);
	busctl_top_figure(capacity, sizeof(capacity), row->known,
			  row->capacity);
	busctl_top_figure(loss, sizeof(loss), row->known, row->loss);
	busctl_top_figure(rejected, sizeof(rejected), row->known,
			  row->rejected);
	busctl_top_figure(producers, sizeof(producers), row->known,
			  row->producers);
	busctl_top_figure(consumers, sizeof(consumers), row->known,
			  row->consumers);
	busctl_top_figure(leased, sizeof(leased), row->known && queue,
			  row->leased);
	snprintf(line, sizeof(line), "%-*s " BUSCTL_TOP_COLUMNS, width, name,
		 busctl_kind_name(row->kind), in, out, depth, capacity, loss,
		 rejected, producers, consumers, leased);
	busctl_top_line(top, line);
}

/* The name column: as wide as the longest name, but no wider than the
 * terminal leaves (and never under 8). */
static int busctl_top_name_width(const struct busctl_top *top)
{
	const struct busctl_top_reading *r = &top->now;
	int width = 4, room;

	for (size_t i = 0; i < r->count; i++)
		if ((int)strlen(r->rows[i].name) > width)
			width = (int)strlen(r->rows[i].name);
	if (top->columns > 0) {
		room = top->columns - 1 - BUSCTL_TOP_FIXED_WIDTH;
		if (room < 8)
			room = 8;
		if (width > room)
			width = room;
	}
	return width;
}

/* Rows that fit under the title and header and above the key line. */
static size_t busctl_top_visible(const struct busctl_top *top)
{
	if (!top->ansi || top->lines < 5)
		return top->now.count;
	return (size_t)(top->lines - 3);
}

static void busctl_top_title(const struct busctl_top *top)
{
	const struct busctl_top_reading *r = &top->now;
	size_t queues = 0, topics = 0;
	char when[32], line[256];
	time_t wall = time(NULL);
	struct tm local;

	for (size_t i = 0; i < r->count; i++) {
		if (r->rows[i].kind == BUS_SEGMENT_TOPIC)
			topics++;
		else
			queues++;
	}
	if (!localtime_r(&wall, &local) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &local))
		snprintf(when, sizeof(when), "?");
	/* Most telling first: a narrow terminal cuts the end. */
	snprintf(line, sizeof(line),
		 "bus %s  %zu queue%s, %zu topic%s  sort %s  every %.1f s  %s",
		 bus_name(top->ctl->bus), queues, queues == 1 ? "" : "s",
		 topics, topics == 1 ? "" : "s",
		 busctl_top_sort_name(top->sort), top->interval_ms / 1000.0,
		 when);
	busctl_top_line(top, line);
}

static void busctl_top_print(struct busctl_top *top,
			     const struct busctl_top_sorted *sorted)
{
	size_t count = top->now.count, visible = busctl_top_visible(top);
	int width = busctl_top_name_width(top);
	char line[256];

	if (top->first_row + visible > count)
		top->first_row = count > visible ? count - visible : 0;
	/* Home and clear; a plain block is set off by a blank line. */
	if (top->ansi)
		fputs("\033[H\033[2J", stdout);
	else if (top->screens)
		putchar('\n');
	busctl_top_title(top);
	snprintf(line, sizeof(line), "%-*s " BUSCTL_TOP_COLUMNS, width, "NAME",
		 "KIND", "IN/s", "OUT/s", "DEPTH", "CAP", "LOSS", "REJECT",
		 "PROD", "CONS", "LEASED");
	busctl_top_line(top, line);
	for (size_t i = top->first_row;
	     i < count && i < top->first_row + visible; i++)
		busctl_top_print_row(top, &sorted[i], width);
	/* Rows past the screen are there: say so, and how to reach them
	 * when keys work (stdin a terminal). */
	if (top->ansi) {
		snprintf(line, sizeof(line), "rows %zu-%zu of %zu  sort %s%s",
			 count ? top->first_row + 1 : 0,
			 top->first_row + visible < count
				 ? top->first_row + visible
				 : count,
			 count, busctl_top_sort_name(top->sort),
			 top->keys.active ? " (s)  j/k PgDn/PgUp  q quit"
					  : "");
		/* No newline after the last line: it would scroll. */
		printf("%.*s", top->columns > 0 ? top->columns : 255, line);
	}
}

/* ---- JSON ---------------------------------------------------------- */

static void busctl_top_json_figure(const char *key, int known, uint64_t v)
{
	if (known)
		printf(", \"%s\": %" PRIu64, key, v);
	else
		printf(", \"%s\": null", key);
}

static void busctl_top_json_rate(const char *key, int known, double rate)
{
	if (known)
		printf(", \"%s\": %.3f", key, rate);
	else
		printf(", \"%s\": null", key);
}

/* One snapshot, one line: exact counters, rates per second. */
static void busctl_top_print_json(const struct busctl_top *top,
				  const struct busctl_top_sorted *sorted)
{
	fputs("{\"bus\": ", stdout);
	busctl_json_string(stdout, bus_name(top->ctl->bus));
	printf(", \"interval_ms\": %u, \"seconds\": %.3f, \"rows\": [",
	       top->interval_ms,
	       (double)(top->now.at_ns - top->last.at_ns) / 1e9);
	for (size_t i = 0; i < top->now.count; i++) {
		const struct busctl_top_row *row = sorted[i].row;
		int queue = row->kind != BUS_SEGMENT_TOPIC;

		fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
		busctl_json_string(stdout, row->name);
		printf(", \"kind\": \"%s\"", busctl_kind_name(row->kind));
		busctl_top_json_rate("in_per_s", sorted[i].rates.known,
				     sorted[i].rates.in);
		busctl_top_json_rate("out_per_s", sorted[i].rates.known,
				     sorted[i].rates.out);
		busctl_top_json_figure("in", row->known, row->in);
		busctl_top_json_figure("out", row->known, row->out);
		busctl_top_json_figure("depth", row->known && queue,
				       row->depth);
		busctl_top_json_figure("leased", row->known && queue,
				       row->leased);
		busctl_top_json_figure("lag", row->known && !queue, row->lag);
		busctl_top_json_figure("capacity", row->known, row->capacity);
		busctl_top_json_figure("loss", row->known, row->loss);
		busctl_top_json_figure("rejected", row->known, row->rejected);
		busctl_top_json_figure("producers", row->known,
				       row->producers);
		busctl_top_json_figure("consumers", row->known,
				       row->consumers);
		putchar('}');
	}
	fputs("]}\n", stdout);
}

/* ---- the loop ------------------------------------------------------ */

static int busctl_top_draw(struct busctl_top *top)
{
	struct busctl_top_sorted *sorted = busctl_top_sort(top);

	if (!sorted)
		return busctl_error("top: %s", strerror(ENOMEM));
	if (top->ansi)
		busctl_terminal_size(&top->columns, &top->lines);
	if (top->json)
		busctl_top_print_json(top, sorted);
	else
		busctl_top_print(top, sorted);
	free(sorted);
	return busctl_flush_stdout();
}

/* Acts on a key; 1 when top should end. */
static int busctl_top_key(struct busctl_top *top, enum busctl_top_key key)
{
	size_t page = busctl_top_visible(top);

	switch (key) {
	case BUSCTL_TOP_KEY_QUIT:
		return 1;
	case BUSCTL_TOP_KEY_SORT:
		top->sort = (top->sort + 1) % BUSCTL_TOP_SORTS;
		top->first_row = 0;
		break;
	case BUSCTL_TOP_KEY_DOWN:
		top->first_row++;
		break;
	case BUSCTL_TOP_KEY_UP:
		top->first_row -= top->first_row ? 1 : 0;
		break;
	case BUSCTL_TOP_KEY_PAGE_DOWN:
		top->first_row += page;
		break;
	case BUSCTL_TOP_KEY_PAGE_UP:
		top->first_row -= top->first_row > page ? page
							: top->first_row;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Waits ms for the next reading, redrawing the same figures at once after
 * each key that changes the view.  1 when top should end.
 */
static int busctl_top_wait(struct busctl_top *top, uint32_t ms)
{
	int64_t deadline = busctl_now_ns() + (int64_t)ms * 1000000;
	int64_t left;
	enum busctl_top_key key;

	while (!busctl_stop_requested()) {
		left = (deadline - busctl_now_ns()) / 1000000;
		if (left <= 0)
			return 0;
		key = busctl_top_keys_wait(&top->keys, (int)left);
		if (key == BUSCTL_TOP_KEY_NONE || key == BUSCTL_TOP_KEY_OTHER)
			continue;
		if (busctl_top_key(top, key))
			return 1;
		if (top->screens && busctl_top_draw(top) != BUSCTL_EXIT_OK)
			return 1;
	}
	return 1;
}

static int busctl_top_run(struct busctl_top *top)
{
	uint32_t first = top->interval_ms < BUSCTL_TOP_FIRST_MS
				 ? top->interval_ms
				 : BUSCTL_TOP_FIRST_MS;
	struct busctl_top_reading swap;
	int status = busctl_top_read(top, &top->last);

	if (status != BUSCTL_EXIT_OK || busctl_top_wait(top, first))
		return status;
	for (;;) {
		status = busctl_top_read(top, &top->now);
		if (status == BUSCTL_EXIT_OK)
			status = busctl_top_draw(top);
		if (status != BUSCTL_EXIT_OK)
			return status;
		top->screens++;
		if (top->count && top->screens >= top->count)
			return BUSCTL_EXIT_OK;
		if (busctl_top_wait(top, top->interval_ms))
			return BUSCTL_EXIT_OK;
		swap = top->last;
		top->last = top->now;
		top->now = swap;
	}
}

/* Clear and redraw only where a terminal will understand it. */
static int busctl_top_wants_ansi(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && term && term[0] &&
	       strcmp(term, "dumb") != 0;
}

static int busctl_top_parse(struct busctl_top *top, int argc, char **argv)
{
	static const struct option options[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "count", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":i:n:", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (busctl_parse_u32(optarg, &top->interval_ms) ||
			    top->interval_ms < BUSCTL_TOP_INTERVAL_MIN_MS)
				return busctl_usage_error(
					"top: bad --interval '%s': "
					"milliseconds, at least %u",
					optarg, BUSCTL_TOP_INTERVAL_MIN_MS);
			break;
		case '1':
			top->count = 1;
			break;
		case 'n':
			if (busctl_parse_u64(optarg, &top->count) ||
			    !top->count)
				return busctl_usage_error(
					"top: bad -n '%s': a count of "
					"screens, 1 or more",
					optarg);
			break;
		case 's':
			if (busctl_top_sort_parse(optarg, &top->sort))
				return busctl_usage_error(
					"top: bad --sort '%s': depth, rate "
					"or name",
					optarg);
			break;
		default:
			return busctl_bad_option("top", c, argv);
		}
	}
	if (optind < argc)
		return busctl_usage_error("top: unexpected '%s'",
					  argv[optind]);
	return -1;
}

int busctl_top(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_top top = { .ctl = ctl,
				  .interval_ms = BUSCTL_TOP_INTERVAL_MS };
	int status = busctl_top_parse(&top, argc, argv);

	if (status >= 0)
		return status;
	top.json = ctl->json;
	/* A script asking for JSON wants a snapshot, not an endless feed. */
	if (top.json && !top.count)
		top.count = 1;
	top.ansi = !top.json && busctl_top_wants_ansi();
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	if (top.ansi)
		busctl_top_keys_start(&top.keys);
	status = busctl_top_run(&top);
	busctl_top_keys_stop(&top.keys);
	if (top.ansi)
		putchar('\n');
	free(top.last.rows);
	free(top.now.rows);
	return status;
}
