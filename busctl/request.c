/* SPDX-License-Identifier: MIT */
/*
 * busctl request SERVICE MESSAGE [--reply-to QUEUE] [--timeout SEC]
 *
 * Request/reply from the command line: sends MESSAGE to SERVICE with a
 * correlation id and a reply-to name (bus_request()) and prints the reply
 * that carries the same id.  Without --reply-to, busctl creates a queue
 * of its own for the reply and deletes it afterwards, which needs admin
 * rights; a user without them names a queue it may consume from.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busctl.h"

#define BUSCTL_REQUEST_TIMEOUT_NS ((int64_t)5 * 1000 * 1000 * 1000)

struct busctl_requester {
	struct busctl *ctl;
	const char *service;
	const char *message;
	const char *reply_to;		  /* --reply-to */
	char own_queue[BUS_NAME_MAX + 1]; /* created here, else "" */
	int64_t timeout_ns;
};

static int busctl_request_parse(struct busctl_requester *r, int argc,
				char **argv)
{
	static const struct option options[] = {
		{ "reply-to", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":t:", options, NULL)) != -1) {
		switch (c) {
		case 'r':
			r->reply_to = optarg;
			break;
		case 't':
			if (busctl_parse_seconds(optarg, &r->timeout_ns) ||
			    !r->timeout_ns)
				return busctl_usage_error(
					"request: bad --timeout '%s': seconds "
					"(fractions allowed), more than 0",
					optarg);
			break;
		default:
			return busctl_bad_option("request", c, argv);
		}
	}
	if (argc - optind != 2)
		return busctl_usage_error("request: expected SERVICE and one "
					  "MESSAGE");
	r->service = argv[optind];
	r->message = argv[optind + 1];
	return -1;
}

/* A private reply queue, deleted again by busctl_request_cleanup(). */
static int busctl_request_own_queue(struct busctl_requester *r)
{
	struct bus_queue_settings settings;
	int err;

	bus_queue_settings_default(&settings);
	settings.slots = 16;
	settings.max_unacked = 16;
	settings.max_message = 64 * 1024;
	snprintf(r->own_queue, sizeof(r->own_queue), "busctl-reply-%ld",
		 (long)getpid());
	err = bus_queue_create(r->ctl->bus, r->own_queue, &settings);
	if (err < 0) {
		busctl_fail(r->ctl, err,
			    "request %s: create the reply queue "
			    "'%s' (without admin rights, name a queue you may "
			    "consume from with --reply-to QUEUE)",
			    r->service, r->own_queue);
		r->own_queue[0] = '\0';
		return err;
	}
	r->reply_to = r->own_queue;
	return 0;
}

static void busctl_request_cleanup(struct busctl_requester *r)
{
	if (r->own_queue[0])
		bus_queue_delete(r->ctl->bus, r->own_queue);
}

static int busctl_request_print(const struct busctl_requester *r,
				const void *reply, size_t length)
{
	if (r->ctl->json) {
		fputs("{\"service\": ", stdout);
		busctl_json_string(stdout, r->service);
		fputs(", ", stdout);
		busctl_json_payload(stdout, reply, length);
		fputs("}\n", stdout);
	} else {
		busctl_print_payload_text(stdout, reply, length);
		putchar('\n');
	}
	return busctl_flush_stdout();
}

static int busctl_request_run(struct busctl_requester *r)
{
	size_t size = BUS_QUEUE_MESSAGE_MAX;
	bus_requester_t *requester;
	void *reply;
	int ret, status;

	ret = bus_requester_open(r->ctl->bus, r->service, r->reply_to,
				 &requester);
	if (ret < 0)
		return busctl_fail(r->ctl, ret, "request %s (reply to %s)",
				   r->service, r->reply_to);
	reply = malloc(size);
	if (!reply) {
		bus_requester_close(requester);
		return busctl_error("request %s: %s", r->service,
				    strerror(ENOMEM));
	}
	ret = bus_request(requester, r->message, strlen(r->message), reply,
			  size, r->timeout_ns);
	if (ret == -ENXIO)
		status = busctl_error("request %s: nothing consumes from or "
				      "subscribes to '%s': start a responder "
				      "first",
				      r->service, r->service);
	else if (ret == -ETIMEDOUT)
		status = busctl_error("request %s: no reply within %.3g s: "
				      "is the responder replying to the "
				      "reply-to name? (try a longer "
				      "--timeout)",
				      r->service, (double)r->timeout_ns / 1e9);
	else if (ret < 0)
		status = busctl_fail(r->ctl, ret, "request %s", r->service);
	else
		status = busctl_request_print(r, reply, (size_t)ret);
	free(reply);
	bus_requester_close(requester);
	return status;
}

int busctl_request(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_requester r = {
		.ctl = ctl,
		.timeout_ns = BUSCTL_REQUEST_TIMEOUT_NS,
	};
	int status = busctl_request_parse(&r, argc, argv);

	if (status >= 0)
		return status;
	if (busctl_check_name("request", r.service) ||
	    (r.reply_to && busctl_check_name("request", r.reply_to)))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	if (!r.reply_to && busctl_request_own_queue(&r) < 0)
		return BUSCTL_EXIT_ERROR;
	status = busctl_request_run(&r);
	busctl_request_cleanup(&r);
	return status;
}
