/* SPDX-License-Identifier: MIT */
/*
 * busctl pub NAME [MESSAGE...] [--timeout SEC] [--key KEY]
 *                   [--header NAME=VALUE]... [--ttl MS] [--reply QUEUE]
 *                   [--correlation ID] [--confirm]
 *
 * Sends each MESSAGE argument, or else each line of stdin without its
 * newline, as one message to the queue or topic NAME (busd's list says
 * which), or through the routes from NAME when it is neither and routes
 * start there (an address).  Nothing is printed unless something fails;
 * a target of an address that did not take a message gets a line.  A
 * message that fails on its own (too large, no room in time, a bad
 * header) gets a line naming its argument or line number, and pub goes
 * on with the rest: one bad line must not silently drop the thousand
 * after it.  The exit status is 1 if any failed.  --confirm (a durable
 * queue): pub returns only once busd has every message on disk as the
 * queue's sync setting promises (bus_flush()), and fails if it cannot.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "busctl.h"

struct busctl_publisher {
	struct busctl *ctl;
	const char *queue_name;
	bus_queue_t *queue;
	bus_topic_t *topic; /* instead of queue when NAME is a topic */
	/* Instead of both when NAME is neither but routes start there. */
	bus_address_t *address;
	int64_t timeout_ns; /* for room, per message; BUS_FOREVER: none */
	bool confirm;	    /* --confirm: bus_flush() at the end */
	uint64_t sent;
	uint64_t failed;	 /* messages reported and skipped */
	struct busctl_meta meta; /* --key, --header, --ttl, --reply */
};

/*
 * Sends one message, waiting for room in slices so that SIGINT or SIGTERM
 * stops the wait.  A timeout of 0 tries once (-ENOBUFS when full).
 */
static int busctl_pub_send_once(struct busctl_publisher *pub, const void *data,
				size_t length)
{
	int64_t deadline = busctl_deadline(pub->timeout_ns);
	int64_t wait = pub->timeout_ns == 0 ? BUS_NOWAIT
					    : busctl_wait_ns(deadline);
	int err;

	for (;;) {
		if (pub->address)
			err = busctl_route_send(pub->ctl, pub->address,
						pub->queue_name, &pub->meta,
						data, length, wait);
		else if (!busctl_meta_empty(&pub->meta))
			err = busctl_meta_send(&pub->meta, pub->queue,
					       pub->topic, data, length, wait);
		else if (pub->topic)
			err = bus_publish(pub->topic, data, length, wait);
		else
			err = bus_send(pub->queue, data, length, wait);
		if (err != -ETIMEDOUT && err != -EINTR)
			return err < 0 ? err : 0;
		if (busctl_stop_requested())
			return -EINTR;
		wait = busctl_wait_ns(deadline);
		if (wait == BUS_NOWAIT)
			return -ETIMEDOUT;
	}
}

/* max_message and header_room of the queue or topic (0 for an address). */
static uint32_t busctl_pub_max_message(const struct busctl_publisher *pub)
{
	if (pub->topic)
		return bus_topic_settings(pub->topic)->max_message;
	return pub->queue ? bus_queue_settings(pub->queue)->max_message : 0;
}

static uint32_t busctl_pub_header_room(const struct busctl_publisher *pub)
{
	if (pub->topic)
		return busctl_topic_extension_room(
			bus_topic_settings(pub->topic));
	return pub->queue ? busctl_queue_extension_room(
				    bus_queue_settings(pub->queue))
			  : 0;
}

/*
 * Failures that belong to one message: the next one may well go through,
 * so pub reports it and goes on.  Anything else (busd gone, the queue
 * deleted, a signal) ends the run.
 */
static int busctl_pub_message_error(int err)
{
	return err == -EMSGSIZE || err == -EINVAL || err == -E2BIG ||
	       err == -ENOBUFS || err == -ETIMEDOUT;
}

/* A failed send through an address may leave its loan open (one per
 * handle); closing the address discards it. */
static int busctl_pub_reopen_address(struct busctl_publisher *pub)
{
	bus_address_close(pub->address);
	pub->address = NULL;
	return bus_address_open(pub->ctl->bus, pub->queue_name, NULL,
				&pub->address);
}

/*
 * Sends one message; what names it is "argument N" or "line N".  Returns
 * 0, 1 for a failed message (reported; go on), or -1 to stop.
 */
static int busctl_pub_send(struct busctl_publisher *pub, const char *what,
			   uint64_t number, const void *data, size_t length)
{
	uint32_t max = busctl_pub_max_message(pub);
	int err = busctl_pub_send_once(pub, data, length);

	if (err == 0) {
		pub->sent++;
		return 0;
	}
	if (pub->address && busctl_pub_message_error(err) &&
	    busctl_pub_reopen_address(pub) < 0) {
		busctl_fail(pub->ctl, err, "pub %s: reopen", pub->queue_name);
		return -1;
	}
	/* A too-long commit through an address leaves no detail: the
	 * connection's detail is that of an older call, so it is left out
	 * (a loan's own failure, such as "no route", has one). */
	if (pub->address && err == -EMSGSIZE)
		busctl_error("pub %s: %s %llu (%zu bytes): %s",
			     pub->queue_name, what, (unsigned long long)number,
			     length, bus_strerror(err));
	else if (err == -EMSGSIZE && !busctl_meta_empty(&pub->meta) && max &&
		 length <= max)
		busctl_fail(pub->ctl, err,
			    "pub %s: %s %llu: the key and "
			    "headers do not fit the header_room of %u bytes "
			    "(create it with a larger --header-room)",
			    pub->queue_name, what, (unsigned long long)number,
			    busctl_pub_header_room(pub));
	else if (err == -EMSGSIZE && max)
		busctl_fail(pub->ctl, err,
			    "pub %s: %s %llu has %zu bytes, "
			    "max_message is %u",
			    pub->queue_name, what, (unsigned long long)number,
			    length, max);
	else
		busctl_fail(pub->ctl, err, "pub %s: %s %llu", pub->queue_name,
			    what, (unsigned long long)number);
	if (!busctl_pub_message_error(err) || busctl_stop_requested())
		return -1;
	pub->failed++;
	return 1;
}

/* The last line: how many failed, when some did. */
static int busctl_pub_summary(const struct busctl_publisher *pub)
{
	if (!pub->failed)
		return BUSCTL_EXIT_OK;
	/* One message, one line: its own says it all. */
	if (pub->failed + pub->sent == 1)
		return BUSCTL_EXIT_ERROR;
	return busctl_error("pub %s: %llu of %llu messages failed (each is "
			    "reported above); the others were sent",
			    pub->queue_name, (unsigned long long)pub->failed,
			    (unsigned long long)(pub->failed + pub->sent));
}

static int busctl_pub_arguments(struct busctl_publisher *pub, int count,
				char **messages)
{
	int i;

	for (i = 0; i < count; i++)
		if (busctl_pub_send(pub, "argument", (uint64_t)i + 1,
				    messages[i], strlen(messages[i])) < 0)
			return BUSCTL_EXIT_ERROR;
	return busctl_pub_summary(pub);
}

/* One message per line; a last line without a newline counts too. */
static int busctl_pub_stdin(struct busctl_publisher *pub)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t length;
	uint64_t number = 0;
	int status = BUSCTL_EXIT_OK;

	while ((length = getline(&line, &size, stdin)) >= 0) {
		if (length > 0 && line[length - 1] == '\n')
			length--;
		if (busctl_pub_send(pub, "line", ++number, line,
				    (size_t)length) < 0) {
			status = BUSCTL_EXIT_ERROR;
			break;
		}
	}
	if (status == BUSCTL_EXIT_OK && ferror(stdin)) {
		if (busctl_stop_requested())
			status = busctl_error("pub %s: interrupted after %llu "
					      "messages",
					      pub->queue_name,
					      (unsigned long long)pub->sent);
		else
			status = busctl_error("pub %s: read stdin: %s",
					      pub->queue_name,
					      strerror(errno));
	}
	free(line);
	return status == BUSCTL_EXIT_OK ? busctl_pub_summary(pub) : status;
}

/*
 * A key is a subject, never a pattern: say so in a sentence instead of
 * the library's bare "invalid argument".
 */
static int busctl_pub_check_key(const char *name, const char *key)
{
	if (strchr(key, '*') || strchr(key, '>')) {
		busctl_error("pub %s: --key '%s': a routing key cannot "
			     "contain wildcards ('*' or '>'); it names one "
			     "subject, such as orders.eu.red: tokens of "
			     "letters, digits, '_' or '-' separated by '.' "
			     "(patterns belong in 'busctl route add --key')",
			     name, key);
		return BUSCTL_EXIT_USAGE;
	}
	if (strlen(key) > BUS_MESSAGE_KEY_MAX || bus_pattern_check(key)) {
		busctl_error("pub %s: bad --key '%s': a routing key is up to "
			     "%u bytes of dot-separated, non-empty tokens, "
			     "such as orders.eu.red",
			     name, key, BUS_MESSAGE_KEY_MAX);
		return BUSCTL_EXIT_USAGE;
	}
	return -1;
}

static int busctl_pub_parse(struct busctl_publisher *pub, int argc,
			    char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "header", required_argument, NULL, 'H' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "reply", required_argument, NULL, 'r' },
		{ "correlation", required_argument, NULL, 'c' },
		{ "confirm", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t ttl_ms;
	int c;

	while ((c = getopt_long(argc, argv, ":t:k:H:", options, NULL)) != -1) {
		switch (c) {
		case 'k':
			pub->meta.key = optarg;
			break;
		case 'C':
			pub->confirm = true;
			break;
		case 'T':
			if (busctl_parse_u32(optarg, &ttl_ms) || !ttl_ms)
				return busctl_usage_error(
					"pub: bad --ttl '%s': milliseconds, "
					"1 or more",
					optarg);
			pub->meta.ttl_ns = (int64_t)ttl_ms * 1000000;
			break;
		case 'c':
			if (busctl_parse_u64(optarg, &pub->meta.correlation) ||
			    !pub->meta.correlation)
				return busctl_usage_error(
					"pub: bad --correlation '%s': the id "
					"of the request answered, 1 or more "
					"(consume --json shows it)",
					optarg);
			break;
		case 'r':
			if (bus_name_check(optarg))
				return busctl_usage_error(
					"pub: bad --reply '%s': a queue or "
					"topic name, 1 to %d letters, digits, "
					"'_', '-' or '.'",
					optarg, BUS_NAME_MAX);
			pub->meta.reply_to = optarg;
			break;
		case 'H':
			if (busctl_meta_add_header(&pub->meta, optarg))
				return busctl_usage_error(
					"pub: bad --header '%s' (NAME=VALUE, "
					"at most %u)",
					optarg, BUS_MESSAGE_HEADERS_MAX);
			break;
		case 't':
			if (busctl_parse_seconds(optarg, &pub->timeout_ns))
				return busctl_usage_error("pub: bad --timeout "
							  "'%s'",
							  optarg);
			break;
		default:
			return busctl_bad_option("pub", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("pub: missing NAME");
	pub->queue_name = argv[optind++];
	if (pub->meta.key)
		return busctl_pub_check_key(pub->queue_name, pub->meta.key);
	return -1;
}

/* --confirm: every message sent is on disk (bus_flush), within --timeout
 * when one was given. */
static int busctl_pub_confirm(struct busctl_publisher *pub)
{
	int timeout_ms = pub->timeout_ns == BUS_FOREVER
				 ? -1
				 : (int)(pub->timeout_ns / 1000000);
	int err;

	if (!pub->queue)
		return busctl_error("pub %s: --confirm is for durable queues, "
				    "and %s is a %s",
				    pub->queue_name, pub->queue_name,
				    pub->topic ? "topic" : "routed address");
	err = bus_flush(pub->queue, timeout_ms);
	if (err == -EOPNOTSUPP)
		return busctl_error(
			"pub %s: --confirm: the queue is not "
			"durable (durable = yes keeps it on disk); "
			"the messages were sent",
			pub->queue_name);
	if (err)
		return busctl_error("pub %s: --confirm: %s; the messages were "
				    "sent but are not known to be on disk",
				    pub->queue_name, bus_strerror(err));
	return BUSCTL_EXIT_OK;
}

/* Opens NAME as a topic publisher if busd lists it as a topic, else as a
 * queue producer (whose error names a missing queue or topic). */
static int busctl_pub_open(struct busctl_publisher *pub)
{
	struct busctl *ctl = pub->ctl;
	uint32_t kind = BUS_SEGMENT_QUEUE;

	if (busctl_kind_of(ctl, pub->queue_name, &kind) == -ENOENT &&
	    busctl_route_is_address(ctl, pub->queue_name))
		return bus_address_open(ctl->bus, pub->queue_name, NULL,
					&pub->address);
	if (busctl_kind_of(ctl, pub->queue_name, &kind) == 0 &&
	    kind == BUS_SEGMENT_TOPIC)
		return bus_topic_open(ctl->bus, pub->queue_name, BUS_PRODUCER,
				      NULL, &pub->topic);
	return bus_queue_open(ctl->bus, pub->queue_name, BUS_PRODUCER, NULL,
			      &pub->queue);
}

int busctl_pub(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_publisher pub = { .ctl = ctl,
					.timeout_ns = BUS_FOREVER };
	int status = busctl_pub_parse(&pub, argc, argv);
	int err;

	if (status >= 0)
		return status;
	if (busctl_check_name("pub", pub.queue_name))
		return BUSCTL_EXIT_ERROR;
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = busctl_pub_open(&pub);
	if (err < 0)
		return busctl_fail(ctl, err, "pub %s", pub.queue_name);

	if (optind < argc)
		status = busctl_pub_arguments(&pub, argc - optind,
					      argv + optind);
	else
		status = busctl_pub_stdin(&pub);
	if (pub.confirm && status == BUSCTL_EXIT_OK)
		status = busctl_pub_confirm(&pub);
	if (pub.address)
		bus_address_close(pub.address);
	else if (pub.topic)
		bus_topic_close(pub.topic);
	else
		bus_queue_close(pub.queue);
	return status;
}
