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

#endif /* BUS_JOURNAL_WRITER_H */
