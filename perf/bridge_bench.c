/* SPDX-License-Identifier: MIT */
/*
 * bridge-bench: busbridge against plain libnats, on one nats-server that
 * perf/run starts on a loopback port.
 *
 *   -B nats-pp    two NATS connections, both with SendAsap (each publish
 *                 written at once, no flusher delay): the requester
 *                 publishes 64 bytes on bench.nats.ping and waits on
 *                 bench.nats.pong, where an echo thread (a synchronous
 *                 subscription, as a bridge's import has) publishes each
 *                 back; one round trip each.  The bridges of bridge-pp run
 *                 with send_asap = yes, so that both are measured alike.
 *   -B bridge-pp  the same through the bus and two bridges: bus A topic
 *                 bench.ping -> bridge A -> NATS -> bridge B -> bus B topic
 *                 bench.ping -> a responder process on bus B -> bus B topic
 *                 bench.pong -> bridge B -> NATS -> bridge A -> bus A topic
 *                 bench.pong -> the requester.
 *   -B bus-pp     the bus's own part of that path: the same requester and
 *                 responder on bus A alone (topics bench.local.ping and
 *                 bench.local.pong), with the same blocking receives.
 *   -B nats-tp    a plain libnats publisher streams -n 64-byte messages as
 *                 fast as it can to a subscriber on another connection
 *                 (nats.c's default buffering, flushed at the end).
 *   -B nats-tp-headers  the same publisher, each message a natsMsg with
 *                 the three headers a bridge sets on a topic message
 *                 (Shmbus-Origin, -Hops, -Publish-Time), made and
 *                 destroyed per message: what any libnats program that
 *                 carries metadata pays, and so the bridge's fair floor.
 *   -B bridge-tp  a bus publisher streams -n 64-byte messages on bus A's
 *                 topic bench.stream (block policy: the bridge holds it
 *                 back rather than lose any), which bridge A exports; a
 *                 plain NATS subscriber counts them.
 *
 * -b BUS is bus A; $PERF_BRIDGE_BUS_B bus B; $PERF_NATS_URL the server.
 * Streaming rates run from the first publish to the last message the
 * subscriber counted.  A round trip that does not come back within 2 s
 * (core NATS is at most once) ends the run with an error: no row.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench.h"
#include "bus/bus.h"

#define PAYLOAD 64
#define REPLY_TIMEOUT_MS 2000
#define REPLY_TIMEOUT_NS (REPLY_TIMEOUT_MS * 1000000ll)
#define STREAM_IDLE_MS 5000

static const char usage[] =
	"usage: bridge-bench -B nats-pp|bridge-pp|bus-pp|nats-tp|nats-tp-headers|bridge-tp\n"
	"                    [-b BUS_A] [-n COUNT] [--warmup N] [--hist-dir D]\n"
	"  $PERF_NATS_URL: the nats-server; $PERF_BRIDGE_BUS_B: bus B, whose\n"
	"  bridge imports bench.ping and exports bench.pong (see perf/run)\n";

/* ---- NATS -------------------------------------------------------------- */

/* send_asap: each publish is written at once (natsOptions_SetSendAsap),
 * as a latency benchmark of NATS does; otherwise nats.c's default, where
 * its flusher thread writes the buffer out after a 1 ms sleep. */
static natsConnection *nats_connect(const char *url, bool send_asap)
{
	natsConnection *nc = NULL;
	natsOptions *options = NULL;
	natsStatus s = natsOptions_Create(&options);

	if (s == NATS_OK)
		s = natsOptions_SetURL(options, url);
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(options, send_asap);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, options);
	natsOptions_Destroy(options);
	if (s != NATS_OK) {
		fprintf(stderr, "bridge-bench: cannot connect to %s: %s\n",
			url, natsStatus_GetText(s));
		return NULL;
	}
	return nc;
}

/* A synchronous subscription with no pending limit, in place on the
 * server (flushed) when it returns. */
static natsSubscription *nats_subscribe(natsConnection *nc,
					const char *subject)
{
	natsSubscription *sub = NULL;

	if (natsConnection_SubscribeSync(&sub, nc, subject) != NATS_OK ||
	    natsSubscription_SetPendingLimits(sub, -1, -1) != NATS_OK ||
	    natsConnection_Flush(nc) != NATS_OK) {
		fprintf(stderr, "bridge-bench: cannot subscribe to %s: %s\n",
			subject, nats_GetLastError(NULL));
		natsSubscription_Destroy(sub);
		return NULL;
	}
	return sub;
}

struct echo {
	natsConnection *nc;
	natsSubscription *sub;
	atomic_bool stop;
};

static void *echo_run(void *arg)
{
	struct echo *e = arg;

	while (!atomic_load(&e->stop)) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, e->sub, 100) != NATS_OK)
			continue;
		natsConnection_Publish(e->nc, "bench.nats.pong",
				       natsMsg_GetData(m),
				       natsMsg_GetDataLength(m));
		natsMsg_Destroy(m);
	}
	return NULL;
}

static int nats_pingpong(const char *url, const struct bench_options *o,
			 struct hist *h)
{
	struct echo e = { 0 };
	natsConnection *nc = nats_connect(url, true);
	natsSubscription *pong = nc ? nats_subscribe(nc, "bench.nats.pong")
				    : NULL;
	char payload[PAYLOAD];
	pthread_t thread;
	int ret = -EIO;

	e.nc = nats_connect(url, true);
	e.sub = e.nc ? nats_subscribe(e.nc, "bench.nats.ping") : NULL;
	if (!pong || !e.sub)
		goto out;
	pthread_create(&thread, NULL, echo_run, &e);
	ret = 0;
	for (uint64_t i = 0; i < o->warmup + o->count && !ret; i++) {
		uint64_t t0 = bench_now_ns();
		natsMsg *m = NULL;

		memcpy(payload, &i, sizeof(i));
		memset(payload + sizeof(i), (int)(i & 0xff),
		       PAYLOAD - sizeof(i));
		if (natsConnection_Publish(nc, "bench.nats.ping", payload,
					   PAYLOAD) != NATS_OK ||
		    natsSubscription_NextMsg(&m, pong, REPLY_TIMEOUT_MS) !=
			    NATS_OK ||
		    natsMsg_GetDataLength(m) != PAYLOAD ||
		    memcmp(natsMsg_GetData(m), payload, PAYLOAD)) {
			fprintf(stderr,
				"bridge-bench: nats-pp: round trip %llu "
				"lost or wrong\n",
				(unsigned long long)i);
			ret = -EIO;
		} else if (i >= o->warmup) {
			hist_record(h, bench_now_ns() - t0);
		}
		natsMsg_Destroy(m);
	}
	atomic_store(&e.stop, true);
	pthread_join(thread, NULL);
out:
	natsSubscription_Destroy(e.sub);
	natsSubscription_Destroy(pong);
	natsConnection_Destroy(e.nc);
	natsConnection_Destroy(nc);
	return ret;
}

/* ---- the bus ----------------------------------------------------------- */

static int topic_publish(bus_topic_t *topic, const void *payload,
			 size_t length)
{
	struct bus_message m;
	int ret = bus_topic_loan(topic, &m, REPLY_TIMEOUT_NS);

	if (ret)
		return ret;
	memcpy(m.payload, payload, length);
	return bus_topic_commit(topic, &m, (uint32_t)length);
}

/* The responder: republishes each ping as a pong until told to stop
 * (SIGTERM); writes one byte to ready once subscribed. */
static int responder_run(const char *bus_name, const char *ping,
			 const char *pong, int ready)
{
	bus_subscription_t *sub = NULL;
	bus_topic_t *out = NULL;
	bus_t *bus = NULL;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (!ret)
		ret = bus_subscribe(bus, ping, NULL, &sub);
	if (!ret)
		ret = bus_topic_open(bus, pong, BUS_PRODUCER, NULL, &out);
	if (ret) {
		fprintf(stderr, "bridge-bench: responder on %s: %s\n",
			bus_name, bus_strerror(ret));
		return 1;
	}
	if (write(ready, "r", 1) != 1)
		return 1;
	for (;;) {
		struct bus_message m;
		uint64_t lost = 0;

		ret = bus_subscription_receive(sub, &m, &lost,
					       REPLY_TIMEOUT_NS);
		if (ret == -ETIMEDOUT || ret == -EAGAIN || ret == -EINTR)
			continue;
		if (ret < 0)
			break;
		ret = topic_publish(out, m.payload, m.length);
		bus_subscription_release(sub);
		if (ret)
			break;
	}
	return 1;
}

static pid_t responder_start(const char *bus_name, const char *ping,
			     const char *pong)
{
	int fds[2];
	char byte;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(responder_run(bus_name, ping, pong, fds[1]));
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &byte, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static void responder_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* One round trip: publish on ping, wait for the same payload on pong. */
static int bus_round_trip(bus_topic_t *ping, bus_subscription_t *pong,
			  const char *payload)
{
	struct bus_message m;
	uint64_t lost = 0;
	int ret = topic_publish(ping, payload, PAYLOAD);

	if (ret)
		return ret;
	ret = bus_subscription_receive(pong, &m, &lost, REPLY_TIMEOUT_NS);
	if (ret < 0)
		return ret;
	ret = m.length == PAYLOAD && !memcmp(m.payload, payload, PAYLOAD)
		      ? 0
		      : -EBADMSG;
	bus_subscription_release(pong);
	return ret;
}

/* Requester on bus A (ping, pong), responder on bus B (its_ping,
 * its_pong): through the bridges, or on A alone. */
static int bus_pingpong(const char *bus_a, const char *bus_b,
			const char *ping_name, const char *pong_name,
			const struct bench_options *o, struct hist *h)
{
	bus_subscription_t *pong = NULL;
	bus_topic_t *ping = NULL;
	char payload[PAYLOAD];
	bus_t *bus = NULL;
	pid_t responder;
	int ret;

	responder = responder_start(bus_b, ping_name, pong_name);
	if (responder < 0)
		return -EIO;
	ret = bus_connect(bus_a, &bus);
	if (!ret)
		ret = bus_subscribe(bus, pong_name, NULL, &pong);
	if (!ret)
		ret = bus_topic_open(bus, ping_name, BUS_PRODUCER, NULL,
				     &ping);
	for (uint64_t i = 0; !ret && i < o->warmup + o->count; i++) {
		uint64_t t0 = bench_now_ns();

		memcpy(payload, &i, sizeof(i));
		memset(payload + sizeof(i), (int)(i & 0xff),
		       PAYLOAD - sizeof(i));
		ret = bus_round_trip(ping, pong, payload);
		if (ret)
			fprintf(stderr, "bridge-bench: round trip %llu: %s\n",
				(unsigned long long)i, bus_strerror(ret));
		else if (i >= o->warmup)
			hist_record(h, bench_now_ns() - t0);
	}
	responder_stop(responder);
	if (ping)
		bus_topic_close(ping);
	if (pong)
		bus_unsubscribe(pong);
	if (bus)
		bus_disconnect(bus);
	return ret;
}

/* ---- streaming --------------------------------------------------------- */

struct counter {
	natsSubscription *sub;
	uint64_t want;
	uint64_t got;
	uint64_t last_ns; /* when the last one came */
};

static void *counter_run(void *arg)
{
	struct counter *c = arg;

	while (c->got < c->want) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, c->sub, STREAM_IDLE_MS) !=
		    NATS_OK)
			break;
		c->got++;
		c->last_ns = bench_now_ns();
		natsMsg_Destroy(m);
	}
	return NULL;
}

/* Streams with publish(i) and counts on subject; msgs/s into *rate. */
static int stream(const char *url, const char *subject,
		  int (*publish)(void *ctx, uint64_t i, const char *payload),
		  void *ctx, uint64_t count, double *rate, uint64_t *got)
{
	struct counter c = { .want = count };
	natsConnection *nc = nats_connect(url, false);
	char payload[PAYLOAD];
	pthread_t thread;
	uint64_t t0;
	int ret = 0;

	c.sub = nc ? nats_subscribe(nc, subject) : NULL;
	if (!c.sub) {
		natsConnection_Destroy(nc);
		return -EIO;
	}
	pthread_create(&thread, NULL, counter_run, &c);
	memset(payload, 0x5a, sizeof(payload));
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < count && !ret; i++) {
		memcpy(payload, &i, sizeof(i));
		ret = publish(ctx, i, payload);
	}
	pthread_join(thread, NULL);
	*got = c.got;
	if (!ret && c.got)
		*rate = (double)c.got * 1e9 / (double)(c.last_ns - t0);
	if (!ret && c.got < count)
		fprintf(stderr,
			"bridge-bench: %s: %llu of %llu messages "
			"arrived (core NATS is at most once); the rate counts "
			"those\n",
			subject, (unsigned long long)c.got,
			(unsigned long long)count);
	natsSubscription_Destroy(c.sub);
	natsConnection_Destroy(nc);
	return ret;
}

static int publish_nats(void *ctx, uint64_t i, const char *payload)
{
	(void)i;
	return natsConnection_Publish(ctx, "bench.nats.stream", payload,
				      PAYLOAD) == NATS_OK
		       ? 0
		       : -EIO;
}

/* As busbridge/headers.c sets them for a topic message without a key. */
static int publish_nats_headers(void *ctx, uint64_t i, const char *payload)
{
	char number[24];
	natsMsg *m = NULL;
	natsStatus s;

	s = natsMsg_Create(&m, "bench.nats.stream", NULL, payload, PAYLOAD);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Shmbus-Origin", "bench");
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Shmbus-Hops", "1");
	snprintf(number, sizeof(number), "%llu",
		 (unsigned long long)(bench_now_ns() + i));
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Shmbus-Publish-Time", number);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(ctx, m);
	natsMsg_Destroy(m);
	return s == NATS_OK ? 0 : -EIO;
}

static int publish_bus(void *ctx, uint64_t i, const char *payload)
{
	(void)i;
	return topic_publish(ctx, payload, PAYLOAD);
}

static int nats_stream(const char *url, bool headers, uint64_t count,
		       double *rate, uint64_t *got)
{
	natsConnection *nc = nats_connect(url, false);
	int ret;

	if (!nc)
		return -EIO;
	ret = stream(url, "bench.nats.stream",
		     headers ? publish_nats_headers : publish_nats, nc, count,
		     rate, got);
	natsConnection_FlushTimeout(nc, 5000);
	natsConnection_Destroy(nc);
	return ret;
}

static int bridge_stream(const char *url, const char *bus_a, uint64_t count,
			 double *rate, uint64_t *got)
{
	bus_topic_t *topic = NULL;
	bus_t *bus = NULL;
	int ret;

	ret = bus_connect(bus_a, &bus);
	if (!ret)
		ret = bus_topic_open(bus, "bench.stream", BUS_PRODUCER, NULL,
				     &topic);
	if (!ret)
		ret = stream(url, "bench.stream", publish_bus, topic, count,
			     rate, got);
	else
		fprintf(stderr,
			"bridge-bench: bus %s topic bench.stream: %s\n", bus_a,
			bus_strerror(ret));
	if (topic)
		bus_topic_close(topic);
	if (bus)
		bus_disconnect(bus);
	return ret;
}

/* ---- main -------------------------------------------------------------- */

static void print_row(const struct bench_options *o, const char *bench,
		      const char *transport, const struct hist *h,
		      uint64_t count, double rate)
{
	struct bench_row row;

	memset(&row, 0, sizeof(row));
	row.bench = bench;
	row.transport = transport;
	row.mode = "blocking";
	row.size = PAYLOAD;
	row.subscribers = 1;
	row.count = count;
	row.hist = h;
	row.msgs_per_s = rate;
	row.producers = 1;
	row.consumers = 1;
	row.batch = 1;
	row.timestamps = -1;
	bench_row_print(&row, o);
}

int main(int argc, char **argv)
{
	static struct hist h;
	struct bench_options o;
	const char *url = getenv("PERF_NATS_URL");
	const char *bus_b = getenv("PERF_BRIDGE_BUS_B");
	const char *what;
	double rate = 0;
	uint64_t got = 0;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	what = o.bench;
	hist_reset(&h);
	signal(SIGPIPE, SIG_IGN);
	if (!url && strcmp(what, "bus-pp")) {
		fprintf(stderr, "bridge-bench: $PERF_NATS_URL is not set\n");
		return 2;
	}
	if (!strcmp(what, "nats-pp")) {
		ret = nats_pingpong(url, &o, &h);
		if (!ret)
			print_row(&o, "pingpong", "nats", &h, h.count, 0);
	} else if (!strcmp(what, "bridge-pp") || !strcmp(what, "bus-pp")) {
		bool bridged = !strcmp(what, "bridge-pp");

		if (bridged && !bus_b) {
			fprintf(stderr, "bridge-bench: $PERF_BRIDGE_BUS_B is "
					"not set\n");
			return 2;
		}
		ret = bus_pingpong(o.bus_name, bridged ? bus_b : o.bus_name,
				   bridged ? "bench.ping" : "bench.local.ping",
				   bridged ? "bench.pong" : "bench.local.pong",
				   &o, &h);
		if (!ret)
			print_row(&o, "pingpong",
				  bridged ? "bridge" : "bus-topic", &h,
				  h.count, 0);
	} else if (!strcmp(what, "nats-tp") || !strcmp(what, "bridge-tp") ||
		   !strcmp(what, "nats-tp-headers")) {
		bool bridged = !strcmp(what, "bridge-tp");
		bool headers = !strcmp(what, "nats-tp-headers");

		ret = bridged ? bridge_stream(url, o.bus_name, o.count, &rate,
					      &got)
			      : nats_stream(url, headers, o.count, &rate,
					    &got);
		if (!ret && got)
			print_row(&o, "throughput",
				  bridged   ? "bridge"
				  : headers ? "nats-headers"
					    : "nats",
				  NULL, got, rate);
		else if (!ret)
			ret = -EIO;
	} else {
		fprintf(stderr, "bridge-bench: unknown -B %s\n%s", what,
			usage);
		return 2;
	}
	nats_Close();
	return ret ? 1 : 0;
}
