/* SPDX-License-Identifier: MIT */
/*
 * busd's end of the error log in shared memory (libbus/core/error_log.h): the
 * page is made, or taken over from a busd that died (its lines stay, so a
 * crash can be read about after the restart), and every warning and error
 * busd logs is also appended to it.  A clean stop unlinks it.
 */
#ifndef BUSD_LOG_PAGE_H
#define BUSD_LOG_PAGE_H

struct bus_log_page;

/* 0, or a negative errno (busd goes on without the page). */
int busd_error_log_open(const char *bus_name, struct bus_log_page **out);

/* Stops appending; unlinks the page when unlink is set. */
void busd_error_log_close(const char *bus_name, struct bus_log_page *page,
			  int unlink);

#endif /* BUSD_LOG_PAGE_H */
