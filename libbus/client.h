/* SPDX-License-Identifier: MIT */
/*
 * What the connection (client.c) offers the client files above it: routes
 * (route.c, request.c) and wildcards (wildcard.c).  client.c names none of
 * them: what it must do for a wildcard at a reconnect and at
 * bus_disconnect() goes through struct bus__client_pattern.  Internal.
 */
#ifndef BUS_CLIENT_H
#define BUS_CLIENT_H

#include <stdint.h>

#include "bus/bus.h"
#include "control_protocol.h"

struct bus;

/* One request to busd, and a detail of our own for a failure. */
int bus__client_request(struct bus *bus, struct bus_control_request *request,
			struct bus_control_reply *reply);
/* The same, for a reply that carries a descriptor: *fd (the caller's to
 * close), -1 when none came or the request failed. */
int bus__client_request_fd(struct bus *bus,
			   struct bus_control_request *request,
			   struct bus_control_reply *reply, int *fd);
int bus__client_fail(struct bus *bus, int error, const char *text);

/*
 * A pattern busd reserves slots for (BUS_CONTROL_WILDCARD), kept on the
 * connection: a reconnect to a restarted busd registers it again under
 * the same id (which it rewrites: 0 when refused), and bus_disconnect()
 * calls close, which must untrack it, before it closes the subscriptions
 * the pattern's owner holds.
 */
struct bus__client_pattern {
	struct bus__client_pattern *next;
	uint32_t id; /* busd's id of the pattern; 0 until registered */
	char pattern[BUS_NAME_MAX + 1];
	void (*close)(struct bus__client_pattern *pattern);
};

void bus__client_track_pattern(struct bus *bus,
			       struct bus__client_pattern *pattern);
/* Harmless for a pattern that was never tracked (a failed open). */
void bus__client_untrack_pattern(struct bus *bus,
				 struct bus__client_pattern *pattern);

/* Registers the pattern with busd (BUS_CONTROL_WILDCARD): *id. */
int bus__client_wildcard_register(struct bus *bus, const char *pattern,
				  uint32_t *id);
/* Gives back the slots busd still keeps for wildcard id. */
void bus__client_wildcard_unregister(struct bus *bus, uint32_t id);
/* A subscription that starts now (subscribe.c's bus_subscribe() adds the
 * catch-up of a start from a sequence or a time). */
int bus__client_subscribe(struct bus *bus, const char *name,
			  const struct bus_subscribe_options *options,
			  struct bus_subscription **out);
/* bus_subscribe() that takes the slot busd reserved for wildcard id in
 * the topic, if it did, and a fresh one otherwise. */
int bus__client_subscribe_wildcard(struct bus *bus, const char *name,
				   const struct bus_subscribe_options *options,
				   uint32_t id, struct bus_subscription **out);

#endif /* BUS_CLIENT_H */
