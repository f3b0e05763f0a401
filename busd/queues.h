/* SPDX-License-Identifier: MIT */
/* The queues busd owns: creating one at run time, deleting one. */
#ifndef BUSD_QUEUES_H
#define BUSD_QUEUES_H

#include <stddef.h>

#include "bus/layout.h"
#include "registry.h"

struct busd_catalog;
struct bus_access;

/*
 * Creates a queue and adds it to the registry.  access: its owner, group
 * and mode as asked (NULL or fields not given: busd's defaults).  -EINVAL
 * (bad settings or mode), -EEXIST, -ENOSPC (no room in /dev/shm) or
 * another negative errno, with a sentence in detail.
 */
int busd_queue_create(struct busd_catalog *catalog, const char *name,
		      const struct bus_queue_settings *settings,
		      const struct bus_access *access, char *detail,
		      size_t detail_size);

/*
 * Removes a queue: its segment is marked closed and unlinked.  Attached
 * clients see the closed state word and keep their own mappings until
 * they close them.
 */
void busd_queue_delete(struct busd_catalog *catalog, struct busd_queue *queue);

#endif /* BUSD_QUEUES_H */
