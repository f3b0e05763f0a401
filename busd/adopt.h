/* SPDX-License-Identifier: MIT */
/*
 * Taking over what a previous busd of the same bus left in /dev/shm.
 *
 * busd is never on the data path, so when it dies its clients go on
 * exchanging messages through the segments they mapped.  A new busd (it
 * holds the bus's lock, so no other busd of the bus lives) adopts every
 * segment of the bus it owns: it checks the header (a segment whose magic
 * was never written is an unfinished creation and is removed; another
 * layout version stops busd with a sentence, see README "Upgrading"),
 * rebuilds its registry from the headers and the access file
 * (access_store.h), and walks the slots: a slot whose process is still the
 * one that attached (pid and start time) stays its own, watched by a pidfd
 * until the process reconnects or exits; any other slot is detached as
 * for a client that died: its leases redelivered, its loans padded.
 */
#ifndef BUSD_ADOPT_H
#define BUSD_ADOPT_H

struct busd_catalog;
struct busd_clients;

/* Into catalog; clients (clients.h) watches every process whose slots are
 * kept.  0, or a negative errno after busd_refuse() said why. */
int busd_adopt_segments(struct busd_catalog *catalog,
			struct busd_clients *clients);

#endif /* BUSD_ADOPT_H */
