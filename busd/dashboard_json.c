/* SPDX-License-Identifier: MIT */
/*
 * GET /api/state: the dashboard's snapshot as JSON (dashboard.h).  Every
 * figure is an integer; latencies are nanoseconds.  A histogram is a list
 * of [upper_ns, count] for its non-empty buckets only: most of the 256
 * are empty, and the page needs no more.
 *
 *   {"bus": "default", "now_ns": N,
 *    "queues": [{"name", "type", "enqueued", "dequeued", "acked",
 *                "depth", "leased", "capacity", "high_water",
 *                "producers", "consumers", "rejected", "dropped",
 *                "latency": {...}, "readers_total": N,
 *                "readers": [{"slot", "pid", "received", "acked",
 *                             "leased", "latency": {...},
 *                             "histogram": [[ns, count], ...]}]}],
 *    "topics": [{"name", "published", "received", "max_lag", "capacity",
 *                "publishers", "subscribers", "lost", "lapped",
 *                "high_water", "latency": {...}, "readers_total": N,
 *                "readers": [{"slot", "pid", "received", "lag", "lost",
 *                             "latency": {...}, "histogram": [...]}]}]}
 */
#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"
#include "dashboard.h"
#include "dashboard_snapshot.h"
#include "latency.h"

#define U(x) ((unsigned long long)(x))

/* Names pass bus_name_check() (letters, digits, '_', '-', '.'), so they
 * need no escaping; anything else is written as \u escapes all the same,
 * so that no figure can break the document. */
static void busd_dashboard_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c < 0x20 || *c == '"' || *c == '\\' || *c > 0x7e)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static void busd_dashboard_latency(FILE *out, const struct bus_latency *l)
{
	fprintf(out,
		"{\"count\": %llu, \"min_ns\": %llu, \"p50_ns\": %llu, "
		"\"p90_ns\": %llu, \"p99_ns\": %llu, \"p999_ns\": %llu, "
		"\"max_ns\": %llu}",
		U(l->count), U(l->min_ns), U(l->p50_ns), U(l->p90_ns),
		U(l->p99_ns), U(l->p999_ns), U(l->max_ns));
}

static void busd_dashboard_histogram(FILE *out, const uint64_t *buckets)
{
	const char *sep = "";

	fputc('[', out);
	for (uint32_t b = 0; b < BUS_LATENCY_BUCKETS; b++) {
		if (!buckets[b])
			continue;
		fprintf(out, "%s[%llu, %llu]", sep,
			U(bus__latency_bucket_high(b)), U(buckets[b]));
		sep = ", ";
	}
	fputc(']', out);
}

static void busd_dashboard_reader(FILE *out,
				  const struct busd_dashboard_item *it,
				  const struct busd_dashboard_reader *r)
{
	fprintf(out, "{\"slot\": %u, \"pid\": %d, \"received\": %llu, ",
		r->slot, r->pid, U(r->received));
	if (it->topic)
		fprintf(out, "\"lag\": %llu, \"lost\": %llu, ", U(r->held),
			U(r->lost));
	else
		fprintf(out, "\"acked\": %llu, \"leased\": %llu, ",
			U(r->acked), U(r->held));
	fputs("\"latency\": ", out);
	busd_dashboard_latency(out, &r->latency);
	fputs(", \"histogram\": ", out);
	busd_dashboard_histogram(out, r->buckets);
	fputc('}', out);
}

static void busd_dashboard_readers(FILE *out,
				   const struct busd_dashboard_item *it)
{
	fputs(", \"latency\": ", out);
	busd_dashboard_latency(out, &it->latency);
	fprintf(out, ", \"readers_total\": %u, \"readers\": [",
		it->reader_count);
	for (uint32_t i = 0; i < it->shown; i++) {
		if (i)
			fputs(", ", out);
		busd_dashboard_reader(out, it, &it->readers[i]);
	}
	fputs("]}", out);
}

static void busd_dashboard_queue(FILE *out,
				 const struct busd_dashboard_item *it)
{
	const struct bus_queue_stats *s = &it->stats.queue;

	fputs("{\"name\": ", out);
	busd_dashboard_string(out, it->name);
	fprintf(out,
		", \"type\": \"%s\", \"enqueued\": %llu, "
		"\"dequeued\": %llu, \"acked\": %llu, \"depth\": %llu, "
		"\"leased\": %llu, \"capacity\": %llu, \"high_water\": %llu, "
		"\"producers\": %u, \"consumers\": %u, \"rejected\": %llu, "
		"\"dropped\": %llu",
		it->type == BUS_QUEUE_SPSC ? "spsc" : "mpmc", U(s->enqueued),
		U(s->dequeued), U(s->acked), U(s->depth), U(s->leased),
		U(s->capacity), U(s->high_water), s->producers, s->consumers,
		U(s->rejected), U(s->dropped));
	busd_dashboard_readers(out, it);
}

static void busd_dashboard_topic(FILE *out,
				 const struct busd_dashboard_item *it)
{
	const struct bus_topic_stats *s = &it->stats.topic;

	fputs("{\"name\": ", out);
	busd_dashboard_string(out, it->name);
	fprintf(out,
		", \"published\": %llu, \"received\": %llu, "
		"\"max_lag\": %llu, \"capacity\": %llu, \"publishers\": %u, "
		"\"subscribers\": %u, \"lost\": %llu, \"lapped\": %llu, "
		"\"high_water\": %llu",
		U(s->published), U(s->received), U(s->max_lag), U(s->capacity),
		s->publishers, s->subscribers, U(s->lost), U(s->lapped),
		U(s->high_water));
	busd_dashboard_readers(out, it);
}

static void busd_dashboard_write(FILE *out, const char *bus_name,
				 const struct busd_dashboard_snapshot *snap)
{
	const char *sep = "";

	fputs("{\"bus\": ", out);
	busd_dashboard_string(out, bus_name);
	fprintf(out, ", \"now_ns\": %llu, \"queues\": [", U(snap->now_ns));
	for (unsigned int i = 0; i < snap->count; i++) {
		if (snap->items[i].topic)
			continue;
		fputs(sep, out);
		busd_dashboard_queue(out, &snap->items[i]);
		sep = ",\n";
	}
	fputs("],\n\"topics\": [", out);
	sep = "";
	for (unsigned int i = 0; i < snap->count; i++) {
		if (!snap->items[i].topic)
			continue;
		fputs(sep, out);
		busd_dashboard_topic(out, &snap->items[i]);
		sep = ",\n";
	}
	fputs("]}\n", out);
}

char *busd_dashboard_state(const struct busd_catalog *catalog,
			   pthread_mutex_t *lock, size_t *length)
{
	struct busd_dashboard_snapshot snap;
	char *text = NULL;
	FILE *out;

	if (busd_dashboard_snapshot(&catalog->registry, lock, &snap)) {
		busd_dashboard_snapshot_free(&snap);
		return NULL;
	}
	out = open_memstream(&text, length);
	if (out) {
		busd_dashboard_write(out, catalog->bus_name, &snap);
		if (fclose(out)) {
			free(text);
			text = NULL;
		}
	}
	busd_dashboard_snapshot_free(&snap);
	return text;
}
