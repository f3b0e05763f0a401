/* SPDX-License-Identifier: MIT */
/*
 * A recorded topic's ring and its journal, made to agree at start
 * (busd/topic_record.h).
 *
 * A fresh ring (a reboot removed the segment, or the topic is new) with a
 * journal that ends at next_sequence n continues the journal's sequences,
 * which are positions: before anybody sees the segment, busd sets the tail
 * and journal_position to n and, in each cell i, PADDED(q) for the last
 * position q < n that maps to it (FREE(i) as laid out when there is none,
 * i >= n).  In topic_cell.h's terms every position from n on is then
 * claimable (the cell holds its previous lap, padded, or its first), a
 * subscriber joins at n (nothing below is uncommitted), history and
 * bus_topic_last() find nothing (padded positions carry no message), and
 * the recorder copies from n.
 *
 * An adopted ring (busd restarted) resumes copying at n.  journal_position
 * never passed what the journal had written (topic_record_ring.c), and
 * publishers never claimed past journal_position + slots, so every
 * position from n to the tail is still in the ring; one that is not (a
 * ring from a busd without the gate, or a journal that lost its tail in a
 * power cut while the segment survived) is counted and logged as lost by
 * the copy.
 */
#include <errno.h>

#include "atomics.h"
#include "detail.h"
#include "log.h"
#include "recorded_topic.h"
#include "topic_cell.h"

/* The last position below next that maps to cell i, or -1 for none. */
static int64_t last_below(uint64_t next, uint64_t i, uint64_t mask)
{
	uint64_t back = (next - 1 - i) & mask;

	if (next == 0 || back > next - 1)
		return -1;
	return (int64_t)(next - 1 - back);
}

static void start_at(struct busd_recorded_topic *rt, uint64_t next)
{
	const struct bus__topic_geometry *g = &rt->geometry;
	struct bus_topic_control *c = g->control;

	for (uint64_t i = 0; i < g->slots; i++) {
		int64_t q = last_below(next, i, g->mask);

		/* Relaxed: nobody has the segment yet; the socket that hands
		 * it out orders these stores before any client's loads. */
		if (q >= 0)
			bus__store_relaxed(
				&bus__topic_cell(g, (uint64_t)q)->state,
				bus__topic_state((uint64_t)q, 0,
						 BUS__TOPIC_PADDED));
	}
	bus__store_relaxed(&c->tail, next);
	bus__store_relaxed(&c->journal_position, next);
}

/* A predecessor killed while its journal thread slept left its share in
 * the sleepers' word (busd/topic_record_thread.c, arm): take back exactly
 * that, before our own thread arms.  seq_cst, as every change of the
 * count.  A busd of before counted itself as 1 with journal_reserved set;
 * its count goes too. */
static void take_back_sleeper(struct busd_recorded_topic *rt)
{
	struct bus_topic_control *c = rt->geometry.control;
	uint32_t word = bus__load_seq_cst(&c->subscribers_sleeping);

	if (word & BUS_TOPIC_SLEEPING_RECORDER) {
		bus__fetch_sub_seq_cst(&c->subscribers_sleeping,
				       BUS_TOPIC_SLEEPING_RECORDER);
		busd_debug("topic '%s': took back the sleeping count of the "
			   "busd before",
			   rt->name);
	}
	/* Relaxed: only busd reads it, and nobody else runs yet. */
	if (bus__load_relaxed(&c->journal_reserved)) {
		bus__store_relaxed(&c->journal_reserved, 0);
		bus__fetch_sub_seq_cst(&c->subscribers_sleeping, 1);
	}
}

int busd_topic_record_recover(struct busd_recorded_topic *rt, bool adopted,
			      const struct bus_journal_recovery *recovered,
			      char *detail, size_t detail_size)
{
	struct bus_topic_control *c = rt->geometry.control;
	uint64_t next = recovered->next_sequence;
	uint64_t tail, position;

	(void)detail;
	(void)detail_size;
	if (!adopted) {
		if (next)
			start_at(rt, next);
		rt->copied = rt->appended = rt->published = next;
		return 0;
	}
	/* Relaxed: busd's own segment, before the thread sees it; the
	 * copy's acquire loads of the cells decide what they hold. */
	tail = bus__load_relaxed(&c->tail);
	position = bus__load_relaxed(&c->journal_position);
	if ((int64_t)(tail - next) < 0)
		busd_warning("topic '%s': its journal ends at sequence %llu, "
			     "past the ring's tail %llu: the ring's messages "
			     "below %llu are not recorded again",
			     rt->name, (unsigned long long)next,
			     (unsigned long long)tail,
			     (unsigned long long)next);
	take_back_sleeper(rt);
	rt->copied = rt->appended = next;
	rt->published = position;
	if ((int64_t)(next - position) > 0) {
		rt->published = next;
		bus__store_seq_cst(&c->journal_position, next);
	}
	return 0;
}
