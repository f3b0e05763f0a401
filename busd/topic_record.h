/* SPDX-License-Identifier: MIT */
/*
 * Recorded topics: busd keeps every message of a topic with record = yes
 * in a journal (libbus/journal/journal.h) under its data_dir,
 * DATA_DIR/TOPIC/, so that a subscriber can start from a sequence or a
 * time (bus_subscribe_options.from) and busctl can replay it.
 *
 * The journal thread of durable queues (busd/journal_thread.c) serves
 * recorded topics too, with its own mapping of each segment
 * (busd/topic_record_ring.c): it reads committed messages like a
 * subscriber that never falls behind, appends them, and once their write
 * completed advances journal_position in the topic's journal line
 * (layout.h).  Publishers never claim position p unless p <
 * journal_position + slots (libbus/core/topic_ring.c), under either
 * slow_subscriber policy: the disk is back-pressure, never loss, and a
 * busd killed and restarted finds every position it had not written
 * still in the ring.
 *
 * At start (busd/topic_record_recover.c), a recorded topic whose segment
 * is new (a reboot, or its first start) continues its sequences from the
 * journal: the fresh ring's tail and journal_position start at the
 * journal's next sequence.  One whose segment was adopted resumes copying
 * at the journal's next sequence.
 */
#ifndef BUSD_TOPIC_RECORD_H
#define BUSD_TOPIC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

struct busd_catalog;
struct busd_config;
struct busd_topic;

/*
 * After busd_durable_start(): when the configuration has a recorded topic,
 * makes and checks the data directory (0, or a negative errno after
 * busd_refuse() naming the path and what to do).
 */
int busd_topic_record_start(struct busd_catalog *catalog,
			    const struct busd_config *config);

/* Before busd_durable_stop(): every recorded topic's journal is written,
 * synced and closed. */
void busd_topic_record_stop(struct busd_catalog *catalog);

/*
 * A topic busd just made (adopted false: its ring starts where the
 * journal ends) or adopted (true: recording resumes).  Opens its journal
 * and hands it to the journal thread.  0 for a topic not recorded; else 0
 * or a negative errno with a sentence in detail.
 */
int busd_topic_record_open(struct busd_catalog *catalog,
			   struct busd_topic *topic, bool adopted,
			   char *detail, size_t detail_size);

/* The topic goes: its journal is written and closed; remove_files (it was
 * deleted on request) removes it too. */
void busd_topic_record_close(struct busd_catalog *catalog, const char *name,
			     bool remove_files);

#endif /* BUSD_TOPIC_RECORD_H */
