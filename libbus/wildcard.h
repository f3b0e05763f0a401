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
#include "client.h"
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
	/* Our pattern and busd's id of it: busd reserves us a slot in each
	 * matching topic it creates (busd/wildcards.h).  On the
	 * connection's list (client.h), which registers it again after a
	 * reconnect and closes us at bus_disconnect(). */
	struct bus__client_pattern registration;
};

#endif /* BUS_WILDCARD_H */
