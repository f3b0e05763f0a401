/* SPDX-License-Identifier: MIT */
/*
 * One durable queue as the journal thread sees it (busd/durable.h): its
 * own mapping of the segment, its journal writer, and what it copied.
 * Internal to busd/durable_*.c and busd/journal_thread.c.
 */
#ifndef BUSD_DURABLE_QUEUE_H
#define BUSD_DURABLE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/layout.h"
#include "journal.h"
#include "journal_figures.h"
#include "segment.h"
#include "wall_clock.h"

/*
 * A message the journal holds and the queue still holds: per cell, since
 * a cell holds at most one message (a position whose cell is occupied is
 * skipped).  position: where it was copied from (a READY cell keeps it;
 * for a lazy spsc consumer, below its released position means acked).
 */
struct busd_durable_held {
	uint64_t sequence;
	uint64_t position;
	uint32_t delivery_count; /* as journaled */
	bool live;
	bool taken; /* seen taken by a consumer, and journaled so */
};

struct busd_durable_queue {
	char name[BUS_NAME_MAX + 1];
	/* Our own mapping: the thread never sees the registry's, which the
	 * loop may unmap while we look. */
	struct bus__queue_geometry geometry;
	struct bus_journal_writer *writer; /* NULL after a failure, a while */
	struct bus_journal_options options;
	char directory[4096];
	bool lazy;
	/* The clocks as read at the start of the last copy pass: publish
	 * stamps become journal times with it (wall_clock.h). */
	struct busd_wall_clock clock;
	/* Copied from lately: polled until then (BUSD_JOURNAL_POLL_NS). */
	uint64_t polling_until_ns;
	/* The last pass stopped because every journal buffer was in
	 * flight: wait for a completion before the next. */
	bool stalled;
	/* Next position to look at; published as journal_position. */
	uint64_t copied;
	/* One past the newest message appended (new ones: its position). */
	uint64_t appended;
	uint64_t durable;		/* published as durable_position */
	struct busd_durable_held *held; /* slots entries */
	uint32_t held_count;
	/* Acks found, not yet appended (ranges, merged when adjacent). */
	struct bus_journal_range *acks;
	uint32_t ack_count;
	uint32_t ack_capacity;
	/* Its dead-letter queue as the thread sees it (durable: busd
	 * refuses one that is not), linked under the thread's lock
	 * (durable.c); NULL when it has none or that one is not open. */
	struct busd_durable_queue *dead_letter;
	uint64_t opened_ns; /* CLOCK_MONOTONIC, for the link at start */
	/* With a dead-letter queue, acks wait for it (durable_ring.c): the
	 * first ack_sealed ranges go once its durable position reaches
	 * ack_barrier. */
	uint32_t ack_sealed;
	uint64_t ack_barrier;
	/* Delivery counts noted, not yet appended (durable_ring.c). */
	struct bus_journal_range *counts;
	uint32_t count_count;
	uint32_t count_capacity;
	uint64_t next_ack_scan_ns;
	uint64_t next_trim_ns;
	uint64_t next_figures_ns;
	uint64_t retry_ns; /* writer failed: reopen at this time */
	int error;	   /* the failure, 0 when writing */
	bool closing;
	/* Figures of writers closed after a failure, so that the line's
	 * counters only grow. */
	struct busd_journal_carried carried;
	/* Figures: messages copied, redelivery records, corrupt cells,
	 * cells a producer reused while we copied them. */
	uint64_t messages;
	uint64_t recounts;
	uint64_t corrupt;
	uint64_t changed;
	/* A cell's extension bytes, then its payload (at the header room's
	 * size): copied out of shared memory before they are checked and
	 * appended. */
	uint8_t *scratch;
};

/* The first range of an ACK record that carries delivery counts
 * (durable_ring.c): {BUSD_DURABLE_COUNTS_MARK, 0}. */
#define BUSD_DURABLE_COUNTS_MARK UINT64_MAX
/* In a count, above its 32 bits: the message was seen taken by a
 * consumer (a rebuild marks it BUS_MESSAGE_REDELIVERED).  A busd that
 * does not know it ignores the note (a count above UINT32_MAX). */
#define BUSD_DURABLE_COUNT_TAKEN (UINT64_C(1) << 32)

/* durable_ring.c: one pass over the ring.  Copies committed messages from
 * copied on and publishes journal_position; returns messages copied or
 * the writer's negative errno. */
int busd_durable_copy(struct busd_durable_queue *dq);

/* Looks at the held table for acks and new delivery counts; appends what
 * it finds.  0 or the writer's negative errno. */
int busd_durable_scan_acks(struct busd_durable_queue *dq);

/* Appends the message in the cell at position (journal fields from its
 * header); 0, 1 when the cell held nothing valid or changed while it was
 * copied, or a negative errno.  The three steps it takes: */
int busd_durable_append_cell(struct busd_durable_queue *dq, uint64_t position,
			     uint64_t sequence);

/* Copies the cell's header into *h and its bytes into dq->scratch; 0, 1
 * when the header's lengths do not fit the cell, or -ENOMEM. */
int busd_durable_copy_cell(struct busd_durable_queue *dq, uint64_t position,
			   struct bus_message_header *h);

/* After a copy: the cell still holds the message of position. */
bool busd_durable_cell_unchanged(const struct busd_durable_queue *dq,
				 uint64_t position);

/* Appends the copy in dq->scratch as the message of sequence, held at
 * position.  0 or a negative errno. */
int busd_durable_append_copy(struct busd_durable_queue *dq, uint64_t position,
			     uint64_t sequence,
			     const struct bus_message_header *h);

/* Notes an ack of sequence, to be appended with the next batch. */
int busd_durable_note_ack(struct busd_durable_queue *dq, uint64_t sequence);

/* Appends the acks noted; 0 or a negative errno. */
int busd_durable_flush_acks(struct busd_durable_queue *dq);

/* durable_recover.c: makes the queue's state agree with its journal, just
 * opened (recovered: what the writer found).  Rebuild (a fresh segment)
 * or adopt.  0 or a negative errno with a sentence in detail. */
int busd_durable_recover(struct busd_durable_queue *dq, bool adopted,
			 const struct bus_journal_recovery *recovered,
			 char *detail, size_t detail_size);

#endif /* BUSD_DURABLE_QUEUE_H */
