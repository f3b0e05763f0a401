/* SPDX-License-Identifier: MIT */
/*
 * [route NAME] and [address NAME] sections of busd's config (the parser in
 * config.c hands us their lines):
 *
 *   [route requests-red]
 *   from = requests          ; the address (exchange) it applies to
 *   key = *.red              ; NATS pattern on the routing key; left out:
 *                            ; every message
 *   to = red, audit          ; queues or topics, comma-separated
 *   header = color=red       ; optional, up to 4: header matches
 *
 *   [address requests]
 *   unroutable = leftovers   ; where messages no route takes go
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "detail.h"
#include "route_config.h"

int busd_route_config_begin(struct busd_route_config **routes,
			    unsigned int *count, unsigned int *capacity,
			    uint32_t kind, const char *name, int line,
			    char *detail, size_t detail_size)
{
	struct busd_route_config *r;

	if (bus_name_check(name))
		return bus__detail(
			detail, detail_size, -EINVAL,
			"'%s' is not a valid %s name: use 1 to %d "
			"letters, digits, '_', '-' or '.'",
			name, kind == BUS_ROUTE_RULE ? "route" : "address",
			BUS_NAME_MAX);
	for (unsigned int i = 0; i < *count; i++) {
		r = &(*routes)[i];
		if (r->route.kind == kind && !strcmp(r->route.name, name))
			return bus__detail(detail, detail_size, -EEXIST,
					   "%s '%s' is already defined on "
					   "line %d",
					   kind == BUS_ROUTE_RULE ? "route"
								  : "address",
					   name, r->line);
	}
	if (*count == *capacity) {
		unsigned int grown = *capacity ? 2 * *capacity : 8;

		r = realloc(*routes, grown * sizeof(*r));
		if (!r)
			return bus__detail(detail, detail_size, -ENOMEM,
					   "out of memory");
		*routes = r;
		*capacity = grown;
	}
	r = &(*routes)[*count];
	memset(r, 0, sizeof(*r));
	r->route.kind = kind;
	r->line = line;
	strncpy(r->route.name, name, BUS_NAME_MAX);
	if (kind == BUS_ROUTE_UNROUTABLE)
		strncpy(r->route.from, name, BUS_NAME_MAX);
	return (int)(*count)++;
}

static int busd_route_config_name(char *field, const char *value,
				  const char *what, char *detail,
				  size_t detail_size)
{
	if (bus_name_check(value))
		return bus__detail(
			detail, detail_size, -EINVAL,
			"%s must be a queue, topic or address name, "
			"not '%s'",
			what, value);
	strncpy(field, value, BUS_NAME_MAX);
	return 0;
}

/* "a, b,c" into the route's targets. */
static int busd_route_config_targets(struct bus_route *route,
				     const char *value, char *detail,
				     size_t detail_size)
{
	char list[1024], *save = NULL, *item;

	if (route->target_count)
		return bus__detail(detail, detail_size, -EINVAL,
				   "'to' is set twice");
	if (strlen(value) >= sizeof(list))
		return bus__detail(detail, detail_size, -EINVAL,
				   "'to' is too long");
	strcpy(list, value);
	for (item = strtok_r(list, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		size_t length;

		item += strspn(item, " \t");
		length = strlen(item);
		while (length && strchr(" \t", item[length - 1]))
			item[--length] = '\0';
		if (route->target_count == BUS_ROUTE_TARGETS_MAX)
			return bus__detail(detail, detail_size, -EINVAL,
					   "'to' names more than %u targets",
					   BUS_ROUTE_TARGETS_MAX);
		if (busd_route_config_name(route->targets[route->target_count],
					   item, "each target in 'to'", detail,
					   detail_size))
			return -EINVAL;
		route->target_count++;
	}
	return 0;
}

static int busd_route_config_match(struct bus_route *route, const char *value,
				   char *detail, size_t detail_size)
{
	const char *equals = strchr(value, '=');
	struct bus_route_match *m;

	if (!equals || equals == value ||
	    (size_t)(equals - value) > BUS_MESSAGE_HEADER_NAME_MAX ||
	    strlen(equals + 1) > BUS_NAME_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "header must be NAME=VALUE (name up to %u, "
				   "value up to %u characters), not '%s'",
				   BUS_MESSAGE_HEADER_NAME_MAX, BUS_NAME_MAX,
				   value);
	if (route->match_count == BUS_ROUTE_MATCHES_MAX)
		return bus__detail(detail, detail_size, -EINVAL,
				   "a route has at most %u header matches",
				   BUS_ROUTE_MATCHES_MAX);
	m = &route->matches[route->match_count++];
	memcpy(m->name, value, (size_t)(equals - value));
	strcpy(m->value, equals + 1);
	return 0;
}

int busd_route_config_key(struct busd_route_config *r, const char *key,
			  const char *value, char *detail, size_t detail_size)
{
	struct bus_route *route = &r->route;

	if (route->kind == BUS_ROUTE_UNROUTABLE) {
		if (strcmp(key, "unroutable"))
			return bus__detail(detail, detail_size, -EINVAL,
					   "unknown key '%s' in [address %s]; "
					   "expected unroutable",
					   key, route->name);
		route->target_count = 1;
		return busd_route_config_name(route->targets[0], value,
					      "unroutable", detail,
					      detail_size);
	}
	if (!strcmp(key, "from"))
		return busd_route_config_name(route->from, value, "from",
					      detail, detail_size);
	if (!strcmp(key, "key")) {
		if (strlen(value) > BUS_NAME_MAX || bus_pattern_check(value))
			return bus__detail(detail, detail_size, -EINVAL,
					   "key must be a pattern such as "
					   "orders.*.red or orders.>, not "
					   "'%s'",
					   value);
		strcpy(route->key, value);
		return 0;
	}
	if (!strcmp(key, "to"))
		return busd_route_config_targets(route, value, detail,
						 detail_size);
	if (!strcmp(key, "header"))
		return busd_route_config_match(route, value, detail,
					       detail_size);
	return bus__detail(detail, detail_size, -EINVAL,
			   "unknown key '%s' in [route %s]; expected from, "
			   "key, to or header",
			   key, route->name);
}

int busd_route_config_finish(const struct busd_route_config *r, char *detail,
			     size_t detail_size)
{
	const struct bus_route *route = &r->route;

	if (route->kind == BUS_ROUTE_UNROUTABLE && !route->target_count)
		return bus__detail(detail, detail_size, -EINVAL,
				   "[address %s] needs unroutable = TARGET",
				   route->name);
	if (route->kind == BUS_ROUTE_RULE && !route->from[0])
		return bus__detail(detail, detail_size, -EINVAL,
				   "[route %s] needs from = ADDRESS",
				   route->name);
	if (route->kind == BUS_ROUTE_RULE && !route->target_count)
		return bus__detail(detail, detail_size, -EINVAL,
				   "[route %s] needs to = TARGET[, ...]",
				   route->name);
	return bus__route_check(route, detail, detail_size);
}
