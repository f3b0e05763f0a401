/* SPDX-License-Identifier: MIT */
/*
 * The arena of a packed topic (max_publishers = 1), as its one publisher
 * manages it: what it may write over (the judge), and the lines it shares
 * (control->arena_head, control->overwritten).  The allocator itself is
 * arena.c's; the cell protocol is topic_cell.h's, whose section "Packed
 * topics" says why readers stay safe.
 */
#ifndef BUS_TOPIC_ARENA_H
#define BUS_TOPIC_ARENA_H

#include <stdint.h>

#include "topic.h"

/*
 * A publisher handle of a packed topic: its arena, rebuilt from the cells
 * when a predecessor left messages there (a replacement after a death, or
 * any later publisher).  0, -ENOMEM, or -EBADMSG when the cells describe
 * records that overlap or lie outside the arena (a corrupt segment).
 */
int bus__topic_arena_open(struct bus_topic *t);
void bus__topic_arena_close(struct bus_topic *t);

/*
 * Room for t->want bytes for position p (= t->tail, whose cell the caller
 * found claimable): 0 and *offset, or -ENOBUFS when what lies there is
 * still to be read (block policy, a recorded topic's journal) or is one of
 * our open loans.  Takes nothing.
 */
int bus__topic_arena_find(struct bus_topic *t, uint64_t p, uint32_t *offset);

/*
 * Takes the room find gave for position p, just claimed: mirrors the
 * head, and raises control->overwritten if the room writes over records
 * (relaxed; the caller's release fence orders it before the message).
 */
void bus__topic_arena_take(struct bus_topic *t, uint64_t p, uint32_t offset);

/* The commit of p: its record shrinks to length bytes (arena.h). */
void bus__topic_arena_shrink(struct bus_topic *t, uint64_t p, uint32_t length);

/* The extent of our open loan at p, or NULL. */
const struct bus__arena_extent *bus__topic_arena_extent(struct bus_topic *t,
							uint64_t p);

#endif /* BUS_TOPIC_ARENA_H */
