/* SPDX-License-Identifier: MIT */
/*
 * busctl: list, inspect, create and delete queues and topics; publish,
 * consume and subscribe.
 *
 *   busctl [-b NAME] [--json] COMMAND [ARGS...]
 *
 * main() takes the global options -b and --json from anywhere on the line
 * (before "--"), picks the command and hands it the rest of argv; -h or
 * --help after a command prints that command's usage instead.  Each command parses its own options with getopt_long() and
 * returns an exit status: 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busctl.h"

static const struct busctl_command busctl_commands[] = {
	{ "help", busctl_help },       { "pub", busctl_pub },
	{ "request", busctl_request }, { "consume", busctl_consume },
	{ "sub", busctl_sub },	       { "ls", busctl_ls },
	{ "stat", busctl_stat },       { "create", busctl_create },
	{ "delete", busctl_delete },   { "remove-bus", busctl_remove_bus },
	{ "log", busctl_log },	       { "peek", busctl_peek },
	{ "purge", busctl_purge },     { "top", busctl_top },
	{ "route", busctl_route },     { "bench", busctl_bench },
	{ "info", busctl_info },       { "bridge", busctl_bridge },
	{ "record", busctl_record },   { "dump", busctl_dump },
	{ "replay", busctl_replay },
};

/* ---- errors -------------------------------------------------------- */

static void busctl_vprint(const char *fmt, va_list args)
{
	fputs("busctl: ", stderr);
	vfprintf(stderr, fmt, args);
}

int busctl_fail(const struct busctl *ctl, int error, const char *fmt, ...)
{
	/* Without a connection, why the last bus_connect() failed. */
	const char *detail = bus_error_detail(ctl->bus);
	va_list args;

	va_start(args, fmt);
	busctl_vprint(fmt, args);
	va_end(args);
	fprintf(stderr, ": %s", bus_strerror(error));
	if (detail && detail[0])
		fprintf(stderr, ": %s", detail);
	fputc('\n', stderr);
	return BUSCTL_EXIT_ERROR;
}

int busctl_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	busctl_vprint(fmt, args);
	va_end(args);
	fputc('\n', stderr);
	return BUSCTL_EXIT_ERROR;
}

/* The command being run, so that a usage error points at its own help. */
static const char *busctl_running;

int busctl_usage_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	busctl_vprint(fmt, args);
	va_end(args);
	if (busctl_running && busctl_help_exists(busctl_running))
		fprintf(stderr, " (see 'busctl help %s')\n", busctl_running);
	else
		fputs(" (see 'busctl --help')\n", stderr);
	return BUSCTL_EXIT_USAGE;
}

int busctl_bad_option(const char *command, int c, char **argv)
{
	/* With opterr off and a leading ':' in the option string,
	 * getopt_long() returns ':' for a missing value and '?' for an
	 * unknown option; the word it was reading is argv[optind - 1]. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";
	const char *sep = command[0] ? ": " : "";

	if (c == ':')
		return busctl_usage_error("%s%soption %s needs a value",
					  command, sep, word);
	if (optopt > 0 && optopt < 128 && word[0] == '-' && word[1] != '-')
		return busctl_usage_error("%s%sunknown option -%c", command,
					  sep, optopt);
	return busctl_usage_error("%s%sunknown option %s", command, sep, word);
}

int busctl_flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	return busctl_error("write to stdout: %s", strerror(errno));
}

int busctl_check_name(const char *command, const char *name)
{
	if (bus_name_check(name) == 0)
		return 0;
	return busctl_error("%s '%s': %s: a name is 1 to %d letters, digits, "
			    "'_', '-' or '.'",
			    command, name, bus_strerror(-EINVAL),
			    BUS_NAME_MAX);
}

/* ---- connection ---------------------------------------------------- */

int busctl_connect(struct busctl *ctl)
{
	int err = bus_connect(ctl->bus_name, &ctl->bus);

	if (err < 0) {
		ctl->bus = NULL;
		busctl_fail(ctl, err, "connect to bus '%s'", ctl->bus_name);
	}
	return err;
}

void busctl_disconnect(struct busctl *ctl)
{
	bus_disconnect(ctl->bus);
	ctl->bus = NULL;
}

/* ---- signals ------------------------------------------------------- */

static volatile sig_atomic_t busctl_stop_signal;

static void busctl_on_stop_signal(int signo)
{
	busctl_stop_signal = signo;
}

void busctl_catch_stop_signals(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = busctl_on_stop_signal;
	sigemptyset(&action.sa_mask);
	/* No SA_RESTART: a blocked wait must come back with -EINTR. */
	action.sa_flags = 0;
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
}

int busctl_stop_requested(void)
{
	return busctl_stop_signal != 0;
}

int64_t busctl_deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return -1;
	return busctl_now_ns() + timeout_ns;
}

int64_t busctl_wait_ns(int64_t deadline_ns)
{
	int64_t left;

	if (deadline_ns < 0)
		return BUSCTL_WAIT_SLICE_NS;
	left = deadline_ns - busctl_now_ns();
	if (left <= 0)
		return BUS_NOWAIT;
	return left < BUSCTL_WAIT_SLICE_NS ? left : BUSCTL_WAIT_SLICE_NS;
}

/* ---- dispatch ------------------------------------------------------ */

static const struct busctl_command *busctl_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(busctl_commands) / sizeof(busctl_commands[0]);
	     i++)
		if (strcmp(busctl_commands[i].name, name) == 0)
			return &busctl_commands[i];
	return NULL;
}

static const char *busctl_default_bus_name(void)
{
	const char *name = getenv("BUS_NAME");

	return name && name[0] ? name : "default";
}

/*
 * Parses the options before COMMAND.  '+' stops at the first word that is
 * not an option, so that the command's own options stay for the command.
 * Returns -1 to go on, else an exit status.
 */
static int busctl_parse_global(struct busctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:b:hV", options, NULL)) != -1) {
		switch (c) {
		case 'b':
			ctl->bus_name = optarg;
			break;
		case 'h':
			busctl_help_print_summary(stdout);
			return busctl_flush_stdout();
		case 'V':
			printf("busctl %d.%d.%d\n", BUS_VERSION_MAJOR,
			       BUS_VERSION_MINOR, BUS_VERSION_PATCH);
			return busctl_flush_stdout();
		default:
			return busctl_bad_option("", c, argv);
		}
	}
	if (bus_name_check(ctl->bus_name) < 0)
		return busctl_usage_error("bad bus name '%s': %s",
					  ctl->bus_name,
					  bus_strerror(-EINVAL));
	return -1;
}

/*
 * Takes -b NAME (also -bNAME, --bus NAME, --bus=NAME) and --json out of
 * argv wherever they are, up to a "--", so that `busctl ls -b NAME` means
 * what `busctl -b NAME ls` does.  No command has options of these names.
 * Returns -1 to go on, else an exit status.
 */
static int busctl_take_globals(struct busctl *ctl, int *argc, char **argv)
{
	int kept = 1, i;

	for (i = 1; i < *argc; i++) {
		const char *word = argv[i];

		if (!strcmp(word, "--"))
			break;
		if (!strcmp(word, "--json")) {
			ctl->json = 1;
		} else if (!strcmp(word, "-b") || !strcmp(word, "--bus")) {
			if (i + 1 >= *argc)
				return busctl_usage_error("option %s needs a "
							  "bus name",
							  word);
			ctl->bus_name = argv[++i];
		} else if (!strncmp(word, "--bus=", 6)) {
			ctl->bus_name = word + 6;
		} else if (!strncmp(word, "-b", 2)) {
			ctl->bus_name = word + 2;
		} else {
			argv[kept++] = argv[i];
		}
	}
	while (i < *argc)
		argv[kept++] = argv[i++];
	argv[kept] = NULL;
	*argc = kept;
	return -1;
}

/* 1 when -h or --help comes among the command's words, before "--". */
static int busctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct busctl ctl = { .bus_name = busctl_default_bus_name() };
	const struct busctl_command *command;
	int status;

	opterr = 0;
	status = busctl_take_globals(&ctl, &argc, argv);
	if (status >= 0)
		return status;
	status = busctl_parse_global(&ctl, argc, argv);
	if (status >= 0)
		return status;
	if (optind >= argc)
		return busctl_usage_error("missing COMMAND");
	command = busctl_find_command(argv[optind]);
	if (!command)
		return busctl_usage_error("unknown command '%s'",
					  argv[optind]);

	argc -= optind;
	argv += optind;
	/* A command without a usage text here (a newer one) answers
	 * --help itself. */
	if (busctl_help_exists(argv[0]) && busctl_wants_help(argc, argv)) {
		busctl_help_print_command(stdout, argv[0]);
		return busctl_flush_stdout();
	}
	/* 0, not 1: glibc then also resets its state for the new argv. */
	optind = 0;
	busctl_running = command->name;
	status = command->run(&ctl, argc, argv);
	busctl_disconnect(&ctl);
	return status;
}
