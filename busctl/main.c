/* SPDX-License-Identifier: MIT */
/*
 * busctl: list, inspect, create and delete queues and topics; publish,
 * consume and subscribe.
 *
 *   busctl [-b NAME] COMMAND [ARGS...]
 *
 * main() parses the global options, picks the command and hands it the rest
 * of argv.  Each command parses its own options with getopt_long() and
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

static const char busctl_usage_text[] =
	"Usage: busctl [-b NAME] COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  pub NAME [MESSAGE...]      send each MESSAGE, or else each line of\n"
	"      [--timeout SEC]        stdin, as one message to a queue or a\n"
	"                             topic; wait up to SEC for room for each\n"
	"                             (default: no limit)\n"
	"      [--key KEY]            with a routing key and headers (they\n"
	"      [--header NAME=VALUE]  need header_room; sub and consume\n"
	"                             print them as [key=KEY NAME=VALUE])\n"
	"  sub TOPIC [-n COUNT]       print one payload per line\n"
	"      [--history K]          also up to K published before\n"
	"      [--timeout SEC]        stop after COUNT, or SEC seconds\n"
	"  sub PATTERN ...            every matching topic, later ones too:\n"
	"                             '*' one token, '>' the rest (a.*.c, a.>)\n"
	"  consume QUEUE [-n COUNT]   print one payload per line and ack it\n"
	"      [--timeout SEC]        stop after COUNT, or SEC seconds\n"
	"      [--no-ack]             print without acking; the messages are\n"
	"                             delivered again once busctl exits\n"
	"      [--hold]               like --no-ack, but after COUNT (default\n"
	"                             1) keep them unacked until killed\n"
	"  ls [--json]                list queues and topics\n"
	"  stat NAME [--json]         show a queue's or topic's figures\n"
	"  create NAME [--type spsc|mpmc] [--slots N] [--max-message BYTES]\n"
	"      [--overflow block|reject|drop-oldest] [--max-unacked N]\n"
	"      [--max-producers N] [--max-consumers N]\n"
	"      [--dead-letter QUEUE --max-deliveries N] [--ack-timeout MS]\n"
	"                             create a queue (busd's defaults)\n"
	"  create NAME --topic [--slots N] [--max-message BYTES]\n"
	"      [--slow-subscriber block|overwrite] [--max-subscribers N]\n"
	"      [--max-publishers N] [--history K]\n"
	"                             create a topic\n"
	"      either with [--owner USER] [--group GROUP] [--mode MODE]\n"
	"      [--header-room BYTES]  room for routing keys and headers\n"
	"                             who may use it (default: busd's user\n"
	"                             and group, 0660; r consumes, w produces)\n"
	"  delete NAME                delete a queue or topic\n"
	"  peek QUEUE [-n COUNT]      print up to COUNT (default 10) queued\n"
	"      [--headers]            messages without taking them; with\n"
	"                             their header fields\n"
	"  purge QUEUE                remove every queued message (admin)\n"
	"  log [-n N] [--json]        busd's last warnings and errors (also\n"
	"                             after it died)\n"
	"  remove-bus                 remove a bus whose busd is gone for\n"
	"                             good: its segments, messages and all\n"
	"  top [--interval MS]        live rates, depths and lags of every\n"
	"      [--once]               queue and topic; --once: one screen\n"
	"  route ls [--json]          list routes and unroutable targets\n"
	"  route add NAME --from ADDRESS [--key PATTERN] --to T[,T...]\n"
	"      [--header NAME=VALUE]  add a route (admin): messages published\n"
	"                             to ADDRESS whose key matches PATTERN\n"
	"                             (and headers) go to each T\n"
	"  route del NAME             delete a route (admin)\n"
	"  route unroutable ADDRESS TARGET|--delete\n"
	"                             where no-route messages go (admin)\n"
	"\n"
	"Options:\n"
	"  -b, --bus NAME   the bus (default: $BUS_NAME, else \"default\")\n"
	"  -h, --help       show this help\n"
	"  -V, --version    show the version\n"
	"\n"
	"Use -- to end options, e.g. busctl pub orders -- -1.\n"
	"Exit status: 0 ok, 1 error (or consume timed out short of COUNT),\n"
	"2 usage.\n";

static const struct busctl_command busctl_commands[] = {
	{ "pub", busctl_pub },
	{ "consume", busctl_consume },
	{ "sub", busctl_sub },
	{ "ls", busctl_ls },
	{ "stat", busctl_stat },
	{ "create", busctl_create },
	{ "delete", busctl_delete },
	{ "remove-bus", busctl_remove_bus },
	{ "log", busctl_log },
	{ "peek", busctl_peek },
	{ "purge", busctl_purge },
	{ "top", busctl_top },
	{ "route", busctl_route },
	{ "info", busctl_info },
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

int busctl_usage_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	busctl_vprint(fmt, args);
	va_end(args);
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
	return busctl_usage_error("%s%sunknown option %s", command, sep,
				  word);
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
			    "'_', '-' or '.'", command, name,
			    bus_strerror(-EINVAL), BUS_NAME_MAX);
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
			fputs(busctl_usage_text, stdout);
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

int main(int argc, char **argv)
{
	struct busctl ctl = { .bus_name = busctl_default_bus_name() };
	const struct busctl_command *command;
	int status;

	opterr = 0;
	status = busctl_parse_global(&ctl, argc, argv);
	if (status >= 0)
		return status;
	if (optind >= argc)
		return busctl_usage_error("missing COMMAND");
	command = busctl_find_command(argv[optind]);
	if (!command)
		return busctl_usage_error("unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	/* 0, not 1: glibc then also resets its state for the new argv. */
	optind = 0;
	status = command->run(&ctl, argc, argv);
	busctl_disconnect(&ctl);
	return status;
}
