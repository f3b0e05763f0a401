/* SPDX-License-Identifier: MIT */
/*
 * busctl bench: a topic fanned out to one subscriber, the publisher
 * unpaced (perf's tp-bus-topic-1).  The temporary topic has the block
 * policy, so every message reaches the subscriber and the rate is the
 * slower side's.  The subscription is made before the publisher starts:
 * it sees every message.  Latency runs from the publish stamp to the
 * receive, as for streaming.
 */
#include <errno.h>
#include <string.h>

#include "bench.h"
#include "bench_bus.h"

struct busctl_bench_fo {
	struct busctl_bench *bench;
	bus_topic_t *topic;
	bus_subscription_t *sub;
	struct hist *hist;
	uint64_t total, rounds, elapsed_ns;
	/* As for streaming: from the loan of the first measured message,
	 * ordered by the topic from publisher to subscriber. */
	_Atomic uint64_t start_ns;
};

static int busctl_bench_fo_publisher(void *arg)
{
	struct busctl_bench_fo *fo = arg;
	uint32_t size = fo->bench->options.size;
	struct bus_message m;
	int ret;

	for (uint64_t seq = 1; seq <= fo->total; seq++) {
		if (seq == fo->total - fo->rounds + 1)
			busctl_bench_mark_start(&fo->start_ns);
		ret = bus_topic_loan(fo->topic, &m, BUS_FOREVER);
		if (ret < 0)
			return busctl_bench_side_fail(fo->bench, ret,
						      "topic loan");
		bench_payload_write(m.payload, size, seq);
		ret = bus_topic_commit(fo->topic, &m, size);
		if (ret < 0)
			return busctl_bench_side_fail(fo->bench, ret,
						      "topic commit");
	}
	return 0;
}

static int busctl_bench_fo_subscriber(void *arg)
{
	struct busctl_bench_fo *fo = arg;
	uint32_t size = fo->bench->options.size;
	uint64_t now, lost, warmup = fo->total - fo->rounds;
	struct bus_message m;
	int ret;

	for (uint64_t seq = 1; seq <= fo->total; seq++) {
		ret = bus_subscription_receive(fo->sub, &m, &lost,
					       BUS_FOREVER);
		if (ret < 0)
			return busctl_bench_side_fail(fo->bench, ret,
						      "subscription receive");
		now = bench_now_ns();
		if (lost || m.length != size ||
		    bench_payload_check(m.payload, size, seq))
			return busctl_bench_payload_fail(fo->bench,
							 "subscriber", seq);
		if (seq > warmup && m.header->publish_time_ns)
			hist_record(fo->hist,
				    now > m.header->publish_time_ns
					    ? now - m.header->publish_time_ns
					    : 0);
		ret = bus_subscription_release(fo->sub);
		if (ret < 0)
			return busctl_bench_side_fail(fo->bench, ret,
						      "subscription release");
	}
	fo->elapsed_ns = busctl_bench_since_start(&fo->start_ns);
	return 0;
}

static int busctl_bench_fo_open(struct busctl_bench_fo *fo, const char *name)
{
	struct busctl_bench *b = fo->bench;
	struct bus_subscribe_options so = { .wait = BUS_WAIT_SPIN_FUTEX };
	int ret;

	ret = bus_subscribe(b->ctl->bus, name, &so, &fo->sub);
	if (ret < 0) {
		fo->sub = NULL;
		busctl_fail(b->ctl, ret, "bench: subscribe %s", name);
		return ret;
	}
	ret = busctl_bench_watch(&b->stop, BUSCTL_BENCH_SUBSCRIPTION, fo->sub);
	if (!ret)
		ret = bus_topic_open(b->ctl->bus, name, BUS_PRODUCER, NULL,
				     &fo->topic);
	if (ret < 0) {
		fo->topic = NULL;
		busctl_fail(b->ctl, ret, "bench: open %s", name);
		return ret;
	}
	ret = busctl_bench_watch(&b->stop, BUSCTL_BENCH_TOPIC, fo->topic);
	if (ret < 0)
		busctl_error("bench: %s", strerror(-ret));
	return ret;
}

static void busctl_bench_fo_close(struct busctl_bench_fo *fo)
{
	if (fo->topic) {
		busctl_bench_forget(&fo->bench->stop, fo->topic);
		bus_topic_close(fo->topic);
	}
	if (fo->sub) {
		busctl_bench_forget(&fo->bench->stop, fo->sub);
		bus_unsubscribe(fo->sub);
	}
}

int busctl_bench_fanout(struct busctl_bench *b,
			struct busctl_bench_result *result)
{
	struct busctl_bench_fo fo = {
		.bench = b,
		.hist = result->hist,
		.total = b->options.count + b->options.warmup,
		.rounds = b->options.count,
	};
	char name[BUSCTL_BENCH_NAME_MAX];
	int ret;

	busctl_bench_name(b, "fanout", name, sizeof(name));
	ret = busctl_bench_create_topic(b, name);
	if (ret < 0)
		return ret;
	ret = busctl_bench_fo_open(&fo, name);
	if (!ret)
		ret = busctl_bench_pair(b, busctl_bench_fo_publisher,
					busctl_bench_fo_subscriber, &fo);
	busctl_bench_fo_close(&fo);
	if (busctl_bench_delete(b, name) < 0 && !ret)
		ret = -EIO;
	result->name = "fanout-1";
	result->transport = "bus";
	result->wait = busctl_bench_wait_name(BUS_WAIT_SPIN_FUTEX);
	result->measures = "publish to receive";
	result->size = b->options.size;
	result->batch = 1;
	if (!ret)
		result->msgs_per_s = fo.rounds * 1e9 / (double)fo.elapsed_ns;
	return ret;
}
