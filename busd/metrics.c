/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus endpoint (see metrics.h): libmicrohttpd in its own
 * thread, a snapshot of the figures taken under the registry lock, and
 * the text exposition format written from the snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "admission.h"
#include "catalog.h"
#include "dashboard.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"
#include "stats_lock.h"

/* A scraper is a program on this host: a few connections are plenty, and
 * a stuck one must not hold a slot for long. */
#define BUSD_METRICS_CONNECTIONS 16u
#define BUSD_METRICS_TIMEOUT_S 10u

#define BUSD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct busd_metrics {
	const struct busd_catalog *catalog;
	const struct busd_admission *admission;
	struct busd_stats_lock *lock; /* the daemon's (stats_lock.h) */
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *dashboard; /* [bus] dashboard's own listener */
};

/* ---- the snapshot ------------------------------------------------------ */

struct busd_metrics_queue {
	char name[BUS_NAME_MAX + 1];
	struct bus_queue_stats stats;
	struct bus_latency latency;
};

struct busd_metrics_topic {
	char name[BUS_NAME_MAX + 1];
	struct bus_topic_stats stats;
	struct bus_latency latency;
};

struct busd_metrics_snapshot {
	struct busd_metrics_queue *queues;
	unsigned int queue_count;
	struct busd_metrics_topic *topics;
	unsigned int topic_count;
	/* Connections and refusals by uid (admission.h). */
	struct busd_admission_user *users;
	unsigned int user_count;
};

/* busd's own mapping, read by the core from its geometry (stats.h). */
static void busd_metrics_read_queue(const struct busd_queue *queue,
				    struct busd_metrics_queue *out)
{
	snprintf(out->name, sizeof(out->name), "%s", queue->name);
	bus__queue_stats_read(&queue->geometry, &out->stats);
	bus__queue_latency_read(&queue->geometry, &out->latency);
}

static void busd_metrics_read_topic(const struct busd_topic *topic,
				    struct busd_metrics_topic *out)
{
	snprintf(out->name, sizeof(out->name), "%s", topic->name);
	bus__topic_stats_read(&topic->geometry, &out->stats);
	bus__topic_latency_read(&topic->geometry, &out->latency);
}

/* Copies every figure out of shared memory under the registry lock. */
static int busd_metrics_snapshot(struct busd_metrics *m,
				 struct busd_metrics_snapshot *snap)
{
	const struct busd_registry *r = &m->catalog->registry;
	int ret = 0;

	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(&m->lock->mutex);
	snap->queues = calloc(r->count ? r->count : 1, sizeof(*snap->queues));
	snap->topics = calloc(r->topic_count ? r->topic_count : 1,
			      sizeof(*snap->topics));
	if (snap->queues && snap->topics) {
		for (unsigned int i = 0; i < r->count; i++)
			busd_metrics_read_queue(r->queues[i],
						&snap->queues[i]);
		for (unsigned int i = 0; i < r->topic_count; i++)
			busd_metrics_read_topic(r->topics[i],
						&snap->topics[i]);
		snap->queue_count = r->count;
		snap->topic_count = r->topic_count;
	} else {
		ret = -ENOMEM;
	}
	if (!ret)
		ret = busd_admission_snapshot(m->admission, &snap->users,
					      &snap->user_count);
	pthread_mutex_unlock(&m->lock->mutex);
	return ret;
}

static void busd_metrics_snapshot_free(struct busd_metrics_snapshot *snap)
{
	free(snap->queues);
	free(snap->topics);
	free(snap->users);
}

/* ---- the text format --------------------------------------------------- */

/* One metric family: its name, type, help, and where its value lies. */
struct busd_metric {
	const char *name;
	const char *type;
	const char *help;
	size_t offset;
	size_t size; /* of the field: 4 or 8 bytes */
};

#define BUSD_QUEUE_METRIC(field, suffix, type, help)                 \
	{                                                            \
		"shmbus_queue_" #field suffix, type, help,           \
			offsetof(struct bus_queue_stats, field),     \
			sizeof(((struct bus_queue_stats *)0)->field) \
	}
#define BUSD_TOPIC_METRIC(field, suffix, type, help)                 \
	{                                                            \
		"shmbus_topic_" #field suffix, type, help,           \
			offsetof(struct bus_topic_stats, field),     \
			sizeof(((struct bus_topic_stats *)0)->field) \
	}

static const struct busd_metric busd_queue_metrics[] = {
	BUSD_QUEUE_METRIC(enqueued, "_total", "counter",
			  "Messages committed to the queue."),
	BUSD_QUEUE_METRIC(dequeued, "_total", "counter",
			  "Deliveries to consumers, redeliveries included."),
	BUSD_QUEUE_METRIC(acked, "_total", "counter",
			  "Messages acknowledged by consumers."),
	BUSD_QUEUE_METRIC(nacked, "_total", "counter",
			  "Messages handed back by consumers for redelivery."),
	BUSD_QUEUE_METRIC(redelivered, "_total", "counter",
			  "Deliveries of a message delivered before."),
	BUSD_QUEUE_METRIC(dropped, "_total", "counter",
			  "Messages removed by the drop-oldest policy."),
	BUSD_QUEUE_METRIC(rejected, "_total", "counter",
			  "Sends refused because the queue was full."),
	BUSD_QUEUE_METRIC(reclaimed, "_total", "counter",
			  "Loans of dead producers padded over."),
	BUSD_QUEUE_METRIC(expired, "_total", "counter",
			  "Messages past their expiry, never delivered."),
	BUSD_QUEUE_METRIC(dead_lettered, "_total", "counter",
			  "Messages moved to the dead-letter queue."),
	BUSD_QUEUE_METRIC(dead_waiting, "", "gauge",
			  "Messages due for the dead-letter queue that wait "
			  "for room in it."),
	BUSD_QUEUE_METRIC(timed_out, "_total", "counter",
			  "Leases taken back after ack_timeout_ms."),
	BUSD_QUEUE_METRIC(backpressure_waits, "_total", "counter",
			  "Messages that found the queue full and waited."),
	BUSD_QUEUE_METRIC(depth, "", "gauge",
			  "Messages waiting to be delivered."),
	BUSD_QUEUE_METRIC(high_water, "", "gauge",
			  "The greatest depth the queue ever had."),
	BUSD_QUEUE_METRIC(journal_bytes, "_total", "counter",
			  "Bytes written to a durable queue's journal."),
	BUSD_QUEUE_METRIC(journal_lag, "", "gauge",
			  "Messages committed and not yet on disk."),
	BUSD_QUEUE_METRIC(journal_syncs, "_total", "counter",
			  "fdatasyncs of the journal."),
	BUSD_QUEUE_METRIC(journal_sync_p50_ns, "", "gauge",
			  "Median fdatasync latency of the journal, ns."),
	BUSD_QUEUE_METRIC(journal_sync_p99_ns, "", "gauge",
			  "99th percentile fdatasync latency, ns."),
	BUSD_QUEUE_METRIC(journal_write_errors, "_total", "counter",
			  "Journal writes or syncs that failed."),
	BUSD_QUEUE_METRIC(journal_recovery_ns, "", "gauge",
			  "Time busd took to read the journal at start, ns."),
	BUSD_QUEUE_METRIC(journal_recovered, "", "gauge",
			  "Messages put back from the journal after a "
			  "reboot."),
	BUSD_QUEUE_METRIC(journal_torn, "", "gauge",
			  "Torn records cut off the journal's end at start."),
	BUSD_QUEUE_METRIC(leased, "", "gauge",
			  "Messages delivered and not yet acknowledged."),
	BUSD_QUEUE_METRIC(capacity, "", "gauge",
			  "Slots of the ring, queued and leased together."),
	BUSD_QUEUE_METRIC(producers, "", "gauge", "Producer handles open."),
	BUSD_QUEUE_METRIC(consumers, "", "gauge", "Consumer handles open."),
};

static const struct busd_metric busd_topic_metrics[] = {
	BUSD_TOPIC_METRIC(published, "_total", "counter",
			  "Messages committed to the topic."),
	BUSD_TOPIC_METRIC(rejected, "_total", "counter",
			  "Loans that found no room in time."),
	BUSD_TOPIC_METRIC(received, "_total", "counter",
			  "Deliveries, every subscriber together."),
	BUSD_TOPIC_METRIC(lapped, "_total", "counter",
			  "Times a subscriber was lapped under overwrite."),
	BUSD_TOPIC_METRIC(lost, "_total", "counter",
			  "Messages subscribers lost by being lapped."),
	BUSD_TOPIC_METRIC(padded, "_total", "counter",
			  "Loans dropped or left by dead publishers."),
	BUSD_TOPIC_METRIC(backpressure_waits, "_total", "counter",
			  "Messages that found the topic full and waited."),
	BUSD_TOPIC_METRIC(expired, "_total", "counter",
			  "Messages past their expiry, skipped by "
			  "subscribers."),
	BUSD_TOPIC_METRIC(max_lag, "", "gauge",
			  "Messages the slowest live subscriber has yet to "
			  "read."),
	BUSD_TOPIC_METRIC(high_water, "", "gauge",
			  "The greatest lag any subscriber ever had."),
	BUSD_TOPIC_METRIC(capacity, "", "gauge", "Slots of the ring."),
	BUSD_TOPIC_METRIC(publishers, "", "gauge", "Publisher handles open."),
	BUSD_TOPIC_METRIC(subscribers, "", "gauge", "Live subscriptions."),
	BUSD_TOPIC_METRIC(journal_bytes, "_total", "counter",
			  "Bytes written to a recorded topic's journal."),
	BUSD_TOPIC_METRIC(journal_lag, "", "gauge",
			  "Positions published that busd has not written "
			  "to the journal yet."),
	BUSD_TOPIC_METRIC(journal_syncs, "_total", "counter",
			  "fdatasyncs of the topic's journal."),
	BUSD_TOPIC_METRIC(journal_sync_p50_ns, "", "gauge",
			  "Median fdatasync latency of the journal, ns."),
	BUSD_TOPIC_METRIC(journal_sync_p99_ns, "", "gauge",
			  "99th percentile fdatasync latency, ns."),
	BUSD_TOPIC_METRIC(journal_write_errors, "_total", "counter",
			  "Journal writes or syncs that failed."),
	BUSD_TOPIC_METRIC(journal_recovery_ns, "", "gauge",
			  "Time busd took to open the journal at start, ns."),
	BUSD_TOPIC_METRIC(journal_recovered, "", "gauge",
			  "Records the journal held at start."),
	BUSD_TOPIC_METRIC(journal_torn, "", "gauge",
			  "Torn records cut off the journal's end at start."),
};

#define BUSD_COUNT(array) (sizeof(array) / sizeof((array)[0]))

static unsigned long long busd_metric_value(const struct busd_metric *metric,
					    const void *stats)
{
	const unsigned char *field =
		(const unsigned char *)stats + metric->offset;
	uint64_t wide;
	uint32_t narrow;

	if (metric->size == sizeof(narrow)) {
		memcpy(&narrow, field, sizeof(narrow));
		return narrow;
	}
	memcpy(&wide, field, sizeof(wide));
	return (unsigned long long)wide;
}

static void busd_metric_family(FILE *out, const struct busd_metric *metric)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", metric->name,
		metric->help, metric->name, metric->type);
}

/* Publish-to-receive latency as a Prometheus summary, in seconds. */
static void busd_latency_family(FILE *out, const char *kind)
{
	fprintf(out,
		"# HELP shmbus_%s_latency_seconds Publish-to-receive "
		"latency of every receive so far (bucket upper bounds).\n"
		"# TYPE shmbus_%s_latency_seconds summary\n",
		kind, kind);
}

static void busd_latency_write(FILE *out, const char *kind, const char *name,
			       const struct bus_latency *l)
{
	static const char *const quantiles[] = { "0.5", "0.9", "0.99",
						 "0.999" };
	const uint64_t values[] = { l->p50_ns, l->p90_ns, l->p99_ns,
				    l->p999_ns };

	for (size_t i = 0; i < BUSD_COUNT(quantiles); i++)
		fprintf(out,
			"shmbus_%s_latency_seconds{%s=\"%s\","
			"quantile=\"%s\"} %.9f\n",
			kind, kind, name, quantiles[i],
			(double)values[i] / 1e9);
	fprintf(out, "shmbus_%s_latency_seconds_count{%s=\"%s\"} %llu\n", kind,
		kind, name, (unsigned long long)l->count);
}

/* Uids are numbers: the label values need no escaping either. */
static void busd_metrics_write_users(FILE *out,
				     const struct busd_metrics_snapshot *snap)
{
	fprintf(out, "# HELP shmbus_connections Connections to busd's control "
		     "socket, by the peer's uid.\n"
		     "# TYPE shmbus_connections gauge\n");
	for (unsigned int u = 0; u < snap->user_count; u++)
		fprintf(out, "shmbus_connections{uid=\"%u\"} %u\n",
			(unsigned int)snap->users[u].uid,
			snap->users[u].connections);
	fprintf(out,
		"# HELP shmbus_connections_refused_total Connections "
		"busd refused or closed, by uid and reason (per_user: "
		"max_connections_per_user, reserve: reserved_descriptors, "
		"hello_timeout: hello_timeout_ms).\n"
		"# TYPE shmbus_connections_refused_total counter\n");
	for (unsigned int u = 0; u < snap->user_count; u++)
		for (int r = 0; r < BUSD_REFUSAL_COUNT; r++)
			if (snap->users[u].refused[r])
				fprintf(out,
					"shmbus_connections_refused_total"
					"{uid=\"%u\",reason=\"%s\"} %llu\n",
					(unsigned int)snap->users[u].uid,
					busd_refusal_label(
						(enum busd_refusal)r),
					(unsigned long long)snap->users[u]
						.refused[r]);
}

/*
 * Names are checked by bus_name_check() (letters, digits, '_', '-', '.'),
 * so a label value needs no escaping.
 */
static void busd_metrics_write(FILE *out, const char *bus_name,
			       const struct busd_metrics_snapshot *snap)
{
	fprintf(out,
		"# HELP shmbus_bus_info The bus this busd serves.\n"
		"# TYPE shmbus_bus_info gauge\n"
		"shmbus_bus_info{bus=\"%s\"} 1\n",
		bus_name);
	fprintf(out,
		"# HELP shmbus_build_info The busd version serving.\n"
		"# TYPE shmbus_build_info gauge\n"
		"shmbus_build_info{version=\"%s\"} 1\n",
		BUSD_VERSION);
	fprintf(out,
		"# HELP shmbus_queues Queues on the bus.\n"
		"# TYPE shmbus_queues gauge\nshmbus_queues %u\n",
		snap->queue_count);
	fprintf(out,
		"# HELP shmbus_topics Topics on the bus.\n"
		"# TYPE shmbus_topics gauge\nshmbus_topics %u\n",
		snap->topic_count);
	for (size_t i = 0; i < BUSD_COUNT(busd_queue_metrics); i++) {
		const struct busd_metric *metric = &busd_queue_metrics[i];

		busd_metric_family(out, metric);
		for (unsigned int q = 0; q < snap->queue_count; q++)
			fprintf(out, "%s{queue=\"%s\"} %llu\n", metric->name,
				snap->queues[q].name,
				busd_metric_value(metric,
						  &snap->queues[q].stats));
	}
	for (size_t i = 0; i < BUSD_COUNT(busd_topic_metrics); i++) {
		const struct busd_metric *metric = &busd_topic_metrics[i];

		busd_metric_family(out, metric);
		for (unsigned int t = 0; t < snap->topic_count; t++)
			fprintf(out, "%s{topic=\"%s\"} %llu\n", metric->name,
				snap->topics[t].name,
				busd_metric_value(metric,
						  &snap->topics[t].stats));
	}
	busd_latency_family(out, "queue");
	for (unsigned int q = 0; q < snap->queue_count; q++)
		busd_latency_write(out, "queue", snap->queues[q].name,
				   &snap->queues[q].latency);
	busd_latency_family(out, "topic");
	for (unsigned int t = 0; t < snap->topic_count; t++)
		busd_latency_write(out, "topic", snap->topics[t].name,
				   &snap->topics[t].latency);
	busd_metrics_write_users(out, snap);
}

/* The whole page in a malloc'd buffer; NULL without memory. */
static char *busd_metrics_page(struct busd_metrics *m, size_t *length)
{
	struct busd_metrics_snapshot snap;
	char *page = NULL;
	FILE *out;

	if (busd_metrics_snapshot(m, &snap)) {
		busd_metrics_snapshot_free(&snap);
		return NULL;
	}
	out = open_memstream(&page, length);
	if (out) {
		busd_metrics_write(out, m->catalog->bus_name, &snap);
		if (fclose(out)) {
			free(page);
			page = NULL;
		}
	}
	busd_metrics_snapshot_free(&snap);
	return page;
}

/* ---- HTTP -------------------------------------------------------------- */

static enum MHD_Result busd_metrics_reply(struct MHD_Connection *connection,
					  unsigned int status, char *body,
					  size_t length,
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

static enum MHD_Result busd_metrics_text(struct MHD_Connection *connection,
					 unsigned int status, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return busd_metrics_reply(connection, status, body, strlen(body),
				  "text/plain; charset=utf-8");
}

static enum MHD_Result
busd_metrics_on_request(void *cls, struct MHD_Connection *connection,
			const char *url, const char *method,
			const char *version, const char *upload_data,
			size_t *upload_data_size, void **request_state)
{
	struct busd_metrics *m = cls;
	enum MHD_Result result;
	size_t length = 0;
	char *page;

	(void)version;
	(void)upload_data;
	/* A GET has no body: refuse anything that sends one. */
	if (*upload_data_size)
		return MHD_NO;
	(void)request_state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return busd_metrics_text(
			connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (busd_dashboard_serve(connection, url, m->catalog, &m->lock->mutex,
				 &result))
		return result;
	if (strcmp(url, "/metrics"))
		return busd_metrics_text(connection, MHD_HTTP_NOT_FOUND,
					 "shmbus: the figures are at "
					 "/metrics, the dashboard at /\n");
	page = busd_metrics_page(m, &length);
	if (!page)
		return busd_metrics_text(connection,
					 MHD_HTTP_INTERNAL_SERVER_ERROR,
					 "out of memory\n");
	return busd_metrics_reply(connection, MHD_HTTP_OK, page, length,
				  BUSD_METRICS_CONTENT_TYPE);
}

/* libmicrohttpd's complaints, as busd warnings on one line each. */
static void busd_metrics_on_log(void *cls, const char *format, va_list args)
{
	char text[512];
	size_t length;

	(void)cls;
	vsnprintf(text, sizeof(text), format, args);
	length = strlen(text);
	while (length && text[length - 1] == '\n')
		text[--length] = '\0';
	busd_warning("metrics: %s", text);
}

/* ---- start and stop ---------------------------------------------------- */

static void busd_metrics_announce(struct MHD_Daemon *daemon,
				  const struct busd_metrics_address *address,
				  const char *what, const char *path)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN] = "?";
	const void *where;
	bool six = address->address.ss_family == AF_INET6;

	if (six)
		where = &((const struct sockaddr_in6 *)&address->address)
				 ->sin6_addr;
	else
		where = &((const struct sockaddr_in *)&address->address)
				 ->sin_addr;
	inet_ntop(six ? AF_INET6 : AF_INET, where, host, sizeof(host));
	busd_info("%s at http://%s%s%s:%u%s", what, six ? "[" : "", host,
		  six ? "]" : "", info ? (unsigned int)info->port : 0u, path);
}

static uint16_t busd_metrics_port(const struct busd_metrics_address *a)
{
	if (a->address.ss_family == AF_INET6)
		return ntohs(
			((const struct sockaddr_in6 *)&a->address)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->address)->sin_port);
}

/* One listener; every one serves every path. */
static struct MHD_Daemon *
busd_metrics_listen(struct busd_metrics *m,
		    const struct busd_metrics_address *address)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const struct sockaddr *where =
		(const struct sockaddr *)&address->address;

	if (address->address.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger first, so that every later complaint goes through it.
	 * The port too, though SOCK_ADDR has it: MHD names the port
	 * argument when bind fails ("port 0" otherwise). */
	return MHD_start_daemon(
		flags, busd_metrics_port(address), NULL, NULL,
		busd_metrics_on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
		busd_metrics_on_log, NULL, MHD_OPTION_SOCK_ADDR, where,
		MHD_OPTION_CONNECTION_LIMIT, BUSD_METRICS_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, BUSD_METRICS_TIMEOUT_S,
		MHD_OPTION_END);
}

int busd_metrics_start(const struct busd_catalog *catalog,
		       const struct busd_admission *admission,
		       struct busd_stats_lock *lock,
		       const struct busd_metrics_address *address,
		       const struct busd_metrics_address *dashboard,
		       struct busd_metrics **out)
{
	struct busd_metrics *m;

	*out = NULL;
	if (!address->length && !dashboard->length)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		busd_refuse("cannot start the metrics endpoint: %s",
			    strerror(ENOMEM));
		return -ENOMEM;
	}
	m->catalog = catalog;
	m->admission = admission;
	m->lock = lock;
	/* Before the first listener's thread can read (stats_lock.h). */
	lock->shared = true;
	if (address->length) {
		m->daemon = busd_metrics_listen(m, address);
		if (!m->daemon) {
			busd_refuse("cannot serve metrics: libmicrohttpd "
				    "could not listen on port %u of the "
				    "metrics address (in use?)",
				    (unsigned int)busd_metrics_port(address));
			busd_metrics_stop(m);
			return -EADDRINUSE;
		}
		busd_metrics_announce(m->daemon, address, "metrics",
				      "/metrics");
		busd_metrics_announce(m->daemon, address, "dashboard", "/");
	}
	if (dashboard->length) {
		m->dashboard = busd_metrics_listen(m, dashboard);
		if (!m->dashboard) {
			busd_refuse(
				"cannot serve the dashboard: "
				"libmicrohttpd could not listen on port %u "
				"of the dashboard address (in use?)",
				(unsigned int)busd_metrics_port(dashboard));
			busd_metrics_stop(m);
			return -EADDRINUSE;
		}
		busd_metrics_announce(m->dashboard, dashboard, "dashboard",
				      "/");
	}
	*out = m;
	return 0;
}

void busd_metrics_stop(struct busd_metrics *m)
{
	if (!m)
		return;
	/* Joins the thread: no scrape runs after this. */
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	if (m->dashboard)
		MHD_stop_daemon(m->dashboard);
	m->lock->shared = false;
	free(m);
}
