/* SPDX-License-Identifier: MIT */
/*
 * The client side of test_durable_faults.sh, through bus.h alone:
 *
 *   durable_client produce BUS QUEUE FIRST BATCH
 *       sends messages FIRST, FIRST+1, ... for ever; after every BATCH a
 *       bus_flush(); each flush that returns 0 prints "confirmed LAST NS"
 *       on stdout, NS its CLOCK_MONOTONIC time (a plain write(2): it
 *       lands in the file even if we are killed the next instant).  A flush that fails ends the program
 *       with status 3 (the queue's journal failed: -ENOSPC ...), after
 *       printing "flush: ERROR".
 *   durable_client consume BUS QUEUE MAX
 *       takes and acks up to MAX messages, checking each; prints
 *       "acking ID" before each ack (so an ID printed may or may not be
 *       acked: it may come back), "acked ID NS" once bus_ack() returned.
 *   durable_client check BUS QUEUE FILE [ACKED]
 *       FILE lists ids (one per line) that must still be in the queue or
 *       were acked; the program takes every message (until the queue has
 *       been empty for a second), checks each, and says which of the
 *       listed ids it did not find, which ids of the file ACKED (acks
 *       surely journaled) came back, and which came twice.  0 when none
 *       is missing, none corrupt, none acked back and none twice.
 *
 * A payload is "ID CHECK" with CHECK a hash of ID, padded with a pattern
 * that depends on ID, so that a torn or mixed-up message is found.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"

#define PAYLOAD_SIZE 48

static uint64_t check_of(uint64_t id)
{
	return (id * UINT64_C(0x9e3779b97f4a7c15)) ^ (id >> 7);
}

static size_t payload_of(uint64_t id, char *out)
{
	int n = snprintf(out, PAYLOAD_SIZE, "%" PRIu64 " %016" PRIx64 " ", id,
			 check_of(id));

	for (int i = n; i < PAYLOAD_SIZE; i++)
		out[i] = (char)('a' + (id + (uint64_t)i) % 26);
	return PAYLOAD_SIZE;
}

/* The id of a valid payload, or -1. */
static int64_t id_of(const void *data, size_t length)
{
	char expected[PAYLOAD_SIZE];
	uint64_t id;

	if (length != PAYLOAD_SIZE)
		return -1;
	if (sscanf(data, "%" SCNu64, &id) != 1)
		return -1;
	payload_of(id, expected);
	return memcmp(expected, data, PAYLOAD_SIZE) ? -1 : (int64_t)id;
}

static void say(const char *format, uint64_t value)
{
	char line[64];
	int n = snprintf(line, sizeof(line), format, value);

	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(4);
}

/* "WORD ID NS\n", NS the CLOCK_MONOTONIC time now. */
static void say_when(const char *word, uint64_t id)
{
	struct timespec t;
	char line[96];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t);
	n = snprintf(line, sizeof(line), "%s %" PRIu64 " %" PRIu64 "\n", word,
		     id,
		     (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec);
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(4);
}

static int open_queue(const char *bus_name, const char *queue,
		      enum bus_role role, bus_t **bus, bus_queue_t **q)
{
	int ret = bus_connect(bus_name, bus);

	if (ret == 0)
		ret = bus_queue_open(*bus, queue, role, NULL, q);
	if (ret)
		fprintf(stderr, "durable_client: %s: %s\n", queue,
			bus_strerror(ret));
	return ret;
}

/* Lets go of the queue and the bus before a return, so that a sanitizer's
 * leak check at exit sees nothing of ours (under ASan a leak turns the
 * exit status the test reads into 1). */
static int done(bus_t *bus, bus_queue_t *q, int ret)
{
	bus_queue_close(q);
	bus_disconnect(bus);
	return ret;
}

static int produce(const char *bus_name, const char *queue, uint64_t first,
		   uint32_t batch)
{
	char payload[PAYLOAD_SIZE];
	bus_queue_t *q;
	bus_t *bus;
	int ret;

	if (open_queue(bus_name, queue, BUS_PRODUCER, &bus, &q))
		return 1;
	for (uint64_t id = first;; id++) {
		ret = bus_send(q, payload, payload_of(id, payload),
			       BUS_FOREVER);
		if (ret) {
			fprintf(stderr, "durable_client: send: %s\n",
				bus_strerror(ret));
			return done(bus, q, 1);
		}
		if ((id - first + 1) % batch)
			continue;
		ret = bus_flush(q, 10000);
		if (ret) {
			printf("flush: %s\n", bus_strerror(ret));
			fflush(stdout);
			return done(bus, q, 3);
		}
		say_when("confirmed", id);
	}
}

static int consume(const char *bus_name, const char *queue, uint64_t max)
{
	struct bus_message m;
	bus_queue_t *q;
	bus_t *bus;
	int ret;

	if (open_queue(bus_name, queue, BUS_CONSUMER, &bus, &q))
		return 1;
	for (uint64_t n = 0; n < max; n++) {
		int64_t id;

		ret = bus_receive(q, &m, BUS_FOREVER);
		if (ret) {
			fprintf(stderr, "durable_client: receive: %s\n",
				bus_strerror(ret));
			return done(bus, q, 1);
		}
		id = id_of(m.payload, m.length);
		if (id < 0) {
			fprintf(stderr, "durable_client: corrupt message\n");
			return done(bus, q, 2);
		}
		say("acking %" PRIu64 "\n", (uint64_t)id);
		if (bus_ack(q, &m) == 0)
			say_when("acked", (uint64_t)id);
	}
	bus_queue_close(q);
	bus_disconnect(bus);
	return 0;
}

static int compare_ids(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t *read_ids(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	uint64_t *ids = NULL, id;
	size_t capacity = 0;

	*count = 0;
	if (!f)
		return NULL;
	while (fscanf(f, "%" SCNu64, &id) == 1) {
		if (*count == capacity) {
			capacity = capacity ? capacity * 2 : 1024;
			ids = realloc(ids, capacity * sizeof(*ids));
			if (!ids)
				exit(4);
		}
		ids[(*count)++] = id;
	}
	fclose(f);
	if (*count) /* qsort and bsearch want a base even for no element */
		qsort(ids, *count, sizeof(*ids), compare_ids);
	return ids;
}

/* Ids of a sorted array that are also in the other, or twice in it. */
static size_t report_ids(const uint64_t *ids, size_t count, const uint64_t *in,
			 size_t in_count, const char *what)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		bool hit = in ? bsearch(&ids[i], in, in_count, sizeof(*in),
					compare_ids) != NULL
			      : i > 0 && ids[i] == ids[i - 1];

		if (hit && n++ < 10)
			fprintf(stderr, "durable_client: %" PRIu64 " %s\n",
				ids[i], what);
	}
	return n;
}

static int check(const char *bus_name, const char *queue, const char *path,
		 const char *acked_path)
{
	size_t count, missing = 0, corrupt = 0, taken = 0, acked_count = 0;
	size_t back = 0, twice = 0, capacity = 1024;
	uint64_t *ids = read_ids(path, &count);
	uint64_t *acked = acked_path ? read_ids(acked_path, &acked_count)
				     : NULL;
	uint64_t *seen = malloc(capacity * sizeof(*seen));
	char *found = calloc(count ? count : 1, 1);
	struct bus_message m;
	bus_queue_t *q;
	bus_t *bus;

	if (!found || !seen ||
	    open_queue(bus_name, queue, BUS_CONSUMER, &bus, &q))
		return 1;
	while (bus_receive(q, &m, 1000000000) == 0) {
		int64_t id = id_of(m.payload, m.length);
		uint64_t *at;

		if (id < 0) {
			corrupt++;
		} else {
			if (taken == capacity) {
				capacity *= 2;
				seen = realloc(seen, capacity * sizeof(*seen));
				if (!seen)
					exit(4);
			}
			seen[taken++] = (uint64_t)id;
			at = !count ? NULL
				    : bsearch(&(uint64_t){ (uint64_t)id }, ids,
					      count, sizeof(*ids),
					      compare_ids);
			if (at)
				found[at - ids] = 1;
		}
		bus_ack(q, &m);
	}
	for (size_t i = 0; i < count; i++) {
		if (found[i])
			continue;
		if (missing++ < 10)
			fprintf(stderr,
				"durable_client: confirmed %" PRIu64
				" is missing\n",
				ids[i]);
	}
	qsort(seen, taken, sizeof(*seen), compare_ids);
	if (acked_count)
		back = report_ids(seen, taken, acked, acked_count,
				  "was acked (journaled) but came back");
	twice = report_ids(seen, taken, NULL, 0, "came twice");
	printf("taken %zu, corrupt %zu, listed %zu, missing %zu, acked back "
	       "%zu, twice %zu\n",
	       taken + corrupt, corrupt, count, missing, back, twice);
	free(ids);
	free(acked);
	free(seen);
	free(found);
	return done(bus, q, missing || corrupt || back || twice ? 2 : 0);
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "produce"))
		return produce(argv[2], argv[3], strtoull(argv[4], NULL, 10),
			       (uint32_t)strtoul(argv[5], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "consume"))
		return consume(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3], argv[4],
			     argc == 6 ? argv[5] : NULL);
	fprintf(stderr,
		"usage: durable_client produce BUS QUEUE FIRST BATCH | "
		"consume BUS QUEUE MAX | check BUS QUEUE FILE [ACKED]\n");
	return 2;
}
