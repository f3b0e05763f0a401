/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: the bus's round trip, as perf/bus-bench's ping-pong does
 * it.  Two temporary spsc queues, ping and pong; the pinger loans a slot,
 * writes every word of the payload in place, commits, then receives the
 * answer, checks it in place and acks it; the ponger does the same the
 * other way.  A sample is two clock reads around one round trip, as the
 * floor's is, so the ratio compares like with like.
 */
#include <errno.h>

#include "bench.h"
#include "bench_bus.h"

struct busctl_bench_rt {
	struct busctl_bench *bench;
	bus_queue_t *ping_out, *ping_in, *pong_out, *pong_in;
	struct hist *hist;
	uint64_t total, rounds, elapsed_ns;
};

static int busctl_bench_rt_send(struct busctl_bench_rt *rt, bus_queue_t *q,
				uint64_t seq)
{
	uint32_t size = rt->bench->options.size;
	struct bus_message m;
	int ret;

	ret = bus_loan(q, &m, BUS_FOREVER);
	if (ret < 0)
		return busctl_bench_side_fail(rt->bench, ret, "loan");
	bench_payload_write(m.payload, size, seq);
	ret = bus_commit(q, &m, size);
	if (ret < 0)
		return busctl_bench_side_fail(rt->bench, ret, "commit");
	return 0;
}

static int busctl_bench_rt_receive(struct busctl_bench_rt *rt, bus_queue_t *q,
				   uint64_t seq, const char *who)
{
	uint32_t size = rt->bench->options.size;
	struct bus_message m;
	int ret;

	ret = bus_receive(q, &m, BUS_FOREVER);
	if (ret < 0)
		return busctl_bench_side_fail(rt->bench, ret, "receive");
	if (m.length != size || bench_payload_check(m.payload, size, seq))
		return busctl_bench_payload_fail(rt->bench, who, seq);
	ret = bus_ack(q, &m);
	if (ret < 0)
		return busctl_bench_side_fail(rt->bench, ret, "ack");
	return 0;
}

static int busctl_bench_rt_pinger(void *arg)
{
	struct busctl_bench_rt *rt = arg;
	uint64_t seq, start = 0, warmup = rt->total - rt->rounds;
	int ret = 0;

	for (seq = 1; ret == 0 && seq <= rt->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == warmup + 1)
			start = t0;
		ret = busctl_bench_rt_send(rt, rt->ping_out, seq);
		if (ret == 0)
			ret = busctl_bench_rt_receive(rt, rt->pong_in, seq,
						      "pinger");
		if (ret == 0 && seq > warmup)
			hist_record(rt->hist, bench_now_ns() - t0);
	}
	rt->elapsed_ns = bench_now_ns() - start;
	return ret;
}

static int busctl_bench_rt_ponger(void *arg)
{
	struct busctl_bench_rt *rt = arg;
	uint64_t seq;
	int ret = 0;

	for (seq = 1; ret == 0 && seq <= rt->total; seq++) {
		ret = busctl_bench_rt_receive(rt, rt->ping_in, seq, "ponger");
		if (ret == 0)
			ret = busctl_bench_rt_send(rt, rt->pong_out, seq);
	}
	return ret;
}

static int busctl_bench_rt_open(struct busctl_bench_rt *rt, const char *ping,
				const char *pong, enum bus_wait_strategy wait)
{
	struct busctl_bench *b = rt->bench;
	int ret;

	ret = busctl_bench_open_queue(b, ping, BUS_PRODUCER, wait,
				      &rt->ping_out);
	if (!ret)
		ret = busctl_bench_open_queue(b, ping, BUS_CONSUMER, wait,
					      &rt->ping_in);
	if (!ret)
		ret = busctl_bench_open_queue(b, pong, BUS_PRODUCER, wait,
					      &rt->pong_out);
	if (!ret)
		ret = busctl_bench_open_queue(b, pong, BUS_CONSUMER, wait,
					      &rt->pong_in);
	return ret;
}

static void busctl_bench_rt_close(struct busctl_bench_rt *rt)
{
	busctl_bench_close_queue(rt->bench, rt->ping_out);
	busctl_bench_close_queue(rt->bench, rt->ping_in);
	busctl_bench_close_queue(rt->bench, rt->pong_out);
	busctl_bench_close_queue(rt->bench, rt->pong_in);
}

int busctl_bench_roundtrip(struct busctl_bench *b, enum bus_wait_strategy wait,
			   struct busctl_bench_result *result)
{
	struct busctl_bench_rt rt = {
		.bench = b,
		.hist = result->hist,
		.total = b->options.count + b->options.warmup,
		.rounds = b->options.count,
	};
	char ping[BUSCTL_BENCH_NAME_MAX], pong[BUSCTL_BENCH_NAME_MAX];
	int ret, pong_ret = -1;

	busctl_bench_name(b, "ping", ping, sizeof(ping));
	busctl_bench_name(b, "pong", pong, sizeof(pong));
	ret = busctl_bench_create_queue(b, ping, 0);
	if (ret < 0)
		return ret;
	ret = pong_ret = busctl_bench_create_queue(b, pong, 0);
	if (!ret)
		ret = busctl_bench_rt_open(&rt, ping, pong, wait);
	if (!ret)
		ret = busctl_bench_pair(b, busctl_bench_rt_pinger,
					busctl_bench_rt_ponger, &rt);
	busctl_bench_rt_close(&rt);
	if (busctl_bench_delete(b, ping) < 0 && !ret)
		ret = -EIO;
	if (pong_ret == 0 && busctl_bench_delete(b, pong) < 0 && !ret)
		ret = -EIO;
	result->name = "roundtrip";
	result->transport = "bus";
	result->wait = busctl_bench_wait_name(wait);
	result->measures = "round trip";
	result->size = b->options.size;
	result->batch = 1;
	if (!ret)
		result->msgs_per_s = rt.rounds * 1e9 / (double)rt.elapsed_ns;
	return ret;
}
