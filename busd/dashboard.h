/* SPDX-License-Identifier: MIT */
/*
 * The live dashboard: a page (busd/dashboard/index.html, embedded in busd
 * at build time, no external assets) and the JSON it polls every second,
 * served by the metrics thread (metrics.h) at the metrics address and,
 * with [bus] dashboard = ADDRESS:PORT, at a listener of its own:
 *
 *   GET /            the page
 *   GET /api/state   every queue and topic: counters, depth or lag,
 *                    producers, consumers and subscribers, and each
 *                    consumer's and subscriber's latency histogram
 *
 * The figures are the ones /metrics serves, copied out of shared memory
 * under the same registry lock (dashboard_snapshot.c) and formatted after
 * it is let go.  The page works out the rates from two successive states
 * and their now_ns, so busd keeps no history.
 */
#ifndef BUSD_DASHBOARD_H
#define BUSD_DASHBOARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

struct busd_catalog;

/*
 * Serves url if it is one of the dashboard's: sets *result and returns
 * true; false for any other url.  lock is the metrics' registry lock.
 */
bool busd_dashboard_serve(struct MHD_Connection *connection, const char *url,
			  const struct busd_catalog *catalog,
			  pthread_mutex_t *lock, enum MHD_Result *result);

/* The state as a malloc'd JSON text; NULL without memory. */
char *busd_dashboard_state(const struct busd_catalog *catalog,
			   pthread_mutex_t *lock, size_t *length);

/* The page, generated from busd/dashboard/index.html by embed.cmake. */
extern const unsigned char busd_dashboard_index_html[];
extern const size_t busd_dashboard_index_html_size;

#endif /* BUSD_DASHBOARD_H */
