/* SPDX-License-Identifier: MIT */
/*
 * What busctl record, dump and replay share (journal_cli.c): a journal
 * message's extension bytes (the header room's format, layout.h) as a
 * view the bus_message_key() family reads and as pub's key and headers;
 * times on the command line.
 */
#ifndef BUSCTL_JOURNAL_CLI_H
#define BUSCTL_JOURNAL_CLI_H

#include <stdint.h>

#include "busctl.h"
#include "fd_dir.h"
#include "journal.h"

/* A journal message's extension as a view of a slot: header, room. */
struct busctl_journal_view {
	struct bus_message message;
	struct bus_message_header header;
	uint8_t room[BUS_QUEUE_HEADER_ROOM_MAX + BUS_CACHE_LINE];
};

/* Fills v from m (payload left out); -EBADMSG when the extension is
 * larger than any header room. */
int busctl_journal_view(struct busctl_journal_view *v,
			const struct bus_journal_message *m);

/* The key, reply-to and headers of a view as pub's, into strings of
 * store (valid while store is); 0 or -EBADMSG. */
struct busctl_journal_strings {
	char key[BUS_MESSAGE_KEY_MAX + 1];
	char reply_to[BUS_NAME_MAX + 1];
	char names[BUS_MESSAGE_HEADERS_MAX][BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char values[BUS_MESSAGE_HEADERS_MAX][BUS_MESSAGE_HEADER_VALUE_MAX + 1];
};
int busctl_journal_meta(const struct busctl_journal_view *v,
			struct busctl_journal_strings *store,
			struct busctl_meta *meta);

/* A received message's extension bytes (from its view) into out, which
 * holds BUS_QUEUE_HEADER_ROOM_MAX bytes: their length. */
uint32_t busctl_journal_extension(const struct bus_message *message,
				  uint8_t *out);

/* CLOCK_REALTIME of a CLOCK_MONOTONIC publish time (0: now). */
uint64_t busctl_journal_wall_ns(uint64_t monotonic_ns);

/* "2026-12-07T19:00:00.123456789Z" into out. */
const char *busctl_journal_format_time(char *out, size_t size,
				       uint64_t wall_ns);

/*
 * --from/--to: a sequence (digits) or a time (ISO 8601 in UTC,
 * YYYY-MM-DDTHH:MM:SS[.fraction][Z], @SECONDS[.fraction] since the
 * epoch, or -N[s|m|h|d] that long before now).  0 and *is_time, or
 * -EINVAL.
 */
int busctl_journal_parse_position(const char *text, uint64_t *value,
				  int *is_time);

/* Where a journal is read from (journal_source.c): the directory busd
 * handed over for a name (dir.fd -1 for a path: read as it is). */
struct busctl_journal_source {
	struct bus_journal_fd_dir dir;
};

/*
 * Opens the journal WHAT for reading (journal_source.c): a path, or the
 * name of a recorded topic or durable queue (connecting to busd if need
 * be), through its directory's descriptor.  0, or a negative errno once
 * the failure is printed as "COMMAND: ...".  Close the reader, then
 * busctl_journal_source_close().
 */
int busctl_journal_open(struct busctl *ctl, const char *command,
			const char *what, struct bus_journal_reader **reader,
			struct busctl_journal_source *source);

/* The reader's detail sentence with the directory's real name where it
 * says /proc/self/fd/N (a path's sentences as they are), in out. */
const char *busctl_journal_detail(const struct busctl_journal_source *source,
				  const char *detail, char *out, size_t size);

void busctl_journal_source_close(struct busctl_journal_source *source);

#endif /* BUSCTL_JOURNAL_CLI_H */
