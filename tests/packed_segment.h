/* SPDX-License-Identifier: MIT */
/*
 * A packed (spsc) queue segment in anonymous shared memory, for tests and
 * fuzzers of busd's copiers: laid out by libbus when it packs spsc queues
 * (BUS__PACKED_QUEUES), else by hand as include/bus/layout.h "Packed
 * messages" lays one out (cells of one line, the arena after them), so
 * that busd's side is tested whether or not libbus's side has landed.
 */
#ifndef BUS_TEST_PACKED_SEGMENT_H
#define BUS_TEST_PACKED_SEGMENT_H

#include <string.h>
#include <sys/mman.h>

#include "atomics.h"
#include "packed.h"
#include "queue_cell.h"
#include "segment.h"
#include "segment_lifecycle.h"

struct packed_segment {
	void *base;
	size_t size;
	struct bus__queue_geometry geometry;
};

/* Maps an spsc queue of these settings with an arena of arena_bytes
 * (a multiple of 64, at least one loan).  0, or -ENOMEM. */
static inline int packed_segment_map(struct packed_segment *p,
				     struct bus_queue_settings *s,
				     uint32_t arena_bytes)
{
	struct bus__queue_offsets o;

	s->type = BUS_QUEUE_SPSC;
	s->max_producers = s->max_consumers = 1;
	s->ring_bytes = bus__queue_is_packed(s) ? arena_bytes : 0;
	bus__queue_offsets(s, &o);
	/* By hand: the fixed layout's size and the arena besides, which
	 * holds slots one-line cells and then the arena. */
	p->size = o.size + (o.arena_bytes ? 0 : arena_bytes);
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->base == MAP_FAILED)
		return -ENOMEM;
	busd_queue_segment_init(p->base, o.size, "test", "q", s);
	bus__queue_geometry_fill(&p->geometry, p->base, p->size, s, &o);
	if (o.arena_bytes)
		return 0;
	p->geometry.stride = sizeof(struct bus_cell);
	p->geometry.payload_offset = 0;
	p->geometry.area = (struct bus__message_area){
		.arena = p->geometry.cells +
			 (size_t)s->slots * sizeof(struct bus_cell),
		.arena_bytes = arena_bytes,
		.extension_limit = bus__packed_extension_limit(s->header_room),
	};
	memset(p->geometry.cells, 0, (size_t)s->slots * o.stride);
	for (uint32_t i = 0; i < s->slots; i++)
		bus__store_relaxed(&bus__queue_cell(&p->geometry, i)->state,
				   bus__cell_state(i, 0, BUS__CELL_FREE));
	return 0;
}

static inline void packed_segment_unmap(struct packed_segment *p)
{
	munmap(p->base, p->size);
}

#endif /* BUS_TEST_PACKED_SEGMENT_H */
