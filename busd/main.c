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
#include <string.h>

#include "busd.h"
#include "config.h"
#include "daemonize.h"
#include "log.h"
#include "log_file.h"
#include "notify.h"
#include "reload.h"

struct busd_options {
	const char *bus_name;
	const char *config_path;
	const char *log_file; /* --log-file FILE; NULL: not given */
	bool foreground;
	int log_level; /* -l LEVEL; -1: not given */
	bool discard;
	bool verbose;
	bool test_config; /* -t: check the configuration and exit */
};

/* Long options have no short form where the letter is taken: -l was
 * --log-level before a log file existed. */
enum {
	BUSD_OPTION_LOG_FILE = 256,
	BUSD_OPTION_VERSION,
};

static void busd_usage(FILE *out)
{
	fprintf(out,
		"usage: busd [-b NAME] [-c FILE] [-d] [-f] [-l LEVEL] "
		"[--log-file FILE] [-t] [-v] [-h] [-V]\n"
		"  -b, --bus NAME\n"
		"           serve the bus NAME (default: default)\n"
		"  -c, --config FILE\n"
		"           read the queues from an ini file (default: one\n"
		"           mpmc queue named default)\n"
		"  -d, --discard\n"
		"           on a clean stop, unlink queues that still hold\n"
		"           messages too (default: keep them for the next busd)\n"
		"  -f, --foreground\n"
		"           stay in the foreground\n"
		"  -l, --log-level LEVEL\n"
		"           log error, warning, info (default) or debug\n"
		"  --log-file FILE\n"
		"           append the log to FILE instead of stderr (SIGHUP\n"
		"           opens it again); wins over [bus] log_file\n"
		"  -t, --test-config\n"
		"           check the configuration, say \"configuration OK\"\n"
		"           or what is wrong, and exit (0 or 1)\n"
		"  -v, --verbose\n"
		"           log debug messages too\n"
		"  -h, --help\n"
		"           show this help\n"
		"  -V, --version\n"
		"           print busd's version\n"
		"Signals: SIGTERM and SIGINT stop busd cleanly; SIGHUP reads\n"
		"the configuration again (see busd(8)).\n");
}

/* 0 to run, 1 to exit at once with success (-h), -1 on a usage error. */
static int busd_parse_options(int argc, char **argv, struct busd_options *o)
{
	static const struct option long_options[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "discard", no_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-file", required_argument, NULL, BUSD_OPTION_LOG_FILE },
		{ "test-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "b:c:dfl:tvhV", long_options,
				NULL)) != -1) {
		switch (c) {
		case BUSD_OPTION_LOG_FILE:
			o->log_file = optarg;
			break;
		case 't':
			o->test_config = true;
			break;
		case 'V':
			printf("busd (shmbus) %s\n", BUSD_VERSION);
			return 1;
		case 'l':
			o->log_level = busd_log_level_parse(optarg);
			if (o->log_level < 0) {
				busd_refuse(
					"log level must be error, warning, "
					"info or debug, not '%s'",
					optarg);
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
			    "letters, digits, '_', '-' or '.'",
			    o->bus_name, BUS_NAME_MAX);
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

/* -t: like nats-server -t, the verdict on stdout, errors (with file
 * and line) on stderr as busd_load_config() printed them. */
static int busd_test_config(const struct busd_options *o)
{
	struct busd_config config;

	if (busd_load_config(o, &config)) {
		fprintf(stderr, "busd: configuration %s has errors\n",
			o->config_path ? o->config_path : "(built in)");
		return EXIT_FAILURE;
	}
	printf("busd: configuration OK: %s (%u queue%s, %u topic%s, "
	       "%u route%s and address%s)\n",
	       o->config_path ? o->config_path : "built in",
	       config.queue_count, config.queue_count == 1 ? "" : "s",
	       config.topic_count, config.topic_count == 1 ? "" : "s",
	       config.route_count, config.route_count == 1 ? "" : "s",
	       config.route_count == 1 ? "" : "es");
	busd_config_free(&config);
	return EXIT_SUCCESS;
}

/* --log-file wins over [bus] log_file; stderr stays as it is without. */
static int busd_pick_log_file(const struct busd_options *o,
			      struct busd_config *config, bool verbose)
{
	const char *path = o->log_file ? o->log_file : config->bus.log_file;
	char *absolute;

	if (!path[0])
		return 0;
	if (busd_log_file_open(path))
		return -1;
	/* SIGHUP opens it again after busd went to / (daemonize). */
	if (o->log_file) {
		absolute = realpath(o->log_file, NULL);
		snprintf(config->bus.log_file, sizeof(config->bus.log_file),
			 "%s", absolute ? absolute : o->log_file);
		free(absolute);
	}
	/* Whether stderr is the journal's changed. */
	busd_log_init(o->bus_name, verbose);
	return 0;
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
	char *config_path = NULL;
	int ready_fd = -1, ret;

	ret = busd_parse_options(argc, argv, &options);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : 2;
	busd_log_init(options.bus_name, options.verbose);
	if (options.test_config)
		return busd_test_config(&options);
	if (busd_load_config(&options, &config))
		return EXIT_FAILURE;
	if (busd_pick_log_file(&options, &config, options.verbose)) {
		busd_config_free(&config);
		return EXIT_FAILURE;
	}
	busd_pick_log_level(&options, &config);
	/* SIGHUP reads the file again after busd went to / (daemonize). */
	if (options.config_path)
		config_path = realpath(options.config_path, NULL);
	if (options.config_path && !config_path)
		config_path = strdup(options.config_path);
	if (!options.foreground && busd_daemonize(&ready_fd)) {
		busd_refuse("cannot go to the background");
		busd_config_free(&config);
		free(config_path);
		return EXIT_FAILURE;
	}
	ret = busd_start(&busd, options.bus_name, &config);
	busd.discard_on_stop = options.discard;
	/* What SIGHUP needs to read the file again (reload.h). */
	busd.config = &config;
	busd.config_path = config_path;
	busd.log_file_fixed = options.log_file != NULL;
	snprintf(busd.log_file, sizeof(busd.log_file), "%s",
		 config.bus.log_file);
	busd.log_level_fixed = options.log_level >= 0 || options.verbose;
	if (!ret) {
		busd_daemon_ready(ready_fd);
		busd_notify_ready(options.bus_name,
				  busd.catalog.registry.count,
				  busd.catalog.registry.topic_count);
		ret = busd_run(&busd, busd_reload);
		busd_notify_stopping();
	}
	busd_stop(&busd);
	busd_config_free(&config);
	free(config_path);
	if (!ret)
		busd_info("stopped");
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
