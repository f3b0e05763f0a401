/* SPDX-License-Identifier: MIT */
/*
 * busctl sub TOPIC|PATTERN [-n COUNT] [--history K] [--timeout SEC]
 *                          [--with-topic] [--from SEQ|TIME]
 *
 * Subscribes to the topic (or, for a name with * or >, to every matching
 * topic, those created later included: bus_subscribe_pattern), then prints each message's payload and a
 * newline, flushed, and nothing else on stdout.  Under the block policy
 * the message is read in place and released by the next receive, once it
 * has reached stdout.  Messages lost to the overwrite policy are reported
 * on stderr.  --history K also prints up to K messages published before.
 * --with-topic puts "TOPIC\t" before each line (a pattern's messages
 * come from many topics); --json prints one object per message with its
 * topic, header fields, key, headers and payload.  --from starts a
 * recorded topic's subscription at a sequence or a time (journal_cli.h's
 * forms: digits, 2026-12-07T10:00:00Z, @SECONDS, -10m): its journal
 * first, then live (bus_subscribe_options.from).
 *
 * --timeout is one deadline for the whole command, as for consume: without
 * -n, running into it is the normal end; with -n, it is an error when
 * fewer than COUNT messages came.
 *
 * Also here: finding out whether a name is a queue or a topic.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "busctl.h"
#include "journal_cli.h"

int busctl_kind_of(struct busctl *ctl, const char *name, uint32_t *kind)
{
	char listed[BUS_NAME_MAX + 1];
	int err;

	for (uint32_t index = 0;; index++) {
		err = bus_list(ctl->bus, index, listed, kind);
		if (err < 0)
			return err;
		if (!strcmp(listed, name))
			return 0;
	}
}

struct busctl_subscriber {
	struct busctl *ctl;
	const char *topic_name;
	bus_subscription_t *subscription;
	bus_wildcard_t *wildcard; /* instead, for a PATTERN */
	uint64_t count;		  /* -n COUNT, or UINT64_MAX */
	int has_count;
	uint32_t history;
	uint32_t start; /* --from: enum bus_subscribe_from */
	uint64_t start_value;
	int64_t timeout_ns; /* BUS_FOREVER: none */
	uint64_t printed;
	uint64_t lost;
	int with_topic;	  /* --with-topic */
	const char *from; /* the topic of a wildcard's last message */
};

/*
 * Waits for one message until the deadline, in slices so that SIGINT and
 * SIGTERM are noticed: 0, -ETIMEDOUT at the deadline, -EINTR when asked to
 * stop, or another error.
 */
static int busctl_sub_receive(struct busctl_subscriber *sub,
			      struct bus_message *message, int64_t deadline)
{
	for (;;) {
		int64_t wait;
		uint64_t lost = 0;
		int err;

		if (busctl_stop_requested())
			return -EINTR;
		wait = busctl_wait_ns(deadline);
		if (sub->wildcard)
			err = bus_wildcard_receive(sub->wildcard, message,
						   &sub->from, &lost, wait);
		else
			err = bus_subscription_receive(sub->subscription,
						       message, &lost, wait);
		if (err == 0 && lost) {
			sub->lost += lost;
			busctl_error("sub %s: lost %llu messages: %s",
				     sub->topic_name, (unsigned long long)lost,
				     sub->start
					     ? "retention deleted them, or "
					       "they were in a corrupt "
					       "journal file, or busd could "
					       "not record them (a corrupt "
					       "message), or this subscriber "
					       "fell a whole ring behind"
					     : "this subscriber fell a whole "
					       "ring behind");
		}
		if (err == 0)
			return 0;
		if (err == -EBADMSG) {
			busctl_fail(sub->ctl, err, "sub %s: skipped a message",
				    sub->topic_name);
			continue;
		}
		if (err != -EAGAIN && err != -ETIMEDOUT && err != -EINTR)
			return err;
		if (wait == BUS_NOWAIT && deadline >= 0)
			return -ETIMEDOUT;
	}
}

/* One line of text, or with --json one object; flushed: 0 or -errno. */
static int busctl_sub_print(const struct busctl_subscriber *sub,
			    const struct bus_message *message,
			    const char *from)
{
	if (!from)
		from = sub->topic_name;
	if (!sub->ctl->json)
		return busctl_print_message(message,
					    sub->with_topic ? from : NULL);
	busctl_json_message(stdout, "topic", from, message->header, message,
			    message->payload, message->length);
	if (fflush(stdout) == EOF || ferror(stdout))
		return -errno;
	return 0;
}

static int busctl_sub_loop(struct busctl_subscriber *sub)
{
	int64_t deadline = busctl_deadline(sub->timeout_ns);
	struct bus_message message;
	int err;

	while (sub->printed < sub->count) {
		err = busctl_sub_receive(sub, &message, deadline);
		if (err == -ETIMEDOUT || err == -EINTR) {
			if (!sub->has_count)
				return BUSCTL_EXIT_OK;
			return busctl_error(
				"sub: %s after %llu of %llu messages",
				err == -ETIMEDOUT ? "timed out"
						  : "interrupted",
				(unsigned long long)sub->printed,
				(unsigned long long)sub->count);
		}
		if (err < 0)
			return busctl_fail(sub->ctl, err, "sub %s",
					   sub->topic_name);
		err = busctl_sub_print(sub, &message, sub->from);
		if (err < 0)
			return busctl_error("sub %s: write to stdout: %s",
					    sub->topic_name, strerror(-err));
		sub->printed++;
	}
	return BUSCTL_EXIT_OK;
}

static int busctl_sub_parse(struct busctl_subscriber *sub, int argc,
			    char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "history", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "with-topic", no_argument, NULL, 'w' },
		{ "from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c, is_time;

	while ((c = getopt_long(argc, argv, ":n:t:", options, NULL)) != -1) {
		switch (c) {
		case 'w':
			sub->with_topic = 1;
			break;
		case 'f':
			if (busctl_journal_parse_position(
				    optarg, &sub->start_value, &is_time))
				return busctl_usage_error(
					"sub: bad --from '%s': a sequence or "
					"a time (2026-01-31T12:00:00Z, "
					"@SECONDS, -10m)",
					optarg);
			sub->start = is_time ? BUS_FROM_TIME
					     : BUS_FROM_SEQUENCE;
			break;
		case 'n':
			if (busctl_parse_u64(optarg, &sub->count))
				return busctl_usage_error("sub: bad -n '%s'",
							  optarg);
			sub->has_count = 1;
			break;
		case 'k':
			if (busctl_parse_u32(optarg, &sub->history))
				return busctl_usage_error("sub: bad "
							  "--history '%s'",
							  optarg);
			break;
		case 't':
			if (busctl_parse_seconds(optarg, &sub->timeout_ns))
				return busctl_usage_error("sub: bad "
							  "--timeout '%s'",
							  optarg);
			break;
		default:
			return busctl_bad_option("sub", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("sub: missing TOPIC");
	sub->topic_name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("sub: unexpected '%s'",
					  argv[optind]);
	return -1;
}

int busctl_sub(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_subscriber sub = {
		.ctl = ctl,
		.count = UINT64_MAX,
		.timeout_ns = BUS_FOREVER,
	};
	/* A tool is no hot path: count every receive's latency. */
	struct bus_subscribe_options options = { .latency_every = 1 };
	int status = busctl_sub_parse(&sub, argc, argv);
	int err;

	if (status >= 0)
		return status;
	if (bus_pattern_is_wildcard(sub.topic_name)) {
		if (bus_pattern_check(sub.topic_name))
			return busctl_usage_error(
				"sub: bad pattern '%s': tokens are separated "
				"by '.', never empty; '*' stands for one "
				"token, '>' for the rest and only at the end",
				sub.topic_name);
	} else if (busctl_check_name("sub", sub.topic_name)) {
		return BUSCTL_EXIT_ERROR;
	}
	/* A closed pipe comes back as EPIPE, and we leave cleanly. */
	signal(SIGPIPE, SIG_IGN);
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	options.history = sub.history;
	options.from = sub.start;
	options.from_value = sub.start_value;
	if (bus_pattern_is_wildcard(sub.topic_name))
		err = bus_subscribe_pattern(ctl->bus, sub.topic_name, &options,
					    &sub.wildcard);
	else
		err = bus_subscribe(ctl->bus, sub.topic_name, &options,
				    &sub.subscription);
	if (err < 0)
		return busctl_fail(ctl, err, "sub %s", sub.topic_name);
	status = busctl_sub_loop(&sub);
	if (sub.wildcard)
		bus_wildcard_close(sub.wildcard);
	else
		bus_unsubscribe(sub.subscription);
	return status;
}
