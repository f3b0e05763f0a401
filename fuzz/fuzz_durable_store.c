/* SPDX-License-Identifier: MIT */
/*
 * fuzz_durable_store: the input as the queue.conf of a durable queue
 * created at run time (busd/durable_store.h), parsed for the queue "q".
 * Besides the sanitizers: what the parser accepts must be settings the
 * library's check accepts, durable, with a mode of at most 0777.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "durable_store.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_queue_settings settings;
	struct busd_access access;
	char why[512];

	if (busd_durable_store_parse((const char *)data, size, "q", &settings,
				     &access, why, sizeof(why)))
		return 0;
	if (!settings.durable || access.mode > 0777 ||
	    bus__queue_settings_check(&settings, why, sizeof(why))) {
		fprintf(stderr, "fuzz_durable_store: accepted bad settings\n");
		abort();
	}
	return 0;
}
