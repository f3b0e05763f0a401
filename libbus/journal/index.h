/* SPDX-License-Identifier: MIT */
/*
 * A journal file's seek index, DIR/SSSSSSSSSSSSSSSSSSSS.index: an 16-byte
 * header ("SHMBUSX1", 8 bytes zero), then entries of 24 bytes, u64
 * sequence, u64 time_ns, u64 offset (little-endian): where a record with
 * that message starts in the .journal file.  The writer adds one for the
 * first message of each buffer it writes, so a seek scans at most one
 * buffer's worth of records.
 *
 * The index is a hint, never trusted nor synced: a reader checks the
 * record an entry points at and scans the file from its start when an
 * entry is wrong; a writer rebuilds the newest file's index at open.
 */
#ifndef BUS_JOURNAL_INDEX_H
#define BUS_JOURNAL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define BUS__JOURNAL_INDEX_MAGIC "SHMBUSX1"
#define BUS__JOURNAL_INDEX_HEADER 16u
#define BUS__JOURNAL_INDEX_ENTRY 24u

struct bus__journal_index_entry {
	uint64_t sequence;
	uint64_t time_ns;
	uint64_t offset;
};

/* The entries of path, in order, those out of order or past file_size
 * dropped; 0 entries when the index is missing or not one. */
int bus__journal_index_load(const char *path, uint64_t file_size,
			    struct bus__journal_index_entry **entries,
			    size_t *count);

/* Makes path empty but for its header; the fd, or -errno. */
int bus__journal_index_create(const char *path, unsigned int mode);

/* Writes entry number n (pwrite, page cache only). */
int bus__journal_index_put(int fd, size_t n,
			   const struct bus__journal_index_entry *entry);

#endif /* BUS_JOURNAL_INDEX_H */
