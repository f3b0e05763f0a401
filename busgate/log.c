/* SPDX-License-Identifier: MIT */
/* busgate's log: one line per event on stderr (the journal under
 * systemd).  Levels: 0 errors, 1 connections and start-up, 2 frames. */
#include <stdarg.h>
#include <stdio.h>

#include "gate.h"

int gate_log_level = 1;

void gate_log(int level, const char *format, ...)
{
	va_list args;

	if (level > gate_log_level)
		return;
	fputs("busgate: ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
}
