/* SPDX-License-Identifier: MIT */
/*
 * The writer's state, shared by its files: writer.c (appends, writes,
 * syncs, completions), writer_files.c (starting and deleting files) and
 * writer_open.c (open, close).  A header of its own so that none of them
 * depends on another for the struct alone.
 *
 * Positions: every byte appended has a position, counted from the
 * writer's open across files.  Buffers are written in the order they were
 * filled; written_position is the end of the longest prefix of them whose
 * writes completed, durable_position the end of what an fdatasync that
 * began after those writes completed covers (or written_position, for
 * sync = none).  marks map positions back to sequences: one per write
 * completed and not yet durable, (end position, next sequence there).
 *
 * In the newest file an fdatasync that completed is not enough: the
 * durable position moves only once a sync mark naming what it covered
 * (synced_position) is written too, so that a power cut that leaves the
 * file as its last mark says (journal.h) keeps every message confirmed.
 * A buffer whose mark vouches for a position says so in vouches.  Marks
 * need no sync of their own: content_position is the end of the last
 * record other than a mark, what syncs are for.
 */
#ifndef BUS_JOURNAL_WRITER_STATE_H
#define BUS_JOURNAL_WRITER_STATE_H

#include <liburing.h>
#include <stdint.h>

#include "files.h"
#include "format.h"
#include "journal.h"

#define BUS__JOURNAL_BUFFERS 8
#define BUS__JOURNAL_BUFFER_SIZE (256u << 10)
#define BUS__JOURNAL_SYNCS 4 /* fdatasyncs in flight at most */

enum bus__journal_buffer_state {
	BUS__JOURNAL_BUFFER_FREE = 0,
	BUS__JOURNAL_BUFFER_FILLING,
	BUS__JOURNAL_BUFFER_WRITING,
	BUS__JOURNAL_BUFFER_WRITTEN,
	BUS__JOURNAL_BUFFER_FAILED,
};

struct bus__journal_buffer {
	uint8_t *data;
	uint32_t used;
	uint32_t records;
	enum bus__journal_buffer_state state;
	uint64_t file_offset;	/* where it goes in its file */
	uint64_t end_position;	/* of its last byte + 1 */
	uint64_t next_sequence; /* one past its newest message */
	int content;		/* a record other than a mark */
	uint64_t vouches;	/* the position its mark names, 0: none */
	int has_message;	/* its first message, for the index: */
	uint64_t index_sequence, index_time_ns, index_offset;
};

struct bus__journal_mark {
	uint64_t position;
	uint64_t next_sequence;
};

struct bus__journal_sync {
	int busy;
	uint64_t covers; /* position */
	uint64_t started_ns;
	uint64_t file_first, file_offset; /* covers, in the file then newest */
};

struct bus_journal_writer {
	struct bus_journal_options options;
	char directory[BUS__JOURNAL_PATH_MAX];
	char name[96];
	int directory_fd; /* holds the flock: one writer per journal */
	struct io_uring ring;
	int ring_ready;
	int event_fd;
	int fixed_buffers; /* registered with the ring */
	int fixed_file;	   /* fd registered as file 0 */
	int fd;		   /* the newest file */
	int index_fd;
	size_t index_count;
	uint64_t file_first;  /* its name */
	uint64_t file_offset; /* end of what was handed to writes */
	int file_has_message; /* the newest file holds a message */
	/* Sync marks (journal.h): the newest file's offset an fdatasync made
	 * durable, and the one the last mark appended named.  A mark rides in
	 * the next batch, so that marks never call for syncs of their own. */
	uint64_t mark_synced, mark_named;
	int trimming;	 /* in bus_journal_trim: a roll does not trim again */
	uint8_t *memory; /* the buffers */
	struct bus__journal_buffer buffers[BUS__JOURNAL_BUFFERS];
	int filling;			 /* -1: none */
	int order[BUS__JOURNAL_BUFFERS]; /* writing, oldest first */
	unsigned order_head, order_count;
	uint64_t position; /* handed to writes */
	uint64_t written_position;
	uint64_t synced_position;  /* fdatasync'd, its mark maybe not yet */
	uint64_t content_position; /* of the last record not a mark */
	uint64_t durable_position;
	uint64_t next_sequence;
	int has_messages;
	uint64_t durable_sequence;
	/* One past the newest message whose write completed (in the page
	 * cache: it survives busd's death, not a power cut). */
	uint64_t written_sequence;
	struct bus__journal_mark *marks;
	size_t marks_head, marks_count, marks_size;
	struct bus__journal_sync syncs[BUS__JOURNAL_SYNCS];
	uint64_t sync_due_ns; /* 0: none pending */
	unsigned in_flight;   /* submitted, not reaped */
	int error;	      /* sticky: the first write or sync failure */
	int sync_here;	      /* bus_journal_sync_here() */
	struct bus_journal_figures figures;
};

uint64_t bus__journal_now_ns(int clock);

/* Makes the file DIR/first.journal with its header (and index) and makes
 * it w's newest; the old one must be closed. */
int bus__journal_writer_new_file(struct bus_journal_writer *w, uint64_t first);

#endif /* BUS_JOURNAL_WRITER_H */
