/* SPDX-License-Identifier: MIT */
/*
 * busd's messages, all on stderr.
 *
 * While busd runs, every line names the bus it serves, so that several
 * daemons can share one terminal or journal: "busd[orders]: warning: ...".
 * A refusal to start reads like any command's error, "busd: ...", because
 * the operator who typed the command is the one reading it.
 */
#ifndef BUSD_LOG_H
#define BUSD_LOG_H

#include <stdbool.h>

enum busd_log_level {
	BUSD_LOG_ERROR = 0,
	BUSD_LOG_WARNING = 1,
	BUSD_LOG_INFO = 2,
	BUSD_LOG_DEBUG = 3,
};

/*
 * Sets the bus name of the prefix; debug lines only when verbose.  When
 * stderr is the journal's stream (JOURNAL_STREAM names it, as systemd
 * sets it for a service), every line starts with its syslog priority,
 * "<3>" to "<7>", which journald reads as the entry's priority.
 */
void busd_log_init(const char *bus_name, bool verbose);

/* Lines above level are left out (default: info; -v: debug). */
void busd_log_set_level(enum busd_log_level level);

/* "error", "warning", "info" or "debug" as a level; -EINVAL otherwise. */
int busd_log_level_parse(const char *text);

/* The name of a level, as busd_log_level_parse() reads it. */
const char *busd_log_level_name(int level);

void busd_log(enum busd_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Warnings and errors also go to page (libbus/core/error_log.h, appended
 * by busd/log_page_writer.c); NULL stops. */
struct bus_log_page;
void busd_log_attach(struct bus_log_page *page);

/* A reason not to start: "busd: " and the sentence. */
void busd_refuse(const char *format, ...)
	__attribute__((format(printf, 1, 2)));

#define busd_error(...) busd_log(BUSD_LOG_ERROR, __VA_ARGS__)
#define busd_warning(...) busd_log(BUSD_LOG_WARNING, __VA_ARGS__)
#define busd_info(...) busd_log(BUSD_LOG_INFO, __VA_ARGS__)
#define busd_debug(...) busd_log(BUSD_LOG_DEBUG, __VA_ARGS__)

#endif /* BUSD_LOG_H */
