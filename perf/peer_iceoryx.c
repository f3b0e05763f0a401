/* SPDX-License-Identifier: MIT */
/*
 * peer-iceoryx: round trip through Eclipse iceoryx (the Debian package,
 * 2.0.x) with its C binding, busy-polling, as the nearest shared-memory
 * peer of the bus.
 *
 * Two processes, each with its own iceoryx runtime: the pinger publishes
 * on "ping" and subscribes to "pong", the ponger the other way round.  The
 * sender loans a chunk, writes the payload in it and publishes it; the
 * receiver takes the chunk, checks the payload in place and releases it.
 * A running iox-roudi is needed (perf/run starts its own).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"

#include "bench.h"

struct iceoryx_shared {
	struct bench_barrier barrier;
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;
	uint64_t rounds;
	uint64_t elapsed_ns;
	uint32_t size;
	char instance[64]; /* unique per run, so runs never cross */
};

struct iceoryx_ends {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage;
	iox_pub_t pub;
	iox_sub_t sub;
};

static int iceoryx_open(struct iceoryx_shared *s, struct iceoryx_ends *e,
			const char *me, const char *out, const char *in)
{
	char name[96];
	iox_pub_options_t po;
	iox_sub_options_t so;
	uint64_t deadline = bench_now_ns() + 20000000000ull;

	snprintf(name, sizeof(name), "shmbus_perf_%s_%d", me, (int)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	e->pub = iox_pub_init(&e->pub_storage, "shmbus-perf", s->instance, out,
			      &po);
	iox_sub_options_init(&so);
	so.queueCapacity = 16;
	e->sub = iox_sub_init(&e->sub_storage, "shmbus-perf", s->instance, in,
			      &so);
	/* RouDi connects the ports in its discovery loop: wait for it. */
	while (iox_sub_get_subscription_state(e->sub) !=
		       SubscribeState_SUBSCRIBED ||
	       !iox_pub_has_subscribers(e->pub)) {
		if (bench_now_ns() > deadline) {
			fprintf(stderr,
				"iceoryx: %s not connected after 20 s "
				"(is iox-roudi running?)\n",
				me);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	bench_barrier_wait(&s->barrier, 2);
	return 0;
}

/*
 * Ends the child.  exit(), not the _exit() of bench_spawn: the runtime
 * unregisters from RouDi in a static destructor, and RouDi, finding a
 * registered process gone, fails its own shutdown and leaves its files.
 */
static void iceoryx_close(struct iceoryx_ends *e, int ret)
{
	iox_sub_deinit(e->sub);
	iox_pub_deinit(e->pub);
	iox_runtime_shutdown();
	exit(ret ? 1 : 0);
}

static int iceoryx_send(struct iceoryx_shared *s, struct iceoryx_ends *e,
			uint64_t seq)
{
	void *chunk;
	enum iox_AllocationResult r;

	r = iox_pub_loan_chunk(e->pub, &chunk, s->size);
	if (r != AllocationResult_SUCCESS) {
		fprintf(stderr, "iceoryx: loan failed (%d)\n", (int)r);
		return -ENOBUFS;
	}
	bench_payload_write(chunk, s->size, seq);
	iox_pub_publish_chunk(e->pub, chunk);
	return 0;
}

static int iceoryx_receive(struct iceoryx_shared *s, struct iceoryx_ends *e,
			   uint64_t seq, const char *who)
{
	const void *chunk;
	int ret = 0;

	while (iox_sub_take_chunk(e->sub, &chunk) !=
	       ChunkReceiveResult_SUCCESS)
		bench_relax();
	if (bench_payload_check(chunk, s->size, seq))
		ret = bench_payload_error(who, seq);
	iox_sub_release_chunk(e->sub, chunk);
	return ret;
}

static int iceoryx_pinger(void *arg, unsigned int index)
{
	struct iceoryx_shared *s = arg;
	struct iceoryx_ends e;
	uint64_t seq, first = s->total - s->rounds + 1, start = 0;
	int ret;

	ret = iceoryx_open(s, &e, "ping", "ping", "pong");
	for (seq = 1; ret == 0 && seq <= s->total; seq++) {
		uint64_t t0 = bench_now_ns();

		if (seq == first)
			start = t0;
		ret = iceoryx_send(s, &e, seq);
		if (ret == 0)
			ret = iceoryx_receive(s, &e, seq, "iceoryx pinger");
		if (seq >= first)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->elapsed_ns = bench_now_ns() - start;
	iceoryx_close(&e, ret);
	return ret;
}

static int iceoryx_ponger(void *arg, unsigned int index)
{
	struct iceoryx_shared *s = arg;
	struct iceoryx_ends e;
	uint64_t seq;
	int ret;

	ret = iceoryx_open(s, &e, "pong", "pong", "ping");
	for (seq = 1; ret == 0 && seq <= s->total; seq++) {
		ret = iceoryx_receive(s, &e, seq, "iceoryx ponger");
		if (ret == 0)
			ret = iceoryx_send(s, &e, seq);
	}
	/* Let the pinger take the last answer before our port goes. */
	usleep(10000);
	iceoryx_close(&e, ret);
	return ret;
}

static const char usage[] =
	"Usage: peer-iceoryx [options]\n"
	"Round trip through iceoryx publishers and subscribers, busy-poll.\n"
	"Needs a running iox-roudi.\n";

int main(int argc, char **argv)
{
	struct bench_options o;
	struct iceoryx_shared *s;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	hist_reset(&s->hist);
	s->size = o.sizes[0];
	s->rounds = o.count;
	s->total = o.count + o.warmup;
	snprintf(s->instance, sizeof(s->instance), "run%d", (int)getpid());
	ret = bench_run(
		(const struct bench_child[]){
			{ o.cpu[1], iceoryx_ponger, s, 1 },
			{ o.cpu[0], iceoryx_pinger, s, 0 },
		},
		2, o.timeout_s);
	if (ret == 0) {
		struct bench_row row = {
			.bench = "pingpong",
			.transport = "iceoryx",
			.mode = "busy",
			.size = s->size,
			.count = s->hist.count,
			.hist = &s->hist,
			.msgs_per_s = s->rounds * 1e9 / (double)s->elapsed_ns,
			.producers = 1,
			.consumers = 1,
			.batch = 1,
			.timestamps = -1,
		};
		bench_row_print(&row, &o);
	}
	return ret ? 1 : 0;
}
