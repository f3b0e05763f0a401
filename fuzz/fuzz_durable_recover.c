/* SPDX-License-Identifier: MIT */
/*
 * fuzz_durable_recover: the input as the journal of a durable queue found
 * at busd's start (busd/durable_recover.c): rebuilt into a fresh segment
 * (a reboot), then the same segment adopted (a restart).
 *
 * The input is the queue's one journal file in a private directory; the
 * segment is anonymous memory laid out as busd lays out a queue.  Besides
 * the sanitizers, the rebuild must leave only messages that fit the
 * queue's cells, no more than its slots, each READY at its position.
 *
 * Then the same journal refills a packed (spsc) queue with a small arena
 * (tests/packed_segment.h): a rebuild that succeeds must have laid the
 * records one after another from offset 0, each inside the arena and
 * found again by bus__message_locate, left the arena head after the last,
 * and the producer's rebuild of its arena must accept the result.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "atomics.h"
#include "bus/bus.h"
#include "durable_queue.h"
#include "message_area.h"
#include "packed_segment.h"
#include "queue_cell.h"
#include "segment.h"
#include "segment_lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char directory[4096];
static char file[4200];

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_durable_recover: %s\n", what);
	abort();
}

/* The private directory goes when the fuzzer exits. */
static void cleanup(void)
{
	unlink(file);
	rmdir(directory);
}

static int setup(void)
{
	if (directory[0])
		return 0;
	snprintf(directory, sizeof(directory), "%s/fuzz-durable-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(directory))
		return -errno;
	snprintf(file, sizeof(file), "%s/00000000000000000000.journal",
		 directory);
	atexit(cleanup);
	return 0;
}

static int write_input(const uint8_t *data, size_t size)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

/* What a rebuild may leave: READY cells from dequeue to enqueue, each
 * within the queue's limits. */
static void check_rebuilt(const struct busd_durable_queue *dq)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	uint64_t from = bus__load_relaxed(&g->control->dequeue_position);
	uint64_t to = bus__load_relaxed(&g->control->enqueue_position);

	if (to - from > g->slots || dq->held_count != to - from)
		fuzz_bug("more messages than slots, or a count that differs");
	for (uint64_t p = from; p < to; p++) {
		const struct bus_cell *cell = bus__queue_cell(g, p);

		if (bus__load_relaxed(&cell->state) !=
		    bus__cell_state(bus__position_wrap(p), 0, BUS__CELL_READY))
			fuzz_bug(
				"a rebuilt cell is not READY at its position");
		if (cell->header.payload_length > g->settings.max_message ||
		    cell->header.extension_length >
			    busd_extension_room(&g->area))
			fuzz_bug("a rebuilt message does not fit its cell");
	}
}

/* What a packed refill may leave (see the top). */
static void check_packed(const struct busd_durable_queue *dq)
{
	const struct bus__queue_geometry *g = &dq->geometry;
	uint64_t from = bus__load_relaxed(&g->control->dequeue_position);
	uint64_t to = bus__load_relaxed(&g->control->enqueue_position);
	struct bus__arena_extent live[16];
	struct bus__arena arena;
	uint64_t offset = 0;
	uint32_t n = 0;

	if (to - from > g->slots || to - from > 16)
		fuzz_bug("packed: more messages than slots");
	for (uint64_t p = from; p < to; p++) {
		const struct bus_cell *cell = bus__queue_cell(g, p);
		const struct bus_message_header *h = &cell->header;
		struct bus__record rec;
		uint64_t length = bus__packed_record_length(
			h->payload_length, h->extension_length);

		if (h->record_offset != offset ||
		    offset + length > g->area.arena_bytes)
			fuzz_bug("packed: a record out of order or outside");
		if (bus__message_locate(&g->area, cell, h->record_offset,
					h->payload_length, h->extension_length,
					&rec))
			fuzz_bug("packed: a rebuilt record is not found");
		live[n++] = (struct bus__arena_extent){
			.position = p,
			.start = (uint32_t)offset,
			.length = (uint32_t)length,
		};
		offset += length;
	}
	if (bus__load_relaxed(&g->control->arena_head) !=
	    offset % g->area.arena_bytes)
		fuzz_bug(
			"packed: the arena head is not after the last record");
	if (bus__arena_init(&arena, g->area.arena_bytes, g->slots))
		return;
	if (bus__arena_rebuild(&arena, (uint32_t)offset % g->area.arena_bytes,
			       live, n))
		fuzz_bug("packed: the producer's rebuild refuses the refill");
	bus__arena_destroy(&arena);
}

static void recover_packed(void)
{
	struct bus_journal_recovery recovered = { 0 };
	struct bus_queue_settings settings;
	struct packed_segment seg;
	struct busd_durable_queue dq;
	char detail[512];

	bus_queue_settings_default(&settings);
	settings.slots = 16;
	settings.max_unacked = 16;
	settings.max_message = 64;
	settings.header_room = 64;
	settings.durable = 1;
	/* Two loans: a few messages fit, more are refused. */
	if (packed_segment_map(&seg, &settings,
			       2 * (uint32_t)bus__packed_reservation(64, 64)))
		return;
	memset(&dq, 0, sizeof(dq));
	snprintf(dq.name, sizeof(dq.name), "q");
	snprintf(dq.directory, sizeof(dq.directory), "%s", directory);
	dq.geometry = seg.geometry;
	dq.held = calloc(settings.slots, sizeof(*dq.held));
	if (dq.held && busd_durable_recover(&dq, false, &recovered, detail,
					    sizeof(detail)) == 0)
		check_packed(&dq);
	free(dq.held);
	free(dq.acks);
	free(dq.counts);
	packed_segment_unmap(&seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_journal_recovery recovered = { 0 };
	struct bus_queue_settings settings;
	struct busd_durable_queue dq;
	struct bus__queue_offsets o;
	char detail[512];
	void *base;

	if (setup() || write_input(data, size))
		return 0;
	bus_queue_settings_default(&settings);
	settings.slots = 16;
	settings.max_unacked = 16;
	settings.max_message = 64;
	settings.header_room = 64;
	settings.durable = 1;
	bus__queue_offsets(&settings, &o);
	base = mmap(NULL, o.size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 0;
	busd_queue_segment_init(base, o.size, "fuzz", "q", &settings);
	memset(&dq, 0, sizeof(dq));
	snprintf(dq.name, sizeof(dq.name), "q");
	snprintf(dq.directory, sizeof(dq.directory), "%s", directory);
	bus__queue_geometry_fill(&dq.geometry, base, o.size, &settings, &o);
	dq.held = calloc(settings.slots, sizeof(*dq.held));
	if (dq.held && busd_durable_recover(&dq, false, &recovered, detail,
					    sizeof(detail)) == 0) {
		check_rebuilt(&dq);
		/* The same journal and segment, as a restarted busd sees
		 * them. */
		memset(dq.held, 0, settings.slots * sizeof(*dq.held));
		dq.held_count = 0;
		busd_durable_recover(&dq, true, &recovered, detail,
				     sizeof(detail));
	}
	free(dq.held);
	free(dq.acks);
	free(dq.counts);
	munmap(base, o.size);
	recover_packed();
	return 0;
}
