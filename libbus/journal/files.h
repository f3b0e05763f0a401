/* SPDX-License-Identifier: MIT */
/*
 * A journal's directory: its files' names (the first sequence a file may
 * hold, 20 digits, .journal and .index), listing them in order, making
 * the directory and making its entries durable.
 */
#ifndef BUS_JOURNAL_FILES_H
#define BUS_JOURNAL_FILES_H

#include <stddef.h>
#include <stdint.h>

#define BUS__JOURNAL_PATH_MAX 4096

/* DIR/SSSSSSSSSSSSSSSSSSSS.EXT into out; -ENAMETOOLONG if it does not fit. */
int bus__journal_path(char *out, size_t size, const char *directory,
		      uint64_t first_sequence, const char *ext);

/* mkdir -p with mode 0750; -errno with the path that failed in detail. */
int bus__journal_make_directory(const char *directory, char *detail,
				size_t detail_size);

/* The first sequences of the .journal files, ascending, malloc'd into
 * *firsts (free it).  Other names are ignored. */
int bus__journal_list(const char *directory, uint64_t **firsts, size_t *count);

/* 1 when path names a file DIR/SSSSSSSSSSSSSSSSSSSS.journal, with its
 * first sequence. */
int bus__journal_name_parse(const char *name, uint64_t *first_sequence);

/* fsync of the directory, so that a new or removed name survives. */
int bus__journal_sync_directory(const char *directory);

#endif /* BUS_JOURNAL_FILES_H */
