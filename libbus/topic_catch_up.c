/* SPDX-License-Identifier: MIT */
/*
 * A subscription's catch-up from its topic's journal, then the switch to
 * the ring: the protocol is topic_catch_up.h's.  Never on the path of a
 * subscription that reads the ring alone (s->catch_up NULL).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "fd_dir.h"
#include "files.h"
#include "journal.h"
#include "segment.h"
#include "topic_catch_up.h"
#include "topic_cell.h"

/* A wait for the recorder naps this long between looks at the disk: the
 * recorder's copies reach the file within a pass of its thread. */
#define NAP_NS 200000
#define TEXT_MAX 512
/* "topic 'NAME': ", a path, then a reader's sentence. */
#define DETAIL_MAX (TEXT_MAX + 4096 + BUS_NAME_MAX + 16)

/* One message laid out as a subscription's copy (topic.h): header, header
 * room, payload. */
struct staged_message {
	uint8_t *bytes;
	uint64_t sequence;
	uint32_t length;
};

struct bus__catch_up {
	struct bus_journal_reader *reader;
	struct bus_journal_fd_dir dir; /* closed with the catch-up */
	uint32_t from;
	uint64_t from_value;
	uint64_t end; /* F: the ring's first position */
	/* Sequences below next are delivered or passed over; known: next
	 * means that (time mode: once a message was seen). */
	uint64_t next;
	bool known;
	/* Time mode, nothing seen: a second reader found F - 1 or later on
	 * disk, so the end of the reader is the end of what we want. */
	bool end_on_disk;
	bool over; /* the disk is done; the next receive switches */
	/* A receive said -EBADMSG: the next one goes on at the next file. */
	bool corrupt;
	bool staged;
	struct staged_message stage, view;
	uint32_t room; /* the topic's header room in bytes */
	uint32_t max_message;
	bus__catch_up_fail_fn fail;
	char detail[DETAIL_MAX];
};

/* Sets the sentence, in our terms: the directory's name, not the fd's. */
static int failed(struct bus_subscription *s, int error, const char *text)
{
	struct bus__catch_up *c = s->catch_up;
	char named[DETAIL_MAX];

	snprintf(c->detail, sizeof(c->detail), "topic '%s': %s", s->name,
		 bus_journal_fd_dir_detail(&c->dir, text, named,
					   sizeof(named)));
	if (c->fail && s->bus)
		c->fail(s->bus, error, c->detail);
	return error;
}

/* Would the ring have a message between next and end?  None when every
 * position there is PADDED at its own lap: a dead publisher's claims,
 * which the recorder steps over. */
static bool ring_has_none(const struct bus_subscription *s, uint64_t from,
			  uint64_t end)
{
	const struct bus__topic_geometry *g = &s->geometry;

	if (end - from > g->slots)
		return false;
	for (uint64_t q = from; q < end; q++) {
		/* Acquire: as a reader's look at a cell (topic_ring.c); a
		 * PADDED at q's lap is final. */
		uint64_t state =
			bus__load_acquire(&bus__topic_cell(g, q)->state);

		if (bus__cell_position(state) != bus__position_wrap(q) ||
		    bus__topic_kind(state) != BUS__TOPIC_PADDED)
			return false;
	}
	return true;
}

/* What join_later() found. */
enum join {
	JOIN_NOW,   /* switch at F */
	JOIN_MOVED, /* F moved on: read the disk up to it */
	JOIN_WAIT,  /* wait for the recorder to pass F, then look again */
};

/*
 * Overwrite policy: publishers do not wait for us, so while we read the
 * disk they may lap the ring from F on, and the switch would report as
 * lost messages the journal holds.  So before the switch, when F is not
 * in the newer half of what the ring still holds (tail - slots up, or for
 * a packed topic from the arena's overwritten line up, whichever is
 * higher), we join the ring later instead, as Aeron's replay merge does:
 * at journal_position, below which every message is on disk (the
 * recorder moves it only once its write completed), and from which the
 * ring holds every position at this moment (a recorded topic's publisher
 * never claims p >= journal_position + slots, nor overwrites a record it
 * has not journaled).  Then the disk is read up to there, and we look
 * again.  When the recorder has not passed F yet, publishers wait for it:
 * we wait too, and join later once it has (unless its journal failed:
 * then publishers stay held, and F stays in the ring).  Under block our
 * position at F holds publishers back: no need.
 */
static enum join join_later(struct bus_subscription *s)
{
	const struct bus__topic_geometry *g = &s->geometry;
	struct bus__catch_up *c = s->catch_up;
	uint64_t tail, oldest, recorded;

	if (!s->overwrite)
		return JOIN_NOW;
	/* Relaxed, both: a stale value only delays the decision; a lap
	 * after it is counted on the ring, as for any slow subscriber. */
	tail = bus__load_relaxed(&g->control->tail);
	oldest = tail > g->slots ? tail - g->slots : 0;
	if (g->area.arena) {
		uint64_t overwritten =
			bus__load_relaxed(&g->control->overwritten);

		if (overwritten > oldest)
			oldest = overwritten < tail ? overwritten : tail;
	}
	if (c->end >= oldest && c->end - oldest >= (tail - oldest) / 2)
		return JOIN_NOW;
	/* Acquire: pairs with the recorder's release store after its write
	 * completed (busd/topic_record_ring.c). */
	recorded = bus__load_acquire(&g->control->journal_position);
	if (recorded <= c->end)
		/* Acquire: as libbus/topic.c's look at a failed journal. */
		return bus__load_acquire(&g->control->journal_error)
			       ? JOIN_NOW
			       : JOIN_WAIT;
	c->end = recorded;
	s->next = recorded;
	/* Time mode: the probe looked for the old end. */
	c->end_on_disk = false;
	return JOIN_MOVED;
}

/* The disk is read up to F: 1 when F moved on (read on), 0 to wait for the
 * recorder, 2 when the disk is done (the next receive switches). */
static int at_end(struct bus_subscription *s)
{
	switch (join_later(s)) {
	case JOIN_MOVED:
		return 1;
	case JOIN_WAIT:
		return 0;
	default:
		s->catch_up->over = true;
		return 2;
	}
}

/* A record at or past F: true when F moved past it (read it), false when
 * the ring has it (the disk is done). */
static bool joined_past(struct bus_subscription *s, uint64_t position)
{
	if (join_later(s) == JOIN_MOVED && position < s->catch_up->end)
		return true;
	s->catch_up->over = true;
	return false;
}

/* Time mode, nothing seen yet: 1 when a message at F - 1 or later is on
 * disk (so everything below F is), 0 if not yet, or -errno. */
static int end_reached_on_disk(struct bus_subscription *s)
{
	struct bus__catch_up *c = s->catch_up;
	struct bus_journal_reader *probe;
	struct bus_journal_entry e;
	int ret;

	ret = bus_journal_reader_open(&probe, c->dir.path, NULL, 0);
	if (ret < 0)
		return ret;
	ret = bus_journal_seek_sequence(probe, c->end - 1);
	while (ret == 0 && (ret = bus_journal_next(probe, &e, NULL, 0)) == 1) {
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE &&
		    e.message.sequence >= c->end - 1)
			break;
		/* A gap that reaches F - 1 ends the disk as a message. */
		if (e.type == BUS_JOURNAL_RECORD_GAP &&
		    e.gap.first + e.gap.count >= c->end)
			break;
		ret = 0;
	}
	bus_journal_reader_close(probe);
	/* A bad record is the main reader's to report, with its detail. */
	return ret < 0 && ret != -EBADMSG ? ret : ret == 1;
}

/* Copies a journal message into the stage: 1, or -EMSGSIZE (passed over,
 * with a sentence) when the topic cannot hold it. */
static int stage(struct bus_subscription *s, const struct bus_journal_entry *e)
{
	struct bus__catch_up *c = s->catch_up;
	const struct bus_journal_message *m = &e->message;
	struct bus_message_header h = {
		.header_length = sizeof(h),
		.header_version = BUS_MESSAGE_HEADER_VERSION,
		.flags = (uint8_t)m->flags,
		.payload_length = m->payload_length,
		.sequence = m->sequence,
		.correlation_id = m->correlation_id,
		.delivery_count = 1,
		.extension_length = (uint16_t)m->extension_length,
	};
	uint8_t *b = c->stage.bytes;
	char text[TEXT_MAX];

	if (m->payload_length > c->max_message ||
	    m->extension_length > c->room) {
		snprintf(text, sizeof(text),
			 "%s: offset %" PRIu64 ": message %" PRIu64
			 " (%" PRIu32 " bytes, %" PRIu32
			 " of keys and headers) is larger than the topic "
			 "allows now (%" PRIu32 ", %" PRIu32 "): passed over",
			 e->file, e->offset, m->sequence, m->payload_length,
			 m->extension_length, c->max_message, c->room);
		return failed(s, -EMSGSIZE, text);
	}
	memcpy(b, &h, sizeof(h));
	if (m->extension_length)
		memcpy(b + sizeof(h), m->extension, m->extension_length);
	if (m->payload_length)
		memcpy(b + sizeof(h) + c->room, m->payload, m->payload_length);
	c->stage.sequence = m->sequence;
	c->stage.length = m->payload_length;
	c->staged = true;
	return 1;
}

/* The gap retention left below the oldest file (up to F) from where we
 * are, added to what the next delivery reports lost; we go on there. */
static int retention_gap(struct bus_subscription *s)
{
	struct bus__catch_up *c = s->catch_up;
	uint64_t *firsts, oldest;
	size_t count;
	int ret;

	ret = bus__journal_list(c->dir.path, &firsts, &count);
	if (ret < 0)
		return ret;
	oldest = count ? firsts[0] : 0;
	free(firsts);
	if (oldest > c->end)
		oldest = c->end;
	if (oldest > c->next) {
		s->lost += oldest - c->next;
		s->lost_total += oldest - c->next;
		/* Relaxed: our own line, a figure (as count_loss). */
		bus__store_relaxed(&s->slot->lost, s->lost_total);
		c->next = oldest;
	}
	return 0;
}

/*
 * (Re)opens the reader where we are: once a sequence is known (always
 * from a sequence), the gap below the oldest file counted and a seek to
 * it; else a seek by time.  Again when retention deleted the file the
 * reader was to open next.
 */
static int open_reader(struct bus_subscription *s, char *text, size_t size)
{
	struct bus__catch_up *c = s->catch_up;
	int ret;

	bus_journal_reader_close(c->reader);
	c->reader = NULL;
	ret = bus_journal_reader_open(&c->reader, c->dir.path, text, size);
	if (ret == 0 && c->known)
		ret = retention_gap(s);
	if (ret == 0)
		ret = c->known ? bus_journal_seek_sequence(c->reader, c->next)
			       : bus_journal_seek_time(c->reader,
						       c->from_value);
	return ret;
}

/*
 * After a corrupt record: on at the first file that starts past where we
 * are (F if none), what lies between counted lost, as a lap is.  The
 * receive that met the corruption said so, with the file and offset.
 */
static int skip_corrupt(struct bus_subscription *s, char *text, size_t size)
{
	struct bus__catch_up *c = s->catch_up;
	uint64_t *firsts, to = c->end;
	size_t count;
	int ret;

	ret = bus__journal_list(c->dir.path, &firsts, &count);
	if (ret < 0)
		return ret;
	/* No file starts before F: F may move on first (join_later), so
	 * that the skip reaches the next file, not the corrupt one again. */
	for (;;) {
		to = c->end;
		for (size_t i = 0; i < count; i++)
			if (firsts[i] > c->next) {
				to = firsts[i] < c->end ? firsts[i] : c->end;
				break;
			}
		if (to < c->end || join_later(s) != JOIN_MOVED)
			break;
	}
	free(firsts);
	s->lost += to - c->next;
	s->lost_total += to - c->next;
	/* Relaxed: our own line, a figure (as count_loss). */
	bus__store_relaxed(&s->slot->lost, s->lost_total);
	c->next = to;
	c->known = true;
	if (c->next >= c->end) {
		c->over = true;
		return 0;
	}
	return open_reader(s, text, size);
}

/*
 * A GAP record (journal.h): positions whose messages the recorder could
 * not record (a corrupt header, a cell reused before it copied it).  What
 * of them lies from next to F is lost, counted as retention's gap is, and
 * never waited for: the reader would otherwise wait for them until its
 * timeout when they are just below F.  From a time, a gap met before it
 * (the recorder's clock) is passed over as a message would be.  READ_ON,
 * or what read_ahead() returns: 0 to wait for the recorder, 2 when the
 * disk is done.
 */
#define READ_ON 3
static int pass_gap(struct bus_subscription *s,
		    const struct bus_journal_gap *gap)
{
	struct bus__catch_up *c = s->catch_up;
	uint64_t from = gap->first, to = gap->first + gap->count;

	if (c->from == BUS_FROM_TIME && gap->time_ns < c->from_value)
		return READ_ON;
	if (from >= c->end && !joined_past(s, from))
		return 2; /* the ring has it */
	if (c->known && from < c->next)
		from = c->next;
	if (to > c->end)
		to = c->end;
	if (to > from) {
		s->lost += to - from;
		s->lost_total += to - from;
		/* Relaxed: our own line, a figure (as count_loss). */
		bus__store_relaxed(&s->slot->lost, s->lost_total);
		c->next = to;
	}
	c->known = true;
	if (c->next >= c->end) {
		int ret = at_end(s);

		return ret == 1 ? READ_ON : ret;
	}
	return READ_ON;
}

/*
 * Reads on to the next message we want: 1 staged, 0 none on disk yet,
 * 2 the disk is done, or -errno (the sentence set).
 */
static int read_ahead(struct bus_subscription *s)
{
	struct bus__catch_up *c = s->catch_up;
	char text[TEXT_MAX];
	bool probed = false;
	int restarts = 0;

	if (c->staged)
		return 1;
	if (c->corrupt) {
		int ret = skip_corrupt(s, text, sizeof(text));

		if (ret < 0)
			return failed(s, ret, text);
		c->corrupt = false;
	}
	if (c->over)
		return 2;
	for (;;) {
		struct bus_journal_entry e;
		uint64_t sequence;
		int ret = bus_journal_next(c->reader, &e, text, sizeof(text));

		if (ret == -ENOENT && restarts++ < 8) {
			ret = open_reader(s, text, sizeof(text));
			if (ret == 0)
				continue;
		}
		if (ret == -EBADMSG)
			c->corrupt = true;
		if (ret < 0)
			return failed(s, ret, text);
		if (ret == 0) {
			if ((c->known && c->next >= c->end) ||
			    (c->known && ring_has_none(s, c->next, c->end)) ||
			    (!c->known && c->end_on_disk)) {
				ret = at_end(s);
				if (ret == 1)
					continue;
				return ret;
			}
			/* Time mode: once, then read to the end again. */
			if (c->known || probed)
				return 0;
			ret = end_reached_on_disk(s);
			if (ret < 0)
				return failed(s, ret, "looking for the end");
			c->end_on_disk = ret == 1;
			probed = true;
			continue;
		}
		if (e.type == BUS_JOURNAL_RECORD_GAP) {
			ret = pass_gap(s, &e.gap);
			if (ret != READ_ON)
				return ret;
			continue;
		}
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		sequence = e.message.sequence;
		if (c->known && sequence < c->next)
			continue; /* below from_value, or seen */
		if (sequence >= c->end && !joined_past(s, sequence))
			return 2; /* the ring has it */
		c->known = true;
		c->next = sequence + 1;
		if (c->from == BUS_FROM_TIME &&
		    e.message.time_ns < c->from_value)
			continue;
		return stage(s, &e);
	}
}

/* The wait for the recorder: one nap, or why the wait ends. */
static int nap(struct bus_subscription *s, int64_t deadline)
{
	int64_t now = bus__monotonic_ns(), until = now + NAP_NS;
	struct timespec ts;
	uint32_t state;

	/* Relaxed: a flag with no data behind it (wait.c). */
	if (bus__load_relaxed(&s->cancelled))
		return -ECANCELED;
	/* Acquire: as wait.c's look at the segment's state. */
	state = bus__load_acquire(&s->geometry.header->state);
	if (state != BUS_SEGMENT_OPEN)
		return bus__segment_gone(state);
	if (deadline >= 0 && now >= deadline)
		return -ETIMEDOUT;
	if (deadline >= 0 && until > deadline)
		until = deadline;
	ts = bus__timespec_of(until);
	if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		return -EINTR;
	return 0;
}

static void free_catch_up(struct bus__catch_up *c)
{
	bus_journal_reader_close(c->reader);
	if (c->dir.fd >= 0)
		close(c->dir.fd);
	free(c->stage.bytes);
	free(c->view.bytes);
	free(c);
}

/*
 * The ring from F on; in time mode, ring messages stamped before
 * from_value are passed over.  Stamps are CLOCK_MONOTONIC (layout.h), so
 * from_value is moved to that clock with the offset between the two now.
 */
static void skip_on_ring(struct bus_subscription *s, uint32_t from,
			 uint64_t from_value)
{
	struct timespec real;
	int64_t offset;

	if (from == BUS_FROM_SEQUENCE) {
		s->skip_below = from_value;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &real);
	offset = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
		 bus__monotonic_ns();
	if ((int64_t)from_value > offset)
		s->skip_before_ns = from_value - (uint64_t)offset;
}

static void finish(struct bus_subscription *s)
{
	struct bus__catch_up *c = s->catch_up;

	skip_on_ring(s, c->from, c->from_value);
	s->catch_up = NULL;
	free_catch_up(c);
}

int bus__catch_up_start(struct bus_subscription *s, int dir_fd, uint32_t from,
			uint64_t from_value, bus__catch_up_fail_fn fail,
			char *detail, size_t detail_size)
{
	size_t copy_size = bus__topic_copy_size(&s->geometry);
	char text[TEXT_MAX];
	struct bus__catch_up *c;
	int ret;

	if (from != BUS_FROM_SEQUENCE && from != BUS_FROM_TIME) {
		close(dir_fd);
		snprintf(detail, detail_size, "unknown 'from' %" PRIu32, from);
		return -EINVAL;
	}
	/* Nothing below F to read: the ring alone. */
	if (s->next == 0 ||
	    (from == BUS_FROM_SEQUENCE && from_value >= s->next)) {
		close(dir_fd);
		skip_on_ring(s, from, from_value);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(dir_fd);
		return -ENOMEM;
	}
	bus_journal_fd_dir_init(&c->dir, dir_fd, s->name);
	c->from = from;
	c->from_value = from_value;
	c->end = s->next;
	c->known = from == BUS_FROM_SEQUENCE;
	c->next = from == BUS_FROM_SEQUENCE ? from_value : 0;
	/* A view's copy is laid out as a fixed cell, packed topics too
	 * (their extension limit as the room). */
	c->room = bus__topic_copy_room(&s->geometry);
	c->max_message = s->geometry.settings.max_message;
	c->fail = fail;
	c->stage.bytes = calloc(1, copy_size);
	c->view.bytes = calloc(1, copy_size);
	if (!c->stage.bytes || !c->view.bytes) {
		free_catch_up(c);
		return -ENOMEM;
	}
	s->catch_up = c;
	ret = open_reader(s, text, sizeof(text));
	if (ret < 0) {
		snprintf(detail, detail_size,
			 "cannot read the journal of topic '%s' (%s): %s",
			 s->name, c->dir.real, strerror(-ret));
		s->catch_up = NULL;
		free_catch_up(c);
		return ret;
	}
	return 0;
}

int bus__catch_up_read(struct bus_subscription *s, void *dst, size_t size,
		       struct bus__topic_delivery *d, int64_t *timeout_ns)
{
	int64_t deadline = bus__deadline_ns(*timeout_ns);
	struct bus__catch_up *c = s->catch_up;
	const struct staged_message *m;
	struct staged_message view;
	const uint8_t *payload;
	int ret;

	for (;;) {
		ret = read_ahead(s);
		if (ret == 1)
			break;
		if (ret == 2) {
			finish(s);
			if (*timeout_ns > 0) {
				int64_t left = deadline - bus__monotonic_ns();

				/* Not BUS_NOWAIT: a timeout stays one. */
				*timeout_ns = left > 0 ? left : 1;
			}
			return 1;
		}
		if (ret < 0)
			return ret;
		if (*timeout_ns == BUS_NOWAIT)
			return -EAGAIN;
		ret = nap(s, deadline);
		if (ret < 0)
			return ret;
	}
	c->staged = false;
	if (!dst) {
		/* The stage becomes the view, valid until the next receive;
		 * the old view is the next stage. */
		view = c->view;
		c->view = c->stage;
		c->stage = view;
	}
	m = dst ? &c->stage : &c->view;
	payload = m->bytes + sizeof(struct bus_message_header) + c->room;
	if (dst) {
		if (m->length > size) {
			c->staged = true; /* it stays next, as on the ring */
			return -EMSGSIZE;
		}
		memcpy(dst, payload, m->length);
		memcpy(&s->header, m->bytes, sizeof(s->header));
		d->header = &s->header;
		d->payload = dst;
	} else {
		d->header = (const struct bus_message_header *)m->bytes;
		d->payload = payload;
	}
	d->length = m->length;
	d->position = m->sequence;
	d->in_place = 0;
	return 0;
}

int bus__catch_up_pending(struct bus_subscription *s)
{
	int ret = read_ahead(s);

	/* Done with the disk: the ring from F (s->next) says. */
	if (ret == 2)
		return bus__subscription_pending(s);
	return ret != 0;
}

int bus__catch_up_waiting(const struct bus_subscription *s)
{
	const struct bus__catch_up *c = s->catch_up;

	return c && !c->staged && !c->over;
}

const char *bus__catch_up_detail(const struct bus_subscription *s)
{
	return s->catch_up ? s->catch_up->detail : "";
}

void bus__catch_up_destroy(struct bus_subscription *s)
{
	if (!s->catch_up)
		return;
	free_catch_up(s->catch_up);
	s->catch_up = NULL;
}
