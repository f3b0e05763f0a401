/* SPDX-License-Identifier: MIT */
/*
 * Cell operations of a topic; the protocol is described in topic_cell.h.
 *
 * Who writes what:
 *   cell state      publishers (claim, commit, drop a loan) and busd (pad a
 *                   dead publisher's claim); subscribers only read it.
 *   tail            several publishers: any of them, by CAS, "helping" as
 *                   in queue_ring.c; one publisher: it alone, a mirror of
 *                   its private copy.  Read by busd (joining), lapped
 *                   subscribers and last-value readers.
 *   joins           busd, one more at every subscriber it lets in.
 *   sub. position   that subscriber (busd when it lends the slot).
 *
 * Progress: publishers are lock-free among themselves; under the block
 * policy they wait for the slowest live subscriber, under overwrite for
 * nobody (but a publisher that holds a loan for a whole lap).  Subscribers
 * never wait for each other and are wait-free in overwrite mode.
 *
 * Recorded topics (record = yes): busd's journal thread is a reader that
 * every publisher waits for, under either policy.  A publisher may claim
 * position p only if p < journal_position + slots, so that no cell is
 * reused before busd recorded the message it holds (journal_allows()).
 * A claim it refuses says full (-ENOBUFS), and the publisher waits as for
 * a full block topic, sleeping on space_futex (wait.c): busd wakes it
 * when it moves journal_position (busd/topic_record_ring.c).
 *
 * Ordering: a message is handed over by its cell's state word: the
 * publisher stores READY with release (seq_cst, for the wake-up check) and
 * a reader loads it with acquire.  Under the block policy a cell is handed
 * back by the subscribers' positions: each stores its position with
 * release after reading the cells below it, and a publisher's scan loads
 * it with acquire before it reuses one of them.  Copies under the
 * overwrite policy are checked seqlock-style instead (see copy_message).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "atomics.h"
#include "futex.h"
#include "packed.h"
#include "topic_arena.h"
#include "topic_cell.h"
#include "topic_high_water.h"
#include "topic_ring.h"
#include "topic_subscribers.h"
#include "wake.h"

/* Words of a message as copied while a publisher may be writing them:
 * atomic, so that a concurrent copy is no data race, and may_alias, since
 * the same bytes are a struct bus_message_header or a payload too. */
typedef _Atomic uint64_t __attribute__((may_alias)) bus__shared_word;

/*
 * Every loop below ends within this many steps.  A well-behaved run needs
 * at most a lap of positions or a few lost races; more means a peer wrote
 * nonsense into the segment, and we answer -EBADMSG rather than spin on
 * memory we must not trust (as queue_ring.c does).
 */
#define TOPIC_STEPS_MAX (1u << 20)

static struct bus_cell *cell_at(const struct bus__topic_geometry *g,
				uint64_t position)
{
	return bus__topic_cell(g, position);
}

/* Moves the shared tail past p unless somebody already did. */
static void help_advance(_Atomic uint64_t *tail, uint64_t p)
{
	/* Release (a lock cmpxchg either way on x86-64): whoever acquires
	 * the tail from us has seen what we saw of the cell below it, its
	 * commit included; the joining protocol needs that (topic_cell.h).
	 * A stale tail is detected by the state it leads to. */
	bus__cas_acq_rel(tail, &p, p + 1);
}

/* ---- publishers ---------------------------------------------------------- */

enum publisher_view { CLAIMABLE, FULL, PASSED };

static enum publisher_view publisher_view(uint64_t state, uint64_t p)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(p));
	enum bus__topic_cell_kind kind = bus__topic_kind(state);

	if (d > 0 || (d == 0 && kind != BUS__TOPIC_FREE))
		return PASSED; /* position p is claimed or padded already */
	if (d == 0)
		return CLAIMABLE; /* FREE(p): the first lap */
	if (kind == BUS__TOPIC_WRITING)
		return FULL; /* the previous lap is still being written */
	return CLAIMABLE;    /* READY or PADDED of the previous lap */
}

/*
 * Block policy: has every live subscriber passed p - N, so that position p
 * may reuse the cell?  The minimum of our last scan answers almost always,
 * as long as busd let nobody in since; a scan otherwise.
 *
 * The caller loaded the cell's state (seq_cst) before calling us, and the
 * load of joins below comes after it: that order is what makes a minimum
 * from before a join safe to use (topic_cell.h, "Joining").
 */
static bool subscribers_passed(struct bus_topic *t, uint64_t p)
{
	const struct bus__topic_geometry *g = &t->geometry;
	struct bus_topic_control *c = g->control;
	uint64_t n = g->slots;

	if (p < n)
		return true; /* the first lap reuses nothing */
	/* seq_cst (a plain load on x86-64, in a line the tail keeps in our
	 * cache): pairs with busd's seq_cst raise of joins before it reads
	 * the cells for open loans. */
	if (p - n < t->minimum && bus__load_seq_cst(&c->joins) == t->joins)
		return true;
	/* seq_cst, as above, and acquire for the scan: a count that
	 * includes a join shows that subscriber's live slot. */
	t->joins = bus__load_seq_cst(&c->joins);
	/*
	 * The tail half of the joining protocol: our position must be
	 * visible in the tail before we look at the live flags.  A single
	 * publisher stored it after its last claim; several make a
	 * modification of the tail here (an RMW reads the newest value).
	 * Then the fence, which pairs with busd's in
	 * busd_topic_subscriber_start().
	 */
	if (!t->single)
		bus__fetch_add_seq_cst(&c->tail, 0);
	bus__fence_seq_cst();
	t->minimum = bus__topic_scan_subscribers(g, p);
	return p - n < t->minimum;
}

/*
 * Recorded topics: may position p reuse its cell as far as busd's journal
 * is concerned?  The limit we cached answers almost always; only when it
 * says no do we read journal_position again.  A topic that is not
 * recorded pays one predictable branch.
 */
static bool journal_allows(struct bus_topic *t, uint64_t p)
{
	if (__builtin_expect(!t->record, 1) || p < t->journal_limit)
		return true;
	/* Acquire: pairs with busd's release (seq_cst) store after its copy
	 * of the cells below journal_position, so our writes to a reused
	 * cell come after busd's reads of its previous message.  When we
	 * sleep, wait.c's fence after the raise of publishers_sleeping
	 * orders this load after it: busd's store and load of the count are
	 * seq_cst, so either we see the new position or busd wakes us. */
	t->journal_limit =
		bus__load_acquire(&t->geometry.control->journal_position) +
		t->geometry.slots;
	return p < t->journal_limit;
}

static void claimed(struct bus_topic *t)
{
	/* The seqlock's release fence (overwrite policy; packed topics,
	 * whose history and last-value copies check overwritten under
	 * either policy): the claim, and the raise of overwritten, are
	 * ordered before the header and payload stores that follow.  Pairs
	 * with the acquire fence in copy_message(). */
	if (t->overwrite || t->packed)
		bus__fence_release();
}

int bus__topic_claim_single(struct bus_topic *t, uint64_t *position)
{
	const struct bus__topic_geometry *g = &t->geometry;
	uint64_t p = t->tail;
	uint32_t offset = 0;

	for (uint32_t passed = 0; passed <= g->slots;) {
		struct bus_cell *cell = cell_at(g, p);
		/* Acquire: pairs with busd's release when it padded a cell of
		 * our predecessor.  seq_cst (the same load on x86-64) for the
		 * joining protocol: ordered before our load of joins. */
		uint64_t state = bus__load_seq_cst(&cell->state);

		switch (publisher_view(state, p)) {
		case CLAIMABLE:
			if (!journal_allows(t, p))
				goto full;
			if (!t->overwrite && !subscribers_passed(t, p))
				goto full;
			/* Packed: room in the arena first (topic_arena.c);
			 * none is full, as a ring is. */
			if (t->packed) {
				int ret = bus__topic_arena_find(t, p, &offset);

				if (ret == -ENOBUFS)
					goto full;
				if (ret < 0)
					return ret;
			}
			/* Nobody else writes the state of a claimable cell of
			 * a single-publisher topic: a plain store. */
			bus__store_relaxed(
				&cell->state,
				bus__topic_state(p, t->owner,
						 BUS__TOPIC_WRITING));
			*position = p;
			t->tail = p + 1;
			/* Relaxed: for busd's joining protocol (the fence in
			 * subscribers_passed orders it there), lapped readers
			 * and a replacement publisher. */
			bus__store_relaxed(&g->control->tail, p + 1);
			if (t->packed)
				bus__topic_arena_take(t, p, offset);
			claimed(t);
			return 0;
		case FULL:
			goto full;
		case PASSED:
			/* Only after busd padded a dead predecessor's claim,
			 * or a corrupt cell: bounded by one lap. */
			p++;
			passed++;
			continue;
		}
	}
full:
	t->tail = p;
	return -ENOBUFS;
}

int bus__topic_claim_multi(struct bus_topic *t, uint64_t *position)
{
	const struct bus__topic_geometry *g = &t->geometry;
	_Atomic uint64_t *tail = &g->control->tail;

	for (uint32_t steps = 0; steps < TOPIC_STEPS_MAX; steps++) {
		/* Acquire: pairs with the release in help_advance(), so that
		 * the commits it passed come before our load of joins. */
		uint64_t p = bus__load_acquire(tail);
		struct bus_cell *cell = cell_at(g, p);
		/* Acquire: pairs with the release of whoever moved the cell
		 * last (a commit, busd's pad).  seq_cst (the same load on
		 * x86-64) for the joining protocol: ordered before our load
		 * of joins. */
		uint64_t state = bus__load_seq_cst(&cell->state);

		switch (publisher_view(state, p)) {
		case CLAIMABLE:
			if (!journal_allows(t, p))
				goto full;
			if (!t->overwrite && !subscribers_passed(t, p))
				goto full;
			/* Claim the cell first, then the position: whoever
			 * sees the cell claimed helps the tail along, so dying
			 * between the two stalls nobody. */
			if (!bus__cas_acq_rel(
				    &cell->state, &state,
				    bus__topic_state(p, t->owner,
						     BUS__TOPIC_WRITING)))
				continue;
			help_advance(tail, p);
			*position = p;
			claimed(t);
			return 0;
		case FULL:
			goto full;
		case PASSED:
			help_advance(tail, p);
			continue;
		}
full:
		/* A stale p looks full too: only a current one is. */
		if (bus__load_relaxed(tail) == p)
			return -ENOBUFS;
	}
	return -EBADMSG;
}

void bus__topic_write_header(struct bus_cell *cell,
			     const struct bus_message_header *header)
{
	bus__shared_word *to = (bus__shared_word *)(void *)&cell->header;
	uint64_t words[sizeof(*header) / 8];

	memcpy(words, header, sizeof(words));
	/* Relaxed: the commit's release publishes them to readers that wait
	 * for it; a lapped reader's copy is checked against the state. */
	for (size_t i = 0; i < sizeof(words) / 8; i++)
		bus__store_relaxed(&to[i], words[i]);
}

void bus__topic_write_payload(void *payload, const void *data, uint32_t length)
{
	bus__shared_word *to = payload;
	const uint8_t *from = data;
	uint32_t words = length / 8, rest = length % 8;
	uint64_t word;

	for (uint32_t i = 0; i < words; i++) {
		memcpy(&word, from + 8 * (size_t)i, 8);
		bus__store_relaxed(&to[i], word);
	}
	if (rest) {
		/* The cell is padded to 64 bytes: the whole word is ours. */
		word = 0;
		memcpy(&word, from + 8 * (size_t)words, rest);
		bus__store_relaxed(&to[words], word);
	}
}

void bus__topic_publish(struct bus_topic *t, uint64_t position)
{
	struct bus_topic_control *c = t->geometry.control;

	/* seq_cst: a release for the message (pairs with the readers'
	 * acquire load of the state) that is also ordered before the loads
	 * of the sleepers counts below.  Against a sleeper's raise of its
	 * count and fence (wait.c) this is the store-buffer pattern: either
	 * it sees READY, or we see it counted and wake it. */
	bus__store_seq_cst(&cell_at(&t->geometry, position)->state,
			   bus__topic_state(position, 0, BUS__TOPIC_READY));
	if (bus__load_seq_cst(&c->subscribers_sleeping))
		bus__wake_all(&c->data_futex);
	/* Another publisher may wait for this cell's next lap. */
	if (!t->single && bus__load_seq_cst(&c->publishers_sleeping))
		bus__wake_all(&c->space_futex);
}

void bus__topic_abandon(struct bus_topic *t, uint64_t position)
{
	struct bus_topic_control *c = t->geometry.control;

	/* What busd does after our death; seq_cst as in publish. */
	bus__store_seq_cst(&cell_at(&t->geometry, position)->state,
			   bus__topic_state(position, 0, BUS__TOPIC_PADDED));
	if (bus__load_seq_cst(&c->subscribers_sleeping))
		bus__wake_all(&c->data_futex);
}

/* ---- readers ------------------------------------------------------------- */

static void read_words(void *to, const void *from, size_t bytes)
{
	const bus__shared_word *words = from;
	uint8_t *out = to;
	size_t whole = bytes / 8, rest = bytes % 8;
	uint64_t word;

	/* Relaxed: checked afterwards against the state word. */
	for (size_t i = 0; i < whole; i++) {
		word = bus__load_relaxed(&words[i]);
		memcpy(out + 8 * i, &word, 8);
	}
	if (rest) {
		word = bus__load_relaxed(&words[whole]);
		memcpy(out + 8 * whole, &word, rest);
	}
}

/* A copy whose record the arena gave to a newer message: the positions
 * below control->overwritten count as lost (bus__topic_read). */
#define ARENA_LAPPED (-EOVERFLOW)

/*
 * Copies the message of a cell found READY with `state` at position p,
 * then looks at the state again, and (packed) at overwritten: the
 * seqlock's read side.  Returns the length; -ESTALE when the cell was
 * reused during the copy, ARENA_LAPPED when its record was (nothing copied
 * can be trusted either way); -EMSGSIZE or -EBADMSG for an intact message
 * too long for size or for the topic, or whose record lies outside the
 * arena.  extension gets up to room bytes of key and headers.  Works on a
 * read-only mapping.
 */
static int copy_message(const struct bus__topic_geometry *g,
			struct bus_cell *cell, uint64_t state, uint64_t p,
			void *to, size_t size,
			struct bus_message_header *header, void *extension,
			uint32_t room)
{
	struct bus__record record;
	uint32_t length;
	int ret = 0;

	read_words(header, &cell->header, sizeof(*header));
	length = header->payload_length;
	/* From our copy of the header: a publisher may be changing it. */
	if (length > g->settings.max_message ||
	    bus__message_locate(&g->area, cell, header->record_offset, length,
				header->extension_length, &record))
		ret = -EBADMSG;
	else if (length > size)
		ret = -EMSGSIZE;
	else
		read_words(to, record.payload, length);
	/* Key and headers, for a view (a corrupt length is the reader's to
	 * find: it is bounded by the room, and so is this copy). */
	if (!ret && extension && header->extension_length) {
		uint32_t bytes = header->extension_length;

		if (bytes > record.room)
			bytes = record.room;
		read_words(extension, record.extension,
			   bytes < room ? bytes : room);
	}
	/* Acquire fence: pairs with the release fence after a claim.  If a
	 * load above read a word of a later message, the loads below see
	 * that message's claim, and its raise of overwritten. */
	bus__fence_acquire();
	if (bus__load_relaxed(&cell->state) != state)
		return -ESTALE;
	if (g->area.arena && p < bus__load_relaxed(&g->control->overwritten))
		return ARENA_LAPPED;
	return ret ? ret : (int)length;
}

enum reader_view { READABLE, SKIP, EMPTY, LAPPED };

static enum reader_view reader_view(uint64_t state, uint64_t p)
{
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(p));

	if (d < 0)
		return EMPTY;
	if (d > 0)
		return LAPPED;
	switch (bus__topic_kind(state)) {
	case BUS__TOPIC_READY:
		return READABLE;
	case BUS__TOPIC_PADDED:
		return SKIP;
	default:
		return EMPTY; /* FREE or WRITING at p */
	}
}

/* Figures in our own cursor line: only we write them. */
static void count_loss(struct bus_subscription *s, uint64_t from, uint64_t to)
{
	/* History that was overwritten before we got to it is no loss:
	 * it was published before we subscribed. */
	if (from < s->subscribed_from)
		from = s->subscribed_from;
	if (to <= from)
		return;
	s->lost += to - from;
	s->lost_total += to - from;
	s->lapped++;
	bus__store_relaxed(&s->slot->lost, s->lost_total);
	bus__store_relaxed(&s->slot->lapped, s->lapped);
}

/*
 * The record of s->next went to a newer message (packed, copies): every
 * position below overwritten may have lost its record, so those from
 * s->next on are gone, counted as a lapped cell's are.  Jump there.
 */
static void jump_overwritten(struct bus_subscription *s)
{
	/* Relaxed: copy_message() loaded it after its acquire fence; a
	 * later value only makes the jump longer, and counts what it
	 * passes. */
	uint64_t oldest = bus__load_relaxed(&s->geometry.control->overwritten);

	if (oldest <= s->next) /* only with a corrupt line */
		oldest = s->next + 1;
	count_loss(s, s->next, oldest);
	s->next = oldest;
}

/*
 * The cell of s->next holds a later lap: the messages from s->next up to
 * the oldest one that may still be intact are gone.  Jump there.
 */
static void jump(struct bus_subscription *s, uint64_t state)
{
	const struct bus__topic_geometry *g = &s->geometry;
	uint64_t p = s->next;
	uint64_t newer =
		p + (uint64_t)bus__position_diff(bus__cell_position(state),
						 bus__position_wrap(p));
	/* Relaxed: a stale tail only makes the jump shorter, and the next
	 * look finds out. */
	uint64_t tail = bus__load_relaxed(&g->control->tail);
	uint64_t oldest = newer - g->slots + 1;

	if (tail > g->slots && tail - g->slots > oldest)
		oldest = tail - g->slots;
	if (oldest <= p) /* only with corrupt states */
		oldest = p + 1;
	count_loss(s, p, oldest);
	s->next = oldest;
}

/* Block policy, a protected position: the message is ours to read in
 * place until we move our position past it. */
static int read_in_place(struct bus_subscription *s, struct bus_cell *cell,
			 void *dst, size_t size, struct bus__topic_delivery *d)
{
	const struct bus__topic_geometry *g = &s->geometry;
	struct bus_message_header *h = &cell->header;
	struct bus__record record;
	/* Read once: a hostile publisher could change them under us. */
	uint32_t length = *(volatile uint32_t *)&h->payload_length;
	uint32_t extension = *(volatile uint16_t *)&h->extension_length;
	uint32_t offset = *(volatile uint32_t *)&h->record_offset;

	if (length > g->settings.max_message ||
	    bus__message_locate(&g->area, cell, offset, length, extension,
				&record))
		return -EBADMSG;
	d->length = length;
	if (!dst) {
		d->header = h;
		d->payload = record.payload;
		/* Packed: the key and headers follow the payload. */
		d->room = g->area.arena ? record.room : 0;
		d->in_place = 1;
		return 0;
	}
	if (length > size)
		return -EMSGSIZE;
	memcpy(dst, record.payload, length);
	s->header = *h;
	d->header = &s->header;
	d->payload = dst;
	d->room = 0;
	d->in_place = 0;
	return 0;
}

static int read_copy(struct bus_subscription *s, struct bus_cell *cell,
		     uint64_t state, uint64_t p, void *dst, size_t size,
		     struct bus__topic_delivery *d)
{
	/* A view's copy: header, header room, payload, as in a fixed cell,
	 * for packed topics too (message_keys.c reads it so). */
	uint32_t room_size = bus__topic_copy_room(&s->geometry);
	uint8_t *head = (uint8_t *)s->buffer;
	uint8_t *room = head + sizeof(struct bus_message_header);
	void *to = dst ? dst : room + room_size;
	int ret;

	if (!dst)
		size = s->geometry.settings.max_message;
	ret = copy_message(&s->geometry, cell, state, p, to, size, &s->header,
			   dst ? NULL : room, room_size);
	if (ret < 0)
		return ret;
	d->header = &s->header;
	if (!dst) {
		memcpy(head, &s->header, sizeof(s->header));
		d->header = (const struct bus_message_header *)head;
	}
	d->payload = to;
	d->length = (uint32_t)ret;
	d->room = 0;
	d->in_place = 0;
	return 0;
}

int bus__topic_read(struct bus_subscription *s, void *dst, size_t size,
		    struct bus__topic_delivery *d)
{
	const struct bus__topic_geometry *g = &s->geometry;

	for (uint32_t steps = 0; steps < TOPIC_STEPS_MAX; steps++) {
		uint64_t p = s->next;
		struct bus_cell *cell = cell_at(g, p);
		/* Acquire: pairs with the publisher's READY store; the
		 * message is visible with it. */
		uint64_t state = bus__load_acquire(&cell->state);
		int ret;

		switch (reader_view(state, p)) {
		case EMPTY:
			return -EAGAIN;
		case SKIP:
			s->next = p + 1;
			continue;
		case LAPPED:
			jump(s, state);
			continue;
		case READABLE:
			bus__subscription_note_lag(s, p);
			break;
		}
		/*
		 * Below protected_from a block subscription copies, into the
		 * buffer it made for history.  Without one it gets there only
		 * when a peer's nonsense made s->next wrap past 2^64 (jump()
		 * or a skip from a position near it; found by
		 * fuzz_topic_segment): read in place then, still within the
		 * mapping, rather than copy through a NULL buffer.
		 */
		if (!s->overwrite && (p >= s->protected_from || !s->buffer))
			ret = read_in_place(s, cell, dst, size, d);
		else
			ret = read_copy(s, cell, state, p, dst, size, d);
		if (ret == -ESTALE)
			continue; /* overwritten: the next look jumps */
		if (ret == ARENA_LAPPED) {
			jump_overwritten(s);
			continue;
		}
		if (ret == -EBADMSG)
			s->next = p + 1;
		if (ret < 0)
			return ret;
		d->position = p;
		s->next = p + 1;
		return 0;
	}
	return -EBADMSG;
}

int bus__subscription_pending(const struct bus_subscription *s)
{
	/* Acquire, as in bus__topic_read: a caller that sees 1 reads next. */
	uint64_t state =
		bus__load_acquire(&cell_at(&s->geometry, s->next)->state);

	return reader_view(state, s->next) != EMPTY;
}

void bus__subscription_publish_position(struct bus_subscription *s)
{
	const struct bus__topic_geometry *g = &s->geometry;
	struct bus_topic_control *c = g->control;
	uint64_t before = s->published;
	/* Never below where busd put us: publishers may rely on that. */
	uint64_t at = s->next > s->protected_from ? s->next
						  : s->protected_from;

	if (before == at)
		return;
	s->published = at;
	if (s->overwrite) {
		/* Nobody waits for it: a figure for busctl stat. */
		bus__store_relaxed(&s->slot->position, at);
		return;
	}
	/* seq_cst: a release of our reads of the cells below (pairs with
	 * the acquire in a publisher's scan), ordered before the load of
	 * the sleepers count: against a publisher's raise of it and its
	 * fence in wait.c, the store-buffer pattern. */
	bus__store_seq_cst(&s->slot->position, at);
	if (bus__load_seq_cst(&c->publishers_sleeping) == 0)
		return;
	/*
	 * A publisher sleeps.  It waits to claim some position at most the
	 * tail, so it waits for us only if we were a whole ring behind that.
	 * Reading the count synchronised with its raise, made after it had
	 * set the tail: our load sees that tail or a later one.  A packed
	 * topic's publisher may wait for the arena, where any message we
	 * pass may be the one it waits for.
	 */
	if (!g->area.arena && before + g->slots > bus__load_relaxed(&c->tail))
		return;
	bus__wake_all(&c->space_futex);
}

/* ---- last value ---------------------------------------------------------- */

/* The newest READY message below tail: its length, -ESTALE to look again
 * with a new tail, -EAGAIN when there is none. */
static int newest_below(const struct bus__topic_geometry *g, uint64_t tail,
			void *buf, size_t size,
			struct bus_message_header *header)
{
	uint64_t low = tail > g->slots ? tail - g->slots : 0;

	for (uint64_t q = tail; q > low; q--) {
		struct bus_cell *cell = cell_at(g, q - 1);
		/* Acquire: pairs with the publisher's READY store. */
		uint64_t state = bus__load_acquire(&cell->state);
		int64_t d = bus__position_diff(bus__cell_position(state),
					       bus__position_wrap(q - 1));

		if (d > 0)
			return -ESTALE; /* the ring moved on under us */
		if (d < 0 || bus__topic_kind(state) != BUS__TOPIC_READY)
			continue; /* still being written, or padded */
		return copy_message(g, cell, state, q - 1, buf, size, header,
				    NULL, 0);
	}
	return -EAGAIN;
}

int bus__topic_read_last(const struct bus__topic_geometry *g, void *buf,
			 size_t size, struct bus_message_header *hdr)
{
	struct bus_message_header header;

	/* A few tries: only a publisher lapping the ring while we copy one
	 * message makes us start again. */
	for (int tries = 0; tries < 16; tries++) {
		/* Relaxed: the cells' states say what the tail means. */
		uint64_t tail = bus__load_relaxed(&g->control->tail);
		int ret = newest_below(g, tail, buf, size, &header);

		if (ret == -ESTALE || ret == ARENA_LAPPED)
			continue;
		if (ret >= 0 && hdr)
			*hdr = header;
		return ret;
	}
	return -EAGAIN;
}
