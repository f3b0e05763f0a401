/* SPDX-License-Identifier: MIT */
/*
 * Durable queues (busctl create --durable) and recorded topics (busctl
 * create --topic --record) created at run time keep their settings and
 * access in DATA_DIR/NAME/queue.conf or DATA_DIR/NAME/topic.conf, beside
 * their journal, so that busd can make them again after a reboot (or, for
 * a topic, any restart: busd removes topics' segments when it stops),
 * when no segment and no configuration knows them.
 *
 * The file is busd's own: "key = value" lines (inih), every setting of
 * struct bus_queue_settings or struct bus_topic_settings as a number (a
 * queue's dead_letter as a name; durable and record are implied), owner
 * and group as numbers, mode in octal, written atomically (a temporary
 * file, fsync, rename, fsync of the directory) when it is created;
 * busctl delete removes it with the journal.  At start busd makes every
 * queue and topic such a file names that is neither in the configuration
 * (the configuration wins, whether it names a queue or a topic) nor
 * adopted; a file it cannot read or parse stops busd's start with its path
 * and line.
 */
#ifndef BUSD_DURABLE_STORE_H
#define BUSD_DURABLE_STORE_H

#include <stddef.h>

#include "access.h"
#include "bus/layout.h"

struct busd_catalog;
struct busd_config;
struct busd_queue;
struct busd_topic;

#define BUSD_DURABLE_STORE_FILE "queue.conf"
#define BUSD_TOPIC_STORE_FILE "topic.conf"

/* Writes the file of a durable queue just created at run time; 0, or a
 * negative errno with a sentence in detail. */
int busd_durable_store_save(const struct busd_catalog *catalog,
			    const struct busd_queue *queue, char *detail,
			    size_t detail_size);

/* The same for a recorded topic just created at run time (its journal's
 * directory exists). */
int busd_topic_store_save(const struct busd_catalog *catalog,
			  const struct busd_topic *topic, char *detail,
			  size_t detail_size);

/* At start, after the configured queues (topics): makes the stored ones
 * that are neither configured nor adopted.  0, or a negative errno after
 * busd_refuse() naming the file. */
int busd_durable_store_restore(struct busd_catalog *catalog,
			       const struct busd_config *config);
int busd_topic_store_restore(struct busd_catalog *catalog,
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
/* The same for a topic.conf: settings that bus__topic_settings_check()
 * accepts, recorded. */
int busd_topic_store_parse(const char *text, size_t length, const char *name,
			   struct bus_topic_settings *settings,
			   struct busd_access *access, char *why,
			   size_t why_size);

#endif /* BUSD_DURABLE_STORE_H */
