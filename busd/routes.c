/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "atomics.h"
#include "detail.h"
#include "log.h"
#include "route_table_writer.h"
#include "page_open.h"
#include "routes.h"

/* A previous busd's table is taken over only in this version. */
static bool busd_routes_whole(const void *page)
{
	const struct bus_route_table *t = page;

	return t->version == BUS_ROUTE_TABLE_VERSION;
}

static int busd_routes_map(const char *bus_name, struct bus_route_table **out)
{
	char name[NAME_MAX + 2];
	struct bus_route_table *t;
	bool adopted;
	void *page;
	int ret;

	ret = bus__route_table_name(name, sizeof(name), bus_name);
	if (ret < 0)
		return ret;
	/* A dead busd's table: its publishers map it still. */
	ret = busd_page_open(name, BUS_ROUTE_TABLE_SIZE,
			     offsetof(struct bus_route_table, magic),
			     BUS_ROUTE_TABLE_MAGIC, busd_routes_whole, &page,
			     &adopted);
	if (ret)
		return ret;
	t = page;
	if (!adopted) {
		t->version = BUS_ROUTE_TABLE_VERSION;
		t->capacity = BUS_ROUTES_MAX;
		/* A publisher that sees the magic sees an empty table. */
		busd_page_publish(page,
				  offsetof(struct bus_route_table, magic),
				  BUS_ROUTE_TABLE_MAGIC);
	}
	*out = t;
	return 0;
}

static void busd_routes_publish(struct busd_routes *r)
{
	busd_route_table_write(r->table, r->entries, r->count);
}

int busd_routes_open(const char *bus_name, const struct busd_config *config,
		     struct busd_routes **out)
{
	struct busd_routes *r = calloc(1, sizeof(*r));
	char detail[256];
	int ret;

	if (!r)
		return -ENOMEM;
	ret = busd_routes_map(bus_name, &r->table);
	if (ret) {
		busd_refuse("cannot create the route table of bus '%s' in "
			    "/dev/shm: %s",
			    bus_name, strerror(-ret));
		free(r);
		return ret;
	}
	for (unsigned int i = 0; i < config->route_count; i++) {
		ret = busd_routes_add(r, &config->routes[i].route, detail,
				      sizeof(detail));
		if (ret) {
			busd_refuse("route '%s': %s",
				    config->routes[i].route.name, detail);
			busd_routes_close(bus_name, r);
			return ret;
		}
	}
	/* Also when there are none: an adopted table is emptied. */
	busd_routes_publish(r);
	*out = r;
	return 0;
}

void busd_routes_release(struct busd_routes *r)
{
	if (!r)
		return;
	munmap(r->table, BUS_ROUTE_TABLE_SIZE);
	free(r);
}

void busd_routes_close(const char *bus_name, struct busd_routes *r)
{
	char name[NAME_MAX + 2];

	if (!r)
		return;
	munmap(r->table, BUS_ROUTE_TABLE_SIZE);
	if (bus__route_table_name(name, sizeof(name), bus_name) >= 0)
		shm_unlink(name);
	free(r);
}

static int busd_routes_find(const struct busd_routes *r, uint32_t kind,
			    const char *name)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (r->entries[i].kind == kind &&
		    !strcmp(r->entries[i].name, name))
			return (int)i;
	return -ENOENT;
}

static const char *busd_routes_kind_name(uint32_t kind)
{
	return kind == BUS_ROUTE_UNROUTABLE ? "an unroutable target for "
					      "address"
					    : "a route named";
}

int busd_routes_add(struct busd_routes *r, const struct bus_route *route,
		    char *detail, size_t detail_size)
{
	struct bus_route entry = *route;
	int ret = bus__route_check(&entry, detail, detail_size);

	if (ret)
		return ret;
	if (busd_routes_find(r, entry.kind, entry.name) >= 0)
		return bus__detail(detail, detail_size, -EEXIST,
				   "there is %s '%s' already",
				   busd_routes_kind_name(entry.kind),
				   entry.name);
	if (r->count >= BUS_ROUTES_MAX)
		return bus__detail(detail, detail_size, -ENOSPC,
				   "the bus has %u routes and addresses, the "
				   "most it may have",
				   BUS_ROUTES_MAX);
	r->entries[r->count++] = entry;
	if (r->table)
		busd_routes_publish(r);
	return 0;
}

int busd_routes_delete(struct busd_routes *r, uint32_t kind, const char *name,
		       char *detail, size_t detail_size)
{
	int index = busd_routes_find(r, kind, name);

	if (index < 0)
		return bus__detail(detail, detail_size, -ENOENT,
				   "there is no %s '%s'",
				   busd_routes_kind_name(kind), name);
	memmove(&r->entries[index], &r->entries[index + 1],
		(r->count - (uint32_t)index - 1) * sizeof(r->entries[0]));
	r->count--;
	busd_routes_publish(r);
	return 0;
}
