/* SPDX-License-Identifier: MIT */
/* busd's messages on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "bus/layout.h"
#include "log.h"

static char busd_log_bus[BUS_NAME_MAX + 1] = "default";
static enum busd_log_level busd_log_threshold = BUSD_LOG_INFO;

static const char *const busd_log_labels[] = {
	[BUSD_LOG_ERROR] = "error: ",
	[BUSD_LOG_WARNING] = "warning: ",
	[BUSD_LOG_INFO] = "",
	[BUSD_LOG_DEBUG] = "debug: ",
};

void busd_log_init(const char *bus_name, bool verbose)
{
	snprintf(busd_log_bus, sizeof(busd_log_bus), "%s", bus_name);
	busd_log_threshold = verbose ? BUSD_LOG_DEBUG : BUSD_LOG_INFO;
}

/*
 * One fprintf per line: stderr is unbuffered, so a line written in pieces
 * could interleave with another process writing to the same terminal.
 */
static void busd_log_line(const char *prefix, const char *label,
			  const char *format, va_list args)
{
	char text[1024];

	vsnprintf(text, sizeof(text), format, args);
	fprintf(stderr, "%s%s%s\n", prefix, label, text);
}

void busd_log(enum busd_log_level level, const char *format, ...)
{
	char prefix[BUS_NAME_MAX + 16];
	va_list args;

	if (level > busd_log_threshold)
		return;
	snprintf(prefix, sizeof(prefix), "busd[%s]: ", busd_log_bus);
	va_start(args, format);
	busd_log_line(prefix, busd_log_labels[level], format, args);
	va_end(args);
}

void busd_refuse(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	busd_log_line("busd: ", "", format, args);
	va_end(args);
}
