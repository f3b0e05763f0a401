/* SPDX-License-Identifier: MIT */
/* The producers and consumers of a queue, and the leases each holds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "busctl.h"

void busctl_latency_print_json(const struct bus_latency *l)
{
	printf("{\"count\": %" PRIu64 ", \"min_ns\": %" PRIu64
	       ", \"p50_ns\": %" PRIu64 ", \"p90_ns\": %" PRIu64
	       ", \"p99_ns\": %" PRIu64 ", \"p999_ns\": %" PRIu64
	       ", \"max_ns\": %" PRIu64 "}",
	       l->count, l->min_ns, l->p50_ns, l->p90_ns, l->p99_ns,
	       l->p999_ns, l->max_ns);
}

void busctl_latency_print_text(const struct bus_latency *l, int width)
{
	printf("%-*s %" PRIu64 " receives: min %" PRIu64 " p50 %" PRIu64
	       " p90 %" PRIu64 " p99 %" PRIu64 " p99.9 %" PRIu64
	       " max %" PRIu64 " ns\n",
	       width, "latency", l->count, l->min_ns, l->p50_ns, l->p90_ns,
	       l->p99_ns, l->p999_ns, l->max_ns);
}

static const char *busctl_role_name(uint32_t role)
{
	return role == BUS_PRODUCER ? "producer" : "consumer";
}

int busctl_read_attachments(struct busctl *ctl, const char *name,
			    struct busctl_attachments *a)
{
	const struct bus_queue_settings *settings;
	bus_queue_t *queue;
	uint32_t room;
	int err;

	a->items = NULL;
	a->count = 0;
	err = bus_queue_open(ctl->bus, name, BUS_OBSERVER, NULL, &queue);
	if (err < 0)
		return err;
	settings = bus_queue_settings(queue);
	room = settings->max_producers + settings->max_consumers;
	a->items = calloc(room, sizeof(*a->items));
	err = a->items ? bus_queue_latency(queue, &a->latency) : -ENOMEM;
	if (err >= 0)
		err = bus_queue_attachments(queue, a->items, room);
	bus_queue_close(queue);
	if (err < 0) {
		free(a->items);
		a->items = NULL;
		return err;
	}
	a->count = (uint32_t)err < room ? (uint32_t)err : room;
	return 0;
}

void busctl_attachments_free(struct busctl_attachments *a)
{
	free(a->items);
	a->items = NULL;
	a->count = 0;
}

void busctl_attachments_print_text(const struct busctl_attachments *a)
{
	busctl_latency_print_text(&a->latency, 13);
	if (!a->count)
		return;
	printf("%-5s %-9s %-8s %12s %12s %12s %10s %8s %10s %10s %10s %10s\n",
	       "slot", "role", "pid", "enqueued", "dequeued", "acked",
	       "nacked", "leased", "high_water", "p50_ns", "p99_ns",
	       "p99.9_ns");
	for (uint32_t i = 0; i < a->count; i++) {
		const struct bus_attachment_stats *s = &a->items[i];

		printf("%-5u %-9s %-8d %12" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %10" PRIu64 " %8" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %10" PRIu64 " %10" PRIu64 "\n",
		       s->slot, busctl_role_name(s->role), (int)s->pid,
		       s->enqueued, s->dequeued, s->acked, s->nacked,
		       s->leased, s->high_water, s->latency.p50_ns,
		       s->latency.p99_ns, s->latency.p999_ns);
	}
}

void busctl_attachments_print_json(const struct busctl_attachments *a)
{
	fputs(",\n  \"latency\": ", stdout);
	busctl_latency_print_json(&a->latency);
	fputs(",\n  \"attachments\": [", stdout);
	for (uint32_t i = 0; i < a->count; i++) {
		const struct bus_attachment_stats *s = &a->items[i];

		printf("%s\n    {\"slot\": %u, \"role\": \"%s\", \"pid\": %d, "
		       "\"enqueued\": %" PRIu64 ", \"dequeued\": %" PRIu64
		       ", \"acked\": %" PRIu64 ", \"nacked\": %" PRIu64
		       ", \"redelivered\": %" PRIu64 ", \"leased\": %" PRIu64
		       ", \"high_water\": %" PRIu64 ", \"latency\": ",
		       i ? "," : "", s->slot, busctl_role_name(s->role),
		       (int)s->pid, s->enqueued, s->dequeued, s->acked,
		       s->nacked, s->redelivered, s->leased, s->high_water);
		busctl_latency_print_json(&s->latency);
		fputs("}", stdout);
	}
	fputs(a->count ? "\n  ]" : "]", stdout);
}
