/* SPDX-License-Identifier: MIT */
/*
 * busbridge: a bus client that carries messages between one bus and NATS.
 *
 * Each rule of the config file ([export NAME] or [import NAME]) runs in a
 * thread of its own, which alone uses that rule's bus handle (bus.h: a
 * handle is used by one thread at a time).  The threads share the bus
 * connection and the NATS connection, both of which are thread-safe.
 * busd never sees a message: the bridge reads and writes the rings like
 * any other client, and nats.c does all the networking.
 */
#ifndef BUSBRIDGE_BRIDGE_H
#define BUSBRIDGE_BRIDGE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nats/nats.h>

#include "bus/bus.h"

/* A NATS subject or subject template, and a rule's bus-side source. */
#define BRIDGE_SUBJECT_MAX 255
/* The origin id: one subject token, also part of every Nats-Msg-Id. */
#define BRIDGE_ORIGIN_MAX 32
#define BRIDGE_SERVERS_MAX 16
#define BRIDGE_URL_MAX 255
#define BRIDGE_HOPS_DEFAULT 4u
#define BRIDGE_IN_FLIGHT_DEFAULT 64u
#define BRIDGE_ACK_WAIT_DEFAULT_S 30u
/*
 * An import writes Shmbus-Origin and Shmbus-Hops into the bus message so
 * that an export of the same topic can keep them: without them a message
 * could go round two bridges forever.  128 bytes hold both, a key of 64
 * and a few user headers (README "Keys and headers").
 */
#define BRIDGE_HEADER_ROOM_MIN 128u
#define BRIDGE_SERVICE_TIMEOUT_DEFAULT_MS 5000u
/* On a reply that is no answer: why (HTTP-like code and words). */
#define BRIDGE_HEADER_STATUS "Shmbus-Status"
#define BRIDGE_STATUS_NO_RESPONDERS "503 no responders"

enum bridge_rule_kind {
	BRIDGE_EXPORT_TOPIC,	 /* bus topic (pattern) -> core NATS */
	BRIDGE_EXPORT_QUEUE,	 /* bus queue -> JetStream */
	BRIDGE_IMPORT_CORE,	 /* core NATS subject pattern -> bus topic */
	BRIDGE_IMPORT_JETSTREAM, /* JetStream durable pull consumer -> queue */
	BRIDGE_EXPORT_SERVICE,	 /* bus service queue -> NATS requests */
	BRIDGE_IMPORT_SERVICE,	 /* NATS requests -> bus service queue */
};

/* The lag of a rule whose source cannot be read (a bus pattern, a
 * JetStream consumer): the metrics endpoint leaves its line out. */
#define BRIDGE_LAG_UNKNOWN UINT64_MAX

/*
 * The figures of one rule; any thread reads them (SIGUSR1's printer, the
 * metrics endpoint's thread), its own thread writes them (and nats.c's
 * threads, through the callbacks that run for the rule).  Each is an
 * atomic counter on its own, with relaxed ordering: no reader decides
 * anything from one figure about memory the writer wrote before it, so
 * nothing needs ordering; each figure is exact, a line of them is not
 * one snapshot.
 */
struct bridge_stats {
	atomic_uint_fast64_t forwarded; /* delivered to the other side */
	atomic_uint_fast64_t failed;	/* refused or timed out there */
	atomic_uint_fast64_t dropped;	/* lost on purpose or by overwrite */
	atomic_uint_fast64_t in_flight; /* sent, not yet confirmed */
	/* Messages waiting behind the bridge in its source (the bus queue
	 * or subscription, nats.c's subscription), refreshed by the rule's
	 * own thread (bridge_lag_refresh()); BRIDGE_LAG_UNKNOWN where it
	 * cannot be read. */
	atomic_uint_fast64_t lag;
	uint64_t lag_read_ns; /* the rule thread's own: when it last looked */
};

struct bridge;

struct bridge_rule {
	char name[BUS_NAME_MAX + 1];
	int line; /* of its [section], for messages */
	enum bridge_rule_kind kind;
	bool is_export; /* [export NAME], else [import NAME] */
	bool has_from;
	bool has_to;
	bool has_mode;
	bool jetstream_mode; /* mode = jetstream (exports) */
	/* export: the bus topic pattern or queue; import: the subject
	 * pattern, or the stream of "jetstream STREAM DURABLE". */
	char from[BRIDGE_SUBJECT_MAX + 1];
	char durable[BUS_NAME_MAX + 1];
	/* export: the subject template; import: the bus queue or topic. */
	char to[BRIDGE_SUBJECT_MAX + 1];
	bool to_queue; /* import: to = queue NAME */
	/* import: to = topic PREFIX.> (to holds PREFIX, maybe ""): each
	 * subject to a topic of its own (import_topics.c). */
	bool to_each_subject;
	/* export jetstream: a stream to create when none exists, kept on
	 * replicas servers of a JetStream cluster. */
	char stream[BUS_NAME_MAX + 1];
	unsigned int replicas;
	unsigned int in_flight;
	unsigned int ack_wait_s;
	/* services: how long a request may wait for its reply, and (import)
	 * the bus queue or topic the bridge's requester waits on. */
	unsigned int timeout_ms;
	char reply_to[BUS_NAME_MAX + 1];

	struct bridge *bridge;
	struct bridge_stats stats;
	/* Bus handles, opened by bridge_rule_open() before the thread runs. */
	bus_subscription_t *subscription;
	bus_wildcard_t *wildcard;
	bus_queue_t *queue;
	bus_topic_t *topic;
	bus_requester_t *requester; /* import service */
	bus_responder_t *responder; /* export service */
	/* NATS side, made by bridge_rule_start(). */
	natsSubscription *nats_subscription;
	jsCtx *js;
	void *state; /* the kind's own, e.g. the export window */
	pthread_t thread;
	bool thread_started;
};

struct bridge_config {
	const char *path;
	char bus[BUS_NAME_MAX + 1];	    /* "" : $BUS_NAME, else default */
	char origin[BRIDGE_ORIGIN_MAX + 1]; /* name = ... */
	char servers[BRIDGE_SERVERS_MAX][BRIDGE_URL_MAX + 1];
	unsigned int server_count;
	unsigned int max_hops;
	/* [bridge] send_asap = yes|no: every publish is written to the socket
	 * at once (natsOptions_SetSendAsap) rather than by nats.c's flusher
	 * thread, which waits about 1 ms first.  Unset (send_asap_set false),
	 * it is yes when a rule carries requests and replies (a service
	 * export or import), else no: see busbridge.8. */
	bool send_asap;
	bool send_asap_set;
	/* [bridge] metrics = HOST:PORT: the Prometheus endpoint, if set. */
	bool has_metrics;
	/* [bridge] status_topic = NAME | none: where the figures go once a
	 * second for busctl bridge (default busbridge.ORIGIN); "" for none. */
	char status_topic[BUS_NAME_MAX + 1];
	bool status_topic_set;
	struct sockaddr_storage metrics;
	struct bridge_rule *rules;
	unsigned int rule_count;
	unsigned int rule_capacity;
};

struct bridge_metrics;

struct bridge {
	struct bridge_config config;
	bus_t *bus;
	natsConnection *nats;
	atomic_bool stopping;
	/* Times nats.c reconnected (its callback's thread writes, the
	 * metrics thread reads; relaxed, a figure like those of a rule). */
	atomic_uint_fast64_t reconnects;
	struct bridge_metrics *metrics;
	/* status_topic.c: the topic handle is the status thread's while it
	 * runs, main()'s before and after. */
	bus_topic_t *status_topic;
	pthread_t status_thread;
	bool status_thread_started;
	bool status_failed; /* logged once */
};

/* config.c: reads and checks the file; errors go to stderr as
 * FILE:LINE: sentence.  0, or -EINVAL after at least one error. */
int bridge_config_read(const char *path, struct bridge_config *config);
void bridge_config_free(struct bridge_config *config);

/* subject.c */
int bridge_subject_check(const char *subject, bool wildcards_allowed);
int bridge_subject_expand(const char *template, const char *origin,
			  const char *subject, char *out, size_t size);
int bridge_template_check(const char *template, const char *origin,
			  char *detail, size_t size);

/* headers.c */
struct bridge_trail {
	char origin[BRIDGE_ORIGIN_MAX + 1];
	unsigned int hops;
};
uint64_t bridge_realtime_offset_ns(void);
int bridge_headers_to_nats_at(const struct bridge *bridge,
			      const struct bus_message *message,
			      uint64_t realtime_offset_ns, natsMsg *out);
int bridge_headers_to_nats(const struct bridge *bridge,
			   const struct bus_message *message, natsMsg *out);
int bridge_headers_from_nats(natsMsg *in, struct bridge_trail *trail);
bool bridge_trail_refused(const struct bridge *bridge,
			  const struct bridge_trail *trail);
int bridge_headers_to_bus(natsMsg *in, const struct bridge_trail *trail,
			  struct bus_message *out);

/* nats_link.c */
int bridge_nats_connect(struct bridge *bridge);
bool bridge_nats_up(const struct bridge *bridge);
void bridge_nats_close(struct bridge *bridge);

/* rules.c: the bus side checked and opened, the NATS side set up, the
 * thread started; and the reverse. */
int bridge_rule_open(struct bridge_rule *rule);
int bridge_rule_start(struct bridge_rule *rule);
void bridge_rule_stop(struct bridge_rule *rule);

/* One thread body per kind. */
void *bridge_export_topic_run(void *rule);
void *bridge_export_queue_run(void *rule);
void *bridge_import_core_run(void *rule);
void *bridge_import_jetstream_run(void *rule);
int bridge_export_queue_prepare(struct bridge_rule *rule);
void bridge_export_queue_free(struct bridge_rule *rule);
int bridge_import_jetstream_prepare(struct bridge_rule *rule);
int bridge_import_core_prepare(struct bridge_rule *rule);
void *bridge_export_service_run(void *rule);
void *bridge_import_service_run(void *rule);
int bridge_import_service_prepare(struct bridge_rule *rule);

/* import_topics.c: the topic of a subject for to = topic PREFIX.>; NULL
 * when it cannot be used (counted as failed by the caller, logged once).
 * The rule's thread alone; it closes them with bridge_import_topics_close.
 * bridge_import_topic_name: the topic name of subject, 0 or -EINVAL,
 * -ENAMETOOLONG. */
bus_topic_t *bridge_import_topic_get(struct bridge_rule *rule,
				     const char *subject);
void bridge_import_topics_close(struct bridge_rule *rule);
/* After -EIDRM from a topic of the table: closed, looked for again. */
void bridge_import_topic_lost(struct bridge_rule *rule, bus_topic_t *topic);
int bridge_import_topic_name(const char *from, const char *prefix,
			     const char *subject, char *out, size_t size);

/* stats.c */
void bridge_stats_print(const struct bridge *bridge, FILE *out);
const char *bridge_kind_name(enum bridge_rule_kind kind);
/* The rule's own thread, after a receive: refreshes the lag figure at
 * most every 100 ms, and at once when force (an idle wait ended). */
void bridge_lag_refresh(struct bridge_rule *rule, bool force);

/* metrics.c: the Prometheus endpoint of [bridge] metrics =.
 * HOST:PORT (an IPv4 address, or an IPv6 one in brackets) into out: 0 or
 * -EINVAL. */
int bridge_metrics_parse_address(const char *text,
				 struct sockaddr_storage *out);
/* Starts serving /metrics (and logs where): 0 or -EADDRINUSE, -ENOMEM. */
int bridge_metrics_start(struct bridge *bridge);
/* Stops serving; no scrape runs after it returns.  Safe when not started. */
void bridge_metrics_stop(struct bridge *bridge);

/* nats_link.c: a server URL without its user:password@ or token@ (for
 * logs and the status topic), and the connected server's, redacted ("" when
 * not connected). */
void bridge_url_redact(const char *url, char *out, size_t size);
void bridge_connected_url(natsConnection *nc, char *out, size_t size);

/* status_topic.c: the figures on the bus, once a second, for busctl
 * bridge.  start after the rules run (a failure is logged, not fatal);
 * stop after bridge->stopping is set and the rules stopped. */
void bridge_status_start(struct bridge *bridge);
void bridge_status_stop(struct bridge *bridge);

/* A figure read by another thread than the one counting it: relaxed, as
 * bridge_count() counts it; each value is exact, a set of them is not one
 * snapshot. */
static inline uint64_t bridge_figure(const atomic_uint_fast64_t *value)
{
	return atomic_load_explicit(value, memory_order_relaxed);
}

/* log.c: one line on stderr, "busbridge: ..." */
__attribute__((format(printf, 1, 2))) void bridge_log(const char *format, ...);

static inline bool bridge_stopping(const struct bridge *bridge)
{
	return atomic_load_explicit(&bridge->stopping, memory_order_relaxed);
}

static inline void bridge_count(atomic_uint_fast64_t *figure, uint64_t n)
{
	/* Figures only: nothing else is ordered by them. */
	atomic_fetch_add_explicit(figure, n, memory_order_relaxed);
}

#endif /* BUSBRIDGE_BRIDGE_H */
