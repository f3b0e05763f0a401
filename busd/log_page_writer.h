/* SPDX-License-Identifier: MIT */
/* busd writes the error log page that busctl log reads (core/error_log.h). */
#ifndef BUSD_LOG_PAGE_WRITER_H
#define BUSD_LOG_PAGE_WRITER_H

#include <stdint.h>

#include "error_log.h"

/* Appends a line (the caller serialises writers: busd's log lock). */
void busd_log_append(struct bus_log_page *page, uint64_t realtime_ns,
		     uint32_t level, const char *text);

#endif /* BUSD_LOG_PAGE_WRITER_H */
