/* SPDX-License-Identifier: MIT */
/*
 * fuzz_queue_segment: a client of a queue segment that a buggy or hostile
 * peer has written.  The input format is in fuzz_queue_format.h.
 *
 * The segment lives in a buffer of exactly its size, so AddressSanitizer
 * reports any read or write past it.  When bus__queue_segment_validate()
 * accepts the segment, the harness marks attachment slots as busd would
 * (as tests/local_queue.c does), makes up to two producer and two consumer
 * handles, and drives them with BUS_NOWAIT only: every call must return at
 * once, with a message, an error or -EBADMSG, never crash, spin forever or
 * hand out a view outside the buffer.  busd's side (busd_queue_slot_detach) is
 * exercised too, since busd reads the same memory.
 *
 * What counts as a bug here: a sanitizer report, a timeout, or a check
 * below (fuzz_bug) that a view handed out by libbus leaves the segment or
 * claims more than max_message bytes.  Error returns are all fine.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "fuzz_input.h"
#include "fuzz_queue_format.h"
#include "queue.h"
#include "queue_cell.h"
#include "queue_handle.h"
#include "queue_recovery.h"
#include "segment.h"
#include "segment_lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HANDLES_MAX 2
#define HELD_MAX 256
#define LOANS_MAX 64
#define BATCH_MAX 8
#define OPS_MAX 512
/*
 * A ring loop that meets nonsense gives up after a million steps (about
 * 50 ms in this instrumented build) with -EBADMSG.  After a couple of
 * those a run has shown what it can; stopping keeps the fuzzer fast.
 */
#define BAD_ANSWERS_MAX 2

struct fuzz_held {
	struct bus_message message;
	unsigned int consumer;
};

struct fuzz_loan {
	struct bus_message message;
	unsigned int producer;
};

struct harness {
	uint8_t *base;
	size_t size;
	struct bus__queue_geometry geometry;
	bus_queue_t *producers[HANDLES_MAX];
	bus_queue_t *consumers[HANDLES_MAX];
	unsigned int producer_count;
	unsigned int consumer_count;
	struct fuzz_held held[HELD_MAX];
	unsigned int held_count;
	struct fuzz_loan loans[LOANS_MAX];
	unsigned int loan_count;
	unsigned int bad_answers;
	uint8_t scratch[1 << 16];
};

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_queue_segment: %s\n", what);
	abort();
}

/* ---- checking what libbus hands out ------------------------------------- */

static int inside(const struct harness *h, const void *p, size_t length)
{
	const uint8_t *byte = p;

	return byte >= h->base && byte <= h->base + h->size &&
	       length <= (size_t)(h->base + h->size - byte);
}

/* Reads every byte of a received view: ASan catches what inside() misses. */
static void touch_received(const struct harness *h,
			   const struct bus_message *m)
{
	volatile uint8_t sum = 0;
	const uint8_t *payload = m->payload;

	if (m->length > h->geometry.settings.max_message)
		fuzz_bug("a received message is longer than max_message");
	if (!inside(h, m->payload, m->length) ||
	    !inside(h, m->header, sizeof(*m->header)))
		fuzz_bug("a received view lies outside the segment");
	for (uint32_t i = 0; i < m->length; i++)
		sum += payload[i];
	sum += m->header->flags;
	(void)sum;
}

/* Writes every byte of a loan, as a producer may. */
static void touch_loan(const struct harness *h, const struct bus_message *m)
{
	if (m->capacity != h->geometry.settings.max_message)
		fuzz_bug("a loan's capacity is not max_message");
	if (!inside(h, m->payload, m->capacity))
		fuzz_bug("a loan lies outside the segment");
	memset(m->payload, 0x5a, m->capacity);
}

static void note_answer(struct harness *h, int rc)
{
	if (rc == -EBADMSG)
		h->bad_answers++;
}

/* ---- handles ------------------------------------------------------------ */

/* Marks slot index taken, as busd does before it hands it out. */
static void mark_slot(struct harness *h, uint32_t index, enum bus_role role)
{
	struct bus_attachment *a = &h->geometry.attachments[index];

	a->client_id = index + 1;
	a->pid = (int32_t)getpid();
	a->uid = (uint32_t)getuid();
	atomic_store_explicit(&a->role, (uint32_t)role, memory_order_release);
}

static bus_queue_t *attach(struct harness *h, enum bus_role role,
			   uint32_t index)
{
	bus_queue_t *q = NULL;

	mark_slot(h, index, role);
	if (bus__queue_handle_create(&h->geometry, role, index, index + 1,
				     NULL, &q))
		return NULL;
	return q;
}

static void attach_all(struct harness *h)
{
	const struct bus_queue_settings *s = &h->geometry.settings;

	h->producer_count = s->max_producers < HANDLES_MAX ? s->max_producers
							   : HANDLES_MAX;
	h->consumer_count = s->max_consumers < HANDLES_MAX ? s->max_consumers
							   : HANDLES_MAX;
	for (unsigned int i = 0; i < h->producer_count; i++)
		h->producers[i] = attach(h, BUS_PRODUCER, i);
	for (unsigned int i = 0; i < h->consumer_count; i++)
		h->consumers[i] =
			attach(h, BUS_CONSUMER, s->max_producers + i);
}

static void destroy_all(struct harness *h)
{
	for (unsigned int i = 0; i < HANDLES_MAX; i++) {
		bus__queue_handle_destroy(h->producers[i]);
		bus__queue_handle_destroy(h->consumers[i]);
		h->producers[i] = h->consumers[i] = NULL;
	}
}

/* NULL once the run has had enough -EBADMSG answers: no more calls. */
static bus_queue_t *producer(struct harness *h, uint8_t who,
			     unsigned int *index)
{
	*index = who % h->producer_count;
	if (h->bad_answers > BAD_ANSWERS_MAX)
		return NULL;
	return h->producers[*index];
}

static bus_queue_t *consumer(struct harness *h, uint8_t who,
			     unsigned int *index)
{
	*index = who % h->consumer_count;
	if (h->bad_answers > BAD_ANSWERS_MAX)
		return NULL;
	return h->consumers[*index];
}

/* ---- bookkeeping of held messages and loans ------------------------------ */

static void held_add(struct harness *h, const struct bus_message *m,
		     unsigned int who)
{
	touch_received(h, m);
	if (h->held_count == HELD_MAX)
		return; /* forget it: the handle still holds it */
	h->held[h->held_count++] = (struct fuzz_held){ *m, who };
}

static void held_remove(struct harness *h, unsigned int i)
{
	memmove(&h->held[i], &h->held[i + 1],
		(h->held_count - i - 1) * sizeof(h->held[0]));
	h->held_count--;
}

/* Forgets entry i and every earlier one of the same consumer. */
static void held_remove_through(struct harness *h, unsigned int i)
{
	unsigned int who = h->held[i].consumer;

	for (unsigned int j = i + 1; j-- > 0;) {
		if (h->held[j].consumer == who)
			held_remove(h, j);
	}
}

static void loan_remove(struct harness *h, unsigned int i)
{
	memmove(&h->loans[i], &h->loans[i + 1],
		(h->loan_count - i - 1) * sizeof(h->loans[0]));
	h->loan_count--;
}

/* Drops every record of one handle, which is about to go. */
static void forget_handle(struct harness *h, bus_queue_t *q)
{
	for (unsigned int i = h->held_count; i-- > 0;) {
		if (h->consumers[h->held[i].consumer] == q)
			held_remove(h, i);
	}
	for (unsigned int i = h->loan_count; i-- > 0;) {
		if (h->producers[h->loans[i].producer] == q)
			loan_remove(h, i);
	}
}

/* ---- consuming ---------------------------------------------------------- */

static void do_receive(struct harness *h, uint8_t who)
{
	struct bus_message m;
	unsigned int index;
	bus_queue_t *q = consumer(h, who, &index);
	int rc;

	if (!q)
		return;
	rc = bus_receive(q, &m, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc == 0)
		held_add(h, &m, index);
}

static void do_receive_batch(struct harness *h, uint8_t who, uint8_t count)
{
	struct bus_message m[BATCH_MAX];
	unsigned int index;
	bus_queue_t *q = consumer(h, who, &index);
	int rc;

	if (!q)
		return;
	rc = bus_receive_batch(q, m, 1 + count % BATCH_MAX, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc > (int)(1 + count % BATCH_MAX))
		fuzz_bug("bus_receive_batch returned more than asked for");
	for (int i = 0; i < rc; i++)
		held_add(h, &m[i], index);
}

enum finish_kind { FINISH_ACK, FINISH_NACK, FINISH_ACK_THROUGH };

static void do_finish(struct harness *h, uint8_t which, enum finish_kind kind)
{
	unsigned int i;
	struct fuzz_held *held;
	bus_queue_t *q;
	int rc;

	if (!h->held_count)
		return;
	i = which % h->held_count;
	held = &h->held[i];
	q = h->consumers[held->consumer];
	if (kind == FINISH_ACK)
		rc = bus_ack(q, &held->message);
	else if (kind == FINISH_NACK)
		rc = bus_nack(q, &held->message);
	else
		rc = bus_ack_through(q, &held->message);
	note_answer(h, rc);
	if (kind == FINISH_ACK_THROUGH)
		held_remove_through(h, i);
	else
		held_remove(h, i);
}

static void do_receive_copy(struct harness *h, uint8_t who, uint8_t size)
{
	unsigned int index;
	bus_queue_t *q = consumer(h, who, &index);
	/* At least the whole scratch buffer when size is 0xff. */
	size_t room = size == 0xff ? sizeof(h->scratch) : size;
	int rc;

	if (!q)
		return;
	rc = bus_receive_copy(q, h->scratch, room, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc > (int)room)
		fuzz_bug("bus_receive_copy copied more than the buffer holds");
}

/* ---- producing ---------------------------------------------------------- */

static void do_send(struct harness *h, uint8_t who, uint16_t length)
{
	unsigned int index;
	bus_queue_t *q = producer(h, who, &index);
	int rc;

	if (!q)
		return;
	memset(h->scratch, (int)length, length);
	rc = bus_send(q, h->scratch, length, BUS_NOWAIT);
	note_answer(h, rc);
}

static void do_send_batch(struct harness *h, uint8_t who, uint8_t count)
{
	struct bus_buffer buffers[BATCH_MAX];
	unsigned int index;
	bus_queue_t *q = producer(h, who, &index);
	unsigned int n = 1 + count % BATCH_MAX;
	int rc;

	if (!q)
		return;
	for (unsigned int i = 0; i < n; i++)
		buffers[i] = (struct bus_buffer){ h->scratch, i * 7u };
	rc = bus_send_batch(q, buffers, n, BUS_NOWAIT);
	note_answer(h, rc);
}

static void do_loan(struct harness *h, uint8_t who)
{
	unsigned int index;
	bus_queue_t *q = producer(h, who, &index);
	struct bus_message m;
	int rc;

	if (!q || h->loan_count == LOANS_MAX)
		return;
	rc = bus_loan(q, &m, BUS_NOWAIT);
	note_answer(h, rc);
	if (rc)
		return;
	touch_loan(h, &m);
	h->loans[h->loan_count++] = (struct fuzz_loan){ m, index };
}

static void do_commit(struct harness *h, uint8_t which, uint16_t length)
{
	unsigned int i;
	int rc;

	if (!h->loan_count)
		return;
	i = which % h->loan_count;
	rc = bus_commit(h->producers[h->loans[i].producer],
			&h->loans[i].message, length);
	note_answer(h, rc);
	/* -EMSGSIZE leaves the loan held; keep it for a later commit. */
	if (rc != -EMSGSIZE)
		loan_remove(h, i);
}

static void do_stats(struct harness *h, uint8_t who)
{
	struct bus_queue_stats stats;
	unsigned int index;
	bus_queue_t *q = who & 1 ? producer(h, who >> 1, &index) : NULL;

	if (!q)
		q = consumer(h, who >> 1, &index);
	if (!q)
		return;
	if (bus_queue_stats(q, &stats) == 0 &&
	    stats.depth + stats.leased > h->geometry.slots)
		fuzz_bug("stats count more messages than the queue has slots");
}

/* ---- a hostile peer's writes ---------------------------------------------- */

static struct bus_cell *cell_of(struct harness *h, uint8_t cell)
{
	return bus__queue_cell(&h->geometry, cell % h->geometry.slots);
}

/* A state that looks plausible: the cell's position in some nearby lap. */
static void do_set_cell(struct harness *h, struct fuzz_input *in)
{
	uint8_t cell = fuzz_input_u8(in);
	uint8_t kind = fuzz_input_u8(in) % 8;
	uint32_t owner =
		fuzz_input_u8(in) % (h->geometry.attachment_count + 2);
	int8_t lap = (int8_t)fuzz_input_u8(in);
	uint32_t slots = h->geometry.slots;
	uint64_t base = atomic_load_explicit(
		&h->geometry.control->dequeue_position, memory_order_relaxed);
	uint64_t position = base - base % slots + cell % slots +
			    (uint64_t)(int64_t)lap * slots;

	atomic_store_explicit(&cell_of(h, cell)->state,
			      bus__cell_state(position, owner, kind),
			      memory_order_release);
}

static void do_set_cell_raw(struct harness *h, struct fuzz_input *in)
{
	uint8_t cell = fuzz_input_u8(in);

	atomic_store_explicit(&cell_of(h, cell)->state, fuzz_input_u64(in),
			      memory_order_release);
}

/* Writes value at an offset of a region, 8-byte aligned. */
static void poke_u64(uint8_t *region, size_t region_size, uint16_t offset,
		     uint64_t value)
{
	size_t at = (offset % (region_size / 8)) * 8;

	memcpy(region + at, &value, sizeof(value));
}

static void do_poke_cell(struct harness *h, struct fuzz_input *in)
{
	uint8_t *cell = (uint8_t *)cell_of(h, fuzz_input_u8(in));
	uint32_t offset = fuzz_input_u16(in) % h->geometry.stride;
	uint32_t length = 1 + fuzz_input_u8(in) % 8;

	if (length > h->geometry.stride - offset)
		length = h->geometry.stride - offset;
	fuzz_input_bytes(in, cell + offset, length);
}

static void do_detach(struct harness *h, uint8_t which)
{
	uint32_t index = which % h->geometry.attachment_count;
	uint32_t first_consumer = h->geometry.settings.max_producers;
	bus_queue_t **slot = NULL;
	enum bus_role role = BUS_PRODUCER;

	/* busd detaches a client that closed or died; a handle of that slot
	 * is gone with it, and a new client may take the slot again. */
	if (index < h->producer_count) {
		slot = &h->producers[index];
	} else if (index >= first_consumer &&
		   index - first_consumer < h->consumer_count) {
		slot = &h->consumers[index - first_consumer];
		role = BUS_CONSUMER;
	}
	if (slot && *slot) {
		forget_handle(h, *slot);
		bus__queue_handle_destroy(*slot);
		*slot = NULL;
	}
	note_answer(h, busd_queue_slot_detach(&h->geometry, index));
	if (slot)
		*slot = attach(h, role, index);
}

static void do_touch(struct harness *h)
{
	for (unsigned int i = 0; i < h->held_count; i++)
		touch_received(h, &h->held[i].message);
	for (unsigned int i = 0; i < h->loan_count; i++)
		touch_loan(h, &h->loans[i].message);
}

/* ---- the two ways of running -------------------------------------------- */

static void run_op(struct harness *h, struct fuzz_input *in)
{
	struct bus__queue_geometry *g = &h->geometry;
	uint8_t a, b;

	switch ((enum fuzz_op)(fuzz_input_u8(in) % FUZZ_OP_COUNT)) {
	case FUZZ_OP_RECEIVE:
		do_receive(h, fuzz_input_u8(in));
		break;
	case FUZZ_OP_RECEIVE_BATCH:
		a = fuzz_input_u8(in);
		do_receive_batch(h, a, fuzz_input_u8(in));
		break;
	case FUZZ_OP_ACK:
		do_finish(h, fuzz_input_u8(in), FINISH_ACK);
		break;
	case FUZZ_OP_NACK:
		do_finish(h, fuzz_input_u8(in), FINISH_NACK);
		break;
	case FUZZ_OP_ACK_THROUGH:
		do_finish(h, fuzz_input_u8(in), FINISH_ACK_THROUGH);
		break;
	case FUZZ_OP_RECEIVE_COPY:
		a = fuzz_input_u8(in);
		do_receive_copy(h, a, fuzz_input_u8(in));
		break;
	case FUZZ_OP_SEND:
		a = fuzz_input_u8(in);
		/* A little past max_message now and then: -EMSGSIZE. */
		do_send(h, a,
			fuzz_input_u16(in) % (g->settings.max_message + 2));
		break;
	case FUZZ_OP_SEND_BATCH:
		a = fuzz_input_u8(in);
		do_send_batch(h, a, fuzz_input_u8(in));
		break;
	case FUZZ_OP_LOAN:
		do_loan(h, fuzz_input_u8(in));
		break;
	case FUZZ_OP_COMMIT:
		b = fuzz_input_u8(in);
		do_commit(h, b,
			  fuzz_input_u16(in) % (g->settings.max_message + 2));
		break;
	case FUZZ_OP_STATS:
		do_stats(h, fuzz_input_u8(in));
		break;
	case FUZZ_OP_SET_CELL:
		do_set_cell(h, in);
		break;
	case FUZZ_OP_SET_CELL_RAW:
		do_set_cell_raw(h, in);
		break;
	case FUZZ_OP_POKE_CONTROL: {
		uint16_t offset = fuzz_input_u16(in);

		poke_u64((uint8_t *)g->control, sizeof(*g->control), offset,
			 fuzz_input_u64(in));
		break;
	}
	case FUZZ_OP_POKE_CELL:
		do_poke_cell(h, in);
		break;
	case FUZZ_OP_POKE_ATTACHMENT: {
		uint16_t offset = fuzz_input_u16(in);

		poke_u64((uint8_t *)g->attachments,
			 g->attachment_count * sizeof(struct bus_attachment),
			 offset, fuzz_input_u64(in));
		break;
	}
	case FUZZ_OP_POKE_ANY: {
		uint32_t offset = fuzz_input_u32(in) % h->size;

		h->base[offset] = fuzz_input_u8(in);
		break;
	}
	case FUZZ_OP_DETACH:
		do_detach(h, fuzz_input_u8(in));
		break;
	case FUZZ_OP_TOUCH:
	case FUZZ_OP_COUNT:
		do_touch(h);
		break;
	}
}

static void run_script(struct harness *h, struct fuzz_input *in)
{
	for (unsigned int n = 0; n < OPS_MAX && !fuzz_input_done(in); n++)
		run_op(h, in);
}

/* The same calls for every input of the raw and overwrite modes. */
static void run_fixed(struct harness *h)
{
	for (unsigned int i = 0; i < 8; i++)
		do_stats(h, (uint8_t)i);
	for (unsigned int i = 0; i < 24; i++) {
		do_receive(h, (uint8_t)i);
		if (i % 3 == 0)
			do_finish(h, 0, FINISH_ACK);
		else if (i % 3 == 1)
			do_finish(h, (uint8_t)i, FINISH_NACK);
	}
	do_receive_batch(h, 0, BATCH_MAX - 1);
	do_finish(h, (uint8_t)(h->held_count ? h->held_count - 1 : 0),
		  FINISH_ACK_THROUGH);
	do_receive_copy(h, 1, 0xff);
	for (unsigned int i = 0; i < 8; i++)
		do_send(h, (uint8_t)i,
			(uint16_t)(i * 13u %
				   (h->geometry.settings.max_message + 1)));
	do_send_batch(h, 0, 3);
	do_loan(h, 0);
	do_loan(h, 1);
	do_touch(h);
	do_commit(h, 1, 1);
	do_stats(h, 0);
	do_stats(h, 1);
	/* busd cleans up after every slot, ours and strangers'. */
	for (uint32_t i = 0; i < h->geometry.attachment_count; i++)
		do_detach(h, (uint8_t)i);
	do_stats(h, 0);
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

/* A valid segment from the settings bytes; the prefill goes in too. */
static int build(struct harness *h, struct fuzz_input *in)
{
	uint8_t s[FUZZ_SETTINGS_BYTES];
	struct bus_queue_settings settings;
	char detail[256];

	fuzz_input_bytes(in, s, sizeof(s));
	fuzz_settings_from(s, &settings);
	if (bus__queue_settings_check(&settings, detail, sizeof(detail)))
		fuzz_bug("the harness made settings that libbus refuses");
	h->size = bus__queue_segment_size(&settings);
	h->base = segment_alloc(h->size);
	if (!h->base)
		return -ENOMEM;
	busd_queue_segment_init(h->base, h->size, "fuzz", "queue", &settings);
	if (bus__queue_segment_validate(h->base, h->size, &h->geometry, detail,
					sizeof(detail)))
		fuzz_bug("a fresh segment does not validate");
	attach_all(h);
	for (unsigned int i = 0; i < s[7] % (settings.slots + 1u); i++)
		do_send(h, 0, (uint16_t)(i % (settings.max_message + 1u)));
	return 0;
}

/* The rest of the input over the control block, attachments and cells. */
static void overwrite(struct harness *h, struct fuzz_input *in)
{
	size_t room = h->size - BUS_QUEUE_CONTROL_OFFSET;
	size_t n = fuzz_input_left(in) < room ? fuzz_input_left(in) : room;

	fuzz_input_bytes(in, h->base + BUS_QUEUE_CONTROL_OFFSET, n);
}

static int load_raw(struct harness *h, struct fuzz_input *in)
{
	char detail[256];

	h->size = fuzz_input_left(in);
	h->base = segment_alloc(h->size);
	if (!h->base)
		return -ENOMEM;
	fuzz_input_bytes(in, h->base, h->size);
	if (bus__queue_segment_validate(h->base, h->size, &h->geometry, detail,
					sizeof(detail)))
		return -EPROTO;
	attach_all(h);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	struct fuzz_input in = { data, size, 0 };
	enum fuzz_mode mode;

	if (size < 1)
		return 0;
	memset(&h, 0, offsetof(struct harness, scratch));
	mode = (enum fuzz_mode)(fuzz_input_u8(&in) % FUZZ_MODE_COUNT);
	if (mode == FUZZ_MODE_RAW) {
		if (load_raw(&h, &in) == 0)
			run_fixed(&h);
	} else if (build(&h, &in) == 0) {
		if (mode == FUZZ_MODE_OVERWRITE) {
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
