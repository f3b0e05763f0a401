/* SPDX-License-Identifier: MIT */
/*
 * busbridge -c FILE: carries messages between a bus and NATS by the rules
 * of FILE (see busbridge(8)).  main() reads the config, opens the bus side
 * of every rule, connects to NATS, starts a thread per rule, tells systemd
 * it is ready, and then only waits for signals: SIGUSR1 prints the
 * figures, SIGTERM and SIGINT stop it cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bridge.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: busbridge -c FILE\n"
		"Carries messages between a shmbus bus and NATS by the rules "
		"of FILE.\n"
		"SIGUSR1 prints each rule's figures; SIGTERM stops it.  See "
		"busbridge(8).\n");
}

static int parse_args(int argc, char **argv, const char **path)
{
	int option;

	while ((option = getopt(argc, argv, "c:h")) != -1) {
		switch (option) {
		case 'c':
			*path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!*path || optind < argc) {
		if (!*path)
			fprintf(stderr, "busbridge: -c FILE is required: the "
					"rules come from a config file\n");
		else
			fprintf(stderr,
				"busbridge: unexpected argument "
				"'%s'\n",
				argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int connect_bus(struct bridge *bridge)
{
	const char *name = bridge->config.bus[0] ? bridge->config.bus : NULL;
	int ret = bus_connect(name, &bridge->bus);

	if (ret) {
		const char *detail = bus_error_detail(NULL);

		bridge_log("cannot connect to bus %s: %s%s%s%s",
			   name ? name : "(from $BUS_NAME, else default)",
			   bus_strerror(ret), *detail ? " (" : "", detail,
			   *detail ? ")" : "");
		bridge->bus = NULL;
	}
	return ret;
}

/* Every rule's bus side first, reporting each error, then NATS. */
static int start(struct bridge *bridge)
{
	struct bridge_config *c = &bridge->config;
	unsigned int errors = 0;

	for (unsigned int i = 0; i < c->rule_count; i++) {
		c->rules[i].bridge = bridge;
		if (bridge_rule_open(&c->rules[i]))
			errors++;
	}
	if (errors)
		return -EINVAL;
	if (bridge_nats_connect(bridge))
		return -ECONNREFUSED;
	for (unsigned int i = 0; i < c->rule_count; i++) {
		if (bridge_rule_start(&c->rules[i]))
			return -EIO;
	}
	bridge_status_start(bridge);
	return bridge_metrics_start(bridge);
}

static void stop(struct bridge *bridge)
{
	atomic_store_explicit(&bridge->stopping, true, memory_order_relaxed);
	/* First: a scrape reads the rules and the NATS connection. */
	bridge_metrics_stop(bridge);
	for (unsigned int i = 0; i < bridge->config.rule_count; i++)
		bridge_rule_stop(&bridge->config.rules[i]);
	/* With the rules' final figures, while NATS is still there. */
	bridge_status_stop(bridge);
	bridge_nats_close(bridge);
	bus_disconnect(bridge->bus);
	bridge->bus = NULL;
}

/* Signals are taken synchronously here; every thread, nats.c's too, is
 * made after they were blocked and so never runs a handler. */
static void wait_for_stop(struct bridge *bridge, const sigset_t *signals)
{
	for (;;) {
		int signal = 0;

		if (sigwait(signals, &signal))
			continue;
		if (signal == SIGUSR1) {
			bridge_stats_print(bridge, stderr);
			continue;
		}
		bridge_log("stopping on signal %d", signal);
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
		return;
	}
}

int main(int argc, char **argv)
{
	static struct bridge bridge;
	const char *path = NULL;
	char url[BRIDGE_URL_MAX + 1];
	char status[256];
	sigset_t signals;
	int ret;

	if (parse_args(argc, argv, &path))
		return 1;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	/* A NATS server going away must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	if (bridge_config_read(path, &bridge.config))
		return 1;
	if (connect_bus(&bridge)) {
		bridge_config_free(&bridge.config);
		return 1;
	}
	ret = start(&bridge);
	if (ret) {
		stop(&bridge);
		bridge_config_free(&bridge.config);
		nats_Close();
		return 1;
	}
	/* The server of the list it reached: the one whose loss matters. */
	bridge_connected_url(bridge.nats, url, sizeof(url));
	if (!url[0])
		bridge_url_redact(bridge.config.servers[0], url, sizeof(url));
	bridge_log("bridging bus %s and NATS at %s as %s: %u rule%s",
		   bus_name(bridge.bus), url, bridge.config.origin,
		   bridge.config.rule_count,
		   bridge.config.rule_count == 1 ? "" : "s");
	snprintf(status, sizeof(status),
		 "READY=1\nSTATUS=bridging bus %s "
		 "and NATS with %u rules",
		 bus_name(bridge.bus), bridge.config.rule_count);
	sd_notify(0, status);

	wait_for_stop(&bridge, &signals);
	stop(&bridge);
	bridge_stats_print(&bridge, stderr);
	bridge_config_free(&bridge.config);
	nats_Close();
	return 0;
}
