/* SPDX-License-Identifier: MIT */
/*
 * Log level names, for -l and [bus] log_level.  Apart from log.c so that
 * the configuration parser's fuzzer, which replaces log.c, has them too.
 */
#include <errno.h>
#include <string.h>

#include "log.h"

static const char *const busd_log_names[] = {
	[BUSD_LOG_ERROR] = "error",
	[BUSD_LOG_WARNING] = "warning",
	[BUSD_LOG_INFO] = "info",
	[BUSD_LOG_DEBUG] = "debug",
};

int busd_log_level_parse(const char *text)
{
	for (int i = BUSD_LOG_ERROR; i <= BUSD_LOG_DEBUG; i++)
		if (!strcmp(text, busd_log_names[i]))
			return i;
	return -EINVAL;
}

const char *busd_log_level_name(int level)
{
	if (level < BUSD_LOG_ERROR || level > BUSD_LOG_DEBUG)
		return "unknown";
	return busd_log_names[level];
}
