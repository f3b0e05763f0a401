/* SPDX-License-Identifier: MIT */
/*
 * busd, the shmbus supervisor: creates the shared-memory segments of a
 * bus's queues, admits clients over a Unix control socket and cleans up
 * after those that die.  It is never on the data path.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "busd.h"
#include "config.h"
#include "daemonize.h"
#include "log.h"
#include "notify.h"

struct busd_options {
	const char *bus_name;
	const char *config_path;
	bool foreground;
	int log_level; /* -l LEVEL; -1: not given */
	bool discard;
	bool verbose;
};

static void busd_usage(FILE *out)
{
	fprintf(out,
		"usage: busd [-b NAME] [-c FILE] [-d] [-f] [-l LEVEL] [-v] "
		"[-h]\n"
		"  -b NAME  serve the bus NAME (default: default)\n"
		"  -c FILE  read the queues from an ini file (default: one\n"
		"           mpmc queue named default)\n"
		"  -d       on a clean stop, unlink queues that still hold\n"
		"           messages too (default: keep them for the next busd)\n"
		"  -f       stay in the foreground\n"
		"  -l, --log-level LEVEL\n"
		"           log error, warning, info (default) or debug\n"
		"  -v       log debug messages too\n"
		"  -h       show this help\n");
}

/* 0 to run, 1 to exit at once with success (-h), -1 on a usage error. */
static int busd_parse_options(int argc, char **argv, struct busd_options *o)
{
	static const struct option long_options[] = {
		{ "log-level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "b:c:dfl:vh", long_options,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			o->log_level = busd_log_level_parse(optarg);
			if (o->log_level < 0) {
				busd_refuse("log level must be error, warning, "
					    "info or debug, not '%s'", optarg);
				return -1;
			}
			break;
		case 'b':
			o->bus_name = optarg;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'd':
			o->discard = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			busd_usage(stdout);
			return 1;
		default:
			busd_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		busd_refuse("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (bus_name_check(o->bus_name)) {
		busd_refuse("'%s' is not a valid bus name: use 1 to %d "
			    "letters, digits, '_', '-' or '.'", o->bus_name,
			    BUS_NAME_MAX);
		return -1;
	}
	return 0;
}

static int busd_load_config(const struct busd_options *o,
			    struct busd_config *config)
{
	if (o->config_path)
		return busd_config_read(config, o->config_path);
	return busd_config_default(config);
}

/* -l wins, then -v, then [bus] log_level, then info. */
static void busd_pick_log_level(const struct busd_options *o,
				const struct busd_config *config)
{
	if (o->log_level >= 0)
		busd_log_set_level((enum busd_log_level)o->log_level);
	else if (!o->verbose && config->bus.log_level >= 0)
		busd_log_set_level((enum busd_log_level)config->bus.log_level);
}

int main(int argc, char **argv)
{
	struct busd_options options = { .bus_name = "default",
					.log_level = -1 };
	struct busd_config config;
	static struct busd busd;
	int ready_fd = -1, ret;

	ret = busd_parse_options(argc, argv, &options);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : 2;
	busd_log_init(options.bus_name, options.verbose);
	if (busd_load_config(&options, &config))
		return EXIT_FAILURE;
	busd_pick_log_level(&options, &config);
	if (!options.foreground && busd_daemonize(&ready_fd)) {
		busd_refuse("cannot go to the background");
		busd_config_free(&config);
		return EXIT_FAILURE;
	}
	ret = busd_start(&busd, options.bus_name, &config);
	busd.discard_on_stop = options.discard;
	if (!ret) {
		busd_daemon_ready(ready_fd);
		busd_notify_ready(options.bus_name, busd.registry.count,
				  busd.registry.topic_count);
		ret = busd_loop_run(&busd);
		busd_notify_stopping();
	}
	busd_stop(&busd);
	busd_config_free(&config);
	if (!ret)
		busd_info("stopped");
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
