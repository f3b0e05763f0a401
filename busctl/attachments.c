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
	char min[24], p50[24], p90[24], p99[24], p999[24], max[24];

	printf("%-*s %" PRIu64 " receives: min %s p50 %s p90 %s p99 %s "
	       "p99.9 %s max %s\n",
	       width, "latency", l->count,
	       busctl_format_ns(min, sizeof(min), l->min_ns),
	       busctl_format_ns(p50, sizeof(p50), l->p50_ns),
	       busctl_format_ns(p90, sizeof(p90), l->p90_ns),
	       busctl_format_ns(p99, sizeof(p99), l->p99_ns),
	       busctl_format_ns(p999, sizeof(p999), l->p999_ns),
	       busctl_format_ns(max, sizeof(max), l->max_ns));
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
	       "nacked", "leased", "high_water", "p50", "p99", "p99.9");
	for (uint32_t i = 0; i < a->count; i++) {
		const struct bus_attachment_stats *s = &a->items[i];
		char p50[24], p99[24], p999[24];

		/* %*s counts bytes, and "µ" is two: pad by hand. */
		printf("%-5u %-9s %-8d %12" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %10" PRIu64 " %8" PRIu64 " %10" PRIu64,
		       s->slot, busctl_role_name(s->role), (int)s->pid,
		       s->enqueued, s->dequeued, s->acked, s->nacked,
		       s->leased, s->high_water);
		busctl_print_ns_column(s->latency.p50_ns, p50, sizeof(p50));
		busctl_print_ns_column(s->latency.p99_ns, p99, sizeof(p99));
		busctl_print_ns_column(s->latency.p999_ns, p999, sizeof(p999));
		putchar('\n');
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
