/* SPDX-License-Identifier: MIT */
/*
 * busctl purge QUEUE
 *
 * Removes every queued message of QUEUE and prints how many.  Messages
 * that consumers hold (leased, not yet acked) stay theirs.  Needs admin
 * rights, checked by busd as for create and delete.  busd lends busctl a
 * consumer slot and busctl takes and acks the messages through it
 * (bus_queue_purge()), so purging is safe while producers and consumers
 * are at work; purged messages count as dequeued and acked.
 */
#include <getopt.h>

#include "busctl.h"

int busctl_purge(struct busctl *ctl, int argc, char **argv)
{
	static const struct option options[] = { { NULL, 0, NULL, 0 } };
	const char *name;
	int c, ret;

	/* No options yet; getopt still refuses "-x" and honours "--". */
	while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1)
		return busctl_bad_option("purge", c, argv);
	if (optind >= argc)
		return busctl_usage_error("purge: missing QUEUE");
	name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("purge: unexpected '%s'",
					  argv[optind]);
	if (busctl_check_name("purge", name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	ret = bus_queue_purge(ctl->bus, name);
	if (ret < 0)
		return busctl_fail(ctl, ret, "purge %s", name);
	if (ctl->json) {
		fputs("{\"queue\": ", stdout);
		busctl_json_string(stdout, name);
		printf(", \"purged\": %d}\n", ret);
	} else {
		printf("purged %d message%s from queue '%s'\n", ret,
		       ret == 1 ? "" : "s", name);
	}
	return busctl_flush_stdout();
}
