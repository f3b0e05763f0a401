/* SPDX-License-Identifier: MIT */
/*
 * The usage texts: `busctl --help` (every command, one line each),
 * `busctl help COMMAND` and `busctl COMMAND --help` (one command: its
 * arguments, every option it accepts, an example).
 *
 * The texts live in one table so that the summary and each command's
 * page cannot drift apart, and so that tests/test_busctl_manpage.sh and
 * tests/test_busctl_completion.sh can read each command's options from
 * the "Options:" block of `busctl help COMMAND`: an option line there
 * starts with two spaces and a dash.  Keep that shape when adding one.
 */
#include <stdio.h>
#include <string.h>

#include "busctl.h"

struct busctl_help_option {
	const char *flags; /* "-n, --count COUNT" */
	const char *text;
};

struct busctl_help {
	const char *name;
	const char *synopsis; /* after "busctl NAME " */
	const char *summary;  /* one line for busctl --help */
	const char *description;
	const struct busctl_help_option *options;
	const char *examples;
};

#define BUSCTL_END         \
	{                  \
		NULL, NULL \
	}

static const struct busctl_help_option busctl_help_pub[] = {
	{ "--timeout SEC",
	  "wait at most SEC seconds (fractions allowed) for "
	  "room for each message; 0 never waits (default: no limit)" },
	{ "--key KEY", "a routing key, a dotted subject such as orders.eu.red "
		       "(no wildcards: those belong in 'route add --key')" },
	{ "--header NAME=VALUE",
	  "a user header (up to 16; repeat the option)" },
	{ "--ttl MS", "the message expires MS milliseconds from now and is "
		      "never delivered after that" },
	{ "--reply QUEUE", "a reply-to name: where a responder should send "
			   "its reply" },
	{ "--correlation ID", "a correlation id: send a reply to a request "
			      "(its correlation_id in consume --json)" },
	{ "--confirm", "a durable queue: return only once busd has every "
		       "message on disk as its sync setting promises "
		       "(within --timeout when given)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_request[] = {
	{ "--reply-to QUEUE",
	  "wait for the reply on QUEUE (default: a "
	  "temporary queue busctl creates and deletes, which needs admin "
	  "rights)" },
	{ "--timeout SEC", "give up after SEC seconds, fractions allowed "
			   "(default 5)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_consume[] = {
	{ "-n, --count COUNT", "stop after COUNT messages" },
	{ "--timeout SEC", "stop SEC seconds after the start (with -n: fewer "
			   "than COUNT by then is exit status 1)" },
	{ "--no-ack", "print without acking; the messages are delivered "
		      "again once busctl has gone" },
	{ "--hold", "like --no-ack, then keep COUNT (default 1) messages "
		    "unacked until killed" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_sub[] = {
	{ "-n, --count COUNT", "stop after COUNT messages" },
	{ "--history K", "first print up to K messages published before (at "
			 "most the topic's history)" },
	{ "--timeout SEC", "stop SEC seconds after the start" },
	{ "--with-topic", "put the topic each message came from and a tab "
			  "before it (useful with a PATTERN)" },
	{ "--from SEQ|TIME", "a recorded topic: start at this sequence, or "
			     "at TIME (2026-12-07T10:00:00Z, @SECONDS, "
			     "-10m, -2h), from its journal, then go on live" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_record[] = {
	{ "-n, --count COUNT", "stop after COUNT messages" },
	{ "--timeout SEC", "stop SEC seconds after the start (with -n: fewer "
			   "than COUNT by then is exit status 1)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_dump[] = {
	{ "-n, --count COUNT", "stop after COUNT messages" },
	{ "--from SEQ|TIME", "start at the first message with this sequence "
			     "or later, or published at TIME or later" },
	{ "--to SEQ|TIME", "stop after the last message up to this sequence "
			   "or TIME" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_replay[] = {
	{ "--into TOPIC", "the topic to publish into (needed)" },
	{ "--from SEQ|TIME", "start at this sequence or time (as for dump)" },
	{ "--to SEQ|TIME", "stop after this sequence or time" },
	{ "--speed 1x|Nx|max", "keep the recorded gaps (1x), N times faster "
			       "(10x, 0.5x), or none (max, the default)" },
	{ "--timeout SEC", "wait at most SEC seconds for room for each "
			   "message (default: no limit)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_none[] = {
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_create[] = {
	{ "--type spsc|mpmc", "queue: one producer and one consumer, or many "
			      "(default mpmc)" },
	{ "--slots N", "ring size, a power of two (default 1024)" },
	{ "--max-message BYTES", "largest payload (default 256)" },
	{ "--header-room BYTES", "room for routing keys and headers (default "
				 "0: none; spsc queue or 1-publisher topic: "
				 "the most a message may carry, 0: 512)" },
	{ "--ring-bytes SIZE", "spsc queue or 1-publisher topic: the arena "
			       "that holds payloads, keys and headers, each "
			       "taking what it needs (K, M, G; a multiple "
			       "of 64; default from slots)" },
	{ "--overflow block|reject|drop-oldest",
	  "queue: what a producer "
	  "meets when it is full (default block)" },
	{ "--max-unacked N", "queue: messages a consumer may hold (default "
			     "64)" },
	{ "--max-producers N", "queue: default 64 (spsc: 1)" },
	{ "--max-consumers N", "queue: default 64 (spsc: 1)" },
	{ "--dead-letter QUEUE",
	  "queue: where messages go after "
	  "--max-deliveries failed deliveries (an existing mpmc queue)" },
	{ "--max-deliveries N", "queue: deliveries before dead-lettering" },
	{ "--ack-timeout MS", "queue: take a message back from a consumer "
			      "that held it MS milliseconds" },
	{ "--ttl MS", "queue: drop messages older than MS milliseconds "
		      "(default 0: never)" },
	{ "--durable", "queue: keep its messages and acks on disk, in busd's "
		       "data_dir, so that they survive a reboot" },
	{ "--sync none|interval|always",
	  "durable queue or recorded topic: fdatasync never, every "
	  "--sync-interval-ms (the default), or with every write" },
	{ "--sync-interval-ms MS", "durable queue or recorded topic: the "
				   "group commit's period (default 10)" },
	{ "--segment-bytes SIZE", "durable queue or recorded topic: size of "
				  "one journal file (K, M, G; default 64M)" },
	{ "--topic", "create a topic instead of a queue" },
	{ "--slow-subscriber block|overwrite",
	  "topic: wait for the slowest "
	  "subscriber, or overwrite what it has not read (default block)" },
	{ "--max-subscribers N", "topic: default 64" },
	{ "--max-publishers N", "topic: default 64 (1: a faster path)" },
	{ "--history K", "topic: messages a late subscriber may ask for" },
	{ "--record", "topic: busd records every message on disk, in its "
		      "data_dir, for replay and catch-up" },
	{ "--retain-bytes SIZE", "recorded topic: delete the oldest journal "
				 "files past SIZE (K, M, G; default: keep)" },
	{ "--retain-age AGE", "recorded topic: delete journal files older "
			      "than AGE (s, m, h, d; default: keep)" },
	{ "--owner USER",
	  "who owns it (name or number; default busd's user)" },
	{ "--group GROUP",
	  "its group (name or number; default busd's group)" },
	{ "--mode MODE", "octal permissions, r consumes and observes, w "
			 "produces (default 0660)" },
	{ "--if-not-exists", "a NAME that exists already is success" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_delete[] = {
	{ "--if-empty", "only if it holds no message (a topic: no subscriber "
			"has any left to read)" },
	{ "--if-unused", "only if no producer, consumer, publisher or "
			 "subscriber is attached" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_peek[] = {
	{ "-n, --count COUNT", "show at most COUNT messages (default 10)" },
	{ "--headers", "a '# ...' line of header fields before each payload" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_log[] = {
	{ "-n, --count N", "the last N lines (default 20, at most 128)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_top[] = {
	{ "--interval MS", "redraw every MS milliseconds (default 1000, at "
			   "least 50)" },
	{ "--once", "print one screen and exit" },
	{ "-n, --count COUNT", "print COUNT screens (or JSON snapshots) and "
			       "exit" },
	{ "--sort depth|rate|name", "order of the rows (default name; key s "
				    "cycles)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_bench[] = {
	{ "--size BYTES", "the payload of every case (default 64, a multiple "
			  "of 8)" },
	{ "--count N", "messages per case (default 100000, after a tenth as "
		       "many, at most 10000, to warm up)" },
	{ "--cpus A,B", "the two CPUs to pin to (default: the first two this "
			"process may use)" },
	BUSCTL_END,
};

static const struct busctl_help_option busctl_help_route[] = {
	{ "--from ADDRESS", "add: the address publishers send to" },
	{ "--key PATTERN", "add: match routing keys (* one token, > the "
			   "rest)" },
	{ "--to T[,T...]", "add: the target queues or topics" },
	{ "--header NAME=VALUE", "add: match only messages with this header "
				 "(repeatable)" },
	{ "--delete", "unroutable: remove the address's unroutable target" },
	BUSCTL_END,
};

static const struct busctl_help busctl_helps[] = {
	{ "pub", "NAME [MESSAGE...] [OPTIONS]",
	  "send messages to a queue, topic or routed address",
	  "Sends each MESSAGE argument as one message, or, with none, each "
	  "line of stdin\n(without its newline), to the queue or topic NAME, "
	  "or through the routes\nfrom NAME when it is an address.  A message "
	  "that fails (too large, no room,\na bad header) is reported with its "
	  "argument or line number; busctl goes on\nwith the rest and exits 1 "
	  "at the end.  -- ends the options.",
	  busctl_help_pub,
	  "busctl pub orders \"first order\" \"second order\"\n"
	  "seq 1000 | busctl pub orders --ttl 5000\n"
	  "busctl pub requests --key orders.eu.red --header tier=gold -- -1" },
	{ "request", "SERVICE MESSAGE [OPTIONS]",
	  "send a request and print its reply",
	  "Sends MESSAGE to the queue or topic SERVICE with a correlation id "
	  "and a\nreply-to name, waits for the reply with that id and prints "
	  "it.  SERVICE\nneeds header_room of at least 4 + the reply queue's "
	  "name length.  Exit\nstatus 1 when nothing consumes from SERVICE or "
	  "no reply came in time.",
	  busctl_help_request,
	  "busctl request prices.quote EURUSD --reply-to my-replies --timeout "
	  "2" },
	{ "consume", "QUEUE [OPTIONS]", "print and ack messages of a queue",
	  "Receives one message, prints it and a newline, flushes, and only "
	  "then acks it.\nA message with a key or headers is printed after "
	  "\"[key=K name=value] \"; a\npayload that itself starts with '[' or "
	  "'\\' gets a '\\' in front, so the\nprefix is never ambiguous.  "
	  "--json prints one object per line, payload exact.",
	  busctl_help_consume,
	  "busctl consume orders -n 10 --timeout 5\n"
	  "busctl consume orders --json | jq .payload" },
	{ "sub", "TOPIC|PATTERN [OPTIONS]",
	  "print messages published to topics",
	  "Subscribes and prints each message published after that, as "
	  "consume does.\nA PATTERN ('*' one dot-separated token, '>' the "
	  "rest, last only) takes\nevery matching topic, those created later "
	  "too.  Losses under\nslow_subscriber = overwrite are reported on "
	  "stderr.  --json prints one\nobject per line with the topic it came "
	  "from.\n--from reads a recorded topic's journal from a sequence or a time,\n"
	  "then goes on live without a gap.",
	  busctl_help_sub,
	  "busctl sub prices -n 10\nbusctl sub 'prices.>' --with-topic\n"
	  "busctl sub prices --json --history 8\n"
	  "busctl sub prices --from -10m" },
	{ "ls", "", "list queues and topics",
	  "One row per queue or topic after a header row: name, kind, depth, "
	  "high water,\ncapacity (a topic's depth is its slowest subscriber's "
	  "lag).  --json prints\nan array of objects.",
	  busctl_help_none, "busctl ls\nbusctl ls --json -b trading" },
	{ "stat", "NAME", "show a queue's or topic's figures and settings",
	  "The figures of a queue or topic, its settings, owner, group and "
	  "mode, its\nlatency summary and one row per producer, consumer or "
	  "subscriber.  --json\ngives the same as one object (latencies in "
	  "integer nanoseconds).",
	  busctl_help_none,
	  "busctl stat orders\nbusctl stat orders --json | jq .settings" },
	{ "create", "NAME [OPTIONS]", "create a queue or topic (admin)",
	  "Creates a queue, or with --topic a topic.  Settings left out take "
	  "busd's\ndefaults; queue options with --topic, or topic options "
	  "without it, are\nusage errors.",
	  busctl_help_create,
	  "busctl create orders --slots 4096 --overflow reject\n"
	  "busctl create prices --topic --slow-subscriber overwrite "
	  "--history 8" },
	{ "delete", "NAME [OPTIONS]", "delete a queue or topic (admin)",
	  "Deletes a queue or topic; calls of clients attached to it fail "
	  "with \"the queue\nor topic was deleted\".  busd checks the "
	  "conditions and deletes in one step.",
	  busctl_help_delete, "busctl delete orders --if-empty --if-unused" },
	{ "peek", "QUEUE [OPTIONS]",
	  "show queued messages without taking them",
	  "Prints up to COUNT queued messages, oldest first, as consume "
	  "prints them,\nwithout taking them: the queue and its figures stay "
	  "as they were.  Needs r\non the queue.",
	  busctl_help_peek,
	  "busctl peek orders -n 3 --headers\nbusctl peek orders --json" },
	{ "purge", "QUEUE", "remove every queued message (admin)",
	  "Removes every queued message and prints how many; messages that "
	  "consumers\nhold stay theirs.",
	  busctl_help_none, "busctl purge orders" },
	{ "log", "[OPTIONS]", "busd's last warnings and errors",
	  "busd's last warnings and errors, oldest first, read from shared "
	  "memory: also\nafter busd died.",
	  busctl_help_log, "busctl log -n 5 --json" },
	{ "bridge", "[NAME]", "the figures of the busbridges on this bus",
	  "Each busbridge publishes its figures once a second on its status "
	  "topic\n(busbridge.ORIGIN.CONFIG): state, NATS connection, "
	  "reconnects, and per rule the\nmessages forwarded, failed, dropped, "
	  "in flight and the lag.  NAME picks the\nbridges of an origin "
	  "(busbridge.NAME.*) or a status topic by its name.\nFigures more "
	  "than three intervals old show as stale (a bridge killed with\n-9). "
	  " --json gives one object a bridge.",
	  busctl_help_none, "busctl bridge\nbusctl bridge hostA --json" },
	{ "info", "", "busd's version, pid, configuration, uptime and counts",
	  "What busd says about itself: version, pid, configuration file, "
	  "start time and\nuptime, connections now, queues and topics.  "
	  "--json gives one object.",
	  busctl_help_none, "busctl info\nbusctl info --json" },
	{ "remove-bus", "", "remove a bus whose busd is gone for good",
	  "Removes every segment of the bus, messages and all, and busd's "
	  "socket,\naccess and lock files.  Refused while a busd serves the "
	  "bus.",
	  busctl_help_none, "busctl -b old-bus remove-bus" },
	{ "top", "[OPTIONS]", "live rates, depths and lags",
	  "A live view of every queue and topic: messages in and out per "
	  "second, depth,\nleases, lag, capacity, producers and consumers, "
	  "losses and refusals.  In a\nterminal: q quits, s cycles the sort "
	  "column, j/k scroll a row, PgDn/PgUp a\npage; names are cut to the "
	  "terminal's width.  --json prints one snapshot\nper line (one, "
	  "unless -n).",
	  busctl_help_top,
	  "busctl top --sort depth\nbusctl top --json -n 5 --interval 200" },
	{ "bench", "[OPTIONS]",
	  "the bus's latency and rates beside this host's spin floor",
	  "Measures this host's spin floor (one cache line each way between "
	  "two pinned\nthreads, perf/floor-spin's code), then the bus on the "
	  "running busd: the round\ntrip with each wait strategy (busy, "
	  "spin-futex, futex), streaming through\nan spsc queue with single "
	  "and batch calls, and a topic with one subscriber.\nPrints min, "
	  "p50, p99, p99.9, max and msgs/s, the floor first and each round\n"
	  "trip's ratio to it.  Each case creates and deletes temporary "
	  "queues or a\ntopic (busctl-bench.PID.*), also on SIGINT/SIGTERM.  "
	  "Needs two CPUs and\nadmin rights.  --json: one object per case "
	  "and line, latencies in ns.",
	  busctl_help_bench,
	  "busctl bench --count 20000\nbusctl bench --size 1024 --json" },
	{ "route",
	  "ls | add NAME ... | del NAME | unroutable ADDRESS "
	  "TARGET|--delete",
	  "list, add and delete routes (changes: admin)",
	  "route ls lists routes and unroutable targets.  route add NAME "
	  "--from ADDRESS\n[--key PATTERN] --to T[,T...] [--header NAME=VALUE]"
	  "... sends messages\npublished to ADDRESS whose key and headers "
	  "match to each T.  route del NAME\ndeletes one.  route unroutable "
	  "ADDRESS TARGET says where messages no route\ntakes go; --delete "
	  "instead of TARGET removes that.",
	  busctl_help_route,
	  "busctl route add red --from requests --key '*.red' --to red,audit\n"
	  "busctl route ls --json" },
	{ "record", "NAME DIR [OPTIONS]",
	  "capture a topic's or a queue's messages into a journal",
	  "Writes every message of topic NAME (as a subscriber) or queue NAME "
	  "(as a\nconsumer: it TAKES them, acking each batch once it is on "
	  "disk) into the\njournal directory DIR (made if missing; an "
	  "existing journal is appended to),\nwith sequence, publish time, "
	  "key, reply-to and headers, until SIGINT,\nSIGTERM, COUNT messages "
	  "or the timeout.",
	  busctl_help_record,
	  "busctl record prices /var/tmp/prices -n 100000\n"
	  "busctl record orders ./orders.capture --timeout 60" },
	{ "dump", "PATH|NAME [OPTIONS]", "print the records of a journal",
	  "Prints a journal directory (busctl record's or busd's), one "
	  ".journal file, or\nby NAME (no '/', no such file here) a recorded "
	  "topic's or durable queue's\njournal, which busd hands over (needs "
	  "r on it):\none line per message, SEQUENCE TIME [key=K "
	  "name=value] PAYLOAD (hex: and\nthe bytes in hex when it is not "
	  "text), and \"ack FIRST+COUNT\" lines of a\ndurable queue.  "
	  "--json: one object per record.  A torn tail is reported on\n"
	  "stderr; a corrupt record ends the dump with its file and offset "
	  "(exit 1).\nTIME is 2026-01-31T12:00:00.5Z (UTC), @SECONDS "
	  "since the epoch, or -10m\n(that long before now: s, m, h or d).",
	  busctl_help_dump,
	  "busctl dump /var/tmp/prices -n 20\n"
	  "busctl dump /var/tmp/prices --from 2026-01-31T12:00:00Z --json" },
	{ "replay", "PATH|NAME --into TOPIC [OPTIONS]",
	  "publish a journal's messages into a topic",
	  "Publishes the messages of a journal (as dump reads it: a path, or "
	  "a recorded\ntopic's NAME) into TOPIC, "
	  "oldest\nfirst, with their keys, reply-to, headers and "
	  "correlation ids; the topic gives\nthem new sequences and publish "
	  "times.",
	  busctl_help_replay,
	  "busctl replay /var/tmp/prices --into prices.test --speed 1x\n"
	  "busctl replay /var/tmp/prices --into sim --from 1200 --to 1300\n"
	  "busctl replay prices --into prices.test --from -1h" },
	{ "help", "[COMMAND]", "show this summary, or a command's options",
	  "Without COMMAND, the summary of every command; with one, its "
	  "arguments,\noptions and examples (the same as busctl COMMAND "
	  "--help).",
	  busctl_help_none, "busctl help pub" },
};

#define BUSCTL_HELP_COUNT (sizeof(busctl_helps) / sizeof(busctl_helps[0]))

static const struct busctl_help *busctl_help_find(const char *name)
{
	for (size_t i = 0; i < BUSCTL_HELP_COUNT; i++)
		if (!strcmp(busctl_helps[i].name, name))
			return &busctl_helps[i];
	return NULL;
}

int busctl_help_exists(const char *command)
{
	return busctl_help_find(command) != NULL;
}

static const char busctl_global_options[] =
	"Global options (before or after the command):\n"
	"  -b, --bus NAME       the bus (default: $BUS_NAME, else \"default\")\n"
	"  --json               JSON output (ls, stat, top, peek, consume, "
	"sub,\n"
	"                       log, route ls, request, purge,\n"
	"                       info, dump)\n"
	"  -h, --help           this help\n"
	"  -V, --version        the version\n";

/* Prints "  FLAGS   text" with the text wrapped under a 24-column gutter. */
static void busctl_help_print_option(FILE *out,
				     const struct busctl_help_option *o)
{
	const char *text = o->text;
	int column = fprintf(out, "  %s", o->flags);

	while (*text) {
		size_t room = 76 - 24, length = strlen(text);

		if (length > room) {
			length = room;
			while (length && text[length] != ' ')
				length--;
			if (!length)
				length = room;
		}
		if (column >= 23) {
			fputc('\n', out);
			column = 0;
		}
		fprintf(out, "%*s%.*s\n", 23 - column, "", (int)length, text);
		column = 0;
		text += length;
		while (*text == ' ')
			text++;
	}
	if (!o->text[0])
		fputc('\n', out);
}

void busctl_help_print_command(FILE *out, const char *command)
{
	const struct busctl_help *h = busctl_help_find(command);
	const char *line;

	if (!h)
		return;
	fprintf(out, "Usage: busctl %s%s%s\n\n%s\n", h->name,
		h->synopsis[0] ? " " : "", h->synopsis, h->description);
	if (h->options[0].flags) {
		fputs("\nOptions:\n", out);
		for (const struct busctl_help_option *o = h->options; o->flags;
		     o++)
			busctl_help_print_option(out, o);
	}
	fputc('\n', out);
	fputs(busctl_global_options, out);
	fputs("\nExamples:\n", out);
	for (line = h->examples; *line;) {
		size_t length = strcspn(line, "\n");

		fprintf(out, "  %.*s\n", (int)length, line);
		line += length + (line[length] == '\n');
	}
}

void busctl_help_print_summary(FILE *out)
{
	fputs("Usage: busctl [-b NAME] [--json] COMMAND [ARGS...]\n\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < BUSCTL_HELP_COUNT; i++)
		fprintf(out, "  %-12s %s\n", busctl_helps[i].name,
			busctl_helps[i].summary);
	fputc('\n', out);
	fputs(busctl_global_options, out);
	fputs("\n'busctl help COMMAND' or 'busctl COMMAND --help' shows a "
	      "command's arguments,\noptions and examples.  Use -- to end "
	      "options: busctl pub orders -- -1.\nExit status: 0 ok, 1 error "
	      "(or consume timed out short of COUNT), 2 usage.\n",
	      out);
}

int busctl_help(struct busctl *ctl, int argc, char **argv)
{
	(void)ctl;
	if (argc > 2)
		return busctl_usage_error(
			"help: expected at most one COMMAND");
	if (argc < 2) {
		busctl_help_print_summary(stdout);
		return busctl_flush_stdout();
	}
	if (!busctl_help_find(argv[1]))
		return busctl_usage_error("help: no command '%s'; 'busctl "
					  "help' lists them",
					  argv[1]);
	busctl_help_print_command(stdout, argv[1]);
	return busctl_flush_stdout();
}
