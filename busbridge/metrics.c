/* SPDX-License-Identifier: MIT */
/*
 * [bridge] metrics = HOST:PORT: the figures of every rule on a Prometheus
 * endpoint, /metrics in the text format 0.0.4, served by libmicrohttpd in
 * a thread of its own (as busd/metrics.c does for busd).
 *
 * What a scrape reads, and why it needs no lock:
 * - each rule's figures (struct bridge_stats) are atomics the rule's
 *   threads count with relaxed ordering (bridge_count(), and the lag by
 *   bridge_lag_refresh()); a scrape loads each with relaxed ordering too.
 *   No reader draws a conclusion about other memory from a figure, so no
 *   acquire/release pair is needed: each value is exact, the page is not
 *   one snapshot across figures;
 * - the rule table and names: written by config.c before any thread, and
 *   never after (pthread_create() orders them before this thread);
 * - the reconnect count (nats_link.c's callback, relaxed as well), and
 *   the NATS connection's state, which nats.c keeps under its own lock.
 * main() stops the endpoint before it closes NATS or frees the rules;
 * MHD_stop_daemon() joins the thread, so no scrape outlives them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "bridge.h"

/* A scraper is a program on this host: a few connections are plenty, and
 * a stuck one must not hold a slot for long. */
#define METRICS_CONNECTIONS 16u
#define METRICS_TIMEOUT_S 10u
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct bridge_metrics {
	struct MHD_Daemon *daemon;
};

/* ---- the address ------------------------------------------------------- */

static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long n;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

int bridge_metrics_parse_address(const char *text,
				 struct sockaddr_storage *out)
{
	struct sockaddr_in6 *six = (struct sockaddr_in6 *)out;
	struct sockaddr_in *four = (struct sockaddr_in *)out;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(text, ':');
	size_t length;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (!colon || parse_port(colon + 1, &port))
		return -EINVAL;
	length = (size_t)(colon - text);
	if (length >= 2 && text[0] == '[' && text[length - 1] == ']') {
		if (length - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, length - 2);
		host[length - 2] = '\0';
		six->sin6_family = AF_INET6;
		six->sin6_port = htons(port);
		return inet_pton(AF_INET6, host, &six->sin6_addr) == 1
			       ? 0
			       : -EINVAL;
	}
	if (length >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, length);
	host[length] = '\0';
	four->sin_family = AF_INET;
	four->sin_port = htons(port);
	return inet_pton(AF_INET, host, &four->sin_addr) == 1 ? 0 : -EINVAL;
}

/* ---- the page ---------------------------------------------------------- */

struct rule_family {
	const char *name;
	const char *type;
	const char *help;
	size_t offset; /* of the figure in struct bridge_stats */
};

static const struct rule_family rule_families[] = {
	{ "shmbus_bridge_forwarded_total", "counter",
	  "Messages the rule delivered to the other side.",
	  offsetof(struct bridge_stats, forwarded) },
	{ "shmbus_bridge_failed_total", "counter",
	  "Messages refused or timed out on the other side.",
	  offsetof(struct bridge_stats, failed) },
	{ "shmbus_bridge_dropped_total", "counter",
	  "Messages dropped on purpose (loops, NATS away) or lost to "
	  "overwrite.",
	  offsetof(struct bridge_stats, dropped) },
	{ "shmbus_bridge_in_flight", "gauge",
	  "Messages sent and not yet confirmed.",
	  offsetof(struct bridge_stats, in_flight) },
	{ "shmbus_bridge_lag", "gauge",
	  "Messages waiting behind the bridge in its source (bus queue or "
	  "subscription, NATS subscription); absent where it cannot be "
	  "read.",
	  offsetof(struct bridge_stats, lag) },
};

/* Rule names are bus names (letters, digits, '_', '-', '.'): the label
 * values need no escaping. */
static void write_family(FILE *out, const struct bridge *bridge,
			 const struct rule_family *family)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", family->name,
		family->help, family->name, family->type);
	for (unsigned int i = 0; i < bridge->config.rule_count; i++) {
		const struct bridge_rule *rule = &bridge->config.rules[i];
		const atomic_uint_fast64_t *value =
			(const void *)((const char *)&rule->stats +
				       family->offset);
		uint64_t n = bridge_figure(value);

		if (family->offset == offsetof(struct bridge_stats, lag) &&
		    n == BRIDGE_LAG_UNKNOWN)
			continue;
		fprintf(out, "%s{rule=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
			family->name, rule->name,
			rule->is_export ? "export" : "import", n);
	}
}

static void write_page(FILE *out, const struct bridge *bridge)
{
	for (size_t i = 0;
	     i < sizeof(rule_families) / sizeof(rule_families[0]); i++)
		write_family(out, bridge, &rule_families[i]);
	fprintf(out,
		"# HELP shmbus_bridge_reconnects_total Times the NATS "
		"connection was made again after a loss.\n"
		"# TYPE shmbus_bridge_reconnects_total counter\n"
		"shmbus_bridge_reconnects_total %" PRIu64 "\n"
		"# HELP shmbus_bridge_connected 1 while the bridge is connected "
		"to a NATS server, else 0.\n"
		"# TYPE shmbus_bridge_connected gauge\n"
		"shmbus_bridge_connected %d\n",
		bridge_figure(&bridge->reconnects),
		bridge_nats_up(bridge) ? 1 : 0);
}

/* ---- HTTP -------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *connection,
			     unsigned int status, char *body, size_t length,
			     const char *content_type)
{
	struct MHD_Response *response;
	enum MHD_Result ret;

	response = MHD_create_response_from_buffer(length, body,
						   MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	ret = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *connection,
				  unsigned int status, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(connection, status, body, strlen(body),
		     "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size,
				  void **request_state)
{
	const struct bridge *bridge = cls;
	char *page = NULL;
	size_t length = 0;
	FILE *out;

	(void)version;
	(void)upload_data;
	(void)request_state;
	/* A GET has no body: refuse anything that sends one. */
	if (*upload_data_size)
		return MHD_NO;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET\n");
	if (strcmp(url, "/metrics"))
		return reply_text(connection, MHD_HTTP_NOT_FOUND,
				  "busbridge: the figures are at /metrics\n");
	out = open_memstream(&page, &length);
	if (!out)
		return reply_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	write_page(out, bridge);
	if (fclose(out)) {
		free(page);
		return reply_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	}
	return reply(connection, MHD_HTTP_OK, page, length,
		     METRICS_CONTENT_TYPE);
}

static void on_log(void *cls, const char *format, va_list args)
{
	char text[400];
	size_t length;

	(void)cls;
	vsnprintf(text, sizeof(text), format, args);
	length = strlen(text);
	while (length && text[length - 1] == '\n')
		text[--length] = '\0';
	bridge_log("metrics: %s", text);
}

/* ---- start and stop ---------------------------------------------------- */

static void announce(struct MHD_Daemon *daemon,
		     const struct sockaddr_storage *address)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	bool six = address->ss_family == AF_INET6;
	char host[INET6_ADDRSTRLEN] = "?";
	const void *where;

	if (six)
		where = &((const struct sockaddr_in6 *)address)->sin6_addr;
	else
		where = &((const struct sockaddr_in *)address)->sin_addr;
	inet_ntop(six ? AF_INET6 : AF_INET, where, host, sizeof(host));
	bridge_log("metrics at http://%s%s%s:%u/metrics", six ? "[" : "", host,
		   six ? "]" : "", info ? (unsigned int)info->port : 0u);
}

int bridge_metrics_start(struct bridge *bridge)
{
	const struct sockaddr_storage *address = &bridge->config.metrics;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG;
	struct bridge_metrics *m;

	if (!bridge->config.has_metrics)
		return 0;
	if (address->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* Port 0 asks the kernel for a free one; announce() says which. */
	m->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, bridge, MHD_OPTION_SOCK_ADDR,
		(const struct sockaddr *)address, MHD_OPTION_CONNECTION_LIMIT,
		METRICS_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
		METRICS_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
		MHD_OPTION_END);
	if (!m->daemon) {
		free(m);
		bridge_log("%s: cannot serve metrics: libmicrohttpd could not "
			   "listen on the metrics address (in use?)",
			   bridge->config.path);
		return -EADDRINUSE;
	}
	bridge->metrics = m;
	announce(m->daemon, address);
	return 0;
}

void bridge_metrics_stop(struct bridge *bridge)
{
	struct bridge_metrics *m = bridge->metrics;

	if (!m)
		return;
	/* Joins the thread: no scrape runs after this. */
	MHD_stop_daemon(m->daemon);
	free(m);
	bridge->metrics = NULL;
}
