/* SPDX-License-Identifier: MIT */
/*
 * busctl [--json] info: what busd says about itself (bus_daemon_info()):
 * version, pid, configuration file, start and uptime, connections, and
 * how many queues and topics it serves.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "busctl.h"

static void busctl_info_time(uint64_t realtime_ns, char *buf, size_t size)
{
	time_t seconds = (time_t)(realtime_ns / 1000000000u);
	struct tm tm;

	if (!gmtime_r(&seconds, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%" PRIu64, realtime_ns);
}

/* "3d 4h 5m 6s", leaving out the leading zero units. */
static void busctl_info_uptime(uint64_t ns, char *buf, size_t size)
{
	uint64_t s = ns / 1000000000u;

	if (s >= 86400)
		snprintf(buf, size,
			 "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m %" PRIu64 "s",
			 s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s",
			 s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRIu64 "m %" PRIu64 "s", s / 60,
			 s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "s", s);
}

static void busctl_info_json(const struct busctl *ctl,
			     const struct bus_daemon_info *i,
			     const char *started)
{
	printf("{\"bus\": ");
	busctl_json_string(stdout, ctl->bus_name);
	printf(", \"version\": ");
	busctl_json_string(stdout, i->version);
	printf(", \"pid\": %d, \"config\": ", (int)i->pid);
	if (i->config_path[0])
		busctl_json_string(stdout, i->config_path);
	else
		printf("null");
	printf(", \"started\": \"%s\", \"uptime_seconds\": %" PRIu64
	       ", \"clients\": %u, \"queues\": %u, \"topics\": %u}\n",
	       started, i->uptime_ns / 1000000000u, i->clients, i->queues,
	       i->topics);
}

static void busctl_info_text(const struct busctl *ctl,
			     const struct bus_daemon_info *i,
			     const char *started)
{
	char uptime[64];

	busctl_info_uptime(i->uptime_ns, uptime, sizeof(uptime));
	printf("bus:      %s\n", ctl->bus_name);
	printf("busd:     version %s, pid %d\n", i->version, (int)i->pid);
	printf("config:   %s\n", i->config_path[0] ? i->config_path
						   : "(built in: one queue "
						     "named default)");
	printf("started:  %s (up %s)\n", started, uptime);
	printf("clients:  %u\n", i->clients);
	printf("queues:   %u\n", i->queues);
	printf("topics:   %u\n", i->topics);
}

int busctl_info(struct busctl *ctl, int argc, char **argv)
{
	struct bus_daemon_info info;
	char started[64];
	int c, err;

	/* --json is busctl's global option (ctl->json). */
	c = getopt_long(argc, argv, ":", NULL, NULL);
	if (c != -1)
		return busctl_bad_option("info", c, argv);
	if (optind < argc)
		return busctl_usage_error("info: unexpected '%s'",
					  argv[optind]);
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_daemon_info(ctl->bus, &info);
	if (err < 0)
		return busctl_fail(ctl, err, "info");
	busctl_info_time(info.started_ns, started, sizeof(started));
	if (ctl->json)
		busctl_info_json(ctl, &info, started);
	else
		busctl_info_text(ctl, &info, started);
	return busctl_flush_stdout() ? BUSCTL_EXIT_ERROR : BUSCTL_EXIT_OK;
}
