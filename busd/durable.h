/* SPDX-License-Identifier: MIT */
/*
 * Durable queues: busd keeps the messages and acks of every queue with
 * durable = yes in a journal (libbus/journal/journal.h) under its data_dir,
 * DATA_DIR/QUEUE/, so that they survive a reboot or a power cut.
 *
 * One journal thread for all durable queues (busd/journal_thread.c) reads
 * committed messages like a consumer that never takes them
 * (busd/durable_ring.c), off the producers' and consumers' path: it copies
 * each one into the journal's batch, then advances journal_position in the
 * queue's journal line (layout.h), and a producer never reuses a cell busd
 * has not copied yet.  It finds acks by looking at the cells of the
 * messages it copied, writes them as ranges, advances durable_position
 * from the journal's durable sequence for bus_flush(), and deletes fully
 * acked journal files.
 *
 * At start (busd/durable_recover.c), a durable queue with no segment (a
 * reboot) is rebuilt from its journal with exactly the messages not acked,
 * in order, with their sequences and delivery counts; one whose segment is
 * still there (busd restarted) is adopted, and the journal learns what was
 * acked while no busd looked.
 */
#ifndef BUSD_DURABLE_H
#define BUSD_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"

struct busd_catalog;
struct busd_config;
struct busd_queue;

/*
 * Takes the data directory (config's data_dir, or the default: as root
 * /var/lib/shmbus/BUS, else $XDG_STATE_HOME/shmbus/BUS or
 * ~/.local/state/shmbus/BUS) and starts the journal thread.  The
 * directory is made and checked only when the configuration has a durable
 * queue (or later, at the first one created): -EACCES and friends after
 * busd_refuse() naming the path.
 */
int busd_durable_start(struct busd_catalog *catalog,
		       const struct busd_config *config);

/* Stops the thread; every journal is written, synced and closed. */
void busd_durable_stop(struct busd_catalog *catalog);

/*
 * A durable queue whose segment busd just made (adopted false: it is
 * rebuilt from its journal, if any) or adopted (true: the journal carries
 * on).  Opens its journal, recovers, and hands it to the journal thread.
 * 0 for a queue that is not durable; else 0 or a negative errno with a
 * sentence in detail (a corrupt journal: "FILE: offset N: why").
 */
int busd_durable_open(struct busd_catalog *catalog, struct busd_queue *queue,
		      bool adopted, char *detail, size_t detail_size);

/*
 * The queue goes (deleted, or busd stops): its journal is written, synced
 * and closed.  remove_files: it was deleted on request, its journal goes
 * too.
 */
void busd_durable_close(struct busd_catalog *catalog, const char *name,
			bool remove_files);

#endif /* BUSD_DURABLE_H */
