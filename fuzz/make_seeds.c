/* SPDX-License-Identifier: MIT */
/*
 * fuzz_make_seeds DIR [TOPIC_DIR [REQUEST_DIR]]: writes seed inputs of
 * fuzz_queue_segment into DIR, those of fuzz_topic_segment
 * (fuzz_topic_format.h) into TOPIC_DIR and those of fuzz_requests
 * (fuzz_request_format.h, request_seeds.c) into REQUEST_DIR if given.
 *
 * Raw and overwrite seeds hold real segments in interesting states (queued,
 * held, handed back, a loan never committed, a full drop-oldest ring), made
 * with the library's own calls; script seeds are short operation lists in
 * the format of fuzz_queue_format.h.  fuzz/run-briefly.sh runs this before
 * each fuzzing run, so the seeds always match the current layout; the
 * copies in fuzz/corpus/ came from it too.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "fuzz_queue_format.h"
#include "fuzz_request_format.h"
#include "fuzz_topic_format.h"
#include "queue.h"
#include "queue_handle.h"
#include "segment.h"
#include "segment_lifecycle.h"
#include "topic.h"
#include "topic_handle.h"
#include "topic_segment.h"
#include "topic_slots.h"

struct seed_queue {
	uint8_t settings_bytes[FUZZ_SETTINGS_BYTES];
	uint8_t *base;
	size_t size;
	struct bus__queue_geometry geometry;
	bus_queue_t *producer;
	bus_queue_t *consumer;
};

static const char *seed_dir;

static void die(const char *what, int error)
{
	fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, strerror(-error));
	exit(1);
}

static void write_seed(const char *name, const void *head, size_t head_size,
		       const void *body, size_t body_size)
{
	char path[4096];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	file = fopen(path, "wb");
	if (!file)
		die(path, -errno);
	if (fwrite(head, 1, head_size, file) != head_size ||
	    (body_size && fwrite(body, 1, body_size, file) != body_size) ||
	    fclose(file))
		die(path, -EIO);
}

static bus_queue_t *attach(struct seed_queue *q, enum bus_role role,
			   uint32_t index)
{
	struct bus_attachment *a = &q->geometry.attachments[index];
	bus_queue_t *handle;
	int rc;

	a->client_id = index + 1;
	a->pid = (int32_t)getpid();
	a->uid = (uint32_t)getuid();
	atomic_store_explicit(&a->role, (uint32_t)role, memory_order_release);
	rc = bus__queue_handle_create(&q->geometry, role, index, index + 1,
				      NULL, &handle);
	if (rc)
		die("bus__queue_handle_create", rc);
	return handle;
}

static void queue_make(struct seed_queue *q, const uint8_t *bytes)
{
	struct bus_queue_settings settings;
	char detail[256];
	void *base;
	int rc;

	memcpy(q->settings_bytes, bytes, FUZZ_SETTINGS_BYTES);
	fuzz_settings_from(bytes, &settings);
	q->size = bus__queue_segment_size(&settings);
	if (posix_memalign(&base, BUS_CACHE_LINE, q->size))
		die("posix_memalign", -ENOMEM);
	q->base = base;
	memset(q->base, 0, q->size);
	busd_queue_segment_init(q->base, q->size, "fuzz", "queue", &settings);
	rc = bus__queue_segment_validate(q->base, q->size, &q->geometry,
					 detail, sizeof(detail));
	if (rc)
		die(detail, rc);
	q->producer = attach(q, BUS_PRODUCER, 0);
	q->consumer = attach(q, BUS_CONSUMER, settings.max_producers);
}

/* One raw seed and one overwrite seed of the queue as it is now. */
static void queue_write(struct seed_queue *q, const char *name)
{
	uint8_t head[1 + FUZZ_SETTINGS_BYTES];
	char file[256];

	head[0] = FUZZ_MODE_RAW;
	snprintf(file, sizeof(file), "raw-%s", name);
	write_seed(file, head, 1, q->base, q->size);

	head[0] = FUZZ_MODE_OVERWRITE;
	memcpy(head + 1, q->settings_bytes, FUZZ_SETTINGS_BYTES);
	/* No prefill: the copied cells already hold the messages. */
	head[FUZZ_SETTINGS_BYTES] = 0;
	snprintf(file, sizeof(file), "overwrite-%s", name);
	write_seed(file, head, sizeof(head),
		   q->base + BUS_QUEUE_CONTROL_OFFSET,
		   q->size - BUS_QUEUE_CONTROL_OFFSET);

	bus__queue_handle_destroy(q->producer);
	bus__queue_handle_destroy(q->consumer);
	free(q->base);
}

static void send_some(struct seed_queue *q, unsigned int count)
{
	static const char text[] = "seed message";

	for (unsigned int i = 0; i < count; i++)
		bus_send(q->producer, text, sizeof(text) - 1, BUS_NOWAIT);
}

static void raw_seeds(void)
{
	/* mpmc, 8 slots, 32-byte messages, 2 producers, 2 consumers. */
	static const uint8_t mpmc[] = { 0, 2, 31, 3, 1, 1, 0, 0 };
	/* spsc, 4 slots, 16 bytes, 64 bytes of header room. */
	static const uint8_t spsc[] = { 1, 1, 15, 3, 0, 0, 64, 0 };
	/* mpmc drop-oldest, 4 slots. */
	static const uint8_t drop[] = { 4, 1, 15, 1, 0, 0, 0, 0 };
	/* spsc, 8 slots, 64 bytes, packed with the smallest arena (one
	 * loan; bit 7 of s[6]): records wrap round it. */
	static const uint8_t small[] = { 1, 2, 63, 7, 0, 0, 0x80 | 32, 0 };
	struct bus_message m;
	struct seed_queue q;

	queue_make(&q, mpmc);
	queue_write(&q, "mpmc-empty");

	queue_make(&q, mpmc);
	send_some(&q, 5);
	bus_receive(q.consumer, &m, BUS_NOWAIT); /* held */
	bus_receive(q.consumer, &m, BUS_NOWAIT);
	bus_nack(q.consumer, &m);	      /* handed back */
	bus_loan(q.producer, &m, BUS_NOWAIT); /* never committed */
	queue_write(&q, "mpmc-mixed");

	queue_make(&q, spsc);
	send_some(&q, 3);
	bus_receive(q.consumer, &m, BUS_NOWAIT);
	bus_ack(q.consumer, &m);
	bus_receive(q.consumer, &m, BUS_NOWAIT);
	queue_write(&q, "spsc-held");

	queue_make(&q, drop);
	send_some(&q, 7);
	queue_write(&q, "drop-oldest-full");

	queue_make(&q, small);
	send_some(&q, 1);
	bus_receive(q.consumer, &m, BUS_NOWAIT);
	bus_ack(q.consumer, &m);
	bus_loan(q.producer, &m, BUS_NOWAIT);
	bus_message_set_key(&m, "seed.key");
	bus_commit(q.producer, &m, 4); /* with a key, past the arena's end */
	queue_write(&q, "spsc-small-arena");
}

/*
 * A packed spsc queue whose cells a peer points at records outside the
 * arena, off a line, and over one another (header.record_offset), with
 * reads between: each must be a clean -EBADMSG.  Built here: the offset
 * of record_offset in a cell comes from the layout.
 */
static void packed_script_seed(void)
{
	uint16_t at =
		(uint16_t)(offsetof(struct bus_cell, header) +
			   offsetof(struct bus_message_header, record_offset));
	const uint8_t script[] = {
		FUZZ_MODE_SCRIPT,
		1,
		1,
		31,
		3,
		0,
		0,
		0x80 | 16,
		3,
		/* cell 0: record at 65535 (off a line, past the end) */
		FUZZ_OP_POKE_CELL,
		0,
		(uint8_t)at,
		(uint8_t)(at >> 8),
		3,
		0xff,
		0xff,
		0,
		0,
		FUZZ_OP_RECEIVE,
		0,
		FUZZ_OP_TOUCH,
		/* cell 1: record at 64, over cell 2's */
		FUZZ_OP_POKE_CELL,
		1,
		(uint8_t)at,
		(uint8_t)(at >> 8),
		3,
		64,
		0,
		0,
		0,
		FUZZ_OP_RECEIVE,
		0,
		FUZZ_OP_TOUCH,
		FUZZ_OP_ACK,
		0,
		FUZZ_OP_SEND,
		0,
		24,
		0,
		FUZZ_OP_LOAN,
		0,
		FUZZ_OP_COMMIT,
		0,
		8,
		0,
		FUZZ_OP_RECEIVE_BATCH,
		0,
		4,
		FUZZ_OP_TOUCH,
	};

	write_seed("script-spsc-packed-corrupt", script, sizeof(script), NULL,
		   0);
}

#define OP(code) FUZZ_OP_##code

static void script_seeds(void)
{
	/* Send, receive, ack, nack, redeliver, ack_through. */
	static const uint8_t basic[] = {
		FUZZ_MODE_SCRIPT,
		0,
		2,
		31,
		3,
		1,
		1,
		0,
		0,
		OP(SEND),
		0,
		10,
		0,
		OP(SEND),
		1,
		20,
		0,
		OP(SEND),
		0,
		31,
		0,
		OP(RECEIVE),
		0,
		OP(RECEIVE),
		1,
		OP(ACK),
		0,
		OP(NACK),
		0,
		OP(RECEIVE),
		0,
		OP(RECEIVE_BATCH),
		1,
		3,
		OP(ACK_THROUGH),
		1,
		OP(STATS),
		0,
		OP(TOUCH),
	};
	/* Loans, a commit too long, a consumer's death (detach). */
	static const uint8_t loans[] = {
		FUZZ_MODE_SCRIPT,
		0,
		1,
		15,
		3,
		0,
		0,
		0,
		2,
		OP(LOAN),
		0,
		OP(LOAN),
		0,
		OP(COMMIT),
		0,
		40,
		0,
		OP(COMMIT),
		1,
		5,
		0,
		OP(RECEIVE),
		0,
		OP(RECEIVE),
		0,
		OP(DETACH),
		1,
		OP(RECEIVE),
		0,
		OP(RECEIVE_COPY),
		0,
		4,
		OP(STATS),
		1,
	};
	/* A hostile peer: cells in odd states, positions moved. */
	static const uint8_t hostile[] = {
		FUZZ_MODE_SCRIPT,
		2,
		1,
		15,
		3,
		1,
		1,
		0,
		3,
		OP(SET_CELL),
		0,
		3,
		2,
		0,
		OP(RECEIVE),
		0,
		OP(SET_CELL),
		1,
		4,
		0,
		0,
		OP(RECEIVE),
		1,
		OP(SET_CELL),
		2,
		2,
		0,
		1,
		OP(SEND),
		0,
		4,
		0,
		OP(POKE_CONTROL),
		0,
		0,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0,
		0,
		OP(RECEIVE),
		0,
		OP(SEND),
		0,
		1,
		0,
		OP(POKE_CELL),
		3,
		12,
		0,
		4,
		0xff,
		0xff,
		0xff,
		0x7f,
		OP(RECEIVE),
		0,
		OP(STATS),
		0,
		OP(DETACH),
		0,
		OP(DETACH),
		2,
	};
	/* spsc with header room, drained and refilled across a lap. */
	static const uint8_t spsc[] = {
		FUZZ_MODE_SCRIPT,
		1,
		0,
		7,
		1,
		0,
		0,
		64,
		2,
		OP(RECEIVE),
		0,
		OP(ACK),
		0,
		OP(RECEIVE),
		0,
		OP(NACK),
		0,
		OP(SEND),
		0,
		7,
		0,
		OP(SEND),
		0,
		8,
		0,
		OP(RECEIVE_BATCH),
		0,
		2,
		OP(ACK_THROUGH),
		1,
		OP(SEND_BATCH),
		0,
		2,
		OP(RECEIVE_COPY),
		0,
		0xff,
		OP(POKE_ANY),
		0x10,
		0x01,
		0,
		0,
		0x02,
		OP(RECEIVE),
		0,
	};

	write_seed("script-basic", basic, sizeof(basic), NULL, 0);
	write_seed("script-loans", loans, sizeof(loans), NULL, 0);
	write_seed("script-hostile", hostile, sizeof(hostile), NULL, 0);
	write_seed("script-spsc", spsc, sizeof(spsc), NULL, 0);
}

/* ---- topics ------------------------------------------------------------- */

struct seed_topic {
	uint8_t settings_bytes[FUZZ_TOPIC_SETTINGS_BYTES];
	uint8_t *base;
	size_t size;
	struct bus__topic_geometry geometry;
	bus_topic_t *publisher;
	bus_subscription_t *subscription;
};

static void topic_make(struct seed_topic *t, const uint8_t *bytes)
{
	struct busd_topic_identity who = { .client_id = 1 };
	struct bus_topic_settings settings;
	char detail[256];
	void *base;
	int rc;

	memcpy(t->settings_bytes, bytes, FUZZ_TOPIC_SETTINGS_BYTES);
	fuzz_topic_settings_from(bytes, &settings);
	t->size = bus__topic_segment_size(&settings);
	if (posix_memalign(&base, BUS_CACHE_LINE, t->size))
		die("posix_memalign", -ENOMEM);
	t->base = base;
	memset(t->base, 0, t->size);
	busd_topic_segment_init(t->base, t->size, "fuzz", "topic", &settings);
	rc = bus__topic_segment_validate(t->base, t->size, &t->geometry,
					 detail, sizeof(detail));
	if (rc)
		die(detail, rc);
	busd_topic_publisher_start(&t->geometry, 0, &who);
	rc = bus__topic_handle_create(&t->geometry, BUS_PRODUCER, 0, 1, NULL,
				      &t->publisher);
	if (rc)
		die("bus__topic_handle_create", rc);
	busd_topic_subscriber_start(&t->geometry, 0, &who);
	rc = bus__subscription_create(&t->geometry, 0, 1, NULL,
				      &t->subscription);
	if (rc)
		die("bus__subscription_create", rc);
}

/* One raw and one overwrite seed of the topic as it is now. */
static void topic_write(struct seed_topic *t, const char *name)
{
	uint8_t head[1 + FUZZ_TOPIC_SETTINGS_BYTES];
	char file[256];

	head[0] = FUZZ_TOPIC_MODE_RAW;
	snprintf(file, sizeof(file), "raw-%s", name);
	write_seed(file, head, 1, t->base, t->size);

	head[0] = FUZZ_TOPIC_MODE_OVERWRITE;
	memcpy(head + 1, t->settings_bytes, FUZZ_TOPIC_SETTINGS_BYTES);
	head[FUZZ_TOPIC_SETTINGS_BYTES] = 0; /* no prefill */
	snprintf(file, sizeof(file), "overwrite-%s", name);
	write_seed(file, head, sizeof(head),
		   t->base + BUS_TOPIC_CONTROL_OFFSET,
		   t->size - BUS_TOPIC_CONTROL_OFFSET);

	bus__topic_handle_destroy(t->publisher);
	bus__subscription_destroy(t->subscription);
	free(t->base);
}

static void publish_some(struct seed_topic *t, unsigned int count)
{
	static const char text[] = "seed message";

	for (unsigned int i = 0; i < count; i++)
		bus_publish(t->publisher, text, sizeof(text) - 1, BUS_NOWAIT);
}

static void topic_raw_seeds(void)
{
	/* block, 8 slots, 32 bytes, 2 subscribers and publishers, history
	 * 4, 64 bytes of header room. */
	static const uint8_t block[] = { 0, 2, 31, 1, 1, 4, 64, 0 };
	/* overwrite, 4 slots, 16 bytes, one publisher, history 4. */
	static const uint8_t lapping[] = { 1, 1, 15, 1, 0, 4, 0, 0 };
	/* The same packed with the smallest arena (bit 7 of s[6]). */
	static const uint8_t small[] = { 1, 1, 15, 1, 0, 4, 0x80, 0 };
	struct bus_message m;
	struct seed_topic t;

	topic_make(&t, block);
	topic_write(&t, "topic-block-empty");

	topic_make(&t, block);
	publish_some(&t, 3);
	bus_subscription_receive(t.subscription, &m, NULL, BUS_NOWAIT);
	bus_topic_loan(t.publisher, &m, BUS_NOWAIT);
	bus_message_set_key(&m, "seed.key");
	bus_message_add_header(&m, "h", "value");
	bus_topic_commit(t.publisher, &m, 4); /* with a key and a header */
	bus_topic_loan(t.publisher, &m, BUS_NOWAIT);
	busd_topic_publisher_detach(&t.geometry, 0); /* padded */
	bus_subscription_receive(t.subscription, &m, NULL, BUS_NOWAIT);
	topic_write(&t, "topic-block-mixed"); /* one held in place */

	topic_make(&t, lapping);
	publish_some(&t, 10); /* the subscriber was lapped */
	bus_topic_loan(t.publisher, &m, BUS_NOWAIT); /* never committed */
	topic_write(&t, "topic-overwrite-lapped");

	topic_make(&t, small);
	publish_some(&t, 6); /* records overwritten round the arena */
	topic_write(&t, "topic-overwrite-small-arena");
}

#define TOP(code) FUZZ_TOP_##code

static void topic_script_seeds(void)
{
	/* Block: publish, read in place, copies, release, a late joiner
	 * with history, keys. */
	static const uint8_t block[] = {
		FUZZ_TOPIC_MODE_SCRIPT,
		0,
		2,
		31,
		2,
		1,
		4,
		64,
		3,
		TOP(RECEIVE),
		0,
		TOP(KEYS),
		0,
		TOP(RELEASE),
		0,
		TOP(LOAN),
		0,
		7,
		TOP(COMMIT),
		0,
		9,
		0,
		TOP(RECEIVE),
		1,
		TOP(KEYS),
		1,
		TOP(RECEIVE_COPY),
		2,
		0xff,
		TOP(READ),
		0,
		0,
		0,
		TOP(READ),
		0,
		3,
		4,
		TOP(PENDING),
		0,
		TOP(LAST),
		0xff,
		TOP(SUBSCRIBE),
		1,
		4,
		0,
		TOP(RECEIVE),
		1,
		TOP(STATS),
		0,
		TOP(TOUCH),
	};
	/* Overwrite: a lagging subscriber is lapped and jumps. */
	static const uint8_t lapped[] = {
		FUZZ_TOPIC_MODE_SCRIPT,
		1,
		1,
		15,
		1,
		0,
		4,
		0,
		9,
		TOP(RECEIVE),
		0,
		TOP(PUBLISH),
		0,
		5,
		0,
		TOP(PUBLISH),
		0,
		6,
		0,
		TOP(RECEIVE_COPY),
		1,
		3,
		TOP(READ),
		1,
		2,
		0,
		TOP(PENDING),
		1,
		TOP(LAST),
		3,
		TOP(STATS),
		1,
	};
	/* A hostile peer: odd states, a moved tail and positions, a slot
	 * scribbled between busd's lending and the subscription. */
	static const uint8_t hostile[] = {
		FUZZ_TOPIC_MODE_SCRIPT,
		0,
		1,
		15,
		1,
		1,
		2,
		0,
		3,
		TOP(SET_CELL),
		0,
		2,
		1,
		1,
		TOP(RECEIVE),
		0,
		TOP(SET_CELL),
		1,
		5,
		0,
		0,
		TOP(RECEIVE),
		1,
		TOP(SET_TAIL),
		0x00,
		0x80,
		TOP(RECEIVE),
		0,
		TOP(SET_SLOT),
		1,
		0,
		0x90,
		TOP(SUBSCRIBE),
		1,
		1,
		1,
		TOP(RECEIVE),
		1,
		TOP(PUBLISH),
		1,
		3,
		0,
		TOP(POKE_CELL),
		2,
		12,
		0,
		4,
		0xff,
		0xff,
		0xff,
		0x7f,
		TOP(RECEIVE),
		0,
		TOP(LAST),
		0xff,
		TOP(POKE_SUBSCRIBER),
		8,
		0,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		TOP(PUBLISH),
		0,
		1,
		0,
		TOP(DETACH_PUBLISHER),
		0,
		TOP(STATS),
		2,
	};

	/*
	 * A block subscription made from a slot whose position and first
	 * position a peer set to 2^64 - 2: its reads wrapped past 2^64 to
	 * position 0, below where it was put, and copied through a buffer
	 * it never had (a crash before topic_ring.c read in place there).
	 */
	static const uint8_t wrap[] = {
		FUZZ_TOPIC_MODE_SCRIPT,
		0,
		1,
		15,
		0,
		0,
		0,
		0,
		3,
		TOP(POKE_SUBSCRIBER),
		8,
		0,
		0xfe,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		TOP(POKE_SUBSCRIBER),
		3,
		0,
		0xfe,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		0xff,
		TOP(SUBSCRIBE),
		0,
		0,
		1,
		TOP(RECEIVE),
		0,
		TOP(KEYS),
		0,
		TOP(RECEIVE_COPY),
		0,
		0xff,
		TOP(SUBSCRIBE),
		0,
		0,
		1,
		TOP(RECEIVE_COPY),
		0,
		8,
	};

	write_seed("script-topic-block", block, sizeof(block), NULL, 0);
	write_seed("script-topic-wrap", wrap, sizeof(wrap), NULL, 0);
	write_seed("script-topic-lapped", lapped, sizeof(lapped), NULL, 0);
	write_seed("script-topic-hostile", hostile, sizeof(hostile), NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: fuzz_make_seeds DIR [TOPIC_DIR "
				"[REQUEST_DIR]]\n");
		return 2;
	}
	seed_dir = argv[1];
	raw_seeds();
	script_seeds();
	packed_script_seed();
	if (argc >= 3) {
		seed_dir = argv[2];
		topic_raw_seeds();
		topic_script_seeds();
	}
	if (argc == 4)
		fuzz_write_request_seeds(argv[3]);
	return 0;
}
