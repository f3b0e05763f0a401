/* SPDX-License-Identifier: MIT */
/* A sentence for a failed check (detail.h). */
#include <stdarg.h>
#include <stdio.h>

#include "detail.h"

int bus__detail(char *detail, size_t detail_size, int error,
		const char *format, ...)
{
	va_list args;

	if (detail && detail_size) {
		va_start(args, format);
		vsnprintf(detail, detail_size, format, args);
		va_end(args);
	}
	return error;
}
