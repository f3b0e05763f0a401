/* SPDX-License-Identifier: MIT */
/*
 * busd's log functions for fuzz_config and fuzz_requests, without the
 * output: a fuzzer runs the parser or a handler millions of times, and a
 * line on stderr for each mistake in its input would cost more than the
 * work.  The messages are still formatted, so their format strings and
 * arguments are exercised; nothing goes to the error log page either.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void busd_log_init(const char *bus_name, bool verbose)
{
	(void)bus_name;
	(void)verbose;
}

static void quiet_format(const char *format, va_list args)
{
	char text[1024];

	vsnprintf(text, sizeof(text), format, args);
}

void busd_log(enum busd_log_level level, const char *format, ...)
{
	va_list args;

	(void)level;
	va_start(args, format);
	quiet_format(format, args);
	va_end(args);
}

void busd_refuse(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	quiet_format(format, args);
	va_end(args);
}

void busd_log_attach(struct bus_log_page *page)
{
	(void)page;
}

/* reload.c sets the level on SIGHUP; nothing to set here. */
void busd_log_set_level(enum busd_log_level level)
{
	(void)level;
}
