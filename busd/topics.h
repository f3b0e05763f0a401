/* SPDX-License-Identifier: MIT */
/*
 * The topics busd owns: creating them from the configuration and at run
 * time, deleting them, and giving back the slots of a client that went.
 */
#ifndef BUSD_TOPICS_H
#define BUSD_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"
#include "config.h"
#include "registry.h"

struct busd_catalog;

/*
 * Creates a topic and adds it to the registry.  access: its owner, group
 * and mode as asked (NULL or fields not given: busd's defaults).  -EINVAL
 * (bad settings or mode), -EEXIST (a queue or topic has the name), -ENOSPC
 * (no room in /dev/shm) or another negative errno, with a sentence in
 * detail.
 */
int busd_topic_create(struct busd_catalog *catalog, const char *name,
		      const struct bus_topic_settings *settings,
		      const struct bus_access *access, char *detail,
		      size_t detail_size);

/* Removes a topic: its segment is marked closed and unlinked. */
void busd_topic_delete(struct busd_catalog *catalog, struct busd_topic *topic);

/*
 * Creates the topics of the configuration (after its queues, so that the
 * room check sees what they took).  Says why on failure.
 */
int busd_topics_start(struct busd_catalog *catalog,
		      const struct busd_config *config);

/* Deletes every topic (busd is stopping). */
void busd_topics_stop(struct busd_catalog *catalog);

/* Gives back every topic slot of a client; returns the loans padded. */
int busd_topics_detach_client(struct busd_catalog *catalog, uint32_t client_id,
			      unsigned int *slots);

#endif /* BUSD_TOPICS_H */
