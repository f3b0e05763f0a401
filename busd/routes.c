/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "detail.h"
#include "log.h"
#include "route_table_writer.h"
#include "routes.h"

/* A previous busd's table, if it is whole: its publishers map it still. */
static struct bus_route_table *busd_routes_adopt(int fd)
{
	struct bus_route_table *t;
	struct stat st;
	void *base;

	if (fstat(fd, &st) || st.st_uid != geteuid() ||
	    (size_t)st.st_size != BUS_ROUTE_TABLE_SIZE)
		return NULL;
	base = mmap(NULL, BUS_ROUTE_TABLE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return NULL;
	t = base;
	/* Acquire: pairs with the release of the busd that made it. */
	if (bus__load_acquire(&t->magic) != BUS_ROUTE_TABLE_MAGIC ||
	    t->version != BUS_ROUTE_TABLE_VERSION) {
		munmap(base, BUS_ROUTE_TABLE_SIZE);
		return NULL;
	}
	return t;
}

static int busd_routes_create(const char *name, struct bus_route_table **out)
{
	struct bus_route_table *t;
	void *base;
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	/* shm_open's mode is masked by the umask: publishers need r. */
	if (fchmod(fd, 0644) || ftruncate(fd, BUS_ROUTE_TABLE_SIZE))
		goto fail;
	base = mmap(NULL, BUS_ROUTE_TABLE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail;
	close(fd);
	t = base;
	t->version = BUS_ROUTE_TABLE_VERSION;
	t->capacity = BUS_ROUTES_MAX;
	/* Release: a publisher that sees the magic sees an empty table. */
	bus__store_release(&t->magic, BUS_ROUTE_TABLE_MAGIC);
	*out = t;
	return 0;
fail:
	{
		int ret = -errno;

		close(fd);
		shm_unlink(name);
		return ret;
	}
}

static int busd_routes_map(const char *bus_name, struct bus_route_table **out)
{
	char name[NAME_MAX + 2];
	int fd, ret;

	ret = bus__route_table_name(name, sizeof(name), bus_name);
	if (ret < 0)
		return ret;
	/* We hold the bus's lock: a table left here is a dead busd's. */
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd >= 0) {
		*out = busd_routes_adopt(fd);
		close(fd);
		if (*out)
			return 0;
		shm_unlink(name);
	}
	return busd_routes_create(name, out);
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
			    "/dev/shm: %s", bus_name, strerror(-ret));
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
				   "most it may have", BUS_ROUTES_MAX);
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
