/* SPDX-License-Identifier: MIT */
/*
 * fuzz_topic_segment: the subscribers (and an observer) of a topic segment
 * that a buggy or hostile peer has written.  The input format is in
 * fuzz_topic_format.h; the harness follows fuzz_queue_segment.c.
 *
 * The segment lives in a buffer of exactly its size, so AddressSanitizer
 * reports any read or write past it.  When bus__topic_segment_validate()
 * accepts the segment, the harness lends slots as busd would (as
 * tests/local_topic.c does) and makes up to two publishers, an observer
 * and three subscriptions, then drives every call a subscriber makes with
 * BUS_NOWAIT only: receive in place and as a copy, bus__topic_read itself,
 * release and publish_position (block policy) or copies checked against
 * the state (overwrite), pending checks (waitsets), last-value reads,
 * history on joining, keys and headers of what it got, and the figures.
 * busd's side (lending and taking back slots, padding a dead publisher's
 * loans) reads the same memory and is driven too, and so are publishers,
 * which read the subscribers' positions and the cells.
 *
 * Every call must return at once, with a message, an error or -EBADMSG:
 * the ring loops of topic_ring.c stop after TOPIC_STEPS_MAX steps, and
 * libFuzzer's -timeout catches one that does not.  What counts as a bug:
 * a sanitizer report, a timeout, or a check below (fuzz_bug) on what libbus
 * hands out.  Error returns are all fine.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "fuzz_input.h"
#include "fuzz_topic_format.h"
#include "segment_lifecycle.h"
#include "topic.h"
#include "topic_cell.h"
#include "topic_handle.h"
#include "topic_ring.h"
#include "topic_segment.h"
#include "topic_slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PUBLISHERS_MAX 2
#define SUBSCRIPTIONS_MAX 3
#define LOANS_MAX 64
#define OPS_MAX 512
/* As in fuzz_queue_segment.c: a ring loop that meets nonsense gives up
 * after a million steps with -EBADMSG; a couple of those are enough. */
#define BAD_ANSWERS_MAX 2

/* The last message a subscription handed out, while it is still valid. */
struct fuzz_view {
	struct bus_message message;
	bool valid;
};

struct fuzz_loan {
	struct bus_message message;
	unsigned int publisher;
};

struct harness {
	uint8_t *base;
	size_t size;
	struct bus__topic_geometry geometry;
	bus_topic_t *publishers[PUBLISHERS_MAX];
	bus_topic_t *observer;
	bus_subscription_t *subscriptions[SUBSCRIPTIONS_MAX];
	unsigned int publisher_count;
	unsigned int subscription_count;
	struct fuzz_view views[SUBSCRIPTIONS_MAX];
	struct fuzz_loan loans[LOANS_MAX];
	unsigned int loan_count;
	unsigned int bad_answers;
	uint8_t scratch[1 << 16];
};

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_topic_segment: %s\n", what);
	abort();
}

/* ---- checking what libbus hands out ------------------------------------- */

static bool inside(const struct harness *h, const void *p, size_t length)
{
	const uint8_t *byte = p;

	return byte >= h->base && byte <= h->base + h->size &&
	       length <= (size_t)(h->base + h->size - byte);
}

/*
 * Reads every byte of a view.  One in place must lie in the segment; a
 * copy lies in the subscription's own buffer, which ASan watches.
 */
static void touch_view(const struct harness *h, const struct bus_message *m)
{
	volatile uint8_t sum = 0;
	const uint8_t *payload = m->payload;

	if (m->length > h->geometry.settings.max_message)
		fuzz_bug("a received message is longer than max_message");
	if (inside(h, m->payload, 0) &&
	    (!inside(h, m->payload, m->length) ||
	     !inside(h, m->header, sizeof(*m->header))))
		fuzz_bug("a view in place leaves the segment");
	for (uint32_t i = 0; i < m->length; i++)
		sum += payload[i];
	sum += m->header->flags;
	sum += (uint8_t)m->header->extension_length;
	(void)sum;
}

static void touch_loan(const struct harness *h, const struct bus_message *m)
{
	if (m->capacity != h->geometry.settings.max_message)
		fuzz_bug("a loan's capacity is not max_message");
	if (!inside(h, m->payload, m->capacity) ||
	    !inside(h, m->header, sizeof(*m->header)))
		fuzz_bug("a loan lies outside the segment");
	memset(m->payload, 0x5a, m->capacity);
}

static void note_answer(struct harness *h, int rc)
{
	if (rc == -EBADMSG)
		h->bad_answers++;
}

static struct busd_topic_identity identity(uint32_t client_id)
{
	return (struct busd_topic_identity){
		.client_id = client_id,
		.pid = (int32_t)getpid(),
		.uid = (uint32_t)getuid(),
	};
}

/* ---- handles ------------------------------------------------------------ */

static bus_topic_t *publisher_attach(struct harness *h, uint32_t index)
{
	struct busd_topic_identity who = identity(100 + index);
	bus_topic_t *t = NULL;

	busd_topic_publisher_start(&h->geometry, index, &who);
	if (bus__topic_handle_create(&h->geometry, BUS_PRODUCER, index,
				     who.client_id, NULL, &t))
		return NULL;
	return t;
}

/*
 * A subscription of slot index.  With lend, busd lends the slot first;
 * without, the slot is taken as the segment holds it: a peer scribbled
 * over it between busd's lending and our reading of it.
 */
static bus_subscription_t *subscribe(struct harness *h, uint32_t index,
				     uint32_t history, bool lend)
{
	struct busd_topic_identity who = identity(200 + index);
	struct bus_subscribe_options options = {
		.wait = BUS_WAIT_SPIN_FUTEX,
		.history = history,
	};
	bus_subscription_t *s = NULL;

	if (lend)
		busd_topic_subscriber_start(&h->geometry, index, &who);
	if (bus__subscription_create(&h->geometry, index, who.client_id,
				     &options, &s))
		return NULL;
	return s;
}

static void attach_all(struct harness *h)
{
	const struct bus_topic_settings *s = &h->geometry.settings;

	h->publisher_count = s->max_publishers < PUBLISHERS_MAX
				     ? s->max_publishers
				     : PUBLISHERS_MAX;
	h->subscription_count = s->max_subscribers < SUBSCRIPTIONS_MAX
					? s->max_subscribers
					: SUBSCRIPTIONS_MAX;
	for (unsigned int i = 0; i < h->publisher_count; i++)
		h->publishers[i] = publisher_attach(h, i);
	if (bus__topic_handle_create(&h->geometry, BUS_OBSERVER, UINT32_MAX, 0,
				     NULL, &h->observer))
		h->observer = NULL;
}

static void destroy_all(struct harness *h)
{
	for (unsigned int i = 0; i < PUBLISHERS_MAX; i++) {
		bus__topic_handle_destroy(h->publishers[i]);
		h->publishers[i] = NULL;
	}
	for (unsigned int i = 0; i < SUBSCRIPTIONS_MAX; i++) {
		bus__subscription_destroy(h->subscriptions[i]);
		h->subscriptions[i] = NULL;
		h->views[i].valid = false;
	}
	bus__topic_handle_destroy(h->observer);
	h->observer = NULL;
}

/* NULL once the run has had enough -EBADMSG answers: no more calls. */
static bus_subscription_t *subscription(struct harness *h, uint8_t who,
					unsigned int *index)
{
	*index = who % h->subscription_count;
	if (h->bad_answers > BAD_ANSWERS_MAX)
		return NULL;
	return h->subscriptions[*index];
}

static bus_topic_t *publisher(struct harness *h, uint8_t who,
			      unsigned int *index)
{
	*index = who % h->publisher_count;
	if (h->bad_answers > BAD_ANSWERS_MAX)
		return NULL;
	return h->publishers[*index];
}

/* ---- subscribing and reading --------------------------------------------- */

static void view_keep(struct harness *h, unsigned int index,
		      const struct bus_message *m)
{
	touch_view(h, m);
	h->views[index] = (struct fuzz_view){ *m, true };
}

static void do_receive(struct harness *h, uint8_t who)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);
	struct bus_message m;
	uint64_t lost = 0;
	int rc;

	if (!s)
		return;
	h->views[index].valid = false;
	rc = bus_subscription_receive(s, &m, &lost, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc == 0)
		view_keep(h, index, &m);
}

static void do_receive_copy(struct harness *h, uint8_t who, uint8_t size)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);
	/* The whole scratch buffer when size is 0xff, none when 0. */
	size_t room = size == 0xff ? sizeof(h->scratch) : size;
	uint64_t lost = 0;
	int rc;

	if (!s)
		return;
	h->views[index].valid = false;
	rc = bus_subscription_receive_copy(s, room ? h->scratch : NULL, room,
					   &lost, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc > (int)room)
		fuzz_bug("bus_subscription_receive_copy copied more than the "
			 "buffer holds");
}

/* bus__topic_read itself: in place (or into the subscription's buffer)
 * without dst, into ours with it. */
static void do_read(struct harness *h, uint8_t who, uint8_t how, uint8_t size)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);
	struct bus__topic_delivery d;
	size_t room = size == 0xff ? sizeof(h->scratch) : size;
	void *dst = how & 1 ? h->scratch : NULL;
	struct bus_message m;
	int rc;

	if (!s)
		return;
	h->views[index].valid = false;
	memset(&d, 0, sizeof(d));
	rc = bus__topic_read(s, dst, room, &d);
	note_answer(h, rc);
	if (rc)
		return;
	if (dst && (d.length > room || d.in_place))
		fuzz_bug("bus__topic_read copied more than the buffer holds");
	if (d.in_place && !inside(h, d.payload, 0))
		fuzz_bug("a delivery in place is not in the segment");
	m = (struct bus_message){
		.payload = (void *)d.payload,
		.length = d.length,
		.capacity = d.length,
		.header = d.header,
		.token = d.position,
	};
	if (dst)
		touch_view(h, &m);
	else
		view_keep(h, index, &m);
	/* What the public calls do after a read: release it at once. */
	if (how & 2)
		bus__subscription_publish_position(s);
}

static void do_release(struct harness *h, uint8_t who)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);

	if (!s)
		return;
	h->views[index].valid = false;
	note_answer(h, bus_subscription_release(s));
}

static void do_publish_position(struct harness *h, uint8_t who)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);

	if (s)
		bus__subscription_publish_position(s);
}

/* A waitset's question; "nothing" must mean a read finds nothing. */
static void do_pending(struct harness *h, uint8_t who)
{
	unsigned int index;
	bus_subscription_t *s = subscription(h, who, &index);
	struct bus__topic_delivery d;
	int pending, rc;

	if (!s)
		return;
	pending = bus__subscription_pending(s);
	if (pending != 0 && pending != 1)
		fuzz_bug("bus__subscription_pending is neither 0 nor 1");
	if (pending)
		return;
	h->views[index].valid = false;
	rc = bus__topic_read(s, h->scratch, sizeof(h->scratch), &d);
	if (rc != -EAGAIN)
		fuzz_bug("a read found something where pending saw nothing");
}

static void do_last(struct harness *h, uint8_t size)
{
	struct bus_message_header header;
	size_t room = size == 0xff ? sizeof(h->scratch) : size;
	int rc;

	if (!h->observer || h->bad_answers > BAD_ANSWERS_MAX)
		return;
	rc = bus_topic_last(h->observer, room ? h->scratch : NULL, room,
			    size & 1 ? &header : NULL);
	note_answer(h, rc);
	if (rc > (int)room || rc > (int)h->geometry.settings.max_message)
		fuzz_bug("bus_topic_last copied more than it may");
}

/* Key, reply-to and headers of the view held: what a router reads. */
static void do_keys(struct harness *h, uint8_t who)
{
	struct fuzz_view *v = &h->views[who % SUBSCRIPTIONS_MAX];
	char name[300], value[300];
	int rc;

	if (!v->valid)
		return;
	touch_view(h, &v->message);
	rc = bus_message_key(&v->message, name, sizeof(name));
	if (rc >= (int)sizeof(name))
		fuzz_bug("bus_message_key overran its buffer");
	rc = bus_message_reply_to(&v->message, name, 4);
	if (rc >= 4)
		fuzz_bug("bus_message_reply_to overran its buffer");
	for (uint32_t i = 0; i <= BUS_MESSAGE_HEADERS_MAX; i++) {
		rc = bus_message_header_at(&v->message, i, name, sizeof(name),
					   value, sizeof(value));
		if (rc >= (int)sizeof(value))
			fuzz_bug("bus_message_header_at overran its buffer");
	}
	rc = bus_message_header_get(&v->message, "h", value, sizeof(value));
	if (rc >= (int)sizeof(value))
		fuzz_bug("bus_message_header_get overran its buffer");
}

static void do_stats(struct harness *h, uint8_t who)
{
	const struct bus_topic_settings *settings = &h->geometry.settings;
	struct bus_subscriber_stats list[4], one;
	struct bus_topic_stats stats;
	unsigned int index;
	bus_subscription_t *s;
	int n;

	if (h->observer && bus_topic_stats(h->observer, &stats) == 0 &&
	    (stats.subscribers > settings->max_subscribers ||
	     stats.publishers > settings->max_publishers ||
	     stats.capacity != h->geometry.slots))
		fuzz_bug("topic stats count more slots than the topic has");
	n = h->observer ? bus_topic_subscribers(h->observer, list, 1 + who % 4)
			: 0;
	if (n > (int)settings->max_subscribers)
		fuzz_bug("bus_topic_subscribers lists more than there are");
	for (int i = 0; i < n && i < 1 + who % 4; i++) {
		if (list[i].slot >= settings->max_subscribers)
			fuzz_bug("bus_topic_subscribers made up a slot");
	}
	s = subscription(h, who, &index);
	if (s && bus_subscription_stats(s, &one) == 0 && one.slot != index)
		fuzz_bug("bus_subscription_stats names another slot");
}

/* Busd takes the slot back, lends it again, and we subscribe anew. */
static void do_subscribe(struct harness *h, uint8_t slot, uint8_t history,
			 uint8_t how)
{
	uint32_t index = slot % h->geometry.settings.max_subscribers;
	/* Now and then one more than the topic allows: -EINVAL. */
	uint32_t asked = history % (h->geometry.settings.history + 2);

	if (index < h->subscription_count) {
		bus__subscription_destroy(h->subscriptions[index]);
		h->subscriptions[index] = NULL;
		h->views[index].valid = false;
	}
	note_answer(h, busd_topic_subscriber_detach(&h->geometry, index));
	if (index < h->subscription_count)
		h->subscriptions[index] =
			subscribe(h, index, asked, !(how & 1));
	else if (!(how & 1))
		busd_topic_subscriber_start(
			&h->geometry, index,
			&(struct busd_topic_identity){ 0 });
}

/* ---- publishing ---------------------------------------------------------- */

static void do_publish(struct harness *h, uint8_t who, uint16_t length)
{
	unsigned int index;
	bus_topic_t *t = publisher(h, who, &index);

	if (!t)
		return;
	memset(h->scratch, (int)length, length);
	note_answer(h, bus_publish(t, h->scratch, length, BUS_NOWAIT));
}

static void do_loan(struct harness *h, uint8_t who, uint8_t extras)
{
	unsigned int index;
	bus_topic_t *t = publisher(h, who, &index);
	struct bus_message m;
	int rc;

	if (!t || h->loan_count == LOANS_MAX)
		return;
	rc = bus_topic_loan(t, &m, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc)
		return;
	touch_loan(h, &m);
	/* Fill the header room for the readers of keys and headers; a
	 * topic without room says -EMSGSIZE, which is fine. */
	if (extras & 1)
		bus_message_set_key(&m, "fuzz.topic.key");
	if (extras & 2)
		bus_message_set_reply_to(&m, "reply");
	if (extras & 4)
		bus_message_add_header(&m, "h", "value");
	h->loans[h->loan_count++] = (struct fuzz_loan){ m, index };
}

static void loan_remove(struct harness *h, unsigned int i)
{
	memmove(&h->loans[i], &h->loans[i + 1],
		(h->loan_count - i - 1) * sizeof(h->loans[0]));
	h->loan_count--;
}

static void do_commit(struct harness *h, uint8_t which, uint16_t length)
{
	unsigned int i;
	int rc;

	if (!h->loan_count)
		return;
	i = which % h->loan_count;
	rc = bus_topic_commit(h->publishers[h->loans[i].publisher],
			      &h->loans[i].message, length);
	note_answer(h, rc);
	/* -EMSGSIZE leaves the loan held; keep it for a later commit. */
	if (rc != -EMSGSIZE)
		loan_remove(h, i);
}

/* A publisher closes or dies: busd pads its loans and lends the slot
 * to the next one. */
static void do_detach_publisher(struct harness *h, uint8_t who)
{
	unsigned int index = who % h->publisher_count;

	for (unsigned int i = h->loan_count; i-- > 0;) {
		if (h->loans[i].publisher == index)
			loan_remove(h, i);
	}
	bus__topic_handle_destroy(h->publishers[index]);
	h->publishers[index] = NULL;
	note_answer(h, busd_topic_publisher_detach(&h->geometry, index));
	h->publishers[index] = publisher_attach(h, index);
}

/* ---- a hostile peer's writes -------------------------------------------- */

static uint64_t tail_now(const struct harness *h)
{
	return atomic_load_explicit(&h->geometry.control->tail,
				    memory_order_relaxed);
}

static struct bus_cell *cell_of(struct harness *h, uint8_t cell)
{
	return bus__topic_cell(&h->geometry, cell % h->geometry.slots);
}

/* A state that looks plausible: the cell's position in some nearby lap. */
static void do_set_cell(struct harness *h, struct fuzz_input *in)
{
	uint8_t cell = fuzz_input_u8(in);
	uint8_t kind = fuzz_input_u8(in) % 8;
	uint32_t owner =
		fuzz_input_u8(in) % (h->geometry.settings.max_publishers + 2);
	int8_t lap = (int8_t)fuzz_input_u8(in);
	uint32_t slots = h->geometry.slots;
	uint64_t base = tail_now(h);
	uint64_t position = base - base % slots + cell % slots +
			    (uint64_t)(int64_t)lap * slots;

	atomic_store_explicit(&cell_of(h, cell)->state,
			      bus__cell_state(bus__position_wrap(position),
					      owner,
					      (enum bus__cell_kind)kind),
			      memory_order_release);
}

static void do_set_cell_raw(struct harness *h, struct fuzz_input *in)
{
	uint8_t cell = fuzz_input_u8(in);

	atomic_store_explicit(&cell_of(h, cell)->state, fuzz_input_u64(in),
			      memory_order_release);
}

/*
 * The tail plus delta, but not below 0.  A tail wrapped past 2^64 makes
 * every read walk TOPIC_STEPS_MAX steps (about 0.1 s here) to -EBADMSG;
 * the POKE operations still write such values, but seldom enough that
 * they do not slow the whole run.
 */
static uint64_t near_tail(const struct harness *h, int64_t delta)
{
	uint64_t tail = tail_now(h);

	if (delta < 0 && (uint64_t)-delta > tail)
		return 0;
	return tail + (uint64_t)delta;
}

static void do_set_tail(struct harness *h, int16_t delta)
{
	atomic_store_explicit(&h->geometry.control->tail, near_tail(h, delta),
			      memory_order_relaxed);
}

/* A subscriber slot's position, first position or role near the tail. */
static void do_set_slot(struct harness *h, uint8_t slot, uint8_t field,
			int8_t delta)
{
	struct bus_subscriber *s =
		&h->geometry.subscribers[slot %
					 h->geometry.settings.max_subscribers];
	uint64_t value = near_tail(h, delta);

	switch (field % 3) {
	case 0:
		atomic_store_explicit(&s->position, value,
				      memory_order_release);
		break;
	case 1:
		s->first_position = value;
		break;
	default:
		atomic_store_explicit(&s->role,
				      delta & 1 ? (uint32_t)BUS_CONSUMER : 0,
				      memory_order_release);
		break;
	}
}

/* Writes value at an offset of a region, 8-byte aligned. */
static void poke_u64(void *region, size_t region_size, uint16_t offset,
		     uint64_t value)
{
	size_t at = (offset % (region_size / 8)) * 8;

	memcpy((uint8_t *)region + at, &value, sizeof(value));
}

/* Any bytes of a cell: its state, header (lengths), header room, payload. */
static void do_poke_cell(struct harness *h, struct fuzz_input *in)
{
	uint8_t *cell = (uint8_t *)cell_of(h, fuzz_input_u8(in));
	uint32_t offset = fuzz_input_u16(in) % h->geometry.stride;
	uint32_t length = 1 + fuzz_input_u8(in) % 8;

	if (length > h->geometry.stride - offset)
		length = h->geometry.stride - offset;
	fuzz_input_bytes(in, cell + offset, length);
}

static void do_touch(struct harness *h)
{
	for (unsigned int i = 0; i < SUBSCRIPTIONS_MAX; i++) {
		if (h->views[i].valid)
			touch_view(h, &h->views[i].message);
	}
	for (unsigned int i = 0; i < h->loan_count; i++)
		touch_loan(h, &h->loans[i].message);
}

/* ---- the two ways of running -------------------------------------------- */

static void run_poke(struct harness *h, enum fuzz_topic_op op,
		     struct fuzz_input *in)
{
	struct bus__topic_geometry *g = &h->geometry;
	uint16_t offset = 0;

	if (op == FUZZ_TOP_POKE_CONTROL || op == FUZZ_TOP_POKE_SUBSCRIBER ||
	    op == FUZZ_TOP_POKE_PUBLISHER)
		offset = fuzz_input_u16(in);
	switch (op) {
	case FUZZ_TOP_POKE_CONTROL:
		poke_u64(g->control, sizeof(*g->control), offset,
			 fuzz_input_u64(in));
		break;
	case FUZZ_TOP_POKE_SUBSCRIBER:
		poke_u64(g->subscribers,
			 g->settings.max_subscribers *
				 sizeof(struct bus_subscriber),
			 offset, fuzz_input_u64(in));
		break;
	case FUZZ_TOP_POKE_PUBLISHER:
		poke_u64(g->publishers,
			 g->settings.max_publishers *
				 sizeof(struct bus_attachment),
			 offset, fuzz_input_u64(in));
		break;
	case FUZZ_TOP_POKE_CELL:
		do_poke_cell(h, in);
		break;
	default: {
		uint32_t at = fuzz_input_u32(in) % h->size;

		h->base[at] = fuzz_input_u8(in);
		break;
	}
	}
}

static void run_op(struct harness *h, struct fuzz_input *in)
{
	uint16_t max_length = (uint16_t)(h->geometry.settings.max_message + 2);
	enum fuzz_topic_op op =
		(enum fuzz_topic_op)(fuzz_input_u8(in) % FUZZ_TOPIC_OP_COUNT);
	uint8_t a, b, c;

	switch (op) {
	case FUZZ_TOP_RECEIVE:
		do_receive(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_RECEIVE_COPY:
		a = fuzz_input_u8(in);
		do_receive_copy(h, a, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_READ:
		a = fuzz_input_u8(in);
		b = fuzz_input_u8(in);
		do_read(h, a, b, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_RELEASE:
		do_release(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_PUBLISH_POSITION:
		do_publish_position(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_PENDING:
		do_pending(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_LAST:
		do_last(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_KEYS:
		do_keys(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_PUBLISH:
		a = fuzz_input_u8(in);
		/* A little past max_message now and then: -EMSGSIZE. */
		do_publish(h, a, fuzz_input_u16(in) % max_length);
		break;
	case FUZZ_TOP_LOAN:
		a = fuzz_input_u8(in);
		do_loan(h, a, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_COMMIT:
		a = fuzz_input_u8(in);
		do_commit(h, a, fuzz_input_u16(in) % max_length);
		break;
	case FUZZ_TOP_STATS:
		do_stats(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_SUBSCRIBE:
		a = fuzz_input_u8(in);
		b = fuzz_input_u8(in);
		c = fuzz_input_u8(in);
		do_subscribe(h, a, b, c);
		break;
	case FUZZ_TOP_DETACH_PUBLISHER:
		do_detach_publisher(h, fuzz_input_u8(in));
		break;
	case FUZZ_TOP_SET_CELL:
		do_set_cell(h, in);
		break;
	case FUZZ_TOP_SET_CELL_RAW:
		do_set_cell_raw(h, in);
		break;
	case FUZZ_TOP_SET_TAIL:
		do_set_tail(h, (int16_t)fuzz_input_u16(in));
		break;
	case FUZZ_TOP_SET_SLOT:
		a = fuzz_input_u8(in);
		b = fuzz_input_u8(in);
		do_set_slot(h, a, b, (int8_t)fuzz_input_u8(in));
		break;
	case FUZZ_TOP_POKE_CONTROL:
	case FUZZ_TOP_POKE_CELL:
	case FUZZ_TOP_POKE_SUBSCRIBER:
	case FUZZ_TOP_POKE_PUBLISHER:
	case FUZZ_TOP_POKE_ANY:
		run_poke(h, op, in);
		break;
	case FUZZ_TOP_TOUCH:
	case FUZZ_TOPIC_OP_COUNT:
		do_touch(h);
		break;
	}
}

static void run_script(struct harness *h, struct fuzz_input *in)
{
	for (unsigned int n = 0; n < OPS_MAX && !fuzz_input_done(in); n++)
		run_op(h, in);
}

/* Every subscription once through each way of reading. */
static void read_each_way(struct harness *h)
{
	for (uint8_t i = 0; i < SUBSCRIPTIONS_MAX; i++) {
		do_pending(h, i);
		do_receive(h, i);
		do_keys(h, i);
		do_receive_copy(h, i, 0xff);
		do_read(h, i, 0, 0);
		do_touch(h);
		do_read(h, i, 3, 0xff);
		do_receive_copy(h, i, 3);
		do_release(h, i);
		do_publish_position(h, i);
	}
}

/* The same calls for every input of the raw and overwrite modes. */
static void run_fixed(struct harness *h)
{
	const struct bus_topic_settings *s = &h->geometry.settings;

	for (uint8_t i = 0; i < 4; i++)
		do_stats(h, i);
	do_last(h, 0xff);
	do_last(h, 2);
	read_each_way(h);
	for (uint8_t i = 0; i < 24; i++) {
		do_receive(h, i);
		if (i % 3 == 0)
			do_release(h, i);
	}
	do_touch(h);
	for (uint8_t i = 0; i < 6; i++)
		do_publish(h, i, (uint16_t)(i * 13u % (s->max_message + 1)));
	do_loan(h, 0, 7);
	do_loan(h, 1, 1);
	do_touch(h);
	do_commit(h, 0, 1);
	read_each_way(h);
	/* Late joiners with history: once lent by busd, once from the slot
	 * as the peer left it. */
	for (uint8_t i = 0; i < SUBSCRIPTIONS_MAX; i++) {
		do_subscribe(h, i, (uint8_t)s->history, i & 1);
		do_receive(h, i);
		do_keys(h, i);
	}
	do_last(h, 0xff);
	/* busd cleans up after every slot, ours and strangers'. */
	for (uint8_t i = 0; i < s->max_publishers && i < 255; i++) {
		if (i < h->publisher_count)
			do_detach_publisher(h, i);
		else
			note_answer(h, busd_topic_publisher_detach(
					       &h->geometry, i));
	}
	for (uint32_t i = 0; i < s->max_subscribers; i++)
		note_answer(h, busd_topic_subscriber_detach(&h->geometry, i));
	do_stats(h, 0);
	read_each_way(h);
}

/* ---- building the segment ---------------------------------------------- */

/* A buffer of exactly size bytes, cache-line aligned like a mapping. */
static uint8_t *segment_alloc(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, BUS_CACHE_LINE, size ? size : 1))
		return NULL;
	memset(p, 0, size);
	return p;
}

/*
 * Publishes count messages; under the block policy the first subscription
 * reads one whenever the ring is full, so the ring goes round.
 */
static void prefill(struct harness *h, unsigned int count)
{
	uint32_t max = h->geometry.settings.max_message;

	for (unsigned int i = 0; i < count; i++) {
		uint16_t length = (uint16_t)(i % (max + 1u));

		memset(h->scratch, (int)i, length);
		if (!h->publishers[0])
			return;
		if (bus_publish(h->publishers[0], h->scratch, length,
				BUS_NOWAIT) != -ENOBUFS)
			continue;
		do_receive(h, 0);
		do_release(h, 0);
		bus_publish(h->publishers[0], h->scratch, length, BUS_NOWAIT);
	}
}

/* A valid segment from the settings bytes, with its prefill. */
static int build(struct harness *h, struct fuzz_input *in)
{
	uint8_t s[FUZZ_TOPIC_SETTINGS_BYTES];
	struct bus_topic_settings settings;
	char detail[256];

	fuzz_input_bytes(in, s, sizeof(s));
	fuzz_topic_settings_from(s, &settings);
	if (bus__topic_settings_check(&settings, detail, sizeof(detail)))
		fuzz_bug("the harness made settings that libbus refuses");
	h->size = bus__topic_segment_size(&settings);
	h->base = segment_alloc(h->size);
	if (!h->base)
		return -ENOMEM;
	busd_topic_segment_init(h->base, h->size, "fuzz", "topic", &settings);
	if (bus__topic_segment_validate(h->base, h->size, &h->geometry, detail,
					sizeof(detail)))
		fuzz_bug("a fresh segment does not validate");
	attach_all(h);
	h->subscriptions[0] = subscribe(h, 0, 0, true);
	prefill(h, fuzz_topic_prefill(s, &settings));
	/* Late joiners: all the history there is, and half of it. */
	for (unsigned int i = 1; i < h->subscription_count; i++)
		h->subscriptions[i] = subscribe(
			h, i, i == 1 ? settings.history : settings.history / 2,
			true);
	return 0;
}

/* The rest of the input over the control block, slots and cells. */
static void overwrite(struct harness *h, struct fuzz_input *in)
{
	size_t room = h->size - BUS_TOPIC_CONTROL_OFFSET;
	size_t n = fuzz_input_left(in) < room ? fuzz_input_left(in) : room;

	fuzz_input_bytes(in, h->base + BUS_TOPIC_CONTROL_OFFSET, n);
}

static int load_raw(struct harness *h, struct fuzz_input *in)
{
	char detail[256];

	h->size = fuzz_input_left(in);
	h->base = segment_alloc(h->size);
	if (!h->base)
		return -ENOMEM;
	fuzz_input_bytes(in, h->base, h->size);
	if (bus__topic_segment_validate(h->base, h->size, &h->geometry, detail,
					sizeof(detail)))
		return -EPROTO;
	attach_all(h);
	/* Even slots as the segment holds them, odd ones lent by busd. */
	for (unsigned int i = 0; i < h->subscription_count; i++)
		h->subscriptions[i] =
			subscribe(h, i, h->geometry.settings.history, i & 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	struct fuzz_input in = { data, size, 0 };
	enum fuzz_topic_mode mode;

	if (size < 1)
		return 0;
	memset(&h, 0, offsetof(struct harness, scratch));
	mode = (enum fuzz_topic_mode)(fuzz_input_u8(&in) %
				      FUZZ_TOPIC_MODE_COUNT);
	if (mode == FUZZ_TOPIC_MODE_RAW) {
		if (load_raw(&h, &in) == 0)
			run_fixed(&h);
	} else if (build(&h, &in) == 0) {
		if (mode == FUZZ_TOPIC_MODE_OVERWRITE) {
			overwrite(&h, &in);
			run_fixed(&h);
		} else {
			run_script(&h, &in);
		}
	}
	destroy_all(&h);
	free(h.base);
	return 0;
}
