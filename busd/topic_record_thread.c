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
#include "clock.h"
#include "log.h"
#include "recorded_topic.h"
#include "topic_cell.h"
#include "wake.h"

#define BUSD_TOPIC_RECORD_RETRY_NS 1000000000u
#define BUSD_TOPIC_RECORD_TRIM_NS 1000000000u
#define BUSD_TOPIC_RECORD_FIGURES_NS 50000000u

static uint64_t now_ns(void)
{
	return (uint64_t)bus__monotonic_ns();
}

/* The writer's figures into the topic's journal line, for busctl stat and
 * Prometheus.  Relaxed: figures, read by whoever looks. */
static void publish_figures(struct busd_recorded_topic *rt, bool latency)
{
	busd_journal_figures_publish(&rt->geometry.control->journal,
				     rt->writer, &rt->carried, latency);
}

static void fail(struct busd_recorded_topic *rt, int error)
{
	struct bus_topic_control *c = rt->geometry.control;

	busd_error("topic '%s': cannot write its journal in %s: %s; "
		   "publishers are held back once the ring fills (they get "
		   "this error), and busd tries again every second",
		   rt->name, rt->directory, strerror(-error));
	busd_journal_figures_carry(&c->journal, rt->writer, &rt->carried);
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
	if (copied > 0)
		rt->polling_until_ns = now_ns() + BUSD_JOURNAL_POLL_NS;
	ret = copied < 0 ? copied : bus_journal_submit(rt->writer);
	/* Publishers may wait for this write (the gate opens only past
	 * what was written): after a copy, wait for its completion here
	 * (tens of microseconds into the page cache, at most 1 ms) rather
	 * than a round later. */
	if (ret >= 0)
		ret = bus_journal_reap(rt->writer, copied > 0 ? 1 : 0);
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

/* Is there a committed (or lapped) position at copied?  Acquire, as the
 * copy's own load. */
static bool ready(const struct busd_recorded_topic *rt)
{
	const struct bus__topic_geometry *g = &rt->geometry;
	uint64_t state =
		bus__load_acquire(&bus__topic_cell(g, rt->copied)->state);
	int64_t d = bus__position_diff(bus__cell_position(state),
				       bus__position_wrap(rt->copied));

	return d > 0 ||
	       (d == 0 && (bus__topic_kind(state) == BUS__TOPIC_READY ||
			   bus__topic_kind(state) == BUS__TOPIC_PADDED));
}

bool busd_topic_record_arm(struct busd_recorded_topic *const *topics,
			   unsigned int topic_count,
			   struct futex_waitv *waiters, unsigned int *count,
			   unsigned int max, uint64_t *nap_ns)
{
	uint64_t now = topic_count ? now_ns() : 0;
	bool any = false;

	for (unsigned int i = 0; i < topic_count && *count < max; i++) {
		struct busd_recorded_topic *rt = topics[i];
		struct bus_topic_control *c = rt->geometry.control;
		uint32_t seen;

		if (!rt->writer || rt->armed)
			continue;
		if (now < rt->polling_until_ns) {
			*nap_ns = BUSD_JOURNAL_NAP_NS;
			continue;
		}
		/* Acquire: pairs with the publisher's seq_cst raise of the
		 * word, made after its commit. */
		seen = bus__load_acquire(&c->data_futex);
		/* seq_cst raise, then the fence: against the publisher's
		 * seq_cst READY store and its load of the count
		 * (topic_ring.c, bus__topic_publish), the store-buffer
		 * pattern of wait.c: either ready() sees the commit, or the
		 * publisher sees us counted and wakes data_futex.
		 * The raise is our bit, not 1: one operation that counts us
		 * and marks the count as busd's, so that a busd killed here
		 * leaves exactly the bit for its successor to take back
		 * (layout.h, subscribers_sleeping). */
		bus__fetch_add_seq_cst(&c->subscribers_sleeping,
				       BUS_TOPIC_SLEEPING_RECORDER);
		rt->armed = true;
		bus__fence_seq_cst();
		any |= ready(rt);
		waiters[(*count)++] = (struct futex_waitv){
			.val = seen,
			.uaddr = (uintptr_t)&c->data_futex,
			.flags = FUTEX_32,
		};
	}
	return any;
}

static void disarm(struct busd_recorded_topic *rt)
{
	struct bus_topic_control *c = rt->geometry.control;

	if (!rt->armed)
		return;
	/* seq_cst, as wait.c drops its count. */
	bus__fetch_sub_seq_cst(&c->subscribers_sleeping,
			       BUS_TOPIC_SLEEPING_RECORDER);
	rt->armed = false;
}

void busd_topic_record_disarm(struct busd_recorded_topic *const *topics,
			      unsigned int topic_count)
{
	for (unsigned int i = 0; i < topic_count; i++)
		disarm(topics[i]);
}

void busd_topic_record_finish(struct busd_recorded_topic *rt)
{
	disarm(rt);
	if (!rt->writer)
		return;
	busd_topic_record_copy(rt);
	bus_journal_submit(rt->writer);
	publish_figures(rt, true);
	bus_journal_writer_close(rt->writer);
	rt->writer = NULL;
}
