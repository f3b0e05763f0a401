/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus endpoint: busd serves the figures of every queue and topic
 * in the Prometheus text exposition format (version 0.0.4) at
 * http://ADDRESS/metrics, when [bus] metrics = ADDRESS:PORT asks for it.
 *
 * The HTTP side is libmicrohttpd, in a thread of its own (its internal
 * polling thread): busd's io_uring loop stays single-threaded and never
 * waits for a scraper.  The metrics thread only reads: under the registry
 * lock it copies each queue's and topic's figures out of shared memory
 * (relaxed loads, as busctl stat does), then formats them without the lock.
 * The loop holds the same lock while it runs a control request's handler,
 * the only place where queues and topics come and go after start (create,
 * delete), so a scrape never walks a registry that is changing or reads a
 * segment that is being unmapped.  busd_stop() stops the thread before it
 * deletes anything.
 *
 * The same thread serves the live dashboard (dashboard.h) at / of the
 * metrics address and, with [bus] dashboard, at an address of its own.
 *
 * The endpoint has no authentication, so only loopback addresses are
 * accepted: 127.0.0.0/8 and [::1].
 */
#ifndef BUSD_METRICS_H
#define BUSD_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

struct busd_admission;
struct busd_catalog;
struct busd_stats_lock;
struct busd_metrics;

/* Where to listen, as parsed from the configuration. */
struct busd_metrics_address {
	struct sockaddr_storage address;
	socklen_t length; /* 0: no endpoint (the default) */
};

/*
 * Parses "127.0.0.1:9464", "localhost:9464" or "[::1]:9464" (port 0: any
 * free port, which busd logs).  0, or -EINVAL with a sentence in why.
 */
int busd_metrics_parse_address(const char *text,
			       struct busd_metrics_address *out, char *why,
			       size_t why_size);

/* The same for another key, whose name the sentences give
 * ([bus] dashboard). */
int busd_http_parse_address(const char *key, const char *text,
			    struct busd_metrics_address *out, char *why,
			    size_t why_size);

/*
 * Starts serving: /metrics, and the dashboard's / and /api/state
 * (dashboard.h), at address and, when dashboard has a length, at that
 * address too.  Returns 0 and sets *out (NULL when neither asks for an
 * endpoint), or a negative errno after saying why ("busd: ...").  The
 * thread reads catalog and admission under lock, which it marks shared
 * while it runs (stats_lock.h).
 */
int busd_metrics_start(const struct busd_catalog *catalog,
		       const struct busd_admission *admission,
		       struct busd_stats_lock *lock,
		       const struct busd_metrics_address *address,
		       const struct busd_metrics_address *dashboard,
		       struct busd_metrics **out);

/* Stops the thread and frees everything; NULL is fine. */
void busd_metrics_stop(struct busd_metrics *metrics);

#endif /* BUSD_METRICS_H */
