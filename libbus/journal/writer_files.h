/* SPDX-License-Identifier: MIT */
/*
 * A writer's files (writer_files.c): starting a journal file with its
 * header and index, pointing the ring at it, deleting old files.
 */
#ifndef BUS_JOURNAL_WRITER_FILES_H
#define BUS_JOURNAL_WRITER_FILES_H

#include <stdint.h>

#include "writer_state.h"

uint64_t bus__journal_now_ns(int clock);

/* pwrite of all of data at at: 0 or -errno (-ENOSPC for a short one). */
int bus__journal_write_all(int fd, const void *data, size_t size, off_t at);

/* w's file header for the file of first sequence first, at offset 0. */
int bus__journal_header_write(struct bus_journal_writer *w, int fd,
			      uint64_t first);

/* Points the ring's file 0 at w->fd (or leaves plain fds in use). */
void bus__journal_file_register(struct bus_journal_writer *w);

/* Starts the index of file first (empty); without one seeks scan. */
void bus__journal_index_open(struct bus_journal_writer *w, uint64_t first);

/* Makes DIR/first.journal with its header and index and makes it w's
 * newest; what was in flight to the old one must be done. */
int bus__journal_writer_new_file(struct bus_journal_writer *w, uint64_t first);

#endif /* BUS_JOURNAL_WRITER_FILES_H */
