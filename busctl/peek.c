/* SPDX-License-Identifier: MIT */
/*
 * busctl peek QUEUE [-n COUNT] [--headers]
 *
 * Prints up to COUNT (default 10) queued messages, oldest first, one
 * payload per line as consume prints them, without taking them: through
 * an observer handle, which maps the queue read-only, so neither the
 * queue nor its figures change.  --headers puts a line with the message's
 * header fields before each payload; --json prints one object per
 * message instead.  Needs r on the queue, as consume does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "busctl.h"

#define BUSCTL_PEEK_DEFAULT 10

struct busctl_peek {
	struct busctl *ctl;
	const char *queue_name;
	uint64_t count;
	int headers;
};

static int busctl_peek_parse(struct busctl_peek *peek, int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "headers", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":n:H", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (busctl_parse_u64(optarg, &peek->count))
				return busctl_usage_error("peek: bad --count "
							  "'%s'",
							  optarg);
			break;
		case 'H':
			peek->headers = 1;
			break;
		default:
			return busctl_bad_option("peek", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("peek: missing QUEUE");
	peek->queue_name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("peek: unexpected '%s'",
					  argv[optind]);
	return -1;
}

/* "# sequence=7 producer=3 deliveries=1 length=5 age_ms=12 redelivered" */
static void busctl_peek_print_header(const struct bus_message_header *h)
{
	int64_t now = busctl_now_ns();

	printf("# sequence=%" PRIu64 " producer=%u deliveries=%u length=%u",
	       h->sequence, h->producer_id, h->delivery_count,
	       h->payload_length);
	if (h->correlation_id)
		printf(" correlation=%" PRIu64, h->correlation_id);
	/* publish_time_ns is CLOCK_MONOTONIC, as busctl_now_ns(). */
	if (h->publish_time_ns && (int64_t)h->publish_time_ns <= now)
		printf(" age_ms=%" PRId64,
		       (now - (int64_t)h->publish_time_ns) / 1000000);
	if (h->flags & BUS_MESSAGE_REDELIVERED)
		fputs(" redelivered", stdout);
	putchar('\n');
}

/* As consume prints it: the [key=... NAME=VALUE] prefix, then the
 * payload; --headers puts the header fields on a line before. */
static int busctl_peek_print(const struct busctl_peek *peek,
			     const struct bus_message *m)
{
	if (peek->ctl->json) {
		busctl_json_message(stdout, "queue", peek->queue_name,
				    m->header, m, m->payload, m->length);
		return ferror(stdout) ? busctl_flush_stdout() : 0;
	}
	if (peek->headers)
		busctl_peek_print_header(m->header);
	if (busctl_print_message(m, NULL))
		return busctl_flush_stdout();
	return 0;
}

static int busctl_peek_loop(struct busctl_peek *peek, bus_queue_t *queue)
{
	size_t size = bus_queue_peek_size(queue);
	uint64_t cursor = 0, shown = 0;
	/* calloc: 8-byte aligned, as the copied header needs. */
	void *buf = calloc(1, size);
	int status = BUSCTL_EXIT_OK;
	struct bus_message m;
	int ret;

	if (!buf)
		return busctl_error("peek %s: %s", peek->queue_name,
				    strerror(ENOMEM));
	while (shown < peek->count && status == BUSCTL_EXIT_OK) {
		ret = bus_queue_peek_message(queue, &cursor, buf, size, &m);
		if (ret == -EAGAIN)
			break;
		if (ret == -EBADMSG) {
			busctl_error("peek %s: skipped a message: %s",
				     peek->queue_name, bus_strerror(ret));
			continue;
		}
		if (ret < 0) {
			status = busctl_error("peek %s: %s", peek->queue_name,
					      bus_strerror(ret));
			break;
		}
		status = busctl_peek_print(peek, &m);
		shown++;
	}
	free(buf);
	if (status == BUSCTL_EXIT_OK)
		status = busctl_flush_stdout();
	return status;
}

int busctl_peek(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_peek peek = { .ctl = ctl, .count = BUSCTL_PEEK_DEFAULT };
	bus_queue_t *queue;
	int status = busctl_peek_parse(&peek, argc, argv);
	int err;

	if (status >= 0)
		return status;
	if (busctl_check_name("peek", peek.queue_name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_queue_open(ctl->bus, peek.queue_name, BUS_OBSERVER, NULL,
			     &queue);
	if (err < 0)
		return busctl_fail(ctl, err, "peek %s", peek.queue_name);
	status = busctl_peek_loop(&peek, queue);
	bus_queue_close(queue);
	return status;
}
