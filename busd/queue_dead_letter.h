/* SPDX-License-Identifier: MIT */
/*
 * busd's side of dead letters and ack timeouts: moving DEAD cells into a
 * queue's dead-letter queue, taking leases back from consumers that held
 * them past ack_timeout_ms, and finishing either after busd itself died in
 * the middle.  Only busd calls these (one thread); clients never do.
 * Internal to libbus and busd.
 */
#ifndef BUSD_QUEUE_DEAD_LETTER_H
#define BUSD_QUEUE_DEAD_LETTER_H

#include <stdint.h>

#include "segment.h"

/* What one pass over a queue's DEAD cells did. */
struct busd_dead_letter_pass {
	uint32_t moved;	    /* now in the dead-letter queue */
	uint32_t waiting;   /* still DEAD: the dead-letter queue is full */
	uint32_t too_large; /* still DEAD: larger than the target allows */
	uint32_t corrupt;   /* DEAD with a corrupt header: freed, dropped */
};

/*
 * Moves every DEAD cell of source into target (an mpmc queue), as a
 * producer of target would write it: header (delivery count, producer,
 * sequence, timestamp and dead-letter reason kept), header room and
 * payload.  A cell that finds no room stays DEAD, to be moved by a later
 * pass.  Crash-safe: see queue_dead_letter.c.
 */
void busd_dead_letter_move(const struct bus__queue_geometry *source,
			   const struct bus__queue_geometry *target,
			   struct busd_dead_letter_pass *pass);

/*
 * After a restart: finishes the move that source's record says was in
 * progress when busd died (target: its dead-letter queue, or NULL when
 * that no longer exists).  Call for every queue before
 * busd_dead_letter_recover_cells() on any.
 */
void busd_dead_letter_recover_move(const struct bus__queue_geometry *source,
				   const struct bus__queue_geometry *target);

/*
 * After a restart: pads over cells busd claimed in this queue as a
 * dead-letter queue and never committed, and finishes the leases it was
 * taking back (HELD by busd).  Returns how many cells it fixed.
 */
uint32_t busd_dead_letter_recover_cells(const struct bus__queue_geometry *g);

/*
 * What busd remembers of a HELD cell between two looks, to time the lease:
 * the same holder, message and delivery count mean the same lease.
 */
struct busd_lease_sample {
	uint64_t sequence;
	uint64_t since_ns; /* when busd first saw this lease; 0: none */
	uint32_t owner;
	uint32_t delivery_count;
};

/*
 * Looks at every cell of a queue with ack_timeout_ms: a lease seen for the
 * first time is timed from now_ns, one held for ack_timeout_ms or longer
 * is taken back (made REDELIVER with its count raised, or DEAD after
 * max_deliveries), and the consumer's later ack or nack gets -ESTALE.
 * samples has one entry per slot, zeroed at first.  Returns how many
 * leases it took back.
 */
uint32_t busd_lease_timeout_scan(const struct bus__queue_geometry *g,
				 struct busd_lease_sample *samples,
				 uint64_t now_ns);

#endif /* BUSD_QUEUE_DEAD_LETTER_H */
