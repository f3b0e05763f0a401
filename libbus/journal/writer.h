/* SPDX-License-Identifier: MIT */
/* What writer.c offers writer_open.c besides journal.h. */
#ifndef BUS_JOURNAL_WRITER_H
#define BUS_JOURNAL_WRITER_H

#include "writer_state.h"

/* Waits for everything in flight; the writer's error, or 0. */
int bus__journal_writer_drain(struct bus_journal_writer *w);

/* fdatasync of everything written, waited for (a roll, the close); none
 * for sync = none. */
int bus__journal_writer_sync_now(struct bus_journal_writer *w);

/* Writes the batch being filled, waits for it and fdatasyncs the newest
 * file whatever the sync setting (a roll, a trim that carries acks). */
int bus__journal_writer_flush(struct bus_journal_writer *w);

/* With nothing in flight: the mark naming what the last sync made
 * durable, written now by pwrite at the end of the file (a trim that
 * carried acks, after its flush; a sync that completed while the writer
 * was idle, so that a confirm does not wait for an io-wq write).  A buffer
 * being filled goes after it. */
int bus__journal_writer_mark_now(struct bus_journal_writer *w);

/* The newest file's offset an fdatasync made durable, for the next mark. */
void bus__journal_writer_synced(struct bus_journal_writer *w,
				uint64_t file_offset);

#endif /* BUS_JOURNAL_WRITER_H */
