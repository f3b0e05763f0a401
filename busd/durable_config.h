/* SPDX-License-Identifier: MIT */
/* The keys of durable queues and where their journals live
 * (busd/durable.h). */
#ifndef BUSD_DURABLE_CONFIG_H
#define BUSD_DURABLE_CONFIG_H

#include <stddef.h>

#include "bus/layout.h"

/* Parses a durable key of [queue NAME] (durable, sync, sync_interval_ms,
 * segment_bytes) into settings: 0, -ENOENT for another key, -EINVAL with a
 * sentence in why. */
int busd_durable_config_key(struct bus_queue_settings *settings,
			    const char *key, const char *value, char *why,
			    size_t why_size);

/* The default data directory of a bus, into path. */
int busd_durable_default_dir(const char *bus_name, char *path, size_t size);

#endif /* BUSD_DURABLE_CONFIG_H */
