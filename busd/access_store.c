/* SPDX-License-Identifier: MIT */
/* The owner, group and mode of every name, in the runtime directory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access_store.h"
#include "catalog.h"
#include "log.h"

_Static_assert(BUS_NAME_MAX == 63, "the %63s in busd_access_store_find");

static int busd_access_store_path(char *path, size_t size,
				  const char *bus_name, const char *suffix)
{
	char dir[PATH_MAX];
	int length;

	if (bus_runtime_dir(dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	length = snprintf(path, size, "%s/%s.access%s", dir, bus_name, suffix);
	return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
}

static void busd_access_store_line(FILE *file, const char *name,
				   const struct busd_access *a)
{
	fprintf(file, "%s %u %u %o\n", name, (unsigned int)a->owner,
		(unsigned int)a->group, (unsigned int)a->mode);
}

void busd_access_store_save(const struct busd_catalog *catalog)
{
	const struct busd_registry *r = &catalog->registry;
	char path[PATH_MAX], temporary[PATH_MAX];
	FILE *file;

	if (busd_access_store_path(path, sizeof(path), catalog->bus_name,
				   "") ||
	    busd_access_store_path(temporary, sizeof(temporary),
				   catalog->bus_name, ".new"))
		return;
	file = fopen(temporary, "w");
	if (!file) {
		busd_warning("cannot write %s: %s", temporary,
			     strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < r->count; i++)
		busd_access_store_line(file, r->queues[i]->name,
				       &r->queues[i]->access);
	for (unsigned int i = 0; i < r->topic_count; i++)
		busd_access_store_line(file, r->topics[i]->name,
				       &r->topics[i]->access);
	if (fclose(file) || rename(temporary, path)) {
		busd_warning("cannot write %s: %s", path, strerror(errno));
		unlink(temporary);
	}
}

int busd_access_store_find(const char *bus_name, const char *name,
			   struct busd_access *access)
{
	char path[PATH_MAX], line[BUS_NAME_MAX + 64], found[BUS_NAME_MAX + 1];
	unsigned int owner, group, mode;
	FILE *file;
	int ret = -ENOENT;

	if (busd_access_store_path(path, sizeof(path), bus_name, ""))
		return -ENOENT;
	file = fopen(path, "r");
	if (!file)
		return -ENOENT;
	while (ret && fgets(line, sizeof(line), file)) {
		/* %63s: BUS_NAME_MAX (asserted below the includes). */
		if (sscanf(line, "%63s %u %u %o", found, &owner, &group,
			   &mode) != 4 ||
		    strcmp(found, name) || mode > BUSD_ACCESS_MODE_MASK)
			continue;
		access->owner = (uid_t)owner;
		access->group = (gid_t)group;
		access->mode = (mode_t)mode;
		ret = 0;
	}
	fclose(file);
	return ret;
}

void busd_access_store_remove(const char *bus_name)
{
	char path[PATH_MAX];

	if (!busd_access_store_path(path, sizeof(path), bus_name, ""))
		unlink(path);
}
