/* SPDX-License-Identifier: MIT */
/*
 * busgate: a STOMP gateway to a shmbus bus.  Reads its options, its ini
 * file and its users file, listens, tells systemd it is ready, and runs
 * the loop until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "gate.h"

static struct gate *running;

static void on_stop_signal(int signo)
{
	(void)signo;
	if (running)
		running->stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: busgate [-c FILE] [-b BUS] [-l HOST:PORT] "
		"[-w HOST:PORT] [-v]\n"
		"  -c FILE       ini file with a [gateway] section "
		"(see busgate(8))\n"
		"  -b BUS        the bus (default: default)\n"
		"  -l HOST:PORT  STOMP over TCP (default 127.0.0.1:61613; "
		"off)\n"
		"  -w HOST:PORT  STOMP over WebSocket (default "
		"127.0.0.1:15674; off)\n"
		"  -v            log every connection (-vv every frame)\n"
		"  -h            this help\n");
}

/* Ten thousand clients need more descriptors than the usual soft 1024. */
static void raise_fd_limit(void)
{
	struct rlimit limit;

	if (!getrlimit(RLIMIT_NOFILE, &limit) &&
	    limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

static int parse_options(int argc, char **argv, struct gate_config *config)
{
	const char *bus = NULL, *tcp = NULL, *ws = NULL;
	int opt, verbose = 0;

	while ((opt = getopt(argc, argv, "c:b:l:w:vh")) != -1) {
		switch (opt) {
		case 'c':
			snprintf(config->path, sizeof(config->path), "%s",
				 optarg);
			break;
		case 'b':
			bus = optarg;
			break;
		case 'l':
			tcp = optarg;
			break;
		case 'w':
			ws = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (config->path[0] && gate_config_read(config))
		return -EINVAL;
	/* The command line wins over the file. */
	if (bus) {
		if (bus_name_check(bus)) {
			fprintf(stderr, "busgate: -b '%s' is not a bus name\n",
				bus);
			return -EINVAL;
		}
		snprintf(config->bus, sizeof(config->bus), "%s", bus);
	}
	if (tcp)
		snprintf(config->listen, sizeof(config->listen), "%s", tcp);
	if (ws)
		snprintf(config->websocket, sizeof(config->websocket), "%s",
			 ws);
	gate_log_level = verbose;
	return 0;
}

int main(int argc, char **argv)
{
	static struct gate_config config;
	static struct gate gate;
	struct sigaction stop = { .sa_handler = on_stop_signal };
	int ret;

	gate_config_default(&config);
	if (parse_options(argc, argv, &config))
		return 2;
	gate.config = &config;
	if (gate_users_load(&gate.users, config.users))
		return 1;
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	running = &gate;
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	ret = gate_listen(&gate);
	if (ret) {
		gate_shutdown(&gate);
		return 1;
	}
	if (!gate.users.from_file)
		gate_log(0,
			 "no users file: serving loopback clients only, "
			 "as uid %u",
			 (unsigned int)geteuid());
	sd_notify(0, "READY=1");
	ret = gate_run(&gate);
	sd_notify(0, "STOPPING=1");
	gate_shutdown(&gate);
	gate_users_free(&gate.users);
	if (ret)
		gate_log(0, "the loop failed: %s", strerror(-ret));
	return ret ? 1 : 0;
}
