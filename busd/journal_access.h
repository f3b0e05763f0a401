/* SPDX-License-Identifier: MIT */
/*
 * Who may read a journal (a recorded topic's or a durable queue's), and
 * the removal of one whose name was deleted.
 * busd hands a reader the journal directory after checking the name's r
 * (BUS_CONTROL_JOURNAL); the reader then opens the files with its own
 * rights.  So the directory and its files take the name's group, and read
 * bits for its group and others where the name's mode gives r; the owner
 * stays busd's user, the only writer.  The directory is setgid, so that
 * the files the journal makes later take its group too.
 */
#ifndef BUSD_JOURNAL_ACCESS_H
#define BUSD_JOURNAL_ACCESS_H

#include <stdint.h>

#include "access.h"

/* The files' permission bits: 0600, and r for the group and others where
 * the name's mode gives them r (bus_journal_options.file_mode). */
uint32_t busd_journal_file_mode(const struct busd_access *access);

/*
 * Gives the journal directory (made already) and the files in it the
 * name's group and the modes above.  A group busd may not give (a busd
 * that is not root and not in it) is a warning naming the directory, not
 * an error: the journal stays busd's group's.
 */
void busd_journal_share(const char *directory, const char *name,
			const struct busd_access *access);

/* Removes a deleted name's journal: its files, then the directory (a
 * warning naming it when it cannot). */
void busd_journal_remove(const char *directory);

#endif /* BUSD_JOURNAL_ACCESS_H */
