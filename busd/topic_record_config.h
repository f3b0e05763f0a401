/* SPDX-License-Identifier: MIT */
/* The keys of recorded topics (busd/topic_record.h). */
#ifndef BUSD_TOPIC_RECORD_CONFIG_H
#define BUSD_TOPIC_RECORD_CONFIG_H

#include <stddef.h>

#include "bus/layout.h"

/*
 * Parses a key of [topic NAME] that recording adds (record, sync,
 * sync_interval_ms, segment_bytes, retain_bytes, retain_age) into
 * settings: 0, -ENOENT for another key, -EINVAL with a sentence in why.
 */
int busd_topic_record_config_key(struct bus_topic_settings *settings,
				 const char *key, const char *value, char *why,
				 size_t why_size);

#endif /* BUSD_TOPIC_RECORD_CONFIG_H */
