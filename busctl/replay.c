/* SPDX-License-Identifier: MIT */
/*
 * busctl replay PATH|NAME --into TOPIC [--from SEQ|TIME] [--to SEQ|TIME]
 *                                       [--speed 1x|Nx|max] [--timeout SEC]
 *
 * Publishes a journal's messages (busctl record's, a recorded topic's
 * directory, or by NAME a recorded topic's or durable queue's journal as
 * busd hands it over: journal_source.c) to TOPIC, oldest first, with their keys, reply-to, headers
 * and correlation ids (new sequences and publish times: the topic's).
 * --from and --to bound them by sequence or time (both inclusive).
 * --speed 1x keeps the recorded gaps between messages, Nx divides them
 * by N, max (the default) publishes as fast as the topic takes them.
 * --timeout bounds the wait for room in a block topic, per message.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal_cli.h"

struct busctl_replayer {
	struct busctl *ctl;
	const char *path;
	const char *topic_name;
	uint64_t from, to;
	int from_time, to_time, has_from, has_to;
	double speed; /* 0: max */
	int64_t timeout_ns;
	uint64_t published;
	uint64_t first_time_ns; /* of the first message replayed */
	int64_t start_ns;	/* CLOCK_MONOTONIC then */
	struct busctl_journal_source source;
	struct busctl_journal_view view;
	struct busctl_journal_strings strings;
};

/* Sleeps until message time t is due at the chosen speed; -EINTR when
 * asked to stop. */
static int busctl_replay_pace(struct busctl_replayer *r, uint64_t t)
{
	int64_t due;

	if (!r->speed)
		return 0;
	if (!r->published) {
		r->first_time_ns = t;
		r->start_ns = busctl_now_ns();
		return 0;
	}
	due = r->start_ns +
	      (t > r->first_time_ns
		       ? (int64_t)((double)(t - r->first_time_ns) / r->speed)
		       : 0);
	for (;;) {
		int64_t left = due - busctl_now_ns();
		struct timespec ts;

		if (busctl_stop_requested())
			return -EINTR;
		if (left <= 0)
			return 0;
		if (left > BUSCTL_WAIT_SLICE_NS)
			left = BUSCTL_WAIT_SLICE_NS;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		nanosleep(&ts, NULL);
	}
}

static int busctl_replay_one(struct busctl_replayer *r, bus_topic_t *topic,
			     const struct bus_journal_message *m)
{
	struct busctl_meta meta;
	int err;

	err = busctl_replay_pace(r, m->time_ns);
	if (err < 0)
		return err;
	err = busctl_journal_view(&r->view, m);
	if (err == 0)
		err = busctl_journal_meta(&r->view, &r->strings, &meta);
	if (err < 0)
		return busctl_error("replay %s: message %" PRIu64 ": its key "
				    "and headers are corrupt",
				    r->path, m->sequence);
	err = busctl_meta_send(&meta, NULL, topic, m->payload,
			       m->payload_length, r->timeout_ns);
	if (err < 0)
		return busctl_fail(r->ctl, err,
				   "replay %s: message %" PRIu64 " into %s",
				   r->path, m->sequence, r->topic_name);
	r->published++;
	return 0;
}

static int busctl_replay_loop(struct busctl_replayer *r,
			      struct bus_journal_reader *reader,
			      bus_topic_t *topic)
{
	struct bus_journal_entry e;
	char detail[600] = "", named[sizeof(detail) + 4096];
	int ret;

	while ((ret = bus_journal_next(reader, &e, detail, sizeof(detail))) ==
	       1) {
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		if (r->has_to && (r->to_time ? e.message.time_ns > r->to
					     : e.message.sequence > r->to))
			return 0;
		ret = busctl_replay_one(r, topic, &e.message);
		if (ret == -EINTR || busctl_stop_requested())
			return busctl_error("replay %s: interrupted after "
					    "%" PRIu64 " messages",
					    r->path, r->published);
		if (ret)
			return ret;
	}
	if (ret < 0)
		return busctl_error(
			"replay %s: %s: %s", r->path,
			ret == -EBADMSG ? "corrupt journal" : strerror(-ret),
			busctl_journal_detail(&r->source, detail, named,
					      sizeof(named)));
	return 0;
}

static int busctl_replay_speed(const char *text, double *speed)
{
	char *end;
	double v;

	if (!strcmp(text, "max")) {
		*speed = 0;
		return 0;
	}
	v = strtod(text, &end);
	if (end == text || (*end != 'x' && *end != 'X') || end[1] || !(v > 0))
		return -EINVAL;
	*speed = v;
	return 0;
}

static int busctl_replay_parse(struct busctl_replayer *r, int argc,
			       char **argv)
{
	static const struct option options[] = {
		{ "into", required_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 'T' },
		{ "speed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			r->topic_name = optarg;
			break;
		case 'f':
			if (busctl_journal_parse_position(optarg, &r->from,
							  &r->from_time))
				return busctl_usage_error(
					"replay: bad --from '%s': a sequence "
					"or a time (2026-01-31T12:00:00Z, "
					"@SECONDS)",
					optarg);
			r->has_from = 1;
			break;
		case 'T':
			if (busctl_journal_parse_position(optarg, &r->to,
							  &r->to_time))
				return busctl_usage_error(
					"replay: bad --to '%s': a sequence or "
					"a time (2026-01-31T12:00:00Z, "
					"@SECONDS)",
					optarg);
			r->has_to = 1;
			break;
		case 's':
			if (busctl_replay_speed(optarg, &r->speed))
				return busctl_usage_error(
					"replay: bad --speed '%s': 1x, Nx "
					"(0.5x, 10x) or max",
					optarg);
			break;
		case 't':
			if (busctl_parse_seconds(optarg, &r->timeout_ns))
				return busctl_usage_error("replay: bad "
							  "--timeout '%s'",
							  optarg);
			break;
		default:
			return busctl_bad_option("replay", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("replay: missing PATH or NAME");
	r->path = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("replay: unexpected '%s'",
					  argv[optind]);
	if (!r->topic_name)
		return busctl_usage_error("replay: --into TOPIC is needed");
	return -1;
}

int busctl_replay(struct busctl *ctl, int argc, char **argv)
{
	static struct busctl_replayer r;
	struct bus_journal_reader *reader;
	bus_topic_t *topic;
	int status, err;

	memset(&r, 0, sizeof(r));
	r.ctl = ctl;
	r.timeout_ns = BUS_FOREVER;
	status = busctl_replay_parse(&r, argc, argv);
	if (status >= 0)
		return status;
	if (busctl_check_name("replay", r.topic_name))
		return BUSCTL_EXIT_ERROR;
	busctl_catch_stop_signals();
	if (busctl_journal_open(ctl, "replay", r.path, &reader, &r.source) < 0)
		return BUSCTL_EXIT_ERROR;
	if (!ctl->bus && busctl_connect(ctl) < 0) {
		bus_journal_reader_close(reader);
		busctl_journal_source_close(&r.source);
		return BUSCTL_EXIT_ERROR;
	}
	err = bus_topic_open(ctl->bus, r.topic_name, BUS_PRODUCER, NULL,
			     &topic);
	if (err < 0) {
		bus_journal_reader_close(reader);
		busctl_journal_source_close(&r.source);
		return busctl_fail(ctl, err, "replay into %s", r.topic_name);
	}
	if (r.has_from)
		err = r.from_time ? bus_journal_seek_time(reader, r.from)
				  : bus_journal_seek_sequence(reader, r.from);
	status =
		err < 0 ? busctl_error("replay %s: %s", r.path, strerror(-err))
			: busctl_replay_loop(&r, reader, topic);
	bus_topic_close(topic);
	bus_journal_reader_close(reader);
	busctl_journal_source_close(&r.source);
	return status;
}
