/* SPDX-License-Identifier: MIT */
/*
 * The arena of a packed topic, as its one publisher manages it
 * (topic_arena.h).  What the judge says of the record of position q, while
 * the publisher claims p (the tail; the newest claimed position is p - 1):
 *
 *   q + N < p          GONE: its cell was reused by q + N, so the cell
 *                      protocol already told every reader (a lapped state)
 *   our open loan      BUSY: we are writing it
 *   recorded topic,    BUSY: busd's journal thread has not copied it
 *     q >= journal_position
 *   overwrite policy   GONE; we raise control->overwritten past q before
 *                      we write over it, and copies check it (below)
 *   block policy       GONE iff every live subscriber passed q, else BUSY
 *                      (the publisher waits as for a full ring)
 *
 * Block policy and joins.  The cell protocol lets a publisher use a
 * minimum computed before a join because it reuses the cell of q only at
 * q + N (topic_cell.h, "Joining").  Here the bytes of q go earlier, while
 * a subscriber joining now may start at any uncommitted position (first),
 * which may lie below q when one of our loans is still open there: busd
 * then sees that loan WRITING, and nothing we did orders our use of an old
 * minimum after its raise of joins.  So the judge trusts a minimum only
 * for q below our oldest open loan (cap), and reads joins after a seq_cst
 * fence (once per find).  Then every position up to q is committed (our
 * commits are seq_cst stores; a predecessor's we loaded with seq_cst when
 * we rebuilt), and if our load of joins did not see busd's raise R:
 *   - our fence precedes R, hence busd's fence, in the single order, and
 *     our tail store (> q, made before our fence) is what busd's T_b load
 *     after its fence sees, or later: T_b > q;
 *   - our commits up to q precede our load, hence R, hence busd's seq_cst
 *     loads of those cells: its look below T_b sees them all committed,
 *     and first > q.
 * The subscriber never needs q.  If our load did see R, we scan, and see
 * the slot (at its guard or first) as the cell protocol's scan does.
 *
 * Readers of copies.  Whoever copies a message (overwrite policy, history,
 * last value) checks, after its acquire fence, the cell's state and p >=
 * control->overwritten.  We raise overwritten (relaxed) before the release
 * fence that follows a claim, and write the new message after that fence:
 * a copy that read any byte of it sees the raise (topic_ring.c).  Under the
 * block policy only history and last-value copies need it, in-place views
 * being protected by the subscribers' positions.
 *
 * Compaction (arena.h: the FIFO full) judges every extent, not only those
 * whose room is needed.  It must not drop records still in a live cell:
 * their bytes would later be written over without a raise of overwritten
 * (the arena notes a drop as written over, and raising overwritten for
 * messages we do not overwrite would count them lost for nothing).  So
 * during compaction only the cell rule says GONE; at most N records are in
 * live cells, so that frees at least half of the FIFO of 2N.
 */
#include <errno.h>
#include <stdlib.h>

#include "atomics.h"
#include "packed.h"
#include "topic_arena.h"
#include "topic_cell.h"
#include "topic_subscribers.h"

struct judge_context {
	struct bus_topic *t;
	uint64_t tail;	     /* the position being claimed */
	uint64_t cap;	     /* our oldest open loan, or tail */
	uint32_t compaction; /* judge calls left that compaction makes */
	bool fenced;	     /* joins loaded after a fence this find */
	uint64_t joins;	     /* what that load read */
};

/* Our own claim, not committed: only we write such a state. */
static bool our_loan(const struct bus_topic *t, uint64_t q)
{
	/* Relaxed: a state only this thread writes while it is ours. */
	uint64_t state =
		bus__load_relaxed(&bus__topic_cell(&t->geometry, q)->state);

	return bus__topic_kind(state) == BUS__TOPIC_WRITING &&
	       bus__cell_owner(state) == t->owner &&
	       bus__cell_position(state) == bus__position_wrap(q);
}

/* Our oldest open loan, or tail when none is open. */
static uint64_t oldest_loan(struct bus_topic *t, uint64_t tail)
{
	if (t->loans == 0)
		return tail;
	/* Loans committed since we looked: move on, at most a lap. */
	while (t->oldest_loan < tail && !our_loan(t, t->oldest_loan))
		t->oldest_loan++;
	return t->oldest_loan;
}

/* Recorded topic: has busd's journal thread copied q? */
static bool journal_copied(struct bus_topic *t, uint64_t q)
{
	uint64_t n = t->geometry.slots;

	if (!t->record || q + n < t->journal_limit)
		return true;
	/* Acquire: pairs with busd's release after its copy of the
	 * messages below journal_position, so our writes over q's bytes come
	 * after its reads (as journal_allows() in topic_ring.c). */
	t->journal_limit =
		bus__load_acquire(&t->geometry.control->journal_position) + n;
	return q + n < t->journal_limit;
}

/* Block policy: has every live subscriber passed q?  See above. */
static bool subscribers_passed(struct judge_context *c, uint64_t q)
{
	struct bus_topic *t = c->t;
	struct bus_topic_control *control = t->geometry.control;

	if (q >= c->cap)
		return false;
	if (!c->fenced) {
		/* seq_cst fence: after our tail store and our commits, before
		 * the load of joins; pairs with busd's raise and fence in
		 * busd_topic_subscriber_start() (the argument above). */
		bus__fence_seq_cst();
		c->joins = bus__load_seq_cst(&control->joins);
		c->fenced = true;
	}
	if (q < t->minimum && c->joins == t->joins)
		return true;
	/* A count that includes a join shows its slot to the scan (its
	 * loads of role are acquire, busd's raise a release). */
	t->joins = c->joins;
	t->minimum = bus__topic_scan_subscribers(&t->geometry, c->cap);
	return q < t->minimum;
}

static enum bus__arena_verdict judge(void *context,
				     const struct bus__arena_extent *e)
{
	struct judge_context *c = context;
	struct bus_topic *t = c->t;
	uint64_t q = e->position;
	bool compacting = c->compaction > 0;

	if (compacting)
		c->compaction--;
	if (q + t->geometry.slots < c->tail)
		return BUS__ARENA_GONE;
	if (compacting)
		return BUS__ARENA_PINNED; /* kept where it is */
	if (our_loan(t, q) || !journal_copied(t, q))
		return BUS__ARENA_BUSY;
	if (t->overwrite)
		return BUS__ARENA_GONE;
	return subscribers_passed(c, q) ? BUS__ARENA_GONE : BUS__ARENA_BUSY;
}

int bus__topic_arena_find(struct bus_topic *t, uint64_t p, uint32_t *offset)
{
	struct judge_context c = {
		.t = t,
		.tail = p,
		.cap = t->overwrite ? p : oldest_loan(t, p),
		/* arena.c compacts first, judging each extent once, when the
		 * FIFO is full (arena.h). */
		.compaction = t->arena.count > t->arena.mask ? t->arena.count
							     : 0,
	};
	int ret = bus__arena_find(&t->arena, t->want, judge, &c, offset);

	return ret == -ENOBUFS ? -ENOBUFS : ret < 0 ? -EBADMSG : 0;
}

void bus__topic_arena_take(struct bus_topic *t, uint64_t p, uint32_t offset)
{
	struct bus_topic_control *control = t->geometry.control;

	bus__arena_take(&t->arena, p, offset, t->want);
	if (t->loans++ == 0)
		t->oldest_loan = p;
	/* Relaxed: read by a replacement publisher after busd padded our
	 * claims, which the socket round trip orders. */
	bus__store_relaxed(&control->arena_head, t->arena.head);
	if (t->arena.overwrites > t->overwritten) {
		t->overwritten = t->arena.overwrites;
		/* Relaxed: the seqlock's writer side; the release fence
		 * after the claim (topic_ring.c) orders it before the bytes
		 * we then write.  Pairs with the readers' acquire fence. */
		bus__store_relaxed(&control->overwritten, t->overwritten);
	}
}

void bus__topic_arena_shrink(struct bus_topic *t, uint64_t p, uint32_t length)
{
	bus__arena_shrink(&t->arena, p, length);
	if (t->loans)
		t->loans--;
	/* Relaxed, as in take. */
	bus__store_relaxed(&t->geometry.control->arena_head, t->arena.head);
}

const struct bus__arena_extent *bus__topic_arena_extent(struct bus_topic *t,
							uint64_t p)
{
	const struct bus__arena *a = &t->arena;

	/* Open loans are the newest extents: look from the back. */
	for (uint32_t i = a->count; i > 0; i--) {
		const struct bus__arena_extent *e =
			&a->fifo[(a->first + i - 1) & a->mask];

		if (e->position == p)
			return e;
		if (e->position < p)
			break;
	}
	return NULL;
}

/*
 * The records of the messages still in a cell: READY at a position of the
 * last lap, not below overwritten (those may have lost their bytes to
 * newer records, which would then overlap them).
 */
static int collect(struct bus_topic *t, struct bus__arena_extent *live,
		   uint32_t *count)
{
	const struct bus__topic_geometry *g = &t->geometry;
	/* Relaxed: busd padded our predecessor's claims and then answered
	 * our attach; the round trip orders its stores before these. */
	uint64_t tail = bus__load_relaxed(&g->control->tail);
	uint64_t overwritten = bus__load_relaxed(&g->control->overwritten);
	uint64_t q = tail > g->slots ? tail - g->slots : 0;

	if (q < overwritten)
		q = overwritten;
	t->overwritten = overwritten;
	*count = 0;
	for (; q < tail; q++) {
		struct bus_cell *cell = bus__topic_cell(g, q);
		/* seq_cst: the predecessor's commits precede our later load
		 * of joins (the argument above); acquire for the header. */
		uint64_t state = bus__load_seq_cst(&cell->state);
		struct bus_message_header h;

		if (bus__cell_position(state) != bus__position_wrap(q) ||
		    bus__topic_kind(state) != BUS__TOPIC_READY)
			continue;
		h = cell->header;
		if (h.payload_length > g->settings.max_message ||
		    h.extension_length > g->area.extension_limit)
			return -EBADMSG;
		live[(*count)++] = (struct bus__arena_extent){
			.position = q,
			.start = h.record_offset,
			.length = (uint32_t)bus__packed_record_length(
				h.payload_length, h.extension_length),
		};
	}
	return 0;
}

int bus__topic_arena_open(struct bus_topic *t)
{
	const struct bus__topic_geometry *g = &t->geometry;
	struct bus__arena_extent *live;
	uint32_t count;
	uint64_t head;
	int ret;

	ret = bus__arena_init(&t->arena, g->area.arena_bytes, g->slots);
	if (ret < 0)
		return ret == -ENOMEM ? ret : -EBADMSG;
	live = calloc(g->slots, sizeof(*live));
	if (!live) {
		bus__arena_destroy(&t->arena);
		return -ENOMEM;
	}
	/* Relaxed: as the tail in collect(). */
	head = bus__load_relaxed(&g->control->arena_head);
	ret = collect(t, live, &count);
	if (ret == 0)
		ret = head > UINT32_MAX
			      ? -EBADMSG
			      : bus__arena_rebuild(&t->arena, (uint32_t)head,
						   live, count);
	free(live);
	if (ret < 0) {
		bus__arena_destroy(&t->arena);
		return ret == -ENOMEM ? ret : -EBADMSG;
	}
	return 0;
}

void bus__topic_arena_close(struct bus_topic *t)
{
	bus__arena_destroy(&t->arena);
}
