/* SPDX-License-Identifier: MIT */
/*
 * A member of a waitset that is a group of subscriptions which changes
 * (a wildcard, wildcard.c): the waitset knows it only through these
 * calls, so that it names no handle kind above it.  Internal.
 */
#ifndef BUS_WAITSET_H
#define BUS_WAITSET_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"

struct bus__waitset_group {
	/* True when the group changed since it was last listed (a hint:
	 * one relaxed load). */
	bool (*changed)(const void *group);
	/* Lists the group again (may talk to busd): 0 or a negative errno. */
	int (*refresh)(void *group);
	/* The word that changes with the group, never counted (its writer
	 * always wakes it), and the value it held at the last listing. */
	_Atomic uint32_t *(*word)(const void *group, uint32_t *expected);
	/* The group's subscriptions now: how many, and *out. */
	uint32_t (*members)(const void *group,
			    struct bus_subscription *const **out);
};

/* Adds a group member: as bus_waitset_add_queue(), the same answers. */
int bus__waitset_add_group(bus_waitset_t *waitset,
			   const struct bus__waitset_group *calls, void *group,
			   void *tag);

#endif /* BUS_WAITSET_H */
