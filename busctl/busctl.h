/* SPDX-License-Identifier: MIT */
/*
 * busctl: the operator's command line.  Internal header shared by the
 * command files; busctl uses only the public API of include/bus/bus.h.
 */
#ifndef BUSCTL_H
#define BUSCTL_H

#include <stdint.h>
#include <stdio.h>

#include "bus/bus.h"

/* Exit statuses. */
#define BUSCTL_EXIT_OK 0
#define BUSCTL_EXIT_ERROR 1
#define BUSCTL_EXIT_USAGE 2

/* What every command gets: the bus to talk to and, once connected, the
 * connection. */
struct busctl {
	const char *bus_name;
	bus_t *bus;
	int json; /* --json, anywhere on the line */
};

/* One command: its name and entry point.  run() gets argv[0] == name and
 * returns an exit status. */
struct busctl_command {
	const char *name;
	int (*run)(struct busctl *ctl, int argc, char **argv);
};

int busctl_pub(struct busctl *ctl, int argc, char **argv);
int busctl_consume(struct busctl *ctl, int argc, char **argv);
int busctl_ls(struct busctl *ctl, int argc, char **argv);
int busctl_stat(struct busctl *ctl, int argc, char **argv);
int busctl_create(struct busctl *ctl, int argc, char **argv);
int busctl_delete(struct busctl *ctl, int argc, char **argv);

/* The live attachments of a queue (attachments.c), for stat. */
struct busctl_attachments {
	struct bus_attachment_stats *items;
	uint32_t count;
	struct bus_latency latency; /* every consumer so far */
};

int busctl_read_attachments(struct busctl *ctl, const char *name,
			    struct busctl_attachments *a);
void busctl_attachments_free(struct busctl_attachments *a);
void busctl_attachments_print_text(const struct busctl_attachments *a);
/* A latency summary: a JSON object, or one "latency ..." line. */
void busctl_latency_print_json(const struct bus_latency *l);
void busctl_latency_print_text(const struct bus_latency *l, int width);
/* ",\n  \"attachments\": [...]", inside stat's JSON object. */
void busctl_attachments_print_json(const struct busctl_attachments *a);
int busctl_remove_bus(struct busctl *ctl, int argc, char **argv);
int busctl_log(struct busctl *ctl, int argc, char **argv);
int busctl_sub(struct busctl *ctl, int argc, char **argv);
int busctl_peek(struct busctl *ctl, int argc, char **argv);
int busctl_purge(struct busctl *ctl, int argc, char **argv);
int busctl_top(struct busctl *ctl, int argc, char **argv);
int busctl_route(struct busctl *ctl, int argc, char **argv);
int busctl_bench(struct busctl *ctl, int argc, char **argv);
int busctl_info(struct busctl *ctl, int argc, char **argv);
int busctl_bridge(struct busctl *ctl, int argc, char **argv);
/* record.c, dump.c, replay.c: journals (libbus/journal/). */
int busctl_record(struct busctl *ctl, int argc, char **argv);
int busctl_dump(struct busctl *ctl, int argc, char **argv);
int busctl_replay(struct busctl *ctl, int argc, char **argv);

/*
 * subscribe.c: the kind (BUS_SEGMENT_QUEUE or BUS_SEGMENT_TOPIC) of name,
 * looked up in busd's list: 0, -ENOENT when there is none, or another
 * error.  Needs ctl->bus.
 */
int busctl_kind_of(struct busctl *ctl, const char *name, uint32_t *kind);

/* ---- help.c: usage texts -------------------------------------------- */

int busctl_help(struct busctl *ctl, int argc, char **argv);
/* 1 when help.c has a usage text for command. */
int busctl_help_exists(const char *command);
/* `busctl help COMMAND`: synopsis, options, examples. */
void busctl_help_print_command(FILE *out, const char *command);
/* `busctl --help`: every command on one line. */
void busctl_help_print_summary(FILE *out);

/* request.c: busctl request SERVICE MESSAGE. */
int busctl_request(struct busctl *ctl, int argc, char **argv);

/* ---- main.c: errors and connection ------------------------------------ */

/*
 * Prints "busctl: WHAT: bus_strerror(error)" and, when the connection has
 * one, ": DETAIL", as one line on stderr.  Returns BUSCTL_EXIT_ERROR.
 */
int busctl_fail(const struct busctl *ctl, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "busctl: MESSAGE" on stderr.  Returns BUSCTL_EXIT_ERROR. */
int busctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "busctl: MESSAGE (see 'busctl --help')".  Returns
 * BUSCTL_EXIT_USAGE. */
int busctl_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Connects ctl->bus; on failure prints the error line and returns it. */
int busctl_connect(struct busctl *ctl);

/* Disconnects ctl->bus if connected. */
void busctl_disconnect(struct busctl *ctl);

/*
 * Reports the option getopt_long() just refused ("" as command for the
 * global options): c is what it returned,
 * '?' or ':' (the option strings start with ':' and opterr is off).  One
 * usage line; returns BUSCTL_EXIT_USAGE.
 */
int busctl_bad_option(const char *command, int c, char **argv);

/* Flushes stdout; 0, or reports a write error and returns 1. */
int busctl_flush_stdout(void);

/* ---- main.c: SIGINT and SIGTERM -------------------------------------- */

/*
 * Installs handlers for SIGINT and SIGTERM that only record the signal,
 * without SA_RESTART, so that a blocked library call returns -EINTR and a
 * command can stop between messages instead of dying in the middle of one.
 */
void busctl_catch_stop_signals(void);

/* Non-zero once SIGINT or SIGTERM arrived. */
int busctl_stop_requested(void);

/*
 * The longest a blocking call waits before busctl looks at the stop flag
 * again.  A signal that lands after the check and before the library goes
 * to sleep is then noticed this late at worst; a message still wakes the
 * call at once.
 */
#define BUSCTL_WAIT_SLICE_NS ((int64_t)200 * 1000 * 1000)

/*
 * How long the next wait may block for an absolute CLOCK_MONOTONIC
 * deadline (negative: none): at most BUSCTL_WAIT_SLICE_NS, and 0
 * (BUS_NOWAIT, one last look) once the deadline has passed.
 */
int64_t busctl_wait_ns(int64_t deadline_ns);

/* The absolute deadline timeout_ns from now; BUS_FOREVER gives -1. */
int64_t busctl_deadline(int64_t timeout_ns);

/* 0 for a valid queue name, else an error line and BUSCTL_EXIT_ERROR. */
int busctl_check_name(const char *command, const char *name);

/* ---- arena.c: packed queues and topics --------------------------------- */

/* The arena's size in bytes (0: fixed cells, no arena). */
uint32_t busctl_queue_arena_bytes(const struct bus_queue_settings *s);
uint32_t busctl_topic_arena_bytes(const struct bus_topic_settings *s);
/* The most key and headers bytes one message may carry: header_room, or
 * a packed segment's limit (512 when header_room is 0). */
uint32_t busctl_queue_extension_room(const struct bus_queue_settings *s);
uint32_t busctl_topic_extension_room(const struct bus_topic_settings *s);

/* ---- format.c: parsing and printing ------------------------------------ */

/* Parses a decimal count into *out: 0, or -EINVAL / -ERANGE. */
int busctl_parse_u32(const char *text, uint32_t *out);
int busctl_parse_u64(const char *text, uint64_t *out);

/*
 * Parses a non-negative number of seconds (fractions allowed) into
 * nanoseconds: 0 or -EINVAL.
 */
int busctl_parse_seconds(const char *text, int64_t *ns);

/* "mpmc"/"spsc" and "block"/"reject"/"drop-oldest", both ways. */
int busctl_parse_queue_type(const char *text, uint32_t *type);
int busctl_parse_overflow(const char *text, uint32_t *overflow);
const char *busctl_queue_type_name(uint32_t type);
const char *busctl_overflow_name(uint32_t overflow);
const char *busctl_kind_name(uint32_t kind);
/* "block"/"overwrite", both ways. */
int busctl_parse_slow_subscriber(const char *text, uint32_t *policy);
const char *busctl_slow_subscriber_name(uint32_t policy);

/* ---- json.c: JSON output ------------------------------------------------ */

/* Writes text as a JSON string, quotes included. */
void busctl_json_string(FILE *out, const char *text);
/* The same for length bytes that are valid UTF-8 (NULs allowed). */
void busctl_json_bytes(FILE *out, const void *data, size_t length);
/* 1 when the bytes are valid UTF-8. */
int busctl_utf8_valid(const void *data, size_t length);
/* "encoding": "utf8"|"base64", "payload": "..." (no braces). */
void busctl_json_payload(FILE *out, const void *data, size_t length);
/* ', "key": ..., "reply_to": ..., "headers": {...}' of a received view
 * (nothing for NULL). */
void busctl_json_meta(FILE *out, const struct bus_message *message);
/*
 * One message as one JSON object and a newline: where ("queue" or
 * "topic") and name, the header's fields, key, reply_to and headers from
 * message (NULL: none known), and the payload.
 */
void busctl_json_message(FILE *out, const char *where, const char *name,
			 const struct bus_message_header *header,
			 const struct bus_message *message,
			 const void *payload, size_t length);

/* ---- units.c: human units ------------------------------------------------ */

/* "523 ns", "1.20 µs", "7.52 s" into out; returns out. */
const char *busctl_format_ns(char *out, size_t size, uint64_t ns);
/* " %10s" of busctl_format_ns(), a table column; buf holds the text. */
void busctl_print_ns_column(uint64_t ns, char *buf, size_t size);
/* "12", "12.5", "10.0k", "1.25M" into out; returns out. */
const char *busctl_format_count(char *out, size_t size, double value);

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t busctl_now_ns(void);

/* ---- message_meta.c: keys and headers ---------------------------------- */

struct busctl_meta {
	const char *key;
	const char *reply_to; /* pub --reply */
	int64_t ttl_ns;	      /* pub --ttl; 0: none */
	uint64_t correlation; /* pub --correlation; 0: none */
	unsigned int count;
	const char *names[BUS_MESSAGE_HEADERS_MAX];
	const char *values[BUS_MESSAGE_HEADERS_MAX];
};

/* Splits "name=value" in place and adds it: 0, -EINVAL, -E2BIG. */
int busctl_meta_add_header(struct busctl_meta *meta, char *pair);
/* 1 when there is neither key nor header: send the plain way. */
int busctl_meta_empty(const struct busctl_meta *meta);
/* Sets the key and headers on a loan. */
int busctl_meta_apply(const struct busctl_meta *meta,
		      struct bus_message *message);
/* Sends one message with them to the queue or (if not NULL) the topic. */
int busctl_meta_send(const struct busctl_meta *meta, bus_queue_t *queue,
		     bus_topic_t *topic, const void *data, size_t length,
		     int64_t timeout_ns);
/* route.c: 1 when a route or unroutable entry starts at name. */
int busctl_route_is_address(struct busctl *ctl, const char *name);
/* Sends one message through an address; a line on stderr per target
 * that did not take it.  0 when every target took it, else an error. */
int busctl_route_send(struct busctl *ctl, bus_address_t *address,
		      const char *name, const struct busctl_meta *meta,
		      const void *data, size_t length, int64_t timeout_ns);
/* Prints "[key=K name=value] " for a message that has any; 0 or -EBADMSG. */
int busctl_meta_print(const struct bus_message *message, FILE *out);
/* The payload; a leading '[' or backslash gets a backslash in front.
 * 0 or -errno. */
int busctl_print_payload_text(FILE *out, const void *payload, size_t length);
/* consume's and sub's line: "FROM\t" if from, the prefix, the payload,
 * a newline, flushed.  0 or -errno. */
int busctl_print_message(const struct bus_message *message, const char *from);

#endif /* BUSCTL_H */
