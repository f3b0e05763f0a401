/* SPDX-License-Identifier: MIT */
/*
 * The journal thread as a reader of a recorded topic's ring
 * (busd/topic_record.h): a subscriber that never falls behind, because
 * publishers wait for it.
 *
 * Copying.  The thread looks at position j = copied, in cell j % slots,
 * and loads the state word with acquire (pairs with the publisher's
 * release of READY, or busd's of PADDED; topic_cell.h):
 *
 *   READY(j)                      message j (its sequence is j): append it
 *                                 (its header corrupt: a GAP record)
 *   PADDED(j)                     no message at j: step over it
 *   FREE(j), WRITING(j), older    not committed yet: stop here (busd pads
 *                                 a dead publisher's loan)
 *   anything newer than j         the cell was reused before we copied j:
 *                                 lost (only when the gate was broken:
 *                                 the journal failed and was opened again
 *                                 behind the published position), counted,
 *                                 logged, and a GAP record
 *
 * A GAP record (journal.h) says that j held a message the journal does
 * not have, so that a catch-up counts it lost instead of waiting for it
 * (it cannot tell a position stepped over from one not written yet) and
 * busctl dump shows it.
 *
 * A publisher never claims position p unless p < journal_position + slots
 * (topic_ring.c), and journal_position is at most copied, so the cell's
 * bytes do not change under the copy.
 *
 * Publishing.  journal_position moves only past what the journal has
 * written (its write completed: bus_journal_written_sequence()), not
 * merely appended to a batch: a busd killed with -9 leaves the page cache
 * behind, so a restarted one finds every message it had not written yet
 * still in the ring.  The store is seq_cst: its release half pairs with
 * the publishers' acquire load of journal_position in the gate (our reads
 * of the cells come before their reuse); seq_cst so that the load of the
 * sleepers count after it needs no fence (wake.h, the store-buffer
 * pairing with a publisher's raise of publishers_sleeping and its
 * re-check of the gate).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "log.h"
#include "message_area.h"
#include "recorded_topic.h"
#include "topic_cell.h"
#include "wake.h"
#include "wall_clock.h"

/* Copies a pass at most, so that one busy topic does not starve the rest
 * of the thread's journals. */
#define BUSD_TOPIC_RECORD_PASS_MAX 4096u

/* Position j held a message we cannot record: a GAP record for it.  0 or
 * the writer's negative errno (-EAGAIN: again after a reap). */
static int append_gap(struct busd_recorded_topic *rt, uint64_t j,
		      enum bus_journal_gap_reason reason)
{
	/* Dated as the message before it (a catch-up or dump from a time
	 * places it there), not when we met it: a recorder behind the
	 * publishers meets it later.  Now, before any message. */
	struct bus_journal_gap gap = {
		.first = j,
		.count = 1,
		.time_ns = rt->last_time_ns ? rt->last_time_ns
					    : rt->clock.wall_ns,
		.reason = reason,
	};
	int ret = bus_journal_append_gap(rt->writer, &gap);

	if (ret == 0)
		rt->appended = j + 1;
	return ret;
}

/* Appends the message of READY cell j: 0, 1 when its header is corrupt
 * (a GAP record instead, counted), or the writer's negative errno. */
static int append_cell(struct busd_recorded_topic *rt, uint64_t j)
{
	const struct bus__topic_geometry *g = &rt->geometry;
	struct bus_cell *cell = bus__topic_cell(g, j);
	uint32_t room = busd_extension_room(&g->area);
	struct bus_message_header h;
	struct bus_journal_message m;
	struct bus__record rec;
	int ret;

	/* One copy of the header: never trust shared memory twice.  Plain
	 * reads: the acquire load of READY came first, and the gate keeps
	 * publishers off the cell until we publish past j; in a packed
	 * topic the gate keeps the record too, since the publisher's judge
	 * calls a record below journal_position BUSY (arena.h).  A record
	 * outside the arena is as corrupt as lengths that do not fit. */
	memcpy(&h, &cell->header, sizeof(h));
	if (h.payload_length > g->settings.max_message ||
	    h.extension_length > room ||
	    bus__message_locate(&g->area, cell, h.record_offset,
				h.payload_length, h.extension_length,
				&rec) < 0) {
		ret = append_gap(rt, j, BUS_JOURNAL_GAP_CORRUPT);
		if (ret < 0)
			return ret;
		if (!rt->corrupt || (rt->corrupt & (rt->corrupt - 1)) == 0)
			busd_warning("topic '%s': the message at position "
				     "%llu has a corrupt header (%llu so "
				     "far): the journal records a gap there",
				     rt->name, (unsigned long long)j,
				     (unsigned long long)rt->corrupt + 1);
		rt->corrupt++;
		return 1;
	}
	m = (struct bus_journal_message){
		.sequence = j,
		.time_ns = busd_wall_time_of(&rt->clock, h.publish_time_ns),
		.correlation_id = h.correlation_id,
		.delivery_count = 0,
		.flags = h.flags,
		.extension = rec.extension,
		.extension_length = h.extension_length,
		.payload_length = h.payload_length,
		.payload = rec.payload,
	};
	ret = bus_journal_append_message(rt->writer, &m);
	if (ret < 0)
		return ret;
	rt->appended = j + 1;
	rt->messages++;
	rt->last_time_ns = m.time_ns;
	return 0;
}

enum copy_view { NOT_YET, MESSAGE, NOTHING, LOST };

static enum copy_view copy_view(uint64_t state, uint64_t j)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(j));

	if (d < 0)
		return NOT_YET;
	if (d > 0)
		return LOST;
	switch (bus__topic_kind(state)) {
	case BUS__TOPIC_READY:
		return MESSAGE;
	case BUS__TOPIC_PADDED:
		return NOTHING;
	default:
		return NOT_YET;
	}
}

/* A cell reused before we copied it: the gate was broken (see the top).
 * 0 or the writer's negative errno. */
static int note_lost(struct busd_recorded_topic *rt, uint64_t j)
{
	int ret = append_gap(rt, j, BUS_JOURNAL_GAP_OVERWRITTEN);

	if (ret < 0)
		return ret;
	if (!rt->lost || (rt->lost & (rt->lost - 1)) == 0)
		busd_warning(
			"topic '%s': position %llu was overwritten before "
			"busd recorded it (%llu lost so far): the "
			"journal has a gap there",
			rt->name, (unsigned long long)j,
			(unsigned long long)rt->lost + 1);
	rt->lost++;
	return 0;
}

int busd_topic_record_copy(struct busd_recorded_topic *rt)
{
	const struct bus__topic_geometry *g = &rt->geometry;
	int copied = 0, ret = 0;

	busd_wall_clock_read(&rt->clock);
	rt->stalled = false;
	for (uint32_t n = 0; n < BUSD_TOPIC_RECORD_PASS_MAX; n++) {
		uint64_t j = rt->copied;
		/* Acquire: pairs with the publisher's release of READY (or
		 * busd's of PADDED), so the message we copy is whole. */
		uint64_t state =
			bus__load_acquire(&bus__topic_cell(g, j)->state);
		enum copy_view view = copy_view(state, j);

		if (view == NOT_YET)
			break;
		if (view == LOST)
			ret = note_lost(rt, j);
		if (view == MESSAGE)
			ret = append_cell(rt, j);
		if (ret == -EAGAIN) {
			/* Every buffer in flight: after a reap. */
			rt->stalled = true;
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		/* A gap record too: the journal moved on. */
		copied += view != NOTHING;
		ret = 0;
		rt->copied = j + 1;
	}
	return ret < 0 ? ret : copied;
}

void busd_topic_record_publish(struct busd_recorded_topic *rt)
{
	struct bus_topic_control *c = rt->geometry.control;
	uint64_t written = bus_journal_written_sequence(rt->writer);
	/* All appended written: so is every position copied, since the
	 * ones between held no message; else up to the written sequence,
	 * which is a position (a topic's sequences are its positions). */
	uint64_t position = (int64_t)(written - rt->appended) >= 0 ? rt->copied
								   : written;

	if ((int64_t)(position - rt->published) <= 0)
		return;
	rt->published = position;
	/* seq_cst store: see the top of this file (pairs with the acquire
	 * load in topic_ring.c's gate). */
	bus__store_seq_cst(&c->journal_position, position);
	bus__wake_if_sleeping(&c->publishers_sleeping, &c->space_futex);
}
