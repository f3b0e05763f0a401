/* SPDX-License-Identifier: MIT */
/*
 * What a bus serves: its name, its queues and topics (registry.h) and the
 * announcement page that tells clients of new topics.
 *
 * The daemon owns it (busd.h) and hands it to the layers that create,
 * delete, adopt, watch or describe segments: queues.c, topics.c,
 * adopt.c, access_store.c, the request handlers, metrics and dashboard.
 */
#ifndef BUSD_CATALOG_H
#define BUSD_CATALOG_H

#include "registry.h"

struct bus_announce;
struct busd_client_list;
struct busd_durable;

struct busd_catalog {
	const char *bus_name;
	struct busd_registry registry;
	struct bus_announce *announce; /* /shmbus.BUS: new topics */
	/* Whose wildcards a new topic lends slots to (wildcards.h). */
	const struct busd_client_list *clients;
	/* Durable queues' journals and their thread (durable.h); NULL
	 * before busd_durable_start(). */
	struct busd_durable *durable;
};

#endif /* BUSD_CATALOG_H */
