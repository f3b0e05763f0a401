/* SPDX-License-Identifier: MIT */
/* The queues busd owns: creating one at run time, deleting one. */
#include <errno.h>
#include <stdio.h>

#include "access_store.h"
#include "announcer.h"
#include "catalog.h"
#include "durable.h"
#include "log.h"
#include "queues.h"
#include "segments.h"

int busd_queue_create(struct busd_catalog *catalog, const char *name,
		      const struct bus_queue_settings *settings,
		      const struct bus_access *access, char *detail,
		      size_t detail_size)
{
	struct busd_access resolved;
	struct busd_queue *queue;
	int ret;

	ret = bus__queue_settings_check(settings, detail, detail_size);
	if (!ret)
		ret = busd_access_resolve(access, &resolved, detail,
					  detail_size);
	if (ret)
		return ret;
	ret = busd_segment_room_for(bus__queue_segment_size(settings), "queue",
				    name, detail, detail_size);
	if (ret)
		return ret;
	ret = busd_segment_create(catalog->bus_name, name, settings, &queue,
				  detail, detail_size);
	if (ret)
		return ret;
	queue->access = resolved;
	/* A durable queue is rebuilt from its journal before anybody sees
	 * it (busd/durable.h). */
	ret = busd_durable_open(catalog, queue, false, detail, detail_size);
	if (ret) {
		busd_segment_destroy(catalog->bus_name, queue);
		return ret;
	}
	ret = busd_registry_add(&catalog->registry, queue);
	if (ret) {
		busd_durable_close(catalog, name, false);
		busd_segment_destroy(catalog->bus_name, queue);
		snprintf(detail, detail_size, "out of memory");
		return ret;
	}
	busd_access_store_save(catalog);
	busd_debug("queue '%s': %s, %u slots of %u bytes, %zu bytes of "
		   "shared memory; owner %u, group %u, mode %04o",
		   name, settings->type == BUS_QUEUE_SPSC ? "spsc" : "mpmc",
		   settings->slots, settings->max_message,
		   queue->geometry.size, (unsigned int)resolved.owner,
		   (unsigned int)resolved.group, (unsigned int)resolved.mode);
	return 0;
}

/*
 * Nobody detaches here: the queue is gone for good, so there is nothing to
 * redeliver, and a client still working in the segment must not see busd
 * rewrite cells under it.  Its own mapping outlives ours.
 */
void busd_queue_delete(struct busd_catalog *catalog, struct busd_queue *queue)
{
	/* Its journal is written and closed; busctl delete removes it too
	 * (handlers.c). */
	busd_durable_close(catalog, queue->name, false);
	busd_registry_remove(&catalog->registry, queue);
	busd_segment_destroy(catalog->bus_name, queue);
	busd_access_store_save(catalog);
	/* bus_list indices moved: wildcard subscribers list again. */
	busd_announce_change(catalog->announce);
}
