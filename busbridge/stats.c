/* SPDX-License-Identifier: MIT */
/*
 * The figures of every rule, one line each, on SIGUSR1 and at exit:
 *
 *   busbridge: figures: RULE KIND forwarded=N failed=N dropped=N in_flight=N
 *
 * Read while the threads count: each figure is exact on its own, the four
 * of a line are not one snapshot.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bridge.h"

static const char *const kind_names[] = {
	[BRIDGE_EXPORT_TOPIC] = "export-topic",
	[BRIDGE_EXPORT_QUEUE] = "export-queue",
	[BRIDGE_IMPORT_CORE] = "import-core",
	[BRIDGE_IMPORT_JETSTREAM] = "import-jetstream",
	[BRIDGE_EXPORT_SERVICE] = "export-service",
	[BRIDGE_IMPORT_SERVICE] = "import-service",
};

static uint64_t figure(const atomic_uint_fast64_t *value)
{
	return atomic_load_explicit(value, memory_order_relaxed);
}

void bridge_stats_print(const struct bridge *bridge, FILE *out)
{
	for (unsigned int i = 0; i < bridge->config.rule_count; i++) {
		const struct bridge_rule *rule = &bridge->config.rules[i];
		const struct bridge_stats *s = &rule->stats;

		fprintf(out, "busbridge: figures: %s %s forwarded=%" PRIu64
			" failed=%" PRIu64 " dropped=%" PRIu64
			" in_flight=%" PRIu64 "\n", rule->name,
			kind_names[rule->kind], figure(&s->forwarded),
			figure(&s->failed), figure(&s->dropped),
			figure(&s->in_flight));
	}
	fflush(out);
}
