/* SPDX-License-Identifier: MIT */
/*
 * The arena of a packed (spsc) queue, from its producer's side: what a
 * loan reserves, how the producer judges its old records by their cells,
 * and how a replacement producer finds them again.  Internal.
 */
#ifndef BUS_QUEUE_ARENA_H
#define BUS_QUEUE_ARENA_H

#include <stdint.h>

#include "queue.h"

/*
 * The producer's arena, for a producer handle of a packed queue: empty,
 * or rebuilt from the cells and control->arena_head for a replacement
 * producer.  0, -ENOMEM, or -EBADMSG for a corrupt segment (a record
 * outside the arena, two that overlap, a header whose lengths exceed the
 * settings).
 */
int bus__queue_arena_open(struct bus_queue *q);
void bus__queue_arena_close(struct bus_queue *q);

/*
 * Room first, then the cell, then the room taken: need bytes (a record
 * length) for the next position.  0 with *position and *offset (written
 * into the cell's header.record_offset too), or -ENOBUFS when the arena
 * or the ring is full for now (or -EBADMSG from the ring).  dropped: a
 * drop-oldest queue may drop its oldest queued messages for the room
 * (those the arena needs are counted in the attachment's figure at once;
 * *dropped is set as bus__ring_claim_spsc() sets it); NULL: it may not.
 */
int bus__queue_arena_claim(struct bus_queue *q, uint32_t need,
			   uint64_t *position, uint32_t *offset, int *dropped);

/* The commit of the newest loan: its record keeps only length bytes. */
void bus__queue_arena_shrink(struct bus_queue *q, uint64_t position,
			     uint32_t length);

#endif /* BUS_QUEUE_ARENA_H */
