/* SPDX-License-Identifier: MIT */
/*
 * bus-bench: the bus measured through its public API (include/bus/bus.h),
 * between pinned processes, against a running busd.
 *
 *   --bench pingpong    round trip of --size bytes over two SPSC queues:
 *                       loan/write/commit, then receive/read/ack, each way
 *   --bench size        the same for each size of --size (default 64 B to
 *                       4 MiB), few slots so that /dev/shm holds them
 *   --bench oneway      a producer sends at --rate for --seconds; the
 *                       consumer measures each message from its intended
 *                       send time (coordinated omission accounted for) and,
 *                       in the raw_* columns, from the header's
 *                       publish_time_ns
 *   --bench throughput  --producers P stream --count messages into one
 *                       queue (--queue-type spsc|mpmc) drained by
 *                       --consumers C; --batch B > 1 uses bus_loan_batch
 *                       (payloads written in place) and bus_commit_batch,
 *                       or with --copy bus_send_batch (written into
 *                       buffers of its own, then copied); the consumers
 *                       bus_receive_batch and bus_ack_through
 *   --bench fanout      one publisher and --subscribers N subscriber
 *                       processes on a block-policy topic; the publisher
 *                       loans, writes and commits --count messages at
 *                       --rate (0: as fast as the slowest subscriber lets
 *                       it), every subscriber reads and checks each one in
 *                       place.  Latency: from the header's publish_time_ns
 *                       to receipt, merged over the subscribers.
 *                       pub_ns_per_msg: the publisher's mean wall time per
 *                       publish (loan, write, commit; one clock read
 *                       included), the pacing wait excluded
 *
 *   --bench route       the throughput case (one producer, one consumer,
 *                       SPSC), run twice on the same queue: loans and
 *                       commits straight to the queue, then through an
 *                       address whose one route (key pattern "bench.*")
 *                       sends them there, each with the routing key
 *                       "bench.k"; rows with transport bus (direct, no
 *                       key), bus-key (direct, the same key set by hand)
 *                       and bus-route, with msgs_per_s and the producer's
 *                       pub_ns_per_msg
 *
 * --mode busy|spin-futex|futex picks the wait strategy of every handle,
 * --no-timestamp turns the producers' publish timestamps off.  The program
 * creates its queues with names of its own and deletes them at the end.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"

#include "bench.h"

#define BB_STOP_LENGTH 8u /* a message of this length ends a consumer */
#define BB_STOP_WORD UINT64_C(0x53544f50) /* "STOP" */
#define BB_BATCH_MAX 256u
#define BB_SIZE_SLOTS 4u /* size sweep: slots per queue */

struct bb_shared {
	struct bench_barrier barrier;
	struct hist hist __attribute__((aligned(128)));
	struct hist raw_hist;
	uint64_t total;	 /* per run, warm-up included */
	uint64_t rounds; /* measured */
	uint64_t period_ns;
	uint64_t seq_base;
	uint32_t size;
	unsigned int producers;
	unsigned int consumers;
	unsigned int batch;
	bool copy;	     /* batches by bus_send_batch */
	uint32_t ring_bytes; /* packed spsc queues and topic (0: not) */
	bool record;	     /* a recorded topic (busd's journal) */
	unsigned int slots;
	bool spsc;
	struct bus_queue_options options;
	char bus_name[BUS_NAME_MAX + 1];
	char request[BUS_NAME_MAX + 1]; /* pinger -> ponger, or the stream */
	char reply[BUS_NAME_MAX + 1];
	_Atomic uint32_t producers_done;
	uint64_t elapsed_ns;
	uint64_t start_ns[BENCH_MAX_PROCS];
	uint64_t end_ns[BENCH_MAX_PROCS];
	uint64_t received[BENCH_MAX_PROCS];
	uint64_t
		publish_ns; /* fanout: wall time inside the measured publishes */
	char topic[BUS_NAME_MAX + 1];
	/* fanout: one latency histogram per subscriber, merged at the end */
	struct hist sub_hist[BENCH_MAX_PROCS];
	/* route: the producer publishes through this address, else directly
	 * (with the routing key set by hand when with_key) */
	bool via_route;
	bool with_key;
	char address[BUS_NAME_MAX + 1];
};

/* One process's connection and handles. */
struct bb_client {
	bus_t *bus;
	bus_queue_t *out; /* producer handle */
	bus_queue_t *in;  /* consumer handle */
};

static int bb_fail(const char *what, bus_t *bus, int error)
{
	fprintf(stderr, "bus-bench: %s: %s%s%s\n", what, bus_strerror(error),
		bus && *bus_error_detail(bus) ? ": " : "",
		bus ? bus_error_detail(bus) : "");
	return error;
}

/* Connects and opens out (as producer) and in (as consumer), each if set. */
static int bb_open(struct bb_shared *s, struct bb_client *c, const char *out,
		   const char *in)
{
	int ret;

	memset(c, 0, sizeof(*c));
	ret = bus_connect(s->bus_name, &c->bus);
	if (ret < 0)
		return bb_fail("connect", NULL, ret);
	if (out) {
		ret = bus_queue_open(c->bus, out, BUS_PRODUCER, &s->options,
				     &c->out);
		if (ret < 0)
			return bb_fail(out, c->bus, ret);
	}
	if (in) {
		ret = bus_queue_open(c->bus, in, BUS_CONSUMER, &s->options,
				     &c->in);
		if (ret < 0)
			return bb_fail(in, c->bus, ret);
	}
	return 0;
}

static void bb_close(struct bb_client *c)
{
	if (c->out)
		bus_queue_close(c->out);
	if (c->in)
		bus_queue_close(c->in);
	bus_disconnect(c->bus);
}

/* loan, write the payload in place, commit. */
static int bb_send(struct bb_client *c, uint32_t size, uint64_t seq)
{
	struct bus_message m;
	int ret;

	ret = bus_loan(c->out, &m, BUS_FOREVER);
	if (ret < 0)
		return bb_fail("loan", c->bus, ret);
	bench_payload_write(m.payload, size, seq);
	ret = bus_commit(c->out, &m, size);
	if (ret < 0)
		return bb_fail("commit", c->bus, ret);
	return 0;
}

/* receive, read and check the payload in place, ack. */
static int bb_receive(struct bb_client *c, uint32_t size, uint64_t seq,
		      const char *who)
{
	struct bus_message m;
	int ret;

	ret = bus_receive(c->in, &m, BUS_FOREVER);
	if (ret < 0)
		return bb_fail("receive", c->bus, ret);
	if (m.length != size || bench_payload_check(m.payload, size, seq))
		return bench_payload_error(who, seq);
	ret = bus_ack(c->in, &m);
	if (ret < 0)
		return bb_fail("ack", c->bus, ret);
	return 0;
}

/* ---- ping-pong and size sweep ----------------------------------------- */

static int bb_pinger(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	struct bb_client c;
	uint64_t i, seq, start = 0, warmup = s->total - s->rounds;
	int ret;

	ret = bb_open(s, &c, s->request, s->reply);
	bench_barrier_wait(&s->barrier, 2);
	for (i = 0; ret == 0 && i < s->total; i++) {
		uint64_t t0 = bench_now_ns();

		if (i == warmup)
			start = t0;
		seq = s->seq_base + i + 1;
		ret = bb_send(&c, s->size, seq);
		if (ret == 0)
			ret = bb_receive(&c, s->size, seq, "bus pinger");
		if (i >= warmup)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	bb_close(&c);
	return ret;
}

static int bb_ponger(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	struct bb_client c;
	uint64_t i, seq;
	int ret;

	ret = bb_open(s, &c, s->reply, s->request);
	bench_barrier_wait(&s->barrier, 2);
	for (i = 0; ret == 0 && i < s->total; i++) {
		seq = s->seq_base + i + 1;
		ret = bb_receive(&c, s->size, seq, "bus ponger");
		if (ret == 0)
			ret = bb_send(&c, s->size, seq);
	}
	bb_close(&c);
	return ret;
}

/* ---- one way at a fixed rate ------------------------------------------ */

/*
 * The payload carries the intended send time.  A sender that falls behind
 * sends at once, and the receiver still measures from the intended time,
 * so a stall counts in every message it delayed.
 */
static int bb_oneway_sender(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	struct bb_client c;
	uint64_t i, start, due;
	int ret;

	ret = bb_open(s, &c, s->request, NULL);
	bench_barrier_wait(&s->barrier, 2);
	start = bench_now_ns() + 1000000;
	s->start_ns[0] = start;
	for (i = 0; ret == 0 && i < s->total; i++) {
		due = start + i * s->period_ns;
		while (bench_now_ns() < due)
			bench_relax();
		ret = bb_send(&c, s->size, due);
	}
	bb_close(&c);
	return ret;
}

static int bb_oneway_receiver(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	struct bb_client c;
	struct bus_message m;
	uint64_t i, now, due, published, warmup = s->total - s->rounds;
	int ret;

	ret = bb_open(s, &c, NULL, s->request);
	bench_barrier_wait(&s->barrier, 2);
	for (i = 0; ret == 0 && i < s->total; i++) {
		ret = bus_receive(c.in, &m, BUS_FOREVER);
		if (ret < 0) {
			ret = bb_fail("receive", c.bus, ret);
			break;
		}
		now = bench_now_ns();
		due = *(const uint64_t *)m.payload;
		published = m.header->publish_time_ns;
		if (m.length != s->size ||
		    bench_payload_check(m.payload, s->size, due))
			ret = bench_payload_error("bus receiver", i);
		else if (bus_ack(c.in, &m) < 0)
			ret = -EIO;
		if (i < warmup)
			continue;
		hist_record(&s->hist, now - due);
		if (published)
			hist_record(&s->raw_hist, now - published);
	}
	s->end_ns[0] = bench_now_ns();
	bb_close(&c);
	return ret;
}

/* ---- streaming -------------------------------------------------------- */

/* Producer p's n-th message (from 1): producer in the top 16 bits. */
static inline uint64_t bb_stream_seq(unsigned int p, uint64_t n)
{
	return ((uint64_t)p << 48) | n;
}

static int bb_send_stops(struct bb_shared *s, struct bb_client *c)
{
	struct bus_message m;
	unsigned int i;
	int ret;

	for (i = 0; i < s->consumers; i++) {
		ret = bus_loan(c->out, &m, BUS_FOREVER);
		if (ret < 0)
			return bb_fail("loan", c->bus, ret);
		*(uint64_t *)m.payload = BB_STOP_WORD;
		ret = bus_commit(c->out, &m, BB_STOP_LENGTH);
		if (ret < 0)
			return bb_fail("commit", c->bus, ret);
	}
	return 0;
}

/* Copying batches: each payload written in a buffer of ours, then sent. */
static int bb_send_batches(struct bb_shared *s, struct bb_client *c,
			   unsigned int p, uint64_t count)
{
	static uint64_t data[BB_BATCH_MAX][64];
	struct bus_buffer buffers[BB_BATCH_MAX];
	uint64_t sent = 0;
	unsigned int i, n;
	int ret;

	for (i = 0; i < s->batch; i++)
		buffers[i] = (struct bus_buffer){ data[i], s->size };
	while (sent < count) {
		n = count - sent < s->batch ? (unsigned int)(count - sent)
					    : s->batch;
		for (i = 0; i < n; i++)
			bench_payload_write(data[i], s->size,
					    bb_stream_seq(p, sent + i + 1));
		ret = bus_send_batch(c->out, buffers, n, BUS_FOREVER);
		if (ret <= 0)
			return bb_fail("send batch", c->bus, ret ? ret : -EIO);
		sent += (unsigned int)ret;
	}
	return 0;
}

/* Zero-copy batches: loan what room there is, write in place, commit. */
static int bb_produce_batches(struct bb_shared *s, struct bb_client *c,
			      unsigned int p, uint64_t count)
{
	struct bus_message m[BB_BATCH_MAX];
	uint64_t sent = 0;
	int i, n, ret;

	if (s->copy)
		return bb_send_batches(s, c, p, count);
	while (sent < count) {
		n = bus_loan_batch(c->out, m,
				   count - sent < s->batch
					   ? (unsigned int)(count - sent)
					   : s->batch,
				   BUS_FOREVER);
		if (n <= 0)
			return bb_fail("loan batch", c->bus, n ? n : -EIO);
		for (i = 0; i < n; i++) {
			bench_payload_write(m[i].payload, s->size,
					    bb_stream_seq(p, sent + i + 1));
			m[i].length = s->size;
		}
		ret = bus_commit_batch(c->out, m, (unsigned int)n);
		if (ret != n)
			return bb_fail("commit batch", c->bus,
				       ret < 0 ? ret : -EIO);
		sent += (unsigned int)n;
	}
	return 0;
}

/* bb_send() with the routing key the route bench's address sets. */
static int bb_send_keyed(struct bb_client *c, uint32_t size, uint64_t seq)
{
	struct bus_message m;
	int ret;

	ret = bus_loan(c->out, &m, BUS_FOREVER);
	if (ret < 0)
		return bb_fail("loan", c->bus, ret);
	ret = bus_message_set_key(&m, "bench.k");
	if (ret < 0)
		return bb_fail("key", c->bus, ret);
	bench_payload_write(m.payload, size, seq);
	ret = bus_commit(c->out, &m, size);
	return ret < 0 ? bb_fail("commit", c->bus, ret) : 0;
}

/* The route bench's producer: the same stream through an address. */
static int bb_route_producer(struct bb_shared *s, struct bb_client *c,
			     uint64_t count)
{
	bus_address_t *address = NULL;
	struct bus_message m;
	uint64_t n;
	int ret = bus_address_open(c->bus, s->address, &s->options, &address);

	if (ret < 0)
		ret = bb_fail(s->address, c->bus, ret);
	bench_barrier_wait(&s->barrier, 2);
	s->start_ns[0] = bench_now_ns();
	for (n = 1; ret == 0 && n <= count; n++) {
		ret = bus_address_loan(address, "bench.k", &m, BUS_FOREVER);
		if (ret < 0) {
			ret = bb_fail("address loan", c->bus, ret);
			break;
		}
		bench_payload_write(m.payload, s->size, bb_stream_seq(0, n));
		ret = bus_address_commit(address, &m, s->size, NULL);
		ret = ret == 1 ? 0 : bb_fail("address commit", c->bus, ret);
	}
	s->publish_ns = bench_now_ns() - s->start_ns[0];
	atomic_fetch_add(&s->producers_done, 1);
	if (ret == 0 && (ret = bus_address_loan(address, "bench.k", &m,
						BUS_FOREVER)) == 0) {
		*(uint64_t *)m.payload = BB_STOP_WORD;
		ret = bus_address_commit(address, &m, BB_STOP_LENGTH, NULL);
		ret = ret == 1 ? 0 : bb_fail("address stop", c->bus, ret);
	}
	if (address)
		bus_address_close(address);
	bb_close(c);
	return ret;
}

static int bb_producer(void *arg, unsigned int p)
{
	struct bb_shared *s = arg;
	struct bb_client c;
	uint64_t n, count = s->total / s->producers;
	int ret;

	if (p == 0)
		count += s->total % s->producers;
	/* Through a route, the address holds the one producer slot. */
	ret = bb_open(s, &c, s->via_route ? NULL : s->request, NULL);
	if (ret == 0 && s->via_route)
		return bb_route_producer(s, &c, count);
	bench_barrier_wait(&s->barrier, s->producers + s->consumers);
	s->start_ns[p] = bench_now_ns();
	if (ret == 0 && s->batch > 1)
		ret = bb_produce_batches(s, &c, p, count);
	for (n = 1; ret == 0 && s->batch == 1 && n <= count; n++)
		ret = s->with_key
			      ? bb_send_keyed(&c, s->size, bb_stream_seq(p, n))
			      : bb_send(&c, s->size, bb_stream_seq(p, n));
	s->publish_ns = bench_now_ns() - s->start_ns[p];
	/* The last producer to finish tells every consumer to stop: all
	 * data was committed before, so it is ahead of the stops. */
	if (atomic_fetch_add(&s->producers_done, 1) == s->producers - 1 &&
	    ret == 0)
		ret = bb_send_stops(s, &c);
	bb_close(&c);
	return ret;
}

/*
 * Checks one streamed message: intact, and after the previous one of its
 * producer (exactly the next one when there is a single consumer).
 */
static int bb_check_stream(struct bb_shared *s, const struct bus_message *m,
			   uint64_t *last)
{
	uint64_t word = *(const uint64_t *)m->payload;
	unsigned int p = (unsigned int)(word >> 48);
	uint64_t n = word & ((UINT64_C(1) << 48) - 1);

	if (m->length != s->size || p >= s->producers ||
	    bench_payload_check(m->payload, s->size, word))
		return bench_payload_error("bus consumer", word);
	if (s->consumers == 1 ? n != last[p] + 1 : n <= last[p]) {
		fprintf(stderr,
			"bus consumer: producer %u message %llu "
			"after %llu\n",
			p, (unsigned long long)n, (unsigned long long)last[p]);
		return -EBADMSG;
	}
	last[p] = n;
	return 0;
}

static bool bb_is_stop(const struct bus_message *m)
{
	return m->length == BB_STOP_LENGTH &&
	       *(const uint64_t *)m->payload == BB_STOP_WORD;
}

static int bb_consume_single(struct bb_shared *s, struct bb_client *c,
			     uint64_t *last, uint64_t *received)
{
	struct bus_message m;
	bool stop = false;
	int ret;

	while (!stop) {
		ret = bus_receive(c->in, &m, BUS_FOREVER);
		if (ret < 0)
			return bb_fail("receive", c->bus, ret);
		stop = bb_is_stop(&m);
		if (!stop) {
			ret = bb_check_stream(s, &m, last);
			if (ret)
				return ret;
			++*received;
		}
		ret = bus_ack(c->in, &m);
		if (ret < 0)
			return bb_fail("ack", c->bus, ret);
	}
	return 0;
}

/*
 * The last batch of a consumer may hold more than one stop; the extra ones
 * belong to the other consumers, so they are nacked back to the queue and
 * the rest acked one by one.
 */
static int bb_finish_batch(struct bb_client *c, struct bus_message *m, int n)
{
	bool stopped = false;
	int i, ret;

	for (i = 0; i < n; i++) {
		if (bb_is_stop(&m[i]) && stopped) {
			ret = bus_nack(c->in, &m[i]);
		} else {
			stopped = stopped || bb_is_stop(&m[i]);
			ret = bus_ack(c->in, &m[i]);
		}
		if (ret < 0)
			return bb_fail("ack/nack", c->bus, ret);
	}
	return 0;
}

static int bb_consume_batches(struct bb_shared *s, struct bb_client *c,
			      uint64_t *last, uint64_t *received)
{
	struct bus_message m[BB_BATCH_MAX];
	unsigned int stops = 0;
	int n, i, ret;

	while (stops == 0) {
		n = bus_receive_batch(c->in, m, s->batch, BUS_FOREVER);
		if (n <= 0)
			return bb_fail("receive batch", c->bus, n ? n : -EIO);
		for (i = 0; i < n; i++) {
			if (bb_is_stop(&m[i])) {
				stops++;
				continue;
			}
			ret = bb_check_stream(s, &m[i], last);
			if (ret)
				return ret;
			++*received;
		}
		if (stops)
			return bb_finish_batch(c, m, n);
		ret = bus_ack_through(c->in, &m[n - 1]);
		if (ret < 0)
			return bb_fail("ack through", c->bus, ret);
	}
	return 0;
}

static int bb_consumer(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	unsigned int k = index - s->producers;
	uint64_t last[BENCH_MAX_PROCS] = { 0 };
	struct bb_client c;
	int ret;

	ret = bb_open(s, &c, NULL, s->request);
	bench_barrier_wait(&s->barrier, s->producers + s->consumers);
	if (ret == 0 && s->batch > 1)
		ret = bb_consume_batches(s, &c, last, &s->received[k]);
	else if (ret == 0)
		ret = bb_consume_single(s, &c, last, &s->received[k]);
	s->end_ns[k] = bench_now_ns();
	bb_close(&c);
	return ret;
}

/* ---- queues ------------------------------------------------------------ */

static int bb_create_queues(struct bb_shared *s, uint32_t max_message,
			    unsigned int slots, bool two)
{
	struct bus_queue_settings st;
	bus_t *bus;
	int ret;

	ret = bus_connect(s->bus_name, &bus);
	if (ret < 0)
		return bb_fail("connect", NULL, ret);
	bus_queue_settings_default(&st);
	st.type = s->spsc ? BUS_QUEUE_SPSC : BUS_QUEUE_MPMC;
	st.slots = slots;
	st.max_message = max_message;
	st.max_unacked = s->batch > 64 ? s->batch : 64;
	if (st.max_unacked > slots)
		st.max_unacked = slots;
	if (s->spsc)
		st.max_producers = st.max_consumers = 1;
	if (s->via_route)
		st.header_room = 64; /* the routing key */
	if (s->spsc)
		st.ring_bytes = s->ring_bytes;
	ret = bus_queue_create(bus, s->request, &st);
	if (ret < 0)
		bb_fail(s->request, bus, ret);
	if (ret == 0 && two) {
		ret = bus_queue_create(bus, s->reply, &st);
		if (ret < 0)
			bb_fail(s->reply, bus, ret);
	}
	bus_disconnect(bus);
	return ret;
}

static void bb_delete_queues(struct bb_shared *s)
{
	bus_t *bus;

	if (bus_connect(s->bus_name, &bus) < 0)
		return;
	bus_queue_delete(bus, s->request);
	bus_queue_delete(bus, s->reply);
	bus_disconnect(bus);
}

/* ---- the benches ------------------------------------------------------- */

static struct bench_row bb_row(const struct bb_shared *s,
			       const struct bench_options *o)
{
	return (struct bench_row){
		.bench = o->bench,
		.transport = "bus",
		.mode = o->mode,
		.size = s->size,
		.producers = s->producers,
		.consumers = s->consumers,
		.batch = s->batch,
		.timestamps = !o->no_timestamp,
		.queue = s->spsc ? "spsc" : "mpmc",
	};
}

/* Round trips at a size: all of them up to 4 KiB, fewer above. */
static uint64_t bb_size_rounds(uint64_t count, size_t size)
{
	uint64_t n = size <= 4096 ? count : count * 4096 / size;

	return n < 20 ? 20 : n;
}

static int bb_run_pair(struct bb_shared *s, const struct bench_options *o,
		       bench_child_fn a, bench_child_fn b)
{
	return bench_run(
		(const struct bench_child[]){
			{ o->cpu[1], b, s, 1 },
			{ o->cpu[0], a, s, 0 },
		},
		2, o->timeout_s);
}

static int bb_pingpong(struct bb_shared *s, const struct bench_options *o,
		       bool sweep)
{
	unsigned int slots = o->slots, i;
	uint32_t max = 0;
	int ret;

	s->spsc = true;
	for (i = 0; i < o->size_count; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	/* Megabyte messages: few slots, or /dev/shm fills up. */
	if (sweep && !o->slots_given)
		slots = BB_SIZE_SLOTS;
	ret = bb_create_queues(s, max, slots, true);
	for (i = 0; ret == 0 && i < o->size_count; i++) {
		struct bench_row row;

		hist_reset(&s->hist);
		s->size = o->sizes[i];
		s->rounds = sweep ? bb_size_rounds(o->count, s->size)
				  : o->count;
		s->total =
			s->rounds + (sweep ? (s->rounds + 9) / 10 : o->warmup);
		ret = bb_run_pair(s, o, bb_pinger, bb_ponger);
		s->seq_base += s->total;
		if (ret)
			break;
		row = bb_row(s, o);
		row.count = s->hist.count;
		row.hist = &s->hist;
		row.msgs_per_s = s->rounds * 1e9 / (double)s->elapsed_ns;
		bench_row_print(&row, o);
	}
	bb_delete_queues(s);
	return ret;
}

static int bb_oneway(struct bb_shared *s, const struct bench_options *o)
{
	struct bench_row row;
	int ret;

	s->spsc = true;
	s->size = o->sizes[0];
	s->rounds = o->count_given ? o->count
				   : (uint64_t)(o->seconds * (double)o->rate);
	s->total = s->rounds + o->warmup;
	s->period_ns = 1000000000ull / o->rate;
	ret = bb_create_queues(s, s->size, o->slots, false);
	if (ret == 0)
		ret = bb_run_pair(s, o, bb_oneway_sender, bb_oneway_receiver);
	bb_delete_queues(s);
	if (ret)
		return ret;
	row = bb_row(s, o);
	row.count = s->hist.count;
	row.hist = &s->hist;
	row.raw_hist = &s->raw_hist;
	row.rate = o->rate;
	row.msgs_per_s =
		s->total * 1e9 / (double)(s->end_ns[0] - s->start_ns[0]);
	bench_row_print(&row, o);
	return 0;
}

static int bb_throughput(struct bb_shared *s, const struct bench_options *o)
{
	struct bench_child children[BENCH_MAX_PROCS];
	uint64_t start = UINT64_MAX, end = 0, received = 0;
	unsigned int i, n = s->producers + s->consumers;
	struct bench_row row;
	int ret;

	s->spsc = !o->queue_type || strcmp(o->queue_type, "mpmc") != 0;
	if (s->spsc && (s->producers > 1 || s->consumers > 1)) {
		fprintf(stderr, "an SPSC queue has one producer and one "
				"consumer: use --queue-type mpmc\n");
		return -EINVAL;
	}
	s->size = o->sizes[0];
	s->total = o->count;
	for (i = 0; i < n; i++)
		children[i] = (struct bench_child){
			i < s->producers ? o->cpu[0] : o->cpu[1],
			i < s->producers ? bb_producer : bb_consumer,
			s,
			i,
		};
	ret = bb_create_queues(s, s->size, o->slots, false);
	if (ret == 0)
		ret = bench_run(children, n, o->timeout_s);
	bb_delete_queues(s);
	if (ret)
		return ret;
	for (i = 0; i < s->producers; i++)
		start = s->start_ns[i] < start ? s->start_ns[i] : start;
	for (i = 0; i < s->consumers; i++) {
		end = s->end_ns[i] > end ? s->end_ns[i] : end;
		received += s->received[i];
	}
	if (received != s->total) {
		fprintf(stderr,
			"bus-bench: %llu messages sent, %llu "
			"received\n",
			(unsigned long long)s->total,
			(unsigned long long)received);
		return -EBADMSG;
	}
	row = bb_row(s, o);
	row.count = s->total;
	row.msgs_per_s = s->total * 1e9 / (double)(end - start);
	bench_row_print(&row, o);
	return 0;
}

/* ---- through a route ----------------------------------------------------- */

static int bb_route_add(struct bb_shared *s, bool add)
{
	struct bus_route route = { .kind = BUS_ROUTE_RULE, .target_count = 1 };
	bus_t *bus;
	int ret = bus_connect(s->bus_name, &bus);

	if (ret < 0)
		return bb_fail("connect", NULL, ret);
	memcpy(route.name, s->address, sizeof(route.name));
	memcpy(route.from, s->address, sizeof(route.from));
	strcpy(route.key, "bench.*");
	memcpy(route.targets[0], s->request, sizeof(route.targets[0]));
	ret = add ? bus_route_add(bus, &route)
		  : bus_route_delete(bus, BUS_ROUTE_RULE, route.name);
	if (ret < 0)
		bb_fail("route", bus, ret);
	bus_disconnect(bus);
	return ret;
}

/* One stream, directly (via_route false) or through the route. */
static int bb_route_run(struct bb_shared *s, const struct bench_options *o,
			bool via_route, bool with_key)
{
	struct bench_row row;
	int ret;

	s->via_route = via_route;
	s->with_key = with_key;
	s->producers_done = 0;
	s->received[0] = 0;
	ret = bench_run(
		(const struct bench_child[]){
			{ o->cpu[0], bb_producer, s, 0 },
			{ o->cpu[1], bb_consumer, s, 1 },
		},
		2, o->timeout_s);
	if (ret)
		return ret;
	if (s->received[0] != s->total) {
		fprintf(stderr, "bus-bench: %llu sent, %llu received\n",
			(unsigned long long)s->total,
			(unsigned long long)s->received[0]);
		return -EBADMSG;
	}
	row = bb_row(s, o);
	row.transport = via_route ? "bus-route" : with_key ? "bus-key" : "bus";
	row.count = s->total;
	row.msgs_per_s =
		s->total * 1e9 / (double)(s->end_ns[0] - s->start_ns[0]);
	row.pub_ns_per_msg = (double)s->publish_ns / (double)s->total;
	bench_row_print(&row, o);
	return 0;
}

static int bb_route(struct bb_shared *s, const struct bench_options *o)
{
	int ret;

	s->spsc = true;
	s->producers = s->consumers = s->batch = 1;
	s->size = o->sizes[0];
	s->total = o->count;
	snprintf(s->address, sizeof(s->address), "perf-%d-via", (int)getpid());
	s->via_route = true; /* the queue gets header room for the key */
	ret = bb_create_queues(s, s->size, o->slots, false);
	if (ret == 0)
		ret = bb_route_add(s, true);
	/* Direct, direct with the key, then routed, on the same queue. */
	if (ret == 0)
		ret = bb_route_run(s, o, false, false);
	if (ret == 0)
		ret = bb_route_run(s, o, false, true);
	if (ret == 0)
		ret = bb_route_run(s, o, true, true);
	bb_route_add(s, false);
	bb_delete_queues(s);
	return ret;
}

/* ---- fan-out over a topic --------------------------------------------- */

/*
 * The publisher is paced like the one-way sender (period_ns 0: not paced).
 * Its cost is the wall time from the pacing loop's last clock read to the
 * read after the commit, summed over the measured messages: the time a
 * publishing thread gives to the bus, including any wait for the slowest
 * subscriber under the block policy, excluding the wait for its own
 * schedule.  Unpaced, it is the run's wall time per measured message
 * (no clock read per message: see the loop).
 */
static int bb_fanout_publisher(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	uint64_t i, t0 = 0, start = 0, due = 0, warmup = s->total - s->rounds;
	struct bus_message m;
	bus_topic_t *topic = NULL;
	bus_t *bus = NULL;
	int ret;

	ret = bus_connect(s->bus_name, &bus);
	if (ret < 0)
		ret = bb_fail("connect", NULL, ret);
	else if ((ret = bus_topic_open(bus, s->topic, BUS_PRODUCER,
				       &s->options, &topic)) < 0)
		ret = bb_fail(s->topic, bus, ret);
	bench_barrier_wait(&s->barrier, s->consumers + 1);
	s->publish_ns = 0;
	start = bench_now_ns() + 1000000;
	/* Unpaced, the publisher's cost is the run's time per message: no
	 * clock read per message (two of them cost more than a publish on a
	 * VM without a usable TSC), as the floors read none either. */
	for (i = 0; ret == 0 && i < s->total; i++) {
		if (s->period_ns) {
			due = start + i * s->period_ns;
			while ((t0 = bench_now_ns()) < due)
				bench_relax();
		} else if (i == warmup) {
			t0 = due = bench_now_ns();
		}
		if (i == warmup)
			s->start_ns[0] = due;
		ret = bus_topic_loan(topic, &m, BUS_FOREVER);
		if (ret < 0) {
			ret = bb_fail("topic loan", bus, ret);
			break;
		}
		bench_payload_write(m.payload, s->size, s->seq_base + i + 1);
		ret = bus_topic_commit(topic, &m, s->size);
		if (ret < 0) {
			ret = bb_fail("topic commit", bus, ret);
			break;
		}
		if (s->period_ns && i >= warmup)
			s->publish_ns += bench_now_ns() - t0;
	}
	s->end_ns[0] = bench_now_ns();
	if (!s->period_ns)
		s->publish_ns = s->end_ns[0] - s->start_ns[0];
	if (topic)
		bus_topic_close(topic);
	bus_disconnect(bus);
	return ret;
}

/* Receives every message in place, checks it and its order, releases it. */
static int bb_fanout_subscriber(void *arg, unsigned int index)
{
	struct bb_shared *s = arg;
	struct bus_subscribe_options so = {
		.wait = s->options.wait,
		.spin_ns = s->options.spin_ns,
		.no_latency = s->options.no_latency,
	};
	struct hist *h = &s->sub_hist[index - 1];
	uint64_t i, now, lost, warmup = s->total - s->rounds;
	bus_subscription_t *sub = NULL;
	bool sampled;
	struct bus_message m;
	bus_t *bus = NULL;
	int ret;

	ret = bus_connect(s->bus_name, &bus);
	if (ret < 0)
		ret = bb_fail("connect", NULL, ret);
	else if ((ret = bus_subscribe(bus, s->topic, &so, &sub)) < 0)
		ret = bb_fail(s->topic, bus, ret);
	/* Subscribed before the publisher starts: it sees every message. */
	bench_barrier_wait(&s->barrier, s->consumers + 1);
	for (i = 0; ret == 0 && i < s->total; i++) {
		ret = bus_subscription_receive(sub, &m, &lost, BUS_FOREVER);
		if (ret < 0) {
			ret = bb_fail("subscription receive", bus, ret);
			break;
		}
		/* Unpaced (a throughput case), one clock read in 16, as the
		 * library's own latency meter: per message it would cost the
		 * subscriber more than the receive on a VM. */
		sampled = s->period_ns || (i & 15) == 0;
		now = sampled ? bench_now_ns() : 0;
		if (lost || m.length != s->size ||
		    bench_payload_check(m.payload, s->size,
					s->seq_base + i + 1)) {
			ret = bench_payload_error("bus subscriber",
						  s->seq_base + i + 1);
			break;
		}
		if (sampled && i >= warmup && m.header->publish_time_ns)
			hist_record(h, now - m.header->publish_time_ns);
		ret = bus_subscription_release(sub);
		if (ret < 0)
			ret = bb_fail("subscription release", bus, ret);
	}
	s->received[index - 1] = i;
	if (sub)
		bus_unsubscribe(sub);
	bus_disconnect(bus);
	return ret;
}

static int bb_create_topic(struct bb_shared *s)
{
	struct bus_topic_settings st;
	bus_t *bus;
	int ret;

	ret = bus_connect(s->bus_name, &bus);
	if (ret < 0)
		return bb_fail("connect", NULL, ret);
	bus_topic_settings_default(&st);
	st.slots = s->slots;
	st.max_message = s->size;
	st.slow_subscriber = BUS_SLOW_SUBSCRIBER_BLOCK;
	st.max_publishers = 1;
	st.ring_bytes = s->ring_bytes;
	st.record = s->record;
	/* A long run writes gigabytes: keep the newest 256 MiB. */
	if (s->record)
		st.retain_mib = 256;
	if (st.max_subscribers < s->consumers)
		st.max_subscribers = s->consumers;
	ret = bus_topic_create(bus, s->topic, &st);
	if (ret < 0)
		bb_fail(s->topic, bus, ret);
	bus_disconnect(bus);
	return ret;
}

static void bb_delete_topic(struct bb_shared *s)
{
	bus_t *bus;

	if (bus_connect(s->bus_name, &bus) < 0)
		return;
	bus_topic_delete(bus, s->topic);
	bus_disconnect(bus);
}

/*
 * The publisher on cpu[0], the subscribers round-robin on every other CPU
 * we may use, from cpu[1] on; with two CPUs that puts them all on cpu[1].
 * Unpinned when cpu[0] is -1 or no other CPU is left.
 */
static void bb_fanout_cpus(const struct bench_options *o, unsigned int n,
			   int *cpus)
{
	int avail[CPU_SETSIZE], count = 0, first = 0, c;
	unsigned int i;
	cpu_set_t set;

	CPU_ZERO(&set);
	if (o->cpu[0] >= 0 && sched_getaffinity(0, sizeof(set), &set) == 0)
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set) && c != o->cpu[0])
				avail[count++] = c;
	for (c = 0; c < count; c++)
		if (avail[c] == o->cpu[1])
			first = c;
	for (i = 0; i < n; i++)
		cpus[i] = count ? avail[(first + (int)i) % count] : -1;
	if (count && count < (int)n)
		fprintf(stderr,
			"bus-bench: fanout: %u subscribers share %d "
			"CPU%s besides the publisher's\n",
			n, count, count > 1 ? "s" : "");
}

static int bb_fanout(struct bb_shared *s, const struct bench_options *o)
{
	struct bench_child children[BENCH_MAX_PROCS];
	int cpus[BENCH_MAX_PROCS];
	unsigned int i, n = o->subscribers;
	uint64_t received = 0;
	struct bench_row row;
	int ret;

	if (o->no_timestamp) {
		fprintf(stderr, "fanout measures from the publish timestamp: "
				"no --no-timestamp\n");
		return -EINVAL;
	}
	s->consumers = n;
	s->size = o->sizes[0];
	s->slots = o->slots;
	s->rounds = o->count;
	s->total = s->rounds + o->warmup;
	s->period_ns = o->rate ? 1000000000ull / o->rate : 0;
	bb_fanout_cpus(o, n, cpus);
	/* Subscribers first: the publisher's CPU is the last one busied. */
	for (i = 0; i < n; i++) {
		children[i] = (struct bench_child){
			cpus[i],
			bb_fanout_subscriber,
			s,
			i + 1,
		};
		hist_reset(&s->sub_hist[i]);
	}
	children[n] =
		(struct bench_child){ o->cpu[0], bb_fanout_publisher, s, 0 };
	ret = bb_create_topic(s);
	if (ret == 0)
		ret = bench_run(children, n + 1, o->timeout_s);
	bb_delete_topic(s);
	if (ret)
		return ret;
	hist_reset(&s->hist);
	for (i = 0; i < n; i++) {
		hist_merge(&s->hist, &s->sub_hist[i]);
		received += s->received[i];
	}
	if (received != s->total * n) {
		fprintf(stderr,
			"bus-bench: %u subscribers received %llu of "
			"%llu\n",
			n, (unsigned long long)received,
			(unsigned long long)(s->total * n));
		return -EBADMSG;
	}
	row = bb_row(s, o);
	row.queue = NULL;
	row.producers = 1;
	row.consumers = 0;
	row.subscribers = n;
	row.count = s->rounds;
	row.hist = &s->hist;
	row.rate = o->rate;
	row.msgs_per_s =
		s->rounds * 1e9 / (double)(s->end_ns[0] - s->start_ns[0]);
	row.pub_ns_per_msg = (double)s->publish_ns / (double)s->rounds;
	bench_row_print(&row, o);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static const char usage[] =
	"Usage: bus-bench -b BUS --bench pingpong|size|oneway|throughput|"
	"fanout|route [options]\n"
	"Measures the bus through its public API; busd must serve BUS.\n"
	"  -m, --mode M          busy, spin-futex or futex (default busy)\n"
	"      --spin-ns N       spin phase of spin-futex (default 2000)\n"
	"      --no-timestamp    producers leave publish_time_ns at 0\n"
	"      --no-latency      receivers keep no latency histogram\n"
	"      --slots N         ring slots (default 1024; size: 4)\n"
	"      --rate R          oneway: messages per second\n"
	"      --seconds S       oneway: sending time without --count\n"
	"      --producers P, --consumers C, --batch B, --queue-type T\n"
	"                        throughput\n"
	"      --copy            throughput: batches by bus_send_batch\n"
	"      --ring-bytes N    spsc queues and the topic pack their\n"
	"                        messages in an arena of N bytes\n"
	"      --record          fanout: a recorded topic (busd needs a\n"
	"                        data_dir)\n"
	"      --subscribers N   fanout: subscriber processes (default 1)\n"
	"      --rate R          fanout: publishes per second (0: unpaced)\n";

static const uint32_t default_sizes[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
};

static int bb_wait_strategy(const char *mode, enum bus_wait_strategy *wait)
{
	if (strcmp(mode, "busy") == 0)
		*wait = BUS_WAIT_BUSY;
	else if (strcmp(mode, "spin-futex") == 0)
		*wait = BUS_WAIT_SPIN_FUTEX;
	else if (strcmp(mode, "futex") == 0)
		*wait = BUS_WAIT_FUTEX;
	else
		return -EINVAL;
	return 0;
}

static int bb_setup(struct bb_shared *s, struct bench_options *o)
{
	unsigned int i;

	if (bb_wait_strategy(o->mode, &s->options.wait)) {
		fprintf(stderr, "--mode must be busy, spin-futex or futex\n");
		return -EINVAL;
	}
	if (o->batch > BB_BATCH_MAX || o->sizes[0] > 512 * 1024 * 1024u ||
	    (strcmp(o->bench, "throughput") == 0 && o->sizes[0] > 512)) {
		fprintf(stderr,
			"--batch at most %u, throughput --size at "
			"most 512\n",
			BB_BATCH_MAX);
		return -EINVAL;
	}
	if (strcmp(o->bench, "size") == 0 && !o->sizes_given) {
		o->size_count =
			sizeof(default_sizes) / sizeof(default_sizes[0]);
		for (i = 0; i < o->size_count; i++)
			o->sizes[i] = default_sizes[i];
	}
	s->options.spin_ns = o->spin_ns;
	s->options.no_timestamp = o->no_timestamp;
	s->options.no_latency = o->no_latency;
	s->producers = o->producers;
	s->consumers = o->consumers;
	s->batch = o->batch;
	s->copy = o->copy;
	s->ring_bytes = o->ring_bytes;
	s->record = o->record;
	hist_reset(&s->hist);
	hist_reset(&s->raw_hist);
	snprintf(s->bus_name, sizeof(s->bus_name), "%s",
		 o->bus_name	      ? o->bus_name
		 : getenv("BUS_NAME") ? getenv("BUS_NAME")
				      : "default");
	snprintf(s->request, sizeof(s->request), "perf-%d-a", (int)getpid());
	snprintf(s->reply, sizeof(s->reply), "perf-%d-b", (int)getpid());
	snprintf(s->topic, sizeof(s->topic), "perf-%d-t", (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_options o;
	struct bb_shared *s;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	if (bb_setup(s, &o))
		return 2;
	if (strcmp(o.bench, "pingpong") == 0)
		ret = bb_pingpong(s, &o, false);
	else if (strcmp(o.bench, "size") == 0)
		ret = bb_pingpong(s, &o, true);
	else if (strcmp(o.bench, "oneway") == 0)
		ret = bb_oneway(s, &o);
	else if (strcmp(o.bench, "throughput") == 0)
		ret = bb_throughput(s, &o);
	else if (strcmp(o.bench, "fanout") == 0)
		ret = bb_fanout(s, &o);
	else if (strcmp(o.bench, "route") == 0)
		ret = bb_route(s, &o);
	else {
		fprintf(stderr, "unknown --bench %s\n", o.bench);
		return 2;
	}
	return ret ? 1 : 0;
}
