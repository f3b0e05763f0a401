/* SPDX-License-Identifier: MIT */
/*
 * The lines of [route NAME] and [address NAME] in busd's config
 * (route_config.c); config.c hands them over and keeps the entries.
 */
#ifndef BUSD_ROUTE_CONFIG_H
#define BUSD_ROUTE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "route_table.h"

/* [route NAME] or [address NAME] (busd/route_config.c). */
struct busd_route_config {
	struct bus_route route;
	int line; /* of its section line */
};

/* Each returns 0 (begin: the entry's index) or a negative errno with a
 * sentence in detail.  begin adds an entry to the array *routes of *count
 * entries, room for *capacity, growing it as needed. */
int busd_route_config_begin(struct busd_route_config **routes,
			    unsigned int *count, unsigned int *capacity,
			    uint32_t kind, const char *name, int line,
			    char *detail, size_t detail_size);
int busd_route_config_key(struct busd_route_config *route, const char *key,
			  const char *value, char *detail, size_t detail_size);
int busd_route_config_finish(const struct busd_route_config *route,
			     char *detail, size_t detail_size);

#endif /* BUSD_ROUTE_CONFIG_H */
