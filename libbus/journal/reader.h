/* SPDX-License-Identifier: MIT */
/*
 * The reader's state, shared with the writer (journal_writer.c), which
 * opens a journal by reading it through once: where the newest file's good
 * records end is where it appends.
 */
#ifndef BUS_JOURNAL_READER_H
#define BUS_JOURNAL_READER_H

#include <stdint.h>

#include "files.h"
#include "journal.h"

struct bus_journal_reader {
	char path[BUS__JOURNAL_PATH_MAX]; /* the directory, or the one file */
	int single;			  /* path is one .journal file */
	uint64_t *firsts;		  /* the files' first sequences */
	size_t files;
	size_t file; /* the one being read */
	int fd;	     /* of firsts[file], -1 none */
	char file_path[BUS__JOURNAL_PATH_MAX];
	uint64_t offset;     /* of the next record in it */
	uint64_t file_size;  /* as last seen */
	uint8_t *buffer;     /* file bytes from buffer_offset */
	size_t buffer_size;  /* allocated */
	size_t buffer_bytes; /* read into it */
	uint64_t buffer_offset;
	long pending;	  /* aligned length of the record load() found */
	int torn;	  /* the newest file's good records end at offset */
	int seen_message; /* recovery.first_sequence is set */
	struct bus_journal_recovery recovery;
};

/* Whether the reader is in the newest file. */
static inline int
bus__journal_reader_in_newest(const struct bus_journal_reader *r)
{
	return r->file + 1 >= r->files;
}

#endif /* BUS_JOURNAL_READER_H */
