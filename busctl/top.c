/* SPDX-License-Identifier: MIT */
/*
 * busctl top [--interval MS] [--once]
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
 * with ANSI codes; otherwise each is a plain block of text after a blank
 * line, fit for a pipe, a log or a dumb terminal.  --once prints one
 * screen and exits; SIGINT or SIGTERM ends the loop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "busctl.h"

#define BUSCTL_TOP_INTERVAL_MS 1000u
#define BUSCTL_TOP_INTERVAL_MIN_MS 50u
#define BUSCTL_TOP_FIRST_MS 250u

/* One queue or topic in one reading. */
struct busctl_top_row {
	char name[BUS_NAME_MAX + 1];
	uint32_t kind;
	int known; /* figures read (not: no r on it, or it went away) */
	uint64_t in;  /* enqueued or published */
	uint64_t out; /* dequeued or received (every subscriber) */
	uint64_t depth, leased, lag, capacity;
	uint64_t loss;	   /* dropped (queue) or lost (topic) */
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
	int once;
	int ansi;
	unsigned long screens; /* drawn so far */
	struct busctl_top_reading last, now;
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

/* ---- drawing ------------------------------------------------------- */

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

/* A rate per second, or "-" without an earlier reading (or after a
 * counter went back: the name was deleted and created again). */
static void busctl_top_rate(char *out, size_t size, uint64_t now,
			    uint64_t before, int known, double seconds)
{
	if (!known || now < before || seconds <= 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.1f", (double)(now - before) / seconds);
}

static void busctl_top_figure(char *out, size_t size, int known,
			      uint64_t value)
{
	if (known)
		snprintf(out, size, "%" PRIu64, value);
	else
		snprintf(out, size, "-");
}

static void busctl_top_print_row(const struct busctl_top *top,
				 const struct busctl_top_row *row, int width)
{
	const struct busctl_top_row *before = busctl_top_find(&top->last, row);
	double seconds = (double)(top->now.at_ns - top->last.at_ns) / 1e9;
	int rated = row->known && before && before->known;
	int queue = row->kind != BUS_SEGMENT_TOPIC;
	char in[32], out[32], depth[24], leased[24], lag[24], capacity[24];
	char producers[16], consumers[16], loss[24], rejected[24];

	busctl_top_rate(in, sizeof(in), row->in, rated ? before->in : 0,
			rated, seconds);
	busctl_top_rate(out, sizeof(out), row->out, rated ? before->out : 0,
			rated, seconds);
	busctl_top_figure(depth, sizeof(depth), row->known && queue,
			  row->depth);
	busctl_top_figure(leased, sizeof(leased), row->known && queue,
			  row->leased);
	busctl_top_figure(lag, sizeof(lag), row->known && !queue, row->lag);
	busctl_top_figure(capacity, sizeof(capacity), row->known,
			  row->capacity);
	busctl_top_figure(producers, sizeof(producers), row->known,
			  row->producers);
	busctl_top_figure(consumers, sizeof(consumers), row->known,
			  row->consumers);
	busctl_top_figure(loss, sizeof(loss), row->known, row->loss);
	busctl_top_figure(rejected, sizeof(rejected), row->known,
			  row->rejected);
	printf("%-*s %-5s %10s %10s %8s %7s %8s %8s %5s %5s %8s %8s\n", width,
	       row->name, busctl_kind_name(row->kind), in, out, depth, leased,
	       lag, capacity, producers, consumers, loss, rejected);
}

static void busctl_top_print(struct busctl_top *top)
{
	const struct busctl_top_reading *r = &top->now;
	size_t queues = 0, topics = 0;
	char when[32];
	time_t wall = time(NULL);
	struct tm local;
	int width = 4;

	for (size_t i = 0; i < r->count; i++) {
		if ((int)strlen(r->rows[i].name) > width)
			width = (int)strlen(r->rows[i].name);
		if (r->rows[i].kind == BUS_SEGMENT_TOPIC)
			topics++;
		else
			queues++;
	}
	if (!localtime_r(&wall, &local) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &local))
		snprintf(when, sizeof(when), "?");
	/* Home and clear; a plain block is set off by a blank line. */
	if (top->ansi)
		fputs("\033[H\033[2J", stdout);
	else if (top->screens)
		putchar('\n');
	top->screens++;
	printf("bus %s  %s  every %.1f s  %zu queue%s, %zu topic%s\n",
	       bus_name(top->ctl->bus), when, top->interval_ms / 1000.0,
	       queues, queues == 1 ? "" : "s", topics, topics == 1 ? "" : "s");
	printf("%-*s %-5s %10s %10s %8s %7s %8s %8s %5s %5s %8s %8s\n", width,
	       "NAME", "KIND", "IN/s", "OUT/s", "DEPTH", "LEASED", "LAG",
	       "CAPACITY", "PROD", "CONS", "LOSS", "REJECT");
	for (size_t i = 0; i < r->count; i++)
		busctl_top_print_row(top, &r->rows[i], width);
}

/* ---- the loop ------------------------------------------------------ */

/* Sleeps ms milliseconds, or less when SIGINT or SIGTERM comes. */
static void busctl_top_sleep(uint32_t ms)
{
	struct timespec left = { .tv_sec = ms / 1000,
				 .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (!busctl_stop_requested() && nanosleep(&left, &left) &&
	       errno == EINTR)
		;
}

/* Reads into now, draws, and keeps now as the next screen's last. */
static int busctl_top_screen(struct busctl_top *top)
{
	struct busctl_top_reading swap;
	int status = busctl_top_read(top, &top->now);

	if (status != BUSCTL_EXIT_OK)
		return status;
	busctl_top_print(top);
	status = busctl_flush_stdout();
	swap = top->last;
	top->last = top->now;
	top->now = swap;
	return status;
}

static int busctl_top_run(struct busctl_top *top)
{
	uint32_t first = top->interval_ms < BUSCTL_TOP_FIRST_MS ?
				 top->interval_ms : BUSCTL_TOP_FIRST_MS;
	int status = busctl_top_read(top, &top->last);

	if (status != BUSCTL_EXIT_OK)
		return status;
	busctl_top_sleep(first);
	while (!busctl_stop_requested()) {
		status = busctl_top_screen(top);
		if (status != BUSCTL_EXIT_OK || top->once)
			return status;
		busctl_top_sleep(top->interval_ms);
	}
	return BUSCTL_EXIT_OK;
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
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":i:", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (busctl_parse_u32(optarg, &top->interval_ms) ||
			    top->interval_ms < BUSCTL_TOP_INTERVAL_MIN_MS)
				return busctl_usage_error(
					"top: bad --interval '%s': "
					"milliseconds, at least %u", optarg,
					BUSCTL_TOP_INTERVAL_MIN_MS);
			break;
		case '1':
			top->once = 1;
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
	top.ansi = busctl_top_wants_ansi();
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	status = busctl_top_run(&top);
	free(top.last.rows);
	free(top.now.rows);
	return status;
}
