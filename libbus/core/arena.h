/* SPDX-License-Identifier: MIT */
/*
 * The arena of a packed segment, as its single writer manages it (an spsc
 * queue's producer, a single-publisher topic's publisher, busd when it
 * refills a queue from its journal).
 *
 * The writer allocates records in position order: each at the head, which
 * then moves past it; a record never wraps around the arena's end (the
 * bytes left there are skipped, and the head goes back to 0).  The writer
 * keeps, in private memory, the extents it wrote that may still be in use,
 * in arena order starting from the head: the FIFO.  To find room for a
 * record it looks at the FIFO's front, the record right after the head,
 * and asks the caller what became of its message (judge):
 *
 *   GONE     nobody will read it again (acked, read by every subscriber,
 *            recorded...): its bytes are free; it leaves the FIFO.
 *   PINNED   a consumer holds it (HELD, REDELIVER, DEAD): it stays where
 *            it is; the head jumps past it and it goes to the FIFO's back
 *            (it is now the last record before the head, in arena order).
 *            The bytes between the head and it stay unused for this lap.
 *   BUSY     its message is still to be read: the arena is full for now
 *            (-ENOBUFS), as a ring is full when its next cell is.
 *
 * So a held message never holds back the messages behind it, as in a ring
 * of cells.  Nothing here is shared: the extents live in the writer's
 * memory, and its judge reads the shared cells (with the ordering it
 * needs, which it comments).  A writer that replaces a dead one rebuilds
 * the FIFO from the cells (bus__arena_rebuild).
 *
 * Bound: every live record belongs to a message that occupies a cell, so
 * at most `slots` extents are live.  The FIFO holds up to 2 x slots; when
 * full it drops the GONE ones wherever they are (one pass, amortised O(1)
 * per record).  A writer that knows a record is gone by position alone
 * (a topic: position <= newest - slots, its cell reused) says so to the
 * judge as well.
 */
#ifndef BUS_ARENA_H
#define BUS_ARENA_H

#include <stdbool.h>
#include <stdint.h>

/* One record the writer wrote: where, and whose. */
struct bus__arena_extent {
	uint64_t position;
	uint32_t start; /* arena offset, BUS__RECORD_ALIGN-aligned */
	uint32_t length;
};

enum bus__arena_verdict {
	BUS__ARENA_GONE,
	BUS__ARENA_PINNED,
	BUS__ARENA_BUSY,
};

typedef enum bus__arena_verdict (*bus__arena_judge)(
	void *context, const struct bus__arena_extent *extent);

struct bus__arena {
	uint32_t bytes; /* the arena's size */
	uint32_t head;	/* where the next record goes */
	/* The FIFO: a ring of capacity mask + 1 (a power of two >= 2 x
	 * slots), first is the front's index, count how many. */
	struct bus__arena_extent *fifo;
	uint32_t mask;
	uint32_t first;
	uint32_t count;
	/* The highest position of a GONE extent dropped so far (whose bytes
	 * this or a later record may write over), plus one; 0 if none.  A
	 * running maximum, never reset by a find: one that drops and then
	 * fails leaves those bytes to the next.  A topic under the
	 * overwrite policy raises its `overwritten` line to it before it
	 * writes (layout.h). */
	uint64_t overwrites;
	/* True while compaction judges the FIFO's extents, wherever they
	 * lie: a judge must then only tell what became of a record, never
	 * act to free it (a drop-oldest queue drops its oldest message, the
	 * front, not one in the middle). */
	bool compacting;
};

/* An empty arena of bytes bytes for a segment of slots cells.  0, or
 * -ENOMEM. */
int bus__arena_init(struct bus__arena *a, uint32_t bytes, uint32_t slots);
void bus__arena_destroy(struct bus__arena *a);

/*
 * Finds room for a record of length bytes (aligned, <= bytes), judging
 * and dropping extents as above, but takes nothing: 0 and *offset, or
 * -ENOBUFS when the front is BUSY or every extent is PINNED (-EINVAL for
 * a length of 0 or not aligned, -EMSGSIZE for one over bytes).  A caller
 * that then cannot claim its cell simply does not call take; what find
 * dropped was gone anyway.  (Refinement: find moves the head to *offset,
 * over the bytes it found free or pinned, so that the FIFO stays in arena
 * order from the head whether or not take follows.)  It raises
 * overwrites past every GONE extent it drops.
 */
int bus__arena_find(struct bus__arena *a, uint32_t length,
		    bus__arena_judge judge, void *context, uint32_t *offset);

/* Takes the room find gave for position: the head moves past it and the
 * extent joins the FIFO's back. */
void bus__arena_take(struct bus__arena *a, uint64_t position, uint32_t offset,
		     uint32_t length);

/*
 * The record of position, the newest taken (a loan at its commit), now
 * needs only length bytes (<= what it took): the head moves back to its
 * end.  No-op if it is not the newest (a batch's earlier loans keep their
 * room until the head comes round).
 */
void bus__arena_shrink(struct bus__arena *a, uint64_t position,
		       uint32_t length);

/*
 * A replacement writer: head (the shared mirror), and the extents of every
 * message still in a cell, in any order.  Sorts them into arena order from
 * head.  0, -EBADMSG when two overlap or one lies outside the arena (a
 * corrupt segment), -ENOBUFS if more than the FIFO holds.
 */
int bus__arena_rebuild(struct bus__arena *a, uint32_t head,
		       const struct bus__arena_extent *live, uint32_t count);

#endif /* BUS_ARENA_H */
