/* SPDX-License-Identifier: MIT */
/*
 * fuzz_make_seeds DIR: writes seed inputs of fuzz_queue_segment into DIR.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "fuzz_queue_format.h"
#include "queue.h"
#include "segment.h"

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
	bus__queue_segment_init(q->base, q->size, "fuzz", "queue", &settings);
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
	struct bus_message m;
	struct seed_queue q;

	queue_make(&q, mpmc);
	queue_write(&q, "mpmc-empty");

	queue_make(&q, mpmc);
	send_some(&q, 5);
	bus_receive(q.consumer, &m, BUS_NOWAIT); /* held */
	bus_receive(q.consumer, &m, BUS_NOWAIT);
	bus_nack(q.consumer, &m);		     /* handed back */
	bus_loan(q.producer, &m, BUS_NOWAIT);	     /* never committed */
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
}

#define OP(code) FUZZ_OP_##code

static void script_seeds(void)
{
	/* Send, receive, ack, nack, redeliver, ack_through. */
	static const uint8_t basic[] = {
		FUZZ_MODE_SCRIPT, 0, 2, 31, 3, 1, 1, 0, 0,
		OP(SEND), 0, 10, 0,	  OP(SEND), 1, 20, 0,
		OP(SEND), 0, 31, 0,	  OP(RECEIVE), 0,
		OP(RECEIVE), 1,		  OP(ACK), 0,
		OP(NACK), 0,		  OP(RECEIVE), 0,
		OP(RECEIVE_BATCH), 1, 3,  OP(ACK_THROUGH), 1,
		OP(STATS), 0,		  OP(TOUCH),
	};
	/* Loans, a commit too long, a consumer's death (detach). */
	static const uint8_t loans[] = {
		FUZZ_MODE_SCRIPT, 0, 1, 15, 3, 0, 0, 0, 2,
		OP(LOAN), 0,		  OP(LOAN), 0,
		OP(COMMIT), 0, 40, 0,	  OP(COMMIT), 1, 5, 0,
		OP(RECEIVE), 0,		  OP(RECEIVE), 0,
		OP(DETACH), 1,		  OP(RECEIVE), 0,
		OP(RECEIVE_COPY), 0, 4,	  OP(STATS), 1,
	};
	/* A hostile peer: cells in odd states, positions moved. */
	static const uint8_t hostile[] = {
		FUZZ_MODE_SCRIPT, 2, 1, 15, 3, 1, 1, 0, 3,
		OP(SET_CELL), 0, 3, 2, 0, OP(RECEIVE), 0,
		OP(SET_CELL), 1, 4, 0, 0, OP(RECEIVE), 1,
		OP(SET_CELL), 2, 2, 0, 1, OP(SEND), 0, 4, 0,
		OP(POKE_CONTROL), 0, 0, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0, 0,
		OP(RECEIVE), 0,		  OP(SEND), 0, 1, 0,
		OP(POKE_CELL), 3, 12, 0, 4, 0xff, 0xff, 0xff, 0x7f,
		OP(RECEIVE), 0,		  OP(STATS), 0,
		OP(DETACH), 0,		  OP(DETACH), 2,
	};
	/* spsc with header room, drained and refilled across a lap. */
	static const uint8_t spsc[] = {
		FUZZ_MODE_SCRIPT, 1, 0, 7, 1, 0, 0, 64, 2,
		OP(RECEIVE), 0,		  OP(ACK), 0,
		OP(RECEIVE), 0,		  OP(NACK), 0,
		OP(SEND), 0, 7, 0,	  OP(SEND), 0, 8, 0,
		OP(RECEIVE_BATCH), 0, 2,  OP(ACK_THROUGH), 1,
		OP(SEND_BATCH), 0, 2,	  OP(RECEIVE_COPY), 0, 0xff,
		OP(POKE_ANY), 0x10, 0x01, 0, 0, 0x02,
		OP(RECEIVE), 0,
	};

	write_seed("script-basic", basic, sizeof(basic), NULL, 0);
	write_seed("script-loans", loans, sizeof(loans), NULL, 0);
	write_seed("script-hostile", hostile, sizeof(hostile), NULL, 0);
	write_seed("script-spsc", spsc, sizeof(spsc), NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
		return 2;
	}
	seed_dir = argv[1];
	raw_seeds();
	script_seeds();
	return 0;
}
