/* SPDX-License-Identifier: MIT */
/*
 * After a write or an fdatasync of a durable queue's journal failed, the
 * page cache may hold what never reached the disk (Linux drops or keeps
 * the pages of a failed writeback, and a file opened again is not told of
 * the error): reading the file back proves nothing past its last sync
 * mark, the last offset an fdatasync that completed made durable (and no
 * confirm ran ahead of a mark, libbus/journal/writer_state.h).  So before
 * the journal thread opens the journal again it cuts the newest file back
 * to that mark, and copies again from there what the queue still holds.
 */
#ifndef BUSD_DURABLE_CUT_H
#define BUSD_DURABLE_CUT_H

#include <stddef.h>
#include <stdint.h>

/* Cuts directory's newest journal file after its last good sync mark
 * (after its header when it has none) and fdatasyncs it; *cut_bytes: how
 * much went.  0 (also with no file), or a negative errno with the path
 * in detail. */
int busd_durable_cut_to_mark(const char *directory, uint64_t *cut_bytes,
			     char *detail, size_t detail_size);

#endif /* BUSD_DURABLE_CUT_H */
