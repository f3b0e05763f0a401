/* SPDX-License-Identifier: MIT */
/*
 * The one NATS connection of the bridge.  nats.c does the networking and
 * the reconnecting; here are the choices:
 *
 * - no echo: the server never hands the bridge back what it published
 *   itself, the first of the guards against loops (headers.c has the
 *   others);
 * - reconnect forever (max reconnect -1), waiting between rounds over the
 *   server list with an exponential backoff and jitter, so that many
 *   bridges do not all come back at the same instant after an outage;
 * - the first connect is not retried: a bridge started against a wrong
 *   URL says so and exits, where systemd's restart policy takes over;
 * - send_asap (config.c has the default): each publish goes to the
 *   socket at once, one write() each, instead of being gathered by
 *   nats.c's flusher thread, which sleeps 1 ms before each write.  Round
 *   trips want the first, streams the second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 2000
#define PING_INTERVAL_MS 5000

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
	int64_t delay = BACKOFF_FIRST_MS;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)attempts;

	for (int i = 1; i < attempts && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	/* Full jitter over the upper half keeps a floor under the wait. */
	return delay / 2 + rand_r(&seed) % (delay / 2 + 1);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	/* Our own close at the end calls this too: nothing to report. */
	if (bridge_stopping(closure))
		return;
	bridge_log("lost the connection to NATS; topic messages are dropped "
		   "and queue messages wait on the bus until it is back");
}

void bridge_url_redact(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://");
	const char *at;

	host = host ? host + 3 : url;
	at = strchr(host, '@');
	/* user:password@ or token@ before the host: left out. */
	if (at && at < host + strcspn(host, "/"))
		snprintf(out, size, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(out, size, "%s", url);
}

void bridge_connected_url(natsConnection *nc, char *out, size_t size)
{
	char url[BRIDGE_URL_MAX + 1] = "";

	if (nc &&
	    natsConnection_GetConnectedUrl(nc, url, sizeof(url)) == NATS_OK &&
	    url[0])
		bridge_url_redact(url, out, size);
	else
		snprintf(out, size, "%s", "");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct bridge *bridge = closure;
	char url[BRIDGE_URL_MAX + 1];

	bridge_count(&bridge->reconnects, 1);
	bridge_connected_url(nc, url, sizeof(url));
	bridge_log("connected to NATS at %s again", url);
}

static natsStatus set_options(struct bridge *bridge, natsOptions *options,
			      const char **urls)
{
	struct bridge_config *c = &bridge->config;
	natsStatus s;

	for (unsigned int i = 0; i < c->server_count; i++)
		urls[i] = c->servers[i];
	s = natsOptions_SetServers(options, urls, (int)c->server_count);
	if (s == NATS_OK)
		s = natsOptions_SetName(options, c->origin);
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(options, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(options, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(options,
							reconnect_delay, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(options, CONNECT_TIMEOUT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(options, PING_INTERVAL_MS);
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(options, c->send_asap);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(options, on_disconnected,
						  bridge);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(options, on_reconnected,
						 bridge);
	return s;
}

int bridge_nats_connect(struct bridge *bridge)
{
	const char *urls[BRIDGE_SERVERS_MAX];
	natsOptions *options = NULL;
	natsStatus s;

	s = natsOptions_Create(&options);
	if (s == NATS_OK)
		s = set_options(bridge, options, urls);
	if (s == NATS_OK)
		s = natsConnection_Connect(&bridge->nats, options);
	natsOptions_Destroy(options);
	if (s != NATS_OK) {
		char url[BRIDGE_URL_MAX + 1];

		bridge_url_redact(bridge->config.servers[0], url, sizeof(url));
		bridge_log("cannot connect to NATS at %s%s: %s", url,
			   bridge->config.server_count > 1
				   ? " (or the other "
				     "servers of nats =)"
				   : "",
			   natsStatus_GetText(s));
		bridge->nats = NULL;
		return -ECONNREFUSED;
	}
	return 0;
}

bool bridge_nats_up(const struct bridge *bridge)
{
	return natsConnection_Status(bridge->nats) ==
	       NATS_CONN_STATUS_CONNECTED;
}

void bridge_nats_close(struct bridge *bridge)
{
	if (!bridge->nats)
		return;
	/* Flushes what core publishes are still buffered, then closes. */
	natsConnection_FlushTimeout(bridge->nats, 1000);
	natsConnection_Close(bridge->nats);
	natsConnection_Destroy(bridge->nats);
	bridge->nats = NULL;
}
