/* SPDX-License-Identifier: MIT */
/*
 * One recorded topic as the journal thread sees it (busd/topic_record.h):
 * its own mapping of the segment, its journal writer, and how far it
 * copied.  Internal to busd/topic_record*.c and busd/journal_thread.c.
 */
#ifndef BUSD_RECORDED_TOPIC_H
#define BUSD_RECORDED_TOPIC_H

#include <linux/futex.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/layout.h"
#include "journal.h"
#include "journal_figures.h"
#include "topic.h"
#include "wall_clock.h"

struct busd_recorded_topic {
	char name[BUS_NAME_MAX + 1];
	char directory[4096];
	/* Our own mapping: the loop may unmap the registry's meanwhile. */
	struct bus__topic_geometry geometry;
	struct bus_journal_writer *writer; /* NULL after a failure, a while */
	struct bus_journal_options options;
	/* The last pass stopped because every journal buffer was in
	 * flight. */
	bool stalled;
	/* Next position to look at. */
	uint64_t copied;
	/* One past the newest message appended. */
	uint64_t appended;
	/* journal_position as we last published it. */
	uint64_t published;
	/* The time of the last message appended (CLOCK_REALTIME ns; 0
	 * before any): a gap record's date. */
	uint64_t last_time_ns;
	/* The clocks as read at the start of the last copy pass: publish
	 * stamps become journal times with it (wall_clock.h). */
	struct busd_wall_clock clock;
	uint64_t next_trim_ns;
	uint64_t next_figures_ns;
	uint64_t retry_ns; /* writer failed: reopen at this time */
	int error;	   /* the failure, 0 when writing */
	/* Figures of writers closed after a failure, so that the line's
	 * counters only grow. */
	struct busd_journal_carried carried;
	/* Messages copied, lost (a cell reused before we copied it: only
	 * when something broke the gate), corrupt headers skipped; each lost
	 * or corrupt one is a GAP record in the journal. */
	uint64_t messages;
	uint64_t lost;
	uint64_t corrupt;
	/* Counted in subscribers_sleeping while the thread sleeps, so that
	 * publishers wake it (busd_topic_record_arm); guarded by the
	 * thread's lock. */
	bool armed;
	/* Until then (a copy in the last BUSD_JOURNAL_POLL_NS) the
	 * thread naps and looks again rather than be counted: while it is
	 * counted, every commit pays a futex wake, until it is up again. */
	uint64_t polling_until_ns;
};

/* How long after its last copy a recorded topic or durable queue is
 * polled by busd's journal thread, and the nap between looks: producers
 * streaming into it never wake busd (a counted sleeper would cost each
 * commit a futex wake; an idle tick of 1-2 ms would cap the stream at a
 * ring per tick), and a ring of 1,024 slots fills in no less than a nap
 * or two. */
#define BUSD_JOURNAL_POLL_NS 2000000u
#define BUSD_JOURNAL_NAP_NS 50000u

/* topic_record_ring.c: one pass over the ring from copied on; records
 * appended (messages, and gaps for those it could not record), or the
 * writer's negative errno. */
int busd_topic_record_copy(struct busd_recorded_topic *rt);

/* topic_record_ring.c: journal_position up to what the journal wrote,
 * publishers woken. */
void busd_topic_record_publish(struct busd_recorded_topic *rt);

/* topic_record_recover.c: makes the ring agree with its journal, just
 * opened: a fresh ring continues its sequences, an adopted one resumes.
 * 0 or a negative errno with a sentence in detail. */
int busd_topic_record_recover(struct busd_recorded_topic *rt, bool adopted,
			      const struct bus_journal_recovery *recovered,
			      char *detail, size_t detail_size);

/* The journal thread's calls (topic_record_thread.c), under its lock,
 * on its list of topics: one round over each (true when one copied
 * something), and the completions it may wait for. */
bool busd_topic_record_round(struct busd_recorded_topic *const *topics,
			     unsigned int topic_count, int *timeout_ms,
			     bool *in_flight);
void busd_topic_record_gather(struct busd_recorded_topic *const *topics,
			      unsigned int topic_count, struct pollfd *fds,
			      unsigned int *count, unsigned int max);
/*
 * Before the thread sleeps (under its lock, after its round): each topic
 * waiting for publishers is counted as a sleeping subscriber, so that the
 * next commit wakes the thread through data_futex, whose word is added to
 * waiters (at most max in all).  A topic copied from lately is not: it is
 * polled, and *nap_ns says to sleep no longer than
 * BUSD_JOURNAL_NAP_NS (else it stays 0).  true when a topic has
 * something to copy already: do not sleep.  disarm takes the counts back
 * (under the lock, before the next round; busd_topic_record_finish() for
 * one that goes).
 */
bool busd_topic_record_arm(struct busd_recorded_topic *const *topics,
			   unsigned int topic_count,
			   struct futex_waitv *waiters, unsigned int *count,
			   unsigned int max, uint64_t *nap_ns);
void busd_topic_record_disarm(struct busd_recorded_topic *const *topics,
			      unsigned int topic_count);

/* The last round of a topic that goes. */
void busd_topic_record_finish(struct busd_recorded_topic *rt);

#endif /* BUSD_RECORDED_TOPIC_H */
