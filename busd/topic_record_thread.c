/* SPDX-License-Identifier: MIT */
/*
 * The journal thread's work for recorded topics (busd/topic_record.h),
 * called from busd/journal_thread.c's rounds under its lock: copy what
 * publishers committed (topic_record_ring.c), submit, reap, publish
 * journal_position, and now and then the figures and retention.
 *
 * A write that fails (a full disk) stops that topic's journal: its error
 * goes into the journal line's journal_error (bus_publish() and
 * bus_topic_loan() return it instead of -ENOBUFS or -ETIMEDOUT once the
 * ring is full: the gate holds publishers back), and every second the
 * journal is opened again, copying from where the disk ends.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "latency.h"
#include "log.h"
#include "recorded_topic.h"
#include "wake.h"

#define BUSD_TOPIC_RECORD_RETRY_NS 1000000000u
#define BUSD_TOPIC_RECORD_TRIM_NS 1000000000u
#define BUSD_TOPIC_RECORD_FIGURES_NS 50000000u

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t percentile(const uint64_t *buckets, uint32_t n, double q)
{
	uint64_t total = 0, seen = 0;

	for (uint32_t i = 0; i < n; i++)
		total += buckets[i];
	if (!total)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		seen += buckets[i];
		if ((double)seen >= q * (double)total)
			return bus__latency_bucket_high(i);
	}
	return 0;
}

/* The writer's figures into the topic's journal line, for busctl stat and
 * Prometheus.  Relaxed: figures, read by whoever looks. */
static void publish_figures(struct busd_recorded_topic *rt, bool latency)
{
	struct bus_journal_line *line = &rt->geometry.control->journal;
	struct bus_journal_figures f;
	uint32_t n = sizeof(f.sync_latency) / sizeof(f.sync_latency[0]);

	if (!rt->writer)
		return;
	bus_journal_writer_figures(rt->writer, &f);
	bus__store_relaxed(&line->bytes_written,
			   rt->bytes_before + f.bytes_written);
	bus__store_relaxed(&line->syncs, rt->syncs_before + f.syncs);
	bus__store_relaxed(&line->write_errors,
			   rt->errors_before + f.write_errors);
	if (!latency)
		return;
	bus__store_relaxed(&line->sync_p50_ns,
			   percentile(f.sync_latency, n, 0.50));
	bus__store_relaxed(&line->sync_p99_ns,
			   percentile(f.sync_latency, n, 0.99));
}

static void fail(struct busd_recorded_topic *rt, int error)
{
	struct bus_topic_control *c = rt->geometry.control;
	struct bus_journal_figures f;

	busd_error("topic '%s': cannot write its journal in %s: %s; "
		   "publishers are held back once the ring fills (they get "
		   "this error), and busd tries again every second",
		   rt->name, rt->directory, strerror(-error));
	bus_journal_writer_figures(rt->writer, &f);
	rt->bytes_before += f.bytes_written;
	rt->syncs_before += f.syncs;
	rt->errors_before += f.write_errors + 1;
	bus__store_relaxed(&c->journal.write_errors, rt->errors_before);
	/* Closing may fail again; it still frees. */
	bus_journal_writer_close(rt->writer);
	rt->writer = NULL;
	rt->error = error;
	rt->retry_ns = now_ns() + BUSD_TOPIC_RECORD_RETRY_NS;
	/* Release store (pairs with the acquire load in libbus/topic.c),
	 * then a seq_cst raise of the futex word (wake.h): a publisher that
	 * wakes reads the error. */
	bus__store_release(&c->journal_error, error);
	bus__wake_all(&c->space_futex);
}

/* Opens the journal again after a failure and copies from where the disk
 * ends: journal_position never went past what was written, so those
 * positions are still in the ring. */
static void retry(struct busd_recorded_topic *rt)
{
	struct bus_journal_recovery recovered;
	char detail[512];

	if (now_ns() < rt->retry_ns)
		return;
	if (bus_journal_writer_open(&rt->writer, &rt->options, &recovered,
				    detail, sizeof(detail))) {
		rt->writer = NULL;
		rt->retry_ns = now_ns() + BUSD_TOPIC_RECORD_RETRY_NS;
		return;
	}
	if ((int64_t)(recovered.next_sequence - rt->copied) < 0)
		rt->copied = recovered.next_sequence;
	if ((int64_t)(rt->copied - rt->published) < 0)
		rt->copied = rt->published;
	rt->appended = rt->copied;
	rt->error = 0;
	bus__store_release(&rt->geometry.control->journal_error, 0);
	busd_info("topic '%s': writing its journal again", rt->name);
}

/* One topic's round; true when it copied something. */
static bool round_topic(struct busd_recorded_topic *rt, int *timeout_ms,
			bool *in_flight)
{
	int copied, ret, due;

	if (!rt->writer)
		retry(rt);
	if (!rt->writer)
		return false;
	copied = busd_topic_record_copy(rt);
	ret = copied < 0 ? copied : bus_journal_submit(rt->writer);
	if (ret >= 0)
		ret = bus_journal_reap(rt->writer, 0);
	if (ret < 0) {
		fail(rt, ret);
		return false;
	}
	busd_topic_record_publish(rt);
	if (now_ns() >= rt->next_figures_ns) {
		rt->next_figures_ns = now_ns() + BUSD_TOPIC_RECORD_FIGURES_NS;
		publish_figures(rt, true);
	}
	if ((rt->options.retain_bytes || rt->options.retain_age_ms) &&
	    now_ns() >= rt->next_trim_ns) {
		rt->next_trim_ns = now_ns() + BUSD_TOPIC_RECORD_TRIM_NS;
		/* 0: no sequence is done with; retention alone decides. */
		bus_journal_trim(rt->writer, 0);
	}
	due = bus_journal_sync_due_ms(rt->writer);
	if (due >= 0 && due < *timeout_ms)
		*timeout_ms = due;
	if (rt->published != rt->copied || rt->stalled)
		*in_flight = true;
	return copied > 0 && !rt->stalled;
}

bool busd_topic_record_round(struct busd_recorded_topic *const *topics,
			     unsigned int topic_count, int *timeout_ms,
			     bool *in_flight)
{
	bool busy = false;

	for (unsigned int i = 0; i < topic_count; i++)
		busy |= round_topic(topics[i], timeout_ms, in_flight);
	return busy;
}

void busd_topic_record_gather(struct busd_recorded_topic *const *topics,
			      unsigned int topic_count, struct pollfd *fds,
			      unsigned int *count, unsigned int max)
{
	for (unsigned int i = 0; i < topic_count && *count < max; i++)
		if (topics[i]->writer)
			fds[(*count)++] = (struct pollfd){
				.fd = bus_journal_event_fd(topics[i]->writer),
				.events = POLLIN,
			};
}

void busd_topic_record_finish(struct busd_recorded_topic *rt)
{
	if (!rt->writer)
		return;
	busd_topic_record_copy(rt);
	bus_journal_submit(rt->writer);
	publish_figures(rt, true);
	bus_journal_writer_close(rt->writer);
	rt->writer = NULL;
}
