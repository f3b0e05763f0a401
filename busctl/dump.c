/* SPDX-License-Identifier: MIT */
/*
 * busctl dump PATH|NAME [-n COUNT] [--from SEQ|TIME] [--to SEQ|TIME]
 *
 * Prints a journal (a directory busctl record or busd wrote, one .journal
 * file of it, or by NAME a recorded topic's or durable queue's journal as
 * busd hands it over: journal_source.c), oldest record first, every CRC
 * checked:
 *
 *   SEQUENCE TIME [key=K reply-to=R name=value] PAYLOAD
 *
 * one line per message (the payload as consume prints it when it is
 * UTF-8 text without line breaks, else "hex:" and its bytes in hex), and
 * "ack FIRST+COUNT ..." for a durable queue's acks.  --json prints one
 * object per record.  A torn tail is reported on stderr; a corrupt
 * record ends the dump with the file and offset, exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "journal_cli.h"

struct busctl_dumper {
	struct busctl *ctl;
	const char *path;
	uint64_t count;
	uint64_t from, to;
	int from_time, to_time, has_from, has_to;
	uint64_t printed;
	struct busctl_journal_source source;
	struct busctl_journal_view view;
};

static int printable_line(const uint8_t *p, uint32_t n)
{
	if (!busctl_utf8_valid(p, n))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\t')
			return 0;
	return 1;
}

static void busctl_dump_text(struct busctl_dumper *d,
			     const struct bus_journal_message *m)
{
	char when[48];
	const uint8_t *p = m->payload;

	printf("%" PRIu64 " %s ", m->sequence,
	       busctl_journal_format_time(when, sizeof(when), m->time_ns));
	if (busctl_journal_view(&d->view, m) == 0)
		busctl_meta_print(&d->view.message, stdout);
	if (printable_line(p, m->payload_length)) {
		busctl_print_payload_text(stdout, p, m->payload_length);
	} else {
		fputs("hex:", stdout);
		for (uint32_t i = 0; i < m->payload_length; i++)
			printf("%02x", p[i]);
	}
	putchar('\n');
}

static void busctl_dump_json(struct busctl_dumper *d,
			     const struct bus_journal_message *m)
{
	char when[48];

	printf("{\"record\": \"message\", \"sequence\": %" PRIu64
	       ", \"time_ns\": %" PRIu64 ", \"time\": \"%s\""
	       ", \"correlation_id\": %" PRIu64
	       ", \"delivery_count\": %" PRIu32 ", \"redelivered\": %s",
	       m->sequence, m->time_ns,
	       busctl_journal_format_time(when, sizeof(when), m->time_ns),
	       m->correlation_id, m->delivery_count,
	       m->flags & BUS_MESSAGE_REDELIVERED ? "true" : "false");
	if (busctl_journal_view(&d->view, m) == 0)
		busctl_json_meta(stdout, &d->view.message);
	printf(", \"length\": %" PRIu32 ", ", m->payload_length);
	busctl_json_payload(stdout, m->payload, m->payload_length);
	fputs("}\n", stdout);
}

static void busctl_dump_acks(const struct busctl_dumper *d,
			     const struct bus_journal_entry *e)
{
	if (d->ctl->json) {
		fputs("{\"record\": \"ack\", \"ranges\": [", stdout);
		for (uint32_t i = 0; i < e->range_count; i++)
			printf("%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "",
			       e->ranges[i].first, e->ranges[i].count);
		fputs("]}\n", stdout);
		return;
	}
	fputs("ack", stdout);
	for (uint32_t i = 0; i < e->range_count; i++)
		printf(" %" PRIu64 "+%" PRIu64, e->ranges[i].first,
		       e->ranges[i].count);
	putchar('\n');
}

static const char *busctl_dump_gap_reason(uint32_t reason)
{
	switch (reason) {
	case BUS_JOURNAL_GAP_CORRUPT:
		return "corrupt";
	case BUS_JOURNAL_GAP_OVERWRITTEN:
		return "overwritten";
	default:
		return "unknown";
	}
}

/* Sequences the recorder could not record (journal.h, GAP): "gap
 * FIRST+COUNT REASON TIME", as acks' ranges are written. */
static void busctl_dump_gap(const struct busctl_dumper *d,
			    const struct bus_journal_gap *gap)
{
	char when[48];

	busctl_journal_format_time(when, sizeof(when), gap->time_ns);
	if (d->ctl->json)
		printf("{\"record\": \"gap\", \"first\": %" PRIu64
		       ", \"count\": %" PRIu64 ", \"reason\": \"%s\""
		       ", \"time_ns\": %" PRIu64 ", \"time\": \"%s\"}\n",
		       gap->first, gap->count,
		       busctl_dump_gap_reason(gap->reason), gap->time_ns,
		       when);
	else
		printf("gap %" PRIu64 "+%" PRIu64 " %s %s\n", gap->first,
		       gap->count, busctl_dump_gap_reason(gap->reason), when);
}

/* 1 while before --to. */
static int busctl_dump_before_end(const struct busctl_dumper *d,
				  const struct bus_journal_message *m)
{
	if (!d->has_to)
		return 1;
	return d->to_time ? m->time_ns <= d->to : m->sequence <= d->to;
}

static int busctl_dump_loop(struct busctl_dumper *d,
			    struct bus_journal_reader *r)
{
	struct bus_journal_entry e;
	char detail[600] = "", named[sizeof(detail) + 4096];
	int ret;

	while (d->printed < d->count &&
	       (ret = bus_journal_next(r, &e, detail, sizeof(detail))) == 1) {
		if (e.type == BUS_JOURNAL_RECORD_ACK) {
			busctl_dump_acks(d, &e);
		} else if (e.type == BUS_JOURNAL_RECORD_GAP) {
			if (d->has_to && (d->to_time ? e.gap.time_ns > d->to
						     : e.gap.first > d->to))
				break;
			busctl_dump_gap(d, &e.gap);
		} else if (e.type == BUS_JOURNAL_RECORD_MESSAGE) {
			if (!busctl_dump_before_end(d, &e.message))
				break;
			if (d->ctl->json)
				busctl_dump_json(d, &e.message);
			else
				busctl_dump_text(d, &e.message);
			d->printed++;
		}
		if (ferror(stdout) || busctl_stop_requested())
			break;
	}
	if (d->printed < d->count && ret < 0)
		return busctl_error(
			"dump %s: %s: %s", d->path,
			ret == -EBADMSG ? "corrupt journal" : strerror(-ret),
			busctl_journal_detail(&d->source, detail, named,
					      sizeof(named)));
	return 0;
}

static int busctl_dump_parse(struct busctl_dumper *d, int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":n:", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (busctl_parse_u64(optarg, &d->count))
				return busctl_usage_error("dump: bad -n '%s'",
							  optarg);
			break;
		case 'f':
			if (busctl_journal_parse_position(optarg, &d->from,
							  &d->from_time))
				return busctl_usage_error(
					"dump: bad --from '%s': a sequence or "
					"a time (2026-01-31T12:00:00Z, "
					"@SECONDS)",
					optarg);
			d->has_from = 1;
			break;
		case 'T':
			if (busctl_journal_parse_position(optarg, &d->to,
							  &d->to_time))
				return busctl_usage_error(
					"dump: bad --to '%s': a sequence or a "
					"time (2026-01-31T12:00:00Z, @SECONDS)",
					optarg);
			d->has_to = 1;
			break;
		default:
			return busctl_bad_option("dump", c, argv);
		}
	}
	if (optind >= argc)
		return busctl_usage_error("dump: missing PATH or NAME");
	d->path = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("dump: unexpected '%s'",
					  argv[optind]);
	return -1;
}

int busctl_dump(struct busctl *ctl, int argc, char **argv)
{
	static struct busctl_dumper d;
	struct bus_journal_recovery rec;
	struct bus_journal_reader *r;
	int status, err = 0;

	memset(&d, 0, sizeof(d));
	d.ctl = ctl;
	d.count = UINT64_MAX;
	status = busctl_dump_parse(&d, argc, argv);
	if (status >= 0)
		return status;
	signal(SIGPIPE, SIG_IGN);
	busctl_catch_stop_signals();
	if (busctl_journal_open(ctl, "dump", d.path, &r, &d.source) < 0)
		return BUSCTL_EXIT_ERROR;
	if (d.has_from)
		err = d.from_time ? bus_journal_seek_time(r, d.from)
				  : bus_journal_seek_sequence(r, d.from);
	if (err < 0)
		status = busctl_error("dump %s: %s", d.path, strerror(-err));
	else
		status = busctl_dump_loop(&d, r);
	bus_journal_reader_recovery(r, &rec);
	if (status == 0 && rec.torn_bytes)
		busctl_error("dump %s: a torn tail of %" PRIu64 " bytes at "
			     "the end (a write cut short by a crash) is not "
			     "shown",
			     d.path, rec.torn_bytes);
	bus_journal_reader_close(r);
	busctl_journal_source_close(&d.source);
	if (status == 0)
		status = busctl_flush_stdout();
	return status;
}
