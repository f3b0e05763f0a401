/* SPDX-License-Identifier: MIT */
/*
 * busctl consume QUEUE [-n COUNT] [--timeout SEC] [--no-ack [--hold]]
 *
 * Receives one message, prints its payload and a newline, flushes, and only
 * then acks it: a message is acked once it has reached stdout, and busctl
 * never holds more than the one it is printing.  If stdout fails the
 * message is nacked, so it is delivered again.
 *
 * With --no-ack the messages are printed and held; closing the handle on
 * exit makes them deliverable again.  A handle holds at most the queue's
 * max_unacked messages, so that is the most --no-ack can show.
 *
 * --hold (which implies --no-ack) receives COUNT messages (default 1),
 * prints them, and then keeps them, unacked, until SIGINT or SIGTERM (the
 * handle is closed and they go back to the queue) or SIGKILL (busd sees the
 * death and makes them deliverable again): redelivery, tried by hand.
 *
 * --timeout is one deadline for the whole command.  Without -n, running
 * into it is the normal end; with -n, it is an error when fewer than COUNT
 * messages came.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "busctl.h"

struct busctl_consumer {
	struct busctl *ctl;
	const char *queue_name;
	bus_queue_t *queue;
	uint64_t count; /* -n COUNT, or UINT64_MAX */
	int has_count;
	int64_t timeout_ns; /* BUS_FOREVER: none */
	int no_ack;
	int hold;
	uint64_t printed;
};

/*
 * Waits for one message until the deadline, in slices so that SIGINT and
 * SIGTERM are noticed.  -ETIMEDOUT at the deadline, -EINTR when asked to
 * stop.  A corrupt message is skipped by the library; say so and go on.
 */
static int busctl_consume_receive(struct busctl_consumer *consumer,
				  struct bus_message *message,
				  int64_t deadline)
{
	int64_t wait;
	int err;

	for (;;) {
		if (busctl_stop_requested())
			return -EINTR;
		wait = busctl_wait_ns(deadline);
		err = bus_receive(consumer->queue, message, wait);
		if (err >= 0)
			return 0;
		if (err == -EBADMSG) {
			busctl_fail(consumer->ctl, err,
				    "consume %s: skipped a message",
				    consumer->queue_name);
			continue;
		}
		if (err != -EAGAIN && err != -ETIMEDOUT && err != -EINTR)
			return err;
		if (wait == BUS_NOWAIT && deadline >= 0)
			return -ETIMEDOUT;
	}
}

/* One line of text, or with --json one object; flushed: 0 or -errno. */
static int busctl_consume_print(const struct busctl_consumer *consumer,
				const struct bus_message *message)
{
	if (!consumer->ctl->json)
		return busctl_print_message(message, NULL);
	busctl_json_message(stdout, "queue", consumer->queue_name,
			    message->header, message, message->payload,
			    message->length);
	if (fflush(stdout) == EOF || ferror(stdout))
		return -errno;
	return 0;
}

/* Receive one, print it, ack it.  Returns 0 or an exit status. */
static int busctl_consume_one(struct busctl_consumer *consumer,
			      int64_t deadline, int *stop_reason)
{
	struct bus_message message;
	int err;

	err = busctl_consume_receive(consumer, &message, deadline);
	if (err == -ETIMEDOUT || err == -EINTR) {
		*stop_reason = err;
		return BUSCTL_EXIT_OK;
	}
	if (err < 0)
		return busctl_fail(consumer->ctl, err, "consume %s",
				   consumer->queue_name);
	err = busctl_consume_print(consumer, &message);
	if (err < 0) {
		bus_nack(consumer->queue, &message);
		return busctl_error("consume %s: write to stdout: %s",
				    consumer->queue_name, strerror(-err));
	}
	consumer->printed++;
	if (consumer->no_ack)
		return BUSCTL_EXIT_OK;
	err = bus_ack(consumer->queue, &message);
	if (err < 0)
		return busctl_fail(consumer->ctl, err, "consume %s: ack",
				   consumer->queue_name);
	return BUSCTL_EXIT_OK;
}

/* Why the loop ended short of COUNT, as the exit status. */
static int busctl_consume_stopped(const struct busctl_consumer *consumer,
				  int reason)
{
	if (!consumer->has_count)
		return BUSCTL_EXIT_OK;
	return busctl_error("consume: %s after %llu of %llu messages",
			    reason == -ETIMEDOUT ? "timed out" : "interrupted",
			    (unsigned long long)consumer->printed,
			    (unsigned long long)consumer->count);
}

static int busctl_consume_loop(struct busctl_consumer *consumer)
{
	int64_t deadline = busctl_deadline(consumer->timeout_ns);
	uint64_t limit = consumer->count;
	int stop_reason = 0;
	int status;

	if (consumer->no_ack) {
		const struct bus_queue_settings *settings =
			bus_queue_settings(consumer->queue);
		uint32_t most = settings->max_unacked;

		if (consumer->has_count && consumer->count > most)
			return busctl_error(
				"consume %s: --no-ack holds at most %u "
				"messages (the queue's max_unacked), not %llu",
				consumer->queue_name, most,
				(unsigned long long)consumer->count);
		if (limit > most)
			limit = most;
		if (consumer->hold && !consumer->has_count)
			limit = 1;
	}
	while (consumer->printed < limit) {
		status = busctl_consume_one(consumer, deadline, &stop_reason);
		if (status != BUSCTL_EXIT_OK)
			return status;
		if (stop_reason)
			return busctl_consume_stopped(consumer, stop_reason);
	}
	return BUSCTL_EXIT_OK;
}

/*
 * --hold: keeps what was received until SIGINT or SIGTERM.  Returns at once
 * if one came already (the receive loop stopped for it).
 */
static void busctl_consume_hold(void)
{
	sigset_t stop, old;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	/* Blocked while the flag is checked, and unblocked only inside
	 * sigsuspend(), so a signal that comes in between is not missed. */
	sigprocmask(SIG_BLOCK, &stop, &old);
	while (!busctl_stop_requested())
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static int busctl_consume_parse(struct busctl_consumer *consumer, int argc,
				char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-ack", no_argument, NULL, 'a' },
		{ "hold", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":n:t:", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (busctl_parse_u64(optarg, &consumer->count))
				return busctl_usage_error("consume: bad -n "
							  "'%s'",
							  optarg);
			consumer->has_count = 1;
			break;
		case 't':
			if (busctl_parse_seconds(optarg,
						 &consumer->timeout_ns))
				return busctl_usage_error("consume: bad "
							  "--timeout '%s'",
							  optarg);
			break;
		case 'a':
			consumer->no_ack = 1;
			break;
		case 'H':
			consumer->hold = 1;
			consumer->no_ack = 1;
			break;
		default:
			return busctl_bad_option("consume", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("consume: missing QUEUE");
	consumer->queue_name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("consume: unexpected '%s'",
					  argv[optind]);
	return -1;
}

int busctl_consume(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_consumer consumer = {
		.ctl = ctl,
		.count = UINT64_MAX,
		.timeout_ns = BUS_FOREVER,
	};
	int status = busctl_consume_parse(&consumer, argc, argv);
	int err;

	if (status >= 0)
		return status;
	if (busctl_check_name("consume", consumer.queue_name))
		return BUSCTL_EXIT_ERROR;
	/* A closed pipe must come back as EPIPE rather than kill us, so the
	 * message in hand is nacked at once for another consumer. */
	signal(SIGPIPE, SIG_IGN);
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	/* A tool is no hot path: count every receive's latency. */
	err = bus_queue_open(ctl->bus, consumer.queue_name, BUS_CONSUMER,
			     &(struct bus_queue_options){ .latency_every = 1 },
			     &consumer.queue);
	if (err < 0)
		return busctl_fail(ctl, err, "consume %s",
				   consumer.queue_name);
	status = busctl_consume_loop(&consumer);
	if (status == BUSCTL_EXIT_OK && consumer.hold)
		busctl_consume_hold();
	bus_queue_close(consumer.queue);
	return status;
}
