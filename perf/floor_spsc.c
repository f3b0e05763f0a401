/* SPDX-License-Identifier: MIT */
/*
 * floor-spsc: a bare shared-memory SPSC ring, busy-poll, as the floor for
 * what a queue can do.
 *
 * The ring is an array of 64-byte slots, each holding one 64-byte payload,
 * and two free-running indices on lines of their own: head, written only by
 * the producer, and tail, written only by the consumer.  Each side keeps a
 * private copy of the other's index and rereads the shared one only when
 * its copy says full (producer) or empty (consumer), so a burst of messages
 * costs one transfer of the index line, not one per message.
 *
 * Built a second time as floor-spsc-2line (FLOOR_SPSC_HEADER_LINE): each
 * slot has a header line before its payload line, which the producer
 * writes (sequence, length) and the consumer reads and checks, as a bus
 * cell has its state and header on one line and its payload on the next.
 * It is the floor of that format: what two lines per message cost.
 *
 *   --bench pingpong    round trip over two rings (request, reply)
 *   --bench throughput  one producer streams --count messages
 *   --bench oneway      one producer sends at --rate for --seconds; the
 *                       latency is measured from the intended send time
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifndef FLOOR_SPSC_HEADER_LINE
#define FLOOR_SPSC_HEADER_LINE 0
#endif

struct spsc_slot {
#if FLOOR_SPSC_HEADER_LINE
	uint64_t header[BENCH_LINE / 8]; /* sequence, length */
#endif
	uint64_t payload[BENCH_LINE / 8];
};

struct spsc_ring {
	_Atomic uint64_t head __attribute__((aligned(128)));
	_Atomic uint64_t tail __attribute__((aligned(128)));
	uint64_t mask __attribute__((aligned(128)));
	struct spsc_slot slot[];
};

/* One side's private view: its own index and its copy of the other's. */
struct spsc_end {
	struct spsc_ring *ring;
	uint64_t mine;
	uint64_t theirs;
};

struct floor_spsc_shared {
	struct bench_barrier barrier;
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;	 /* messages, warm-up included */
	uint64_t rounds; /* measured */
	uint64_t period_ns;
	uint64_t start_ns;
	uint64_t end_ns;
	struct spsc_ring *request; /* same address in every child */
	struct spsc_ring *reply;
};

/* Room for one more?  Rereads tail only when the copy says full. */
static inline struct spsc_slot *spsc_claim(struct spsc_end *p)
{
	struct spsc_ring *r = p->ring;

	while (p->mine - p->theirs > r->mask) {
		/* Acquire pairs with the consumer's release of tail: its
		 * reads of the slot are done before we overwrite it. */
		p->theirs =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		if (p->mine - p->theirs > r->mask)
			bench_relax();
	}
	return &r->slot[p->mine & r->mask];
}

/* Release pairs with the consumer's acquire of head: the slot is written. */
static inline void spsc_publish(struct spsc_end *p)
{
	p->mine++;
	atomic_store_explicit(&p->ring->head, p->mine, memory_order_release);
}

static inline struct spsc_slot *spsc_peek(struct spsc_end *c)
{
	struct spsc_ring *r = c->ring;

	while (c->mine == c->theirs) {
		/* Acquire pairs with spsc_publish's release. */
		c->theirs =
			atomic_load_explicit(&r->head, memory_order_acquire);
		if (c->mine == c->theirs)
			bench_relax();
	}
	return &r->slot[c->mine & r->mask];
}

/* Release pairs with spsc_claim's acquire: we are done reading. */
static inline void spsc_release(struct spsc_end *c)
{
	c->mine++;
	atomic_store_explicit(&c->ring->tail, c->mine, memory_order_release);
}

/* The header line, when slots have one: written, then read and checked. */
static inline void spsc_header_write(struct spsc_slot *slot, uint64_t seq)
{
#if FLOOR_SPSC_HEADER_LINE
	slot->header[0] = seq;
	slot->header[1] = BENCH_LINE;
#else
	(void)slot, (void)seq;
#endif
}

static inline int spsc_header_check(const struct spsc_slot *slot, uint64_t seq)
{
#if FLOOR_SPSC_HEADER_LINE
	return slot->header[0] != seq || slot->header[1] != BENCH_LINE;
#else
	(void)slot, (void)seq;
	return 0;
#endif
}

static void spsc_send(struct spsc_end *p, uint64_t seq)
{
	struct spsc_slot *slot = spsc_claim(p);

	spsc_header_write(slot, seq);
	bench_payload_write(slot->payload, BENCH_LINE, seq);
	spsc_publish(p);
}

static int spsc_receive(struct spsc_end *c, uint64_t seq, const char *who)
{
	struct spsc_slot *slot = spsc_peek(c);

	if (spsc_header_check(slot, seq) ||
	    bench_payload_check(slot->payload, BENCH_LINE, seq))
		return bench_payload_error(who, seq);
	spsc_release(c);
	return 0;
}

/* ---- ping-pong -------------------------------------------------------- */

static int pingpong_pinger(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end out = { s->request, 0, 0 }, in = { s->reply, 0, 0 };
	uint64_t seq, first = s->total - s->rounds + 1;

	for (seq = 1; seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == first)
			s->start_ns = t0;
		spsc_send(&out, seq);
		if (spsc_receive(&in, seq, "floor-spsc pinger"))
			return -EBADMSG;
		if (seq >= first)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->end_ns = bench_now_ns();
	return 0;
}

static int pingpong_ponger(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end in = { s->request, 0, 0 }, out = { s->reply, 0, 0 };
	uint64_t seq;

	for (seq = 1; seq <= s->total; seq++) {
		if (spsc_receive(&in, seq, "floor-spsc ponger"))
			return -EBADMSG;
		spsc_send(&out, seq);
	}
	return 0;
}

/* ---- streaming -------------------------------------------------------- */

static int stream_producer(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end out = { s->request, 0, 0 };
	uint64_t seq;

	bench_barrier_wait(&s->barrier, 2);
	s->start_ns = bench_now_ns();
	for (seq = 1; seq <= s->total; seq++)
		spsc_send(&out, seq);
	return 0;
}

static int stream_consumer(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end in = { s->request, 0, 0 };
	uint64_t seq;

	bench_barrier_wait(&s->barrier, 2);
	for (seq = 1; seq <= s->total; seq++)
		if (spsc_receive(&in, seq, "floor-spsc consumer"))
			return -EBADMSG;
	s->end_ns = bench_now_ns();
	return 0;
}

/* ---- one way at a fixed rate ------------------------------------------ */

/*
 * The payload carries the intended send time.  When the sender falls
 * behind it sends at once, and the receiver still measures from the
 * intended time, so a stall shows up in every message it delayed
 * (no coordinated omission).
 */
static int oneway_sender(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end out = { s->request, 0, 0 };
	uint64_t i, start, due;

	bench_barrier_wait(&s->barrier, 2);
	start = bench_now_ns() + 1000000; /* the receiver is ready by then */
	s->start_ns = start;
	for (i = 0; i < s->total; i++) {
		due = start + i * s->period_ns;
		while (bench_now_ns() < due)
			bench_relax();
		spsc_send(&out, due);
	}
	return 0;
}

static int oneway_receiver(void *arg, unsigned int index)
{
	struct floor_spsc_shared *s = arg;
	struct spsc_end in = { s->request, 0, 0 };
	uint64_t i, due, warmup = s->total - s->rounds;

	bench_barrier_wait(&s->barrier, 2);
	for (i = 0; i < s->total; i++) {
		struct spsc_slot *slot = spsc_peek(&in);
		uint64_t now = bench_now_ns();

		due = slot->payload[0];
		if (spsc_header_check(slot, due) ||
		    bench_payload_check(slot->payload, BENCH_LINE, due))
			return bench_payload_error("floor-spsc receiver", i);
		spsc_release(&in);
		if (i >= warmup)
			hist_record(&s->hist, now - due);
	}
	s->end_ns = bench_now_ns();
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static struct spsc_ring *spsc_ring_map(unsigned int slots)
{
	struct spsc_ring *r =
		bench_shared_map(sizeof(*r) + slots * sizeof(r->slot[0]));

	if (r)
		r->mask = slots - 1;
	return r;
}

static const char usage[] =
	"Usage: floor-spsc [--bench pingpong|throughput|oneway] [options]\n"
	"A bare SPSC ring of cache-line slots with cached remote indices\n"
	"(floor-spsc-2line: a header line before each payload line).\n"
	"  --slots N        ring slots (default 1024)\n"
	"  --rate R         oneway: messages per second (default 100000)\n"
	"  --seconds S      oneway: sending time when --count is not given\n";

static int floor_spsc_run(struct floor_spsc_shared *s,
			  const struct bench_options *o, bench_child_fn a,
			  bench_child_fn b)
{
	return bench_run(
		(const struct bench_child[]){
			{ o->cpu[1], b, s, 1 },
			{ o->cpu[0], a, s, 0 },
		},
		2, o->timeout_s);
}

int main(int argc, char **argv)
{
	struct bench_options o;
	struct floor_spsc_shared *s;
	struct bench_row row = {
		.transport = "floor-spsc",
		.mode = "busy",
		.size = BENCH_LINE,
		.producers = 1,
		.consumers = 1,
		.batch = 1,
		.timestamps = -1,
		.queue = FLOOR_SPSC_HEADER_LINE ? "spsc-2line" : "spsc",
	};
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	s->request = spsc_ring_map(o.slots);
	s->reply = spsc_ring_map(o.slots);
	if (!s->request || !s->reply)
		return 1;
	hist_reset(&s->hist);
	row.bench = o.bench;
	s->rounds = o.count;
	s->total = o.count + o.warmup;
	if (strcmp(o.bench, "pingpong") == 0) {
		ret = floor_spsc_run(s, &o, pingpong_pinger, pingpong_ponger);
		row.hist = &s->hist;
	} else if (strcmp(o.bench, "throughput") == 0) {
		s->total = s->rounds;
		ret = floor_spsc_run(s, &o, stream_producer, stream_consumer);
	} else if (strcmp(o.bench, "oneway") == 0) {
		if (!o.count_given)
			s->rounds = (uint64_t)(o.seconds * (double)o.rate);
		s->total = s->rounds + o.warmup;
		s->period_ns = 1000000000ull / o.rate;
		row.rate = o.rate;
		row.hist = &s->hist;
		ret = floor_spsc_run(s, &o, oneway_sender, oneway_receiver);
	} else {
		fprintf(stderr, "unknown --bench %s\n", o.bench);
		return 2;
	}
	if (ret)
		return 1;
	row.count = s->rounds;
	row.msgs_per_s = s->rounds * 1e9 / (double)(s->end_ns - s->start_ns);
	if (strcmp(o.bench, "oneway") == 0)
		row.msgs_per_s =
			s->total * 1e9 / (double)(s->end_ns - s->start_ns);
	bench_row_print(&row, &o);
	return 0;
}
