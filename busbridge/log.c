/* SPDX-License-Identifier: MIT */
/* One line per event on stderr, which journald keeps under systemd. */
#include <stdarg.h>
#include <stdio.h>

#include "bridge.h"

void bridge_log(const char *format, ...)
{
	char line[512];
	va_list args;

	/* One write per line, so that threads never interleave halves. */
	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	fprintf(stderr, "busbridge: %s\n", line);
}
