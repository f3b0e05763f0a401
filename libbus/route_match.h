/* SPDX-License-Identifier: MIT */
/* Whether a route of the table takes a message.  Internal. */
#ifndef BUS_ROUTE_MATCH_H
#define BUS_ROUTE_MATCH_H

#include "bus/bus.h"
#include "route_table.h"

/* 1 when the route takes a message with this key (NULL: none) and whose
 * headers are those of view (NULL: none). */
int bus__route_matches(const struct bus_route *route, const char *key,
		       const struct bus_message *view);

#endif /* BUS_ROUTE_MATCH_H */
