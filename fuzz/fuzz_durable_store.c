/* SPDX-License-Identifier: MIT */
/*
 * fuzz_durable_store: the input as the queue.conf of a durable queue
 * created at run time (busd/durable_store.h), parsed for the queue "q",
 * and as the topic.conf of a recorded topic "q".  Besides the
 * sanitizers: what the parser accepts must be settings the library's
 * check accepts, durable (recorded), with a mode of at most 0777.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "durable_store.h"
#include "segment.h"
#include "topic_segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_queue_settings settings;
	struct bus_topic_settings topic;
	struct busd_access access;
	char why[512];

	if (!busd_durable_store_parse((const char *)data, size, "q", &settings,
				      &access, why, sizeof(why)) &&
	    (!settings.durable || access.mode > 0777 ||
	     bus__queue_settings_check(&settings, why, sizeof(why)))) {
		fprintf(stderr, "fuzz_durable_store: accepted bad settings\n");
		abort();
	}
	if (!busd_topic_store_parse((const char *)data, size, "q", &topic,
				    &access, why, sizeof(why)) &&
	    (!topic.record || access.mode > 0777 ||
	     bus__topic_settings_check(&topic, why, sizeof(why)))) {
		fprintf(stderr,
			"fuzz_durable_store: accepted bad topic settings\n");
		abort();
	}
	return 0;
}
