/* SPDX-License-Identifier: MIT */
/*
 * Wildcard subscriptions (one subscription per matching topic) and what
 * waitsets need of them.  Internal.
 */
#ifndef BUS_WILDCARD_H
#define BUS_WILDCARD_H

#include <stdbool.h>
#include <stdint.h>

#include "announce.h"
#include "bus/bus.h"
#include "topic_handle.h"

struct bus_wildcard {
	struct bus *bus;
	struct bus_subscribe_options options;
	const struct bus_announce *announce; /* mapped read-only */
	/* The announcement counter our member list reflects. */
	uint32_t seen_generation;
	struct bus_subscription **members;
	uint32_t count;
	uint32_t capacity;
	uint32_t turn; /* the member to try first next time */
	/* The member whose view the caller may hold: released first. */
	struct bus_subscription *holding;
	/* A waitset of this handle alone, for blocking receives. */
	struct bus_waitset *waitset;
	struct bus_wildcard *next_handle; /* the connection's list */
	/* busd's id of our pattern: it reserves us a slot in each matching
	 * topic it creates (busd/wildcards.h).  0 until registered. */
	uint32_t id;
	char pattern[BUS_NAME_MAX + 1];
};

/* The connection keeps a list of its wildcard handles so that
 * bus_disconnect() closes them before the subscriptions they own
 * (client.c). */
void bus__client_track_wildcard(struct bus *bus, struct bus_wildcard *w);
void bus__client_untrack_wildcard(struct bus *bus, struct bus_wildcard *w);

/* Registers the pattern with busd (BUS_CONTROL_WILDCARD): *id. */
int bus__client_wildcard_register(struct bus *bus, const char *pattern,
				  uint32_t *id);
/* Gives back the slots busd still keeps for wildcard id. */
void bus__client_wildcard_unregister(struct bus *bus, uint32_t id);
/* bus_subscribe() that takes the slot busd reserved for wildcard id in
 * the topic, if it did, and a fresh one otherwise. */
int bus__client_subscribe_wildcard(struct bus *bus, const char *name,
				   const struct bus_subscribe_options *options,
				   uint32_t id, struct bus_subscription **out);

/* True when busd announced a change since the members were listed.
 * One relaxed load: the hot path's only cost. */
bool bus__wildcard_changed(const struct bus_wildcard *w);

/* Lists the topics again and subscribes to the new matching ones. */
int bus__wildcard_refresh(struct bus_wildcard *w);

#endif /* BUS_WILDCARD_H */
