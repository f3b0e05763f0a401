/* SPDX-License-Identifier: MIT */
/*
 * busd's journal thread: one for every durable queue of the bus
 * (busd/durable.h).  A round, for each queue: copy what producers
 * committed (durable_ring.c), look for acks, submit the batch (the
 * journal links an fdatasync to it as the sync setting says), reap, and
 * publish how far the disk got (durable_position, waking bus_flush()
 * sleepers).  Between rounds it sleeps on the queues' doorbells
 * (futex_waitv: a flusher rings one), or on the journals' completions
 * while writes are in flight, and never longer than BUSD_JOURNAL_IDLE_MS:
 * that is how late a plain commit reaches the journal on an idle bus.
 *
 * The list of queues is guarded by a mutex that the thread holds for a
 * round; the loop takes it only to add or remove a queue.  Each queue is
 * the thread's own mapping of the segment, so the loop may unmap its own
 * at any time.
 *
 * A write that fails (a full disk) stops that queue's journal: its error
 * goes into the journal line (bus_flush() returns it), producers are held
 * back once the ring fills (journal_position stops), and every second the
 * journal is opened again, copying from the last durable position on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "detail.h"
#include "durable_cut.h"
#include "durable_queue.h"
#include "journal_thread.h"
#include "log.h"
#include "recorded_topic.h"
#include "wake.h"

#define BUSD_JOURNAL_IDLE_MS 2
#define BUSD_JOURNAL_RETRY_NS 1000000000u
#define BUSD_JOURNAL_TRIM_NS 1000000000u
#define BUSD_JOURNAL_FIGURES_NS 50000000u
#define BUSD_JOURNAL_WAITV_MAX 128

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- figures ---------------------------------------------------------- */

/* The writer's figures into the journal line, for busctl stat and
 * Prometheus: the counters (at every advance of the durable position, so
 * that a confirmed message is counted when its confirm returns) and, with
 * latency, the fdatasync percentiles (at a tick: they take a walk over
 * the histogram).  Relaxed: figures, read by whoever looks. */
static void publish_figures(struct busd_durable_queue *dq, bool latency)
{
	busd_journal_figures_publish(&dq->geometry.control->journal,
				     dq->writer, &dq->carried, latency);
}

/* ---- a queue's journal ------------------------------------------------ */

static void publish_durable(struct busd_durable_queue *dq)
{
	struct bus_queue_control *c = dq->geometry.control;
	uint64_t sequence = bus_journal_durable_sequence(dq->writer);
	/* All appended on disk: so is every position copied, since the
	 * ones between held no message; else the sequence is a position
	 * (new messages' sequences are theirs). */
	uint64_t durable = (int64_t)(sequence - dq->appended) >= 0 ? dq->copied
								   : sequence;

	if ((int64_t)(durable - dq->durable) <= 0)
		return;
	dq->durable = durable;
	publish_figures(dq, false);
	/* seq_cst store, then the seq_cst load of the sleepers' count in
	 * bus__wake_if_sleeping: the store-buffer pairing of wake.h with
	 * bus_flush's raise of flush_sleepers and its re-check. */
	bus__store_seq_cst(&c->durable_position, durable);
	bus__wake_if_sleeping(&c->flush_sleepers, &c->durable_futex);
}

static void fail(struct busd_durable_queue *dq, int error)
{
	struct bus_queue_control *c = dq->geometry.control;

	busd_error("queue '%s': cannot write its journal in %s: %s; "
		   "producers are held back once the queue fills, and "
		   "bus_flush() says so until busd can write again (tried "
		   "every second)",
		   dq->name, dq->directory, strerror(-error));
	busd_journal_figures_carry(&c->journal, dq->writer, &dq->carried);
	/* The failed batch is lost: nothing after the durable position is
	 * promised (journal.h).  Closing may fail again; it still frees. */
	bus_journal_writer_close(dq->writer);
	dq->writer = NULL;
	dq->error = error;
	dq->retry_ns = now_ns() + BUSD_JOURNAL_RETRY_NS;
	/* Release store (pairs with the acquire load in queue_flush.c),
	 * then a seq_cst raise of the futex word (wake.h): a flusher that
	 * wakes reads the error. */
	bus__store_release(&c->journal_error, error);
	bus__wake_all(&c->durable_futex);
}

/* Opens the journal again after a failure and copies from the last
 * durable position on: what was copied after it may not be on disk. */
static void retry(struct busd_durable_queue *dq)
{
	struct bus_journal_recovery recovered;
	char detail[512];

	uint64_t cut = 0;

	if (now_ns() < dq->retry_ns)
		return;
	/* Nothing past the last sync mark is trusted (durable_cut.h). */
	if (dq->options.sync != BUS_JOURNAL_SYNC_NONE &&
	    busd_durable_cut_to_mark(dq->directory, &cut, detail,
				     sizeof(detail))) {
		dq->retry_ns = now_ns() + BUSD_JOURNAL_RETRY_NS;
		return;
	}
	if (bus_journal_writer_open(&dq->writer, &dq->options, &recovered,
				    detail, sizeof(detail))) {
		dq->writer = NULL;
		dq->retry_ns = now_ns() + BUSD_JOURNAL_RETRY_NS;
		return;
	}
	if (cut)
		busd_warning("queue '%s': %llu bytes of its journal after the "
			     "last sync mark cut before writing again",
			     dq->name, (unsigned long long)cut);
	/* Copy again from where the disk ends: the cut and the journal's
	 * open left what a completed sync vouched for, and its sequences
	 * only grow. */
	if ((int64_t)(recovered.next_sequence - dq->durable) > 0)
		dq->durable = recovered.next_sequence;
	/* What was copied past it is not on disk: it will be again. */
	for (uint32_t i = 0; i < dq->geometry.slots; i++) {
		struct busd_durable_held *e = &dq->held[i];

		if (e->live && (int64_t)(e->sequence - dq->durable) >= 0) {
			e->live = false;
			dq->held_count--;
		}
	}
	dq->copied = dq->appended = dq->durable;
	dq->error = 0;
	bus__store_relaxed(&dq->geometry.control->journal_error, 0);
	busd_info("queue '%s': writing its journal again", dq->name);
}

/* The oldest sequence the queue still needs from its journal. */
static uint64_t oldest_needed(const struct busd_durable_queue *dq)
{
	uint64_t oldest = dq->appended;

	for (uint32_t i = 0; dq->held_count && i < dq->geometry.slots; i++)
		if (dq->held[i].live && dq->held[i].sequence < oldest)
			oldest = dq->held[i].sequence;
	/* Acks held back for a dead-letter queue (durable_ring.c): their
	 * messages stay on disk until the acks are. */
	for (uint32_t i = 0; i < dq->ack_count; i++)
		if (dq->acks[i].first < oldest)
			oldest = dq->acks[i].first;
	return oldest;
}

/* One queue's round; true when it copied something.  alone: the thread
 * serves no other journal, so this one may block on its own fdatasync
 * (bus_journal_sync_here: a confirm costs two thread wakes less). */
static bool round_queue(struct busd_durable_queue *dq, bool alone,
			int *timeout_ms, bool *in_flight, uint64_t *nap_ns)
{
	int copied, ret, due;

	if (!dq->writer)
		retry(dq);
	if (!dq->writer)
		return false;
	bus_journal_sync_here(dq->writer, alone);
	copied = busd_durable_copy(dq);
	ret = copied < 0 ? copied : busd_durable_scan_acks(dq);
	if (ret >= 0)
		ret = bus_journal_submit(dq->writer);
	if (ret >= 0)
		ret = bus_journal_reap(dq->writer, 0);
	if (ret < 0) {
		fail(dq, ret);
		return false;
	}
	publish_durable(dq);
	if (now_ns() >= dq->next_figures_ns) {
		dq->next_figures_ns = now_ns() + BUSD_JOURNAL_FIGURES_NS;
		publish_figures(dq, true);
	}
	if (now_ns() >= dq->next_trim_ns) {
		dq->next_trim_ns = now_ns() + BUSD_JOURNAL_TRIM_NS;
		bus_journal_trim(dq->writer, oldest_needed(dq));
	}
	due = bus_journal_sync_due_ms(dq->writer);
	if (due >= 0 && due < *timeout_ms)
		*timeout_ms = due;
	if (dq->durable != dq->copied || dq->stalled)
		*in_flight = true;
	/* A producer streams: look again after a nap, not an idle tick. */
	if (copied > 0)
		dq->polling_until_ns = now_ns() + BUSD_JOURNAL_POLL_NS;
	if (now_ns() < dq->polling_until_ns)
		*nap_ns = BUSD_JOURNAL_NAP_NS;
	return copied > 0 && !dq->stalled;
}

/* ---- the thread ------------------------------------------------------- */

/* What the thread sleeps on between rounds, gathered under the lock and
 * waited on without it: a queue that goes meanwhile only makes the wait
 * end early (its futex address or descriptor fails). */
struct journal_wait {
	struct futex_waitv waiters[BUSD_JOURNAL_WAITV_MAX + 1];
	struct pollfd fds[BUSD_JOURNAL_WAITV_MAX];
	unsigned int waiter_count;
	unsigned int fd_count;
};

/* Before a round: the doorbells as they are now.  Relaxed: futex_waitv
 * compares again; a ring after these reads makes it return at once. */
static void gather_doorbells(struct busd_durable *d, struct journal_wait *w)
{
	/* The kernel takes at most BUSD_JOURNAL_WAITV_MAX entries in all,
	 * our own word included; queues past them wait for the idle tick. */
	unsigned int n = d->count < BUSD_JOURNAL_WAITV_MAX - 1
				 ? d->count
				 : BUSD_JOURNAL_WAITV_MAX - 1;

	w->waiters[0] = (struct futex_waitv){
		.val = bus__load_relaxed(&d->wake_word),
		.uaddr = (uintptr_t)&d->wake_word,
		.flags = FUTEX_32,
	};
	for (unsigned int i = 0; i < n; i++) {
		_Atomic uint32_t *bell =
			&d->queues[i]->geometry.control->journal_doorbell;

		w->waiters[1 + i] = (struct futex_waitv){
			.val = bus__load_relaxed(bell),
			.uaddr = (uintptr_t)bell,
			.flags = FUTEX_32,
		};
	}
	w->waiter_count = n + 1;
}

/* After a round with writes in flight: their completions. */
static void gather_completions(struct busd_durable *d, struct journal_wait *w)
{
	w->fd_count = 0;
	for (unsigned int i = 0;
	     i < d->count && w->fd_count < BUSD_JOURNAL_WAITV_MAX; i++)
		if (d->queues[i]->writer)
			w->fds[w->fd_count++] = (struct pollfd){
				.fd = bus_journal_event_fd(
					d->queues[i]->writer),
				.events = POLLIN,
			};
	busd_topic_record_gather(d->topics, d->topic_count, w->fds,
				 &w->fd_count, BUSD_JOURNAL_WAITV_MAX);
}

/* Sleeps until a doorbell or the thread's own word rings, or timeout
 * (nap_ns instead when it is shorter and not 0: a polled queue or
 * topic). */
static void wait_doorbells(struct journal_wait *w, int timeout_ms,
			   uint64_t nap_ns)
{
	struct timespec deadline;
	uint64_t wait_ns = (uint64_t)timeout_ms * 1000000u;

	if (nap_ns && nap_ns < wait_ns)
		wait_ns = nap_ns;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (long)wait_ns;
	while (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* Shared futexes (no FUTEX_PRIVATE_FLAG): flushers are other
	 * processes.  ENOSYS (before Linux 5.16), or any refusal of the
	 * list (EINVAL, EFAULT): a plain sleep, never a spin.  EAGAIN (a
	 * word moved) and ETIMEDOUT return to the rounds at once. */
	if (syscall(SYS_futex_waitv, w->waiters, w->waiter_count, 0, &deadline,
		    CLOCK_MONOTONIC) < 0 &&
	    errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR)
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline,
				NULL);
}

/* Sleeps until a completion, or timeout (nap_ns instead when it is
 * shorter and not 0: a polled queue or topic). */
static void wait_completions(struct journal_wait *w, int timeout_ms,
			     uint64_t nap_ns)
{
	uint64_t wait_ns = (uint64_t)timeout_ms * 1000000u;
	struct timespec timeout;

	if (nap_ns && nap_ns < wait_ns)
		wait_ns = nap_ns;
	timeout.tv_sec = (time_t)(wait_ns / 1000000000u);
	timeout.tv_nsec = (long)(wait_ns % 1000000000u);
	ppoll(w->fds, w->fd_count, &timeout, NULL);
}

static void *journal_thread(void *arg)
{
	struct busd_durable *d = arg;
	struct journal_wait w;

	for (;;) {
		int timeout_ms = BUSD_JOURNAL_IDLE_MS;
		bool busy = false, in_flight = false;
		uint64_t nap_ns = 0;

		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		busd_topic_record_disarm(d->topics, d->topic_count);
		gather_doorbells(d, &w);
		for (unsigned int i = 0; i < d->count; i++)
			busy |= round_queue(d->queues[i],
					    d->count == 1 && !d->topic_count,
					    &timeout_ms, &in_flight, &nap_ns);
		busy |= busd_topic_record_round(d->topics, d->topic_count,
						&timeout_ms, &in_flight);
		if (in_flight)
			gather_completions(d, &w);
		else if (!busy)
			/* Recorded topics: a commit wakes us (data_futex). */
			busy = busd_topic_record_arm(d->topics, d->topic_count,
						     w.waiters,
						     &w.waiter_count,
						     BUSD_JOURNAL_WAITV_MAX,
						     &nap_ns);
		pthread_mutex_unlock(&d->lock);
		if (busy)
			continue;
		if (in_flight)
			wait_completions(&w, timeout_ms > 1 ? 1 : timeout_ms,
					 nap_ns);
		else
			wait_doorbells(&w, timeout_ms, nap_ns);
	}
	return NULL;
}

/* The loop's add and remove: the lock (a round at most away), then the
 * thread's own word rung on unlock, so that it looks at the new list. */
void busd_journal_thread_lock(struct busd_durable *d)
{
	pthread_mutex_lock(&d->lock);
}

void busd_journal_thread_unlock(struct busd_durable *d)
{
	pthread_mutex_unlock(&d->lock);
	bus__wake_all(&d->wake_word);
}

int busd_journal_thread_start(struct busd_durable *d)
{
	int ret;

	if (d->running)
		return 0;
	ret = pthread_create(&d->thread, NULL, journal_thread, d);
	if (ret)
		return -ret;
	d->running = true;
	return 0;
}

void busd_journal_thread_stop(struct busd_durable *d)
{
	if (!d->running)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_mutex_unlock(&d->lock);
	bus__wake_all(&d->wake_word);
	pthread_join(d->thread, NULL);
	d->running = false;
}

/* The last round of a queue that goes: what it copied is written. */
void busd_journal_queue_finish(struct busd_durable_queue *dq)
{
	if (!dq->writer)
		return;
	busd_durable_copy(dq);
	busd_durable_scan_acks(dq);
	bus_journal_submit(dq->writer);
	publish_figures(dq, true);
	if (bus_journal_writer_close(dq->writer) == 0) {
		dq->durable = dq->copied;
		bus__store_seq_cst(&dq->geometry.control->durable_position,
				   dq->copied);
		bus__wake_all(&dq->geometry.control->durable_futex);
	}
	dq->writer = NULL;
}
