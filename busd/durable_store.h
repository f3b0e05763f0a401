/* SPDX-License-Identifier: MIT */
/*
 * Durable queues created at run time (busctl create --durable) keep their
 * settings and access in DATA_DIR/NAME/queue.conf, beside their journal,
 * so that busd can make them again after a reboot, when no segment and no
 * configuration knows them.
 *
 * The file is busd's own: "key = value" lines (inih), every setting of
 * struct bus_queue_settings as a number (dead_letter as a name), owner
 * and group as numbers, mode in octal, written atomically (a temporary
 * file, fsync, rename, fsync of the directory) when the queue is created;
 * busctl delete removes it with the journal.  At start busd makes every
 * queue such a file names that is neither in the configuration (the
 * configuration wins) nor adopted; a file it cannot read or parse stops
 * busd's start with its path and line.
 */
#ifndef BUSD_DURABLE_STORE_H
#define BUSD_DURABLE_STORE_H

#include <stddef.h>

#include "access.h"
#include "bus/layout.h"

struct busd_catalog;
struct busd_config;
struct busd_queue;

#define BUSD_DURABLE_STORE_FILE "queue.conf"

/* Writes the file of a durable queue just created at run time; 0, or a
 * negative errno with a sentence in detail. */
int busd_durable_store_save(const struct busd_catalog *catalog,
			    const struct busd_queue *queue, char *detail,
			    size_t detail_size);

/* At start, after the configured queues: makes the stored ones that are
 * neither configured nor adopted.  0, or a negative errno after
 * busd_refuse() naming the file. */
int busd_durable_store_restore(struct busd_catalog *catalog,
			       const struct busd_config *config);

/*
 * Parses the text of a file (length bytes, no NUL needed) for the queue
 * name: every key once, none unknown, name matching, settings that
 * bus__queue_settings_check() accepts.  0, or -EINVAL with "line N: why"
 * (or why) in why.  What restore and the fuzzer call.
 */
int busd_durable_store_parse(const char *text, size_t length, const char *name,
			     struct bus_queue_settings *settings,
			     struct busd_access *access, char *why,
			     size_t why_size);

#endif /* BUSD_DURABLE_STORE_H */
