/* SPDX-License-Identifier: MIT */
/* Whether a route of the table takes a message: its key and headers. */
#include <string.h>

#include "bus/bus.h"
#include "route_match.h"

static int headers_match(const struct bus_route *r,
			 const struct bus_message *view)
{
	char value[BUS_MESSAGE_HEADER_VALUE_MAX + 1];

	for (uint32_t i = 0; i < r->match_count && i < BUS_ROUTE_MATCHES_MAX;
	     i++) {
		if (!view || bus_message_header_get(view, r->matches[i].name,
						    value, sizeof(value)) < 0)
			return 0;
		if (strcmp(value, r->matches[i].value))
			return 0;
	}
	return 1;
}

int bus__route_matches(const struct bus_route *r, const char *key,
		       const struct bus_message *view)
{
	if (r->kind != BUS_ROUTE_RULE)
		return 0;
	if (r->key[0] && (!key || !bus_subject_match(r->key, key)))
		return 0;
	return headers_match(r, view);
}
