/* SPDX-License-Identifier: MIT */
/*
 * fuzz_packed_record: the record format of packed segments (layout.h,
 * "Packed messages") as a hostile peer writes it, and the arena a writer
 * rebuilds from it (libbus/core/packed.c, arena.c).
 *
 * Input, every field read with fuzz_input (zeros past the end):
 *
 *   u16  arena bytes: 64 x (1 + n % 64)
 *   u8   slots: 2 << (n % 4)
 *   u16  extension limit: n % 1024
 *   u32  arena head, as the shared mirror holds it (any value)
 *   u8   cells, up to slots; for each a header as a peer left it:
 *        u32 record_offset, u32 payload_length (modulo 64 MiB + 1, as
 *        callers check max_message first), u16 extension_length
 *   then operations until the input ends: u8 length in lines, and one
 *        u8 verdict per extent the arena asks about (GONE, PINNED, BUSY)
 *
 * Checked: bus__message_locate gives bytes inside the arena or -EBADMSG,
 * never more; bus__arena_rebuild accepts only extents inside the arena
 * that do not overlap, in arena order from the head; and every room
 * bus__arena_find gives lies inside the arena and overlaps no extent the
 * writer still keeps (PINNED and BUSY ones, and the records it took).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz_input.h"
#include "packed.h"

#define ARENA_MAX (64u * 64u)
#define CELLS_MAX 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_packed_record: %s\n", what);
	abort();
}

static enum bus__arena_verdict judge(void *context,
				     const struct bus__arena_extent *e)
{
	struct fuzz_input *in = context;

	(void)e;
	return (enum bus__arena_verdict)(fuzz_input_u8(in) % 3);
}

static const struct bus__arena_extent *extent_at(const struct bus__arena *a,
						 uint32_t i)
{
	return &a->fifo[(a->first + i) & a->mask];
}

/* No two extents the writer keeps overlap, each lies in the arena. */
static void check_fifo(const struct bus__arena *a)
{
	if (a->count > a->mask + 1 || a->head >= a->bytes)
		fuzz_bug("a FIFO past its capacity, or a head outside");
	for (uint32_t i = 0; i < a->count; i++) {
		const struct bus__arena_extent *x = extent_at(a, i);

		if ((uint64_t)x->start + x->length > a->bytes ||
		    x->start % BUS__RECORD_ALIGN || !x->length)
			fuzz_bug("an extent outside the arena");
		for (uint32_t j = i + 1; j < a->count; j++) {
			const struct bus__arena_extent *y = extent_at(a, j);

			if (x->start < y->start + y->length &&
			    y->start < x->start + x->length)
				fuzz_bug("two extents overlap");
		}
	}
}

/* The room find gave overlaps nothing kept. */
static void check_room(const struct bus__arena *a, uint32_t offset,
		       uint32_t length)
{
	if ((uint64_t)offset + length > a->bytes || offset % BUS__RECORD_ALIGN)
		fuzz_bug("a room outside the arena");
	for (uint32_t i = 0; i < a->count; i++) {
		const struct bus__arena_extent *x = extent_at(a, i);

		if (offset < x->start + x->length &&
		    x->start < offset + length)
			fuzz_bug("a room over a record still kept");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t arena_bytes[ARENA_MAX];
	struct fuzz_input in = { .data = data, .size = size };
	struct bus__arena_extent live[CELLS_MAX];
	struct bus_cell cell = { 0 };
	struct bus__message_area area;
	struct bus__arena a;
	uint32_t bytes = 64u * (1u + fuzz_input_u16(&in) % 64u);
	uint32_t slots = 2u << (fuzz_input_u8(&in) % 4u);
	uint32_t limit = fuzz_input_u16(&in) % 1024u;
	uint32_t head = fuzz_input_u32(&in);
	uint32_t cells = fuzz_input_u8(&in) % (slots + 1u);
	uint32_t n = 0;
	uint64_t position = 0;

	area = (struct bus__message_area){
		.arena = arena_bytes,
		.arena_bytes = bytes,
		.extension_limit = limit,
	};
	for (uint32_t i = 0; i < cells; i++) {
		uint32_t offset = fuzz_input_u32(&in);
		/* Every caller checks payload_length against max_message
		 * (at most 64 MiB) before it locates (packed.h); past 2^32 -
		 * 8 the extension's offset would wrap in 32 bits. */
		uint32_t payload = fuzz_input_u32(&in) % ((64u << 20) + 1u);
		uint16_t extension = fuzz_input_u16(&in);
		uint64_t length =
			bus__packed_record_length(payload, extension);
		struct bus__record rec;

		if (bus__message_locate(&area, &cell, offset, payload,
					extension, &rec))
			continue;
		/* Found: every byte of it inside the arena. */
		if (rec.payload < arena_bytes ||
		    rec.payload + payload > arena_bytes + bytes ||
		    rec.extension + extension > arena_bytes + bytes ||
		    extension > limit || rec.room != extension ||
		    offset + length > bytes)
			fuzz_bug("a located record outside the arena");
		live[n++] = (struct bus__arena_extent){
			.position = position++,
			.start = offset,
			.length = (uint32_t)length,
		};
	}
	if (bus__arena_init(&a, bytes, slots))
		return 0;
	if (bus__arena_rebuild(&a, head, live, n) == 0) {
		check_fifo(&a);
		if (a.count != n)
			fuzz_bug("a rebuild that lost an extent");
	} else if (a.count) {
		fuzz_bug("a failed rebuild that left extents");
	}
	/* The writer goes on: finds and takes, the judge fuzzed. */
	while (!fuzz_input_done(&in)) {
		uint32_t length =
			BUS__RECORD_ALIGN * (1u + fuzz_input_u8(&in) % 16u);
		uint32_t offset;

		if (bus__arena_find(&a, length, judge, &in, &offset) == 0) {
			check_room(&a, offset, length);
			bus__arena_take(&a, position++, offset, length);
		}
		check_fifo(&a);
	}
	bus__arena_destroy(&a);
	return 0;
}
