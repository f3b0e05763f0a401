/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: streaming through one temporary spsc queue, as fast as it
 * takes messages; with batch > 1 the producer loans and commits batch
 * slots per call (bus_loan_batch, bus_commit_batch) and the consumer
 * receives and acks as many per call (bus_receive_batch,
 * bus_ack_through).  The rate runs from the loan of the first measured
 * message to the receive of the last.  The latency runs from each message's publish
 * stamp to its receive: with the ring full most of the time it is mostly
 * the wait in the queue, which is what a saturated consumer sees.
 */
#include <errno.h>
#include <stdbool.h>

#include "bench.h"
#include "bench_bus.h"

#define BUSCTL_BENCH_BATCH_MAX 64u

struct busctl_bench_st {
	struct busctl_bench *bench;
	bus_queue_t *out, *in;
	unsigned int batch;
	struct hist *hist;
	uint64_t total, rounds, elapsed_ns;
	/* When the producer loaned the first measured message: the rate
	 * runs from there, not from the consumer's first receive, which
	 * would find a ring filled ahead of it.  Written before that
	 * message's commit, read after its receive: the queue orders it. */
	_Atomic uint64_t start_ns;
};

static int busctl_bench_st_produce(struct busctl_bench_st *st, uint64_t next,
				   unsigned int want)
{
	struct bus_message m[BUSCTL_BENCH_BATCH_MAX];
	uint32_t size = st->bench->options.size;
	int got, ret;

	got = bus_loan_batch(st->out, m, want, BUS_FOREVER);
	if (got < 0)
		return busctl_bench_side_fail(st->bench, got, "loan");
	for (int k = 0; k < got; k++) {
		bench_payload_write(m[k].payload, size, next + (uint64_t)k);
		m[k].length = size;
	}
	ret = bus_commit_batch(st->out, m, (unsigned int)got);
	if (ret != got)
		return busctl_bench_side_fail(st->bench, ret < 0 ? ret : -EIO,
					      "commit");
	return got;
}

static int busctl_bench_st_producer(void *arg)
{
	struct busctl_bench_st *st = arg;
	bool started = false;
	uint64_t seq = 1;
	int ret = 0;

	while (seq <= st->total) {
		uint64_t left = st->total - seq + 1;

		if (!started && seq + st->batch > st->total - st->rounds) {
			busctl_bench_mark_start(&st->start_ns);
			started = true;
		}
		ret = busctl_bench_st_produce(
			st, seq,
			left < st->batch ? (unsigned int)left : st->batch);
		if (ret < 0)
			return ret;
		seq += (uint64_t)ret;
	}
	return 0;
}

/* Checks the messages of one receive call, counts their latency, acks
 * them all with one call. */
static int busctl_bench_st_take(struct busctl_bench_st *st,
				const struct bus_message *m, int got,
				uint64_t seq)
{
	uint32_t size = st->bench->options.size;
	uint64_t warmup = st->total - st->rounds, now = bench_now_ns();
	int ret;

	for (int k = 0; k < got; k++, seq++) {
		uint64_t stamp = m[k].header->publish_time_ns;

		if (m[k].length != size ||
		    bench_payload_check(m[k].payload, size, seq))
			return busctl_bench_payload_fail(st->bench, "consumer",
							 seq);
		if (seq > warmup && stamp)
			hist_record(st->hist, now > stamp ? now - stamp : 0);
	}
	ret = bus_ack_through(st->in, &m[got - 1]);
	if (ret < 0)
		return busctl_bench_side_fail(st->bench, ret, "ack");
	return 0;
}

static int busctl_bench_st_consumer(void *arg)
{
	struct busctl_bench_st *st = arg;
	struct bus_message m[BUSCTL_BENCH_BATCH_MAX];
	uint64_t seq = 1;
	int got, ret;

	while (seq <= st->total) {
		uint64_t left = st->total - seq + 1;

		got = bus_receive_batch(st->in, m,
					left < st->batch ? (unsigned int)left
							 : st->batch,
					BUS_FOREVER);
		if (got < 0)
			return busctl_bench_side_fail(st->bench, got,
						      "receive");
		ret = busctl_bench_st_take(st, m, got, seq);
		if (ret)
			return ret;
		seq += (uint64_t)got;
	}
	st->elapsed_ns = busctl_bench_since_start(&st->start_ns);
	return 0;
}

int busctl_bench_stream(struct busctl_bench *b, unsigned int batch,
			struct busctl_bench_result *result)
{
	struct busctl_bench_st st = {
		.bench = b,
		.hist = result->hist,
		.batch = batch > BUSCTL_BENCH_BATCH_MAX
				 ? BUSCTL_BENCH_BATCH_MAX
				 : batch,
		.total = b->options.count + b->options.warmup,
		.rounds = b->options.count,
	};
	char name[BUSCTL_BENCH_NAME_MAX];
	int ret;

	busctl_bench_name(b, "stream", name, sizeof(name));
	ret = busctl_bench_create_queue(b, name, st.batch);
	if (ret < 0)
		return ret;
	ret = busctl_bench_open_queue(b, name, BUS_PRODUCER,
				      BUS_WAIT_SPIN_FUTEX, &st.out);
	if (!ret)
		ret = busctl_bench_open_queue(b, name, BUS_CONSUMER,
					      BUS_WAIT_SPIN_FUTEX, &st.in);
	if (!ret)
		ret = busctl_bench_pair(b, busctl_bench_st_producer,
					busctl_bench_st_consumer, &st);
	busctl_bench_close_queue(b, st.out);
	busctl_bench_close_queue(b, st.in);
	if (busctl_bench_delete(b, name) < 0 && !ret)
		ret = -EIO;
	result->name = st.batch > 1 ? "stream-batch" : "stream";
	result->transport = "bus";
	result->wait = busctl_bench_wait_name(BUS_WAIT_SPIN_FUTEX);
	result->measures = "publish to receive";
	result->size = b->options.size;
	result->batch = st.batch;
	if (!ret)
		result->msgs_per_s = st.rounds * 1e9 / (double)st.elapsed_ns;
	return ret;
}
