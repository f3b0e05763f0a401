/* SPDX-License-Identifier: MIT */
/* busctl log: busd's last warnings and errors, from shared memory. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "busctl.h"

static void busctl_log_time(uint64_t realtime_ns, char *buf, size_t size)
{
	time_t seconds = (time_t)(realtime_ns / 1000000000u);
	struct tm tm;

	if (!gmtime_r(&seconds, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%" PRIu64, realtime_ns);
}

static void busctl_log_print(const struct bus_log_record *r, int json,
			     int first)
{
	const char *level = r->level == BUS_LOG_ERROR ? "error" : "warning";
	char when[64];

	busctl_log_time(r->realtime_ns, when, sizeof(when));
	if (!json) {
		printf("%s %s %s\n", when, level, r->text);
		return;
	}
	printf("%s\n  {\"line\": %" PRIu64 ", \"time\": \"%s\", "
	       "\"level\": \"%s\", \"text\": ",
	       first ? "" : ",", r->line, when, level);
	busctl_json_string(stdout, r->text);
	putchar('}');
}

int busctl_log(struct busctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct bus_log_record *records;
	uint32_t count = 20;
	int json = ctl->json, got, c;

	while ((c = getopt_long(argc, argv, ":n:", options, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'n' && !busctl_parse_u32(optarg, &count) &&
			 count)
			continue;
		else if (c == 'n')
			return busctl_usage_error("log: -n takes a count of "
						  "lines, 1 or more");
		else
			return busctl_bad_option("log", c, argv);
	}
	if (optind < argc)
		return busctl_usage_error("log: unexpected '%s'",
					  argv[optind]);
	if (count > 128) /* the log holds no more */
		count = 128;
	records = calloc(count, sizeof(*records));
	if (!records)
		return busctl_error("log: out of memory");
	got = bus_log_read(ctl->bus_name, records, count);
	if (got == -ENOENT) {
		free(records);
		return busctl_error("log: bus '%s' has no error log (no busd "
				    "ran, or it stopped cleanly)",
				    ctl->bus_name);
	}
	if (got < 0) {
		free(records);
		return busctl_error("log %s: %s", ctl->bus_name,
				    bus_strerror(got));
	}
	if (json)
		fputs("[", stdout);
	for (int i = 0; i < got; i++)
		busctl_log_print(&records[i], json, i == 0);
	if (json)
		fputs(got ? "\n]\n" : "]\n", stdout);
	free(records);
	return busctl_flush_stdout();
}
