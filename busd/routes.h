/* SPDX-License-Identifier: MIT */
/*
 * The bus's routes: busd's list of them and the table in shared memory
 * that publishers read (libbus/core/route_table.h).  busd changes the list on
 * ROUTE_ADD and ROUTE_DELETE (admin rights, checked by the handlers) and
 * rewrites the table as one change, raising its generation.
 */
#ifndef BUSD_ROUTES_H
#define BUSD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "config.h"
#include "route_table.h"

struct busd_routes {
	struct bus_route_table *table;
	uint32_t count;
	struct bus_route entries[BUS_ROUTES_MAX];
};

/*
 * Creates the table (or takes over the one a dead busd left, which its
 * publishers still map, and rewrites it) with the routes of the config.
 * 0, or a negative errno with a line logged.
 */
int busd_routes_open(const char *bus_name, const struct busd_config *config,
		     struct busd_routes **out);

/* Unlinks the table; publishers keep their mapping of what it said. */
void busd_routes_close(const char *bus_name, struct busd_routes *routes);
/* Unmaps and frees, leaving the table for the next busd (a failed start). */
void busd_routes_release(struct busd_routes *routes);

/* 0; -EEXIST, -EINVAL, -ENOSPC with a sentence in detail. */
int busd_routes_add(struct busd_routes *routes, const struct bus_route *route,
		    char *detail, size_t detail_size);

/* 0; -ENOENT with a sentence in detail. */
int busd_routes_delete(struct busd_routes *routes, uint32_t kind,
		       const char *name, char *detail, size_t detail_size);

#endif /* BUSD_ROUTES_H */
