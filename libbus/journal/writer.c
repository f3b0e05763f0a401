/* SPDX-License-Identifier: MIT */
/*
 * The writer: records copied into registered buffers, each full buffer
 * one write (IORING_OP_WRITE_FIXED into the registered file), an
 * fdatasync linked behind the writes of a submission when the sync
 * setting calls for one (group commit), completions reaped without
 * waiting.  writer.h explains the positions the durable sequence comes
 * from.
 *
 * An fdatasync covers what was written before it began.  Linked behind
 * the writes of its submission it covers them once they complete; it also
 * covers what earlier submissions wrote only if their writes completed
 * (and were reaped) before it was submitted, so that is what it is
 * credited with.  A write or sync that fails stops the durable sequence
 * where it is for good: the caller reopens the journal (which cuts what
 * did not land) and appends again from bus_journal_durable_sequence().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "index.h"
#include "latency.h"
#include "writer.h"
#include "writer_files.h"

enum { OP_WRITE = 1, OP_SYNC = 2 };

#define USER_DATA(op, i) (((uint64_t)(op) << 32) | (uint32_t)(i))

static int fail(struct bus_journal_writer *w, int error)
{
	if (!w->error)
		w->error = error;
	w->figures.write_errors++;
	return w->error;
}

/* ---- positions to sequences --------------------------------------------- */

static void durable_to(struct bus_journal_writer *w, uint64_t position)
{
	if (position > w->durable_position)
		w->durable_position = position;
	while (w->marks_count &&
	       w->marks[w->marks_head].position <= w->durable_position) {
		w->durable_sequence = w->marks[w->marks_head].next_sequence;
		w->marks_head = (w->marks_head + 1) % w->marks_size;
		w->marks_count--;
	}
	if (w->durable_position >= w->content_position)
		w->sync_due_ns = 0;
}

static int mark(struct bus_journal_writer *w, uint64_t position,
		uint64_t next_sequence)
{
	if (w->marks_count == w->marks_size) {
		size_t size = w->marks_size ? w->marks_size * 2 : 64;
		struct bus__journal_mark *grown =
			malloc(size * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		for (size_t i = 0; i < w->marks_count; i++)
			grown[i] =
				w->marks[(w->marks_head + i) % w->marks_size];
		free(w->marks);
		w->marks = grown;
		w->marks_size = size;
		w->marks_head = 0;
	}
	w->marks[(w->marks_head + w->marks_count) % w->marks_size] =
		(struct bus__journal_mark){ position, next_sequence };
	w->marks_count++;
	return 0;
}

/* Writes completed in order move written_position (and, for sync =
 * none, the durable sequence) on. */
static void written_prefix(struct bus_journal_writer *w)
{
	uint64_t vouched = w->durable_position;

	while (w->order_count) {
		struct bus__journal_buffer *b =
			&w->buffers[w->order[w->order_head]];

		if (b->state != BUS__JOURNAL_BUFFER_WRITTEN)
			break;
		w->written_position = b->end_position;
		w->written_sequence = b->next_sequence;
		if (w->options.sync == BUS_JOURNAL_SYNC_NONE) {
			w->durable_sequence = b->next_sequence;
			w->durable_position = b->end_position;
		} else if (mark(w, b->end_position, b->next_sequence) < 0) {
			fail(w, -ENOMEM);
		}
		if (b->vouches > vouched)
			vouched = b->vouches;
		b->state = BUS__JOURNAL_BUFFER_FREE;
		b->used = 0;
		b->records = 0;
		b->content = 0;
		b->vouches = 0;
		b->has_message = 0;
		w->order_head = (w->order_head + 1) % BUS__JOURNAL_BUFFERS;
		w->order_count--;
	}
	/* A mark written: what it names is durable for confirms. */
	if (w->options.sync != BUS_JOURNAL_SYNC_NONE)
		durable_to(w, vouched);
}

/* ---- completions ---------------------------------------------------------- */

/* The rest of a short write, by pwrite: its errno is the real reason. */
static int finish_short(struct bus_journal_writer *w,
			struct bus__journal_buffer *b, uint32_t done)
{
	while (done < b->used) {
		ssize_t n = pwrite(w->fd, b->data + done, b->used - done,
				   (off_t)(b->file_offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		done += (uint32_t)n;
	}
	return 0;
}

static void on_write(struct bus_journal_writer *w, uint32_t i, int res)
{
	struct bus__journal_buffer *b = &w->buffers[i];

	if (res >= 0 && (uint32_t)res < b->used)
		res = finish_short(w, b, (uint32_t)res);
	if (res < 0) {
		b->state = BUS__JOURNAL_BUFFER_FAILED;
		fail(w, res);
		return;
	}
	b->state = BUS__JOURNAL_BUFFER_WRITTEN;
	w->figures.bytes_written += b->used;
	w->figures.records_written += b->records;
	written_prefix(w);
}

static void on_sync(struct bus_journal_writer *w, uint32_t i, int res)
{
	struct bus__journal_sync *s = &w->syncs[i];
	uint64_t took = bus__journal_now_ns(CLOCK_MONOTONIC) - s->started_ns;

	s->busy = 0;
	if (res == -ECANCELED && w->error)
		return; /* its write failed before it */
	if (res == -ECANCELED) {
		/* Its write came back short and finish_short() wrote the
		 * rest: the link broke, not the disk.  Another sync, now. */
		w->sync_due_ns = bus__journal_now_ns(CLOCK_MONOTONIC);
		return;
	}
	if (res < 0) {
		/* After a failed fdatasync the page cache may have dropped
		 * the pages: nothing after durable is promised, ever. */
		fail(w, res);
		return;
	}
	w->figures.syncs++;
	w->figures.sync_latency[bus__latency_bucket(took)]++;
	if (s->file_first != w->file_first) {
		durable_to(w, s->covers); /* a file rolled: whole, synced */
		return;
	}
	/* Durable once the mark naming it is written (writer_state.h). */
	if (s->covers > w->synced_position)
		w->synced_position = s->covers;
	if (w->synced_position >= w->content_position)
		w->sync_due_ns = 0;
	bus__journal_writer_synced(w, s->file_offset);
}

void bus__journal_writer_synced(struct bus_journal_writer *w,
				uint64_t file_offset)
{
	if (file_offset > w->mark_synced)
		w->mark_synced = file_offset;
}

static int complete(struct bus_journal_writer *w, struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	uint32_t op = (uint32_t)(data >> 32), i = (uint32_t)data;

	w->in_flight--;
	if (op == OP_WRITE && i < BUS__JOURNAL_BUFFERS)
		on_write(w, i, cqe->res);
	else if (op == OP_SYNC && i < BUS__JOURNAL_SYNCS)
		on_sync(w, i, cqe->res);
	return 1;
}

static int reap_ready(struct bus_journal_writer *w)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	while (w->in_flight && io_uring_peek_cqe(&w->ring, &cqe) == 0) {
		n += complete(w, cqe);
		io_uring_cqe_seen(&w->ring, cqe);
	}
	return n;
}

/* ---- submissions ---------------------------------------------------------- */

static struct io_uring_sqe *sqe_get(struct bus_journal_writer *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

static int room(struct bus_journal_writer *w, uint64_t size);

/* The filling buffer becomes the next write at the file's end: its
 * offset, its place in the order of writes, its index entry. */
static void claim_write(struct bus_journal_writer *w)
{
	struct bus__journal_buffer *b = &w->buffers[w->filling];

	if (b->has_message) {
		struct bus__journal_index_entry e = {
			b->index_sequence, b->index_time_ns,
			w->file_offset + b->index_offset
		};

		/* The index is a hint (index.h): a failure costs a scan. */
		if (w->index_fd >= 0)
			(void)bus__journal_index_put(w->index_fd,
						     w->index_count++, &e);
	}
	b->file_offset = w->file_offset;
	b->state = BUS__JOURNAL_BUFFER_WRITING;
	w->file_offset += b->used;
	w->position += b->used;
	b->end_position = w->position;
	b->next_sequence = w->next_sequence;
	if (b->content)
		w->content_position = w->position;
	w->order[(w->order_head + w->order_count) % BUS__JOURNAL_BUFFERS] =
		w->filling;
	w->order_count++;
	w->filling = -1;
	if (!w->sync_due_ns && w->options.sync == BUS_JOURNAL_SYNC_INTERVAL)
		w->sync_due_ns =
			bus__journal_now_ns(CLOCK_MONOTONIC) +
			(uint64_t)w->options.sync_interval_ms * 1000000u;
}

/* Queues the filling buffer's write (linked to what follows if link). */
static int queue_write(struct bus_journal_writer *w, int link)
{
	struct bus__journal_buffer *b = &w->buffers[w->filling];
	struct io_uring_sqe *sqe = sqe_get(w);
	int fd = w->fixed_file ? 0 : w->fd;

	if (!sqe)
		return -EBUSY;
	if (w->fixed_buffers)
		io_uring_prep_write_fixed(sqe, fd, b->data, b->used,
					  w->file_offset, w->filling);
	else
		io_uring_prep_write(sqe, fd, b->data, b->used, w->file_offset);
	if (w->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	if (link)
		sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, USER_DATA(OP_WRITE, w->filling));
	claim_write(w);
	w->in_flight++;
	return 0;
}

static uint64_t sync_cover_max(const struct bus_journal_writer *w)
{
	uint64_t max = w->durable_position > w->synced_position
			       ? w->durable_position
			       : w->synced_position;

	for (int i = 0; i < BUS__JOURNAL_SYNCS; i++)
		if (w->syncs[i].busy && w->syncs[i].covers > max)
			max = w->syncs[i].covers;
	return max;
}

static int sync_wanted(const struct bus_journal_writer *w, uint64_t target)
{
	if (w->options.sync == BUS_JOURNAL_SYNC_NONE ||
	    sync_cover_max(w) >= target)
		return 0;
	if (w->options.sync == BUS_JOURNAL_SYNC_ALWAYS)
		return 1;
	return w->sync_due_ns &&
	       bus__journal_now_ns(CLOCK_MONOTONIC) >= w->sync_due_ns;
}

/* Queues an fdatasync covering covers, if a slot is free. */
static int queue_sync(struct bus_journal_writer *w, uint64_t covers)
{
	struct io_uring_sqe *sqe;
	int i;

	for (i = 0; i < BUS__JOURNAL_SYNCS && w->syncs[i].busy; i++)
		;
	if (i == BUS__JOURNAL_SYNCS || covers <= sync_cover_max(w))
		return 0;
	sqe = sqe_get(w);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, w->fixed_file ? 0 : w->fd,
			    IORING_FSYNC_DATASYNC);
	if (w->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, USER_DATA(OP_SYNC, i));
	w->syncs[i] = (struct bus__journal_sync){
		1, covers, bus__journal_now_ns(CLOCK_MONOTONIC), w->file_first,
		/* covers is in the newest file: position and file_offset
		 * moved on together since it began. */
		w->file_offset - (w->position - covers)
	};
	w->in_flight++;
	/* Group commit: what this one does not cover waits an interval
	 * from now, not for its completion (back-to-back fdatasyncs keep
	 * the device flushing and halve what it writes). */
	if (w->options.sync == BUS_JOURNAL_SYNC_INTERVAL)
		w->sync_due_ns =
			w->syncs[i].started_ns +
			(uint64_t)w->options.sync_interval_ms * 1000000u;
	return 1;
}

/*
 * A mark naming what the newest fdatasync made durable, into the batch
 * (alone if nothing else comes): confirms wait for it (writer_state.h).
 * Not now when the batch is full (it rides in the next) or every buffer
 * is in flight (a completion frees one).
 */
static void place_mark(struct bus_journal_writer *w)
{
	struct bus__journal_buffer *b;

	if (w->mark_synced <= w->mark_named ||
	    (w->filling >= 0 &&
	     w->buffers[w->filling].used + BUS__JOURNAL_MARK_SIZE >
		     BUS__JOURNAL_BUFFER_SIZE) ||
	    room(w, BUS__JOURNAL_MARK_SIZE) < 0)
		return;
	b = &w->buffers[w->filling];
	b->used += (uint32_t)bus__journal_encode_mark(b->data + b->used,
						      w->mark_synced);
	if (w->synced_position > b->vouches)
		b->vouches = w->synced_position;
	w->mark_named = w->mark_synced;
}

/*
 * A sync completed and nothing is in flight (a confirm waiting alone, or
 * with new records still being filled): its mark by pwrite now, in this
 * round, rather than in a batch written through io_uring, which on a file
 * system without async buffered writes (ext4) goes to an io-wq worker and
 * costs a wake of it and then of us before the confirm returns
 * (perf/RESULTS.md).  Nothing in flight, so the mark lands at the end of
 * what was written, no hole before it; a buffer being filled takes its
 * offset only when its write is queued, after the mark.
 */
static void mark_idle(struct bus_journal_writer *w)
{
	if (w->mark_synced <= w->mark_named || w->in_flight)
		return;
	if (bus__journal_writer_mark_now(w) == 0)
		durable_to(w, w->synced_position);
}

/*
 * sync = always with the writer idle (nothing in flight) and alone on its
 * thread (bus_journal_sync_here()): the batch written by pwrite, the
 * fdatasync and the mark done here, in the caller's thread.  Through
 * io_uring the same work costs a wake of an io-wq worker (ext4 has no
 * async buffered writes, and an fdatasync always goes to one) and a wake
 * of the caller by its completion: two of the four hand-offs between a
 * producer's commit and its confirm (perf/RESULTS.md).  Blocking is what
 * the caller would do anyway: a lone confirm waits for this sync, and
 * there is no other journal whose writes it holds up.  The same steps as
 * completions through the ring: on_write() and on_sync() credit them.
 */
static int sync_here(struct bus_journal_writer *w)
{
	int i = w->filling, s, ret;
	uint32_t used = w->buffers[i].used;
	uint64_t at = w->file_offset;

	claim_write(w);
	ret = bus__journal_write_all(w->fd, w->buffers[i].data, used,
				     (off_t)at);
	on_write(w, (uint32_t)i, ret < 0 ? ret : (int)used);
	if (w->error)
		return w->error;
	/* Nothing in flight: every sync slot is free. */
	s = 0;
	w->syncs[s] = (struct bus__journal_sync){
		1, w->written_position, bus__journal_now_ns(CLOCK_MONOTONIC),
		w->file_first,
		w->file_offset - (w->position - w->written_position)
	};
	on_sync(w, (uint32_t)s, fdatasync(w->fd) ? -errno : 0);
	mark_idle(w);
	return w->error;
}

int bus_journal_submit(struct bus_journal_writer *w)
{
	uint64_t start, end;
	int ret, link;

	if (!w)
		return -EINVAL;
	if (w->error)
		return w->error;
	reap_ready(w);
	mark_idle(w);
	place_mark(w);
	start = w->position;
	end = start + (w->filling >= 0 ? w->buffers[w->filling].used : 0);
	if (w->filling >= 0 && w->buffers[w->filling].used == 0)
		end = start;
	if (end > start) {
		/* Linked only if the sync can claim the write: nothing
		 * written before it is still in flight; never for a batch
		 * of marks alone. */
		link = w->buffers[w->filling].content && sync_wanted(w, end) &&
		       w->written_position == start;
		if (link && w->sync_here && !w->in_flight &&
		    w->options.sync == BUS_JOURNAL_SYNC_ALWAYS)
			return sync_here(w);
		ret = queue_write(w, link);
		if (ret < 0)
			return ret;
		if (link)
			queue_sync(w, end);
	}
	if (sync_wanted(w, w->content_position) &&
	    w->written_position > sync_cover_max(w))
		queue_sync(w, w->written_position);
	ret = io_uring_submit(&w->ring);
	return ret < 0 ? ret : 0;
}

int bus_journal_reap(struct bus_journal_writer *w, int wait_ms)
{
	struct io_uring_cqe *cqe;
	uint64_t value;
	int n;

	if (!w)
		return -EINVAL;
	/* Before the CQEs: one posted after this read makes it readable
	 * again, so a caller polling it never misses one. */
	if (read(w->event_fd, &value, sizeof(value)) < 0 && errno != EAGAIN)
		return -errno;
	n = reap_ready(w);
	if (n == 0 && wait_ms > 0 && w->in_flight) {
		struct __kernel_timespec ts = {
			.tv_sec = wait_ms / 1000,
			.tv_nsec = (long long)(wait_ms % 1000) * 1000000,
		};

		if (io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts) == 0)
			n = reap_ready(w);
	}
	if (w->error)
		return w->error;
	/* Writes that could not be linked to a sync get one now. */
	if (sync_wanted(w, w->content_position) &&
	    w->written_position > sync_cover_max(w)) {
		if (queue_sync(w, w->written_position) > 0)
			io_uring_submit(&w->ring);
	}
	/* A sync completed: its mark goes out now, and confirms wait for
	 * it (a buffered write, often complete when submit returns). */
	if (w->mark_synced > w->mark_named && w->filling < 0 &&
	    bus_journal_submit(w) == 0)
		n += reap_ready(w);
	return w->error ? w->error : n;
}

int bus__journal_writer_drain(struct bus_journal_writer *w)
{
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_submit(&w->ring);
	while (w->in_flight) {
		ret = io_uring_wait_cqe(&w->ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		complete(w, cqe);
		io_uring_cqe_seen(&w->ring, cqe);
	}
	return w->error;
}

int bus__journal_writer_sync_now(struct bus_journal_writer *w)
{
	uint64_t t0 = bus__journal_now_ns(CLOCK_MONOTONIC);

	if (w->options.sync == BUS_JOURNAL_SYNC_NONE ||
	    w->durable_position >= w->written_position)
		return w->error;
	if (fdatasync(w->fd) != 0)
		return fail(w, -errno);
	w->figures.syncs++;
	w->figures.sync_latency[bus__latency_bucket(
		bus__journal_now_ns(CLOCK_MONOTONIC) - t0)]++;
	if (w->written_position > w->synced_position)
		w->synced_position = w->written_position;
	durable_to(w, w->written_position);
	bus__journal_writer_synced(
		w, w->file_offset - (w->position - w->written_position));
	return 0;
}

int bus__journal_writer_mark_now(struct bus_journal_writer *w)
{
	uint8_t mark[BUS__JOURNAL_MARK_SIZE];
	int ret;

	/* A buffer being filled has no offset yet: it goes after the mark. */
	if (w->error || w->mark_synced <= w->mark_named || w->in_flight)
		return w->error;
	bus__journal_encode_mark(mark, w->mark_synced);
	ret = bus__journal_write_all(w->fd, mark, sizeof(mark),
				     (off_t)w->file_offset);
	if (ret < 0)
		return fail(w, ret);
	w->mark_named = w->mark_synced;
	w->file_offset += sizeof(mark);
	w->position += sizeof(mark);
	w->written_position = w->position;
	w->figures.bytes_written += sizeof(mark);
	return 0;
}

int bus__journal_writer_flush(struct bus_journal_writer *w)
{
	int ret;

	if (w->error)
		return w->error;
	if (w->filling >= 0 && w->buffers[w->filling].used) {
		ret = queue_write(w, 0);
		if (ret < 0)
			return ret;
	}
	ret = bus__journal_writer_drain(w);
	if (ret < 0)
		return ret;
	if (w->options.sync != BUS_JOURNAL_SYNC_NONE)
		return bus__journal_writer_sync_now(w);
	/* sync = none promises nothing of the newest file, but a file
	 * that is not the newest is read strictly: it must be whole. */
	if (fdatasync(w->fd) != 0)
		return fail(w, -errno);
	w->figures.syncs++;
	return 0;
}

/* The newest file is full: finish it, start the next at first. */
static int roll(struct bus_journal_writer *w, uint64_t first)
{
	int ret;

	ret = bus__journal_writer_flush(w);
	if (ret < 0)
		return ret;
	ret = bus__journal_writer_new_file(w, first);
	if (ret < 0)
		return fail(w, ret);
	if (w->options.kind == BUS_JOURNAL_TOPIC &&
	    (w->options.retain_bytes || w->options.retain_age_ms)) {
		uint64_t *firsts;
		size_t n;

		/* Retention: a topic has no acks to carry. */
		if (bus__journal_trim_choose(w, 0, &firsts, &n) == 0) {
			(void)bus__journal_trim_delete(w, firsts, n);
			free(firsts);
		}
	}
	return 0;
}

/* A record larger than a buffer: written alone, by pwrite, after what is
 * in flight. */
static int append_large(struct bus_journal_writer *w, uint64_t size,
			const struct bus_journal_message *m,
			const struct bus_journal_range *ranges, uint32_t count)
{
	uint8_t *data = malloc(size);
	uint64_t done = 0;
	int ret;

	if (!data)
		return -ENOMEM;
	if (m)
		bus__journal_encode_message(data, m);
	else
		bus__journal_encode_acks(data, ranges, count);
	if (w->filling >= 0 && w->buffers[w->filling].used)
		queue_write(w, 0);
	ret = bus__journal_writer_drain(w);
	while (ret == 0 && done < size) {
		ssize_t n = pwrite(w->fd, data + done, size - done,
				   (off_t)(w->file_offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = fail(w, n < 0 ? -errno : -ENOSPC);
		else
			done += (uint64_t)n;
	}
	free(data);
	if (ret < 0)
		return ret;
	if (m && w->index_fd >= 0) {
		struct bus__journal_index_entry e = { m->sequence, m->time_ns,
						      w->file_offset };

		(void)bus__journal_index_put(w->index_fd, w->index_count++,
					     &e);
	}
	if (m) {
		w->next_sequence = m->sequence + 1;
		w->has_messages = 1;
		w->file_has_message = 1;
	}
	w->file_offset += size;
	w->position += size;
	w->written_position = w->position;
	w->written_sequence = w->next_sequence;
	w->content_position = w->position;
	w->figures.bytes_written += size;
	w->figures.records_written++;
	if (w->options.sync == BUS_JOURNAL_SYNC_NONE) {
		w->durable_position = w->position;
		w->durable_sequence = w->next_sequence;
		return 0;
	}
	if (mark(w, w->position, w->next_sequence) < 0)
		return fail(w, -ENOMEM);
	if (!w->sync_due_ns)
		w->sync_due_ns =
			bus__journal_now_ns(CLOCK_MONOTONIC) +
			(uint64_t)w->options.sync_interval_ms * 1000000u;
	return 0;
}

/* A buffer with room for size bytes, submitting the full one. */
static int room(struct bus_journal_writer *w, uint64_t size)
{
	int ret;

	if (w->filling >= 0 &&
	    w->buffers[w->filling].used + size > BUS__JOURNAL_BUFFER_SIZE) {
		ret = bus_journal_submit(w);
		if (ret < 0)
			return ret;
	}
	if (w->filling >= 0)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < BUS__JOURNAL_BUFFERS; i++) {
			if (w->buffers[i].state == BUS__JOURNAL_BUFFER_FREE) {
				w->buffers[i].state =
					BUS__JOURNAL_BUFFER_FILLING;
				w->filling = i;
				return 0;
			}
		}
		reap_ready(w);
		if (w->error)
			return w->error;
	}
	return -EAGAIN;
}

/* The sequence a record starts at, naming a file it begins. */
static uint64_t first_of(const struct bus_journal_writer *w,
			 const struct bus_journal_message *m,
			 const struct bus_journal_gap *gap)
{
	if (m)
		return m->sequence;
	return gap ? gap->first : w->next_sequence;
}

/* The aligned size of a message, acks, or a gap (m NULL). */
static uint64_t size_of(const struct bus_journal_message *m, uint32_t count,
			const struct bus_journal_gap *gap)
{
	if (m)
		return bus__journal_message_size(m);
	return gap ? BUS__JOURNAL_GAP_SIZE : bus__journal_acks_size(count);
}

/* What append() takes: a message, acks, or a gap (then m and ranges are
 * NULL). */
static int append(struct bus_journal_writer *w,
		  const struct bus_journal_message *m,
		  const struct bus_journal_range *ranges, uint32_t count,
		  const struct bus_journal_gap *gap)
{
	uint64_t size = size_of(m, count, gap);
	uint64_t end_in_file, mark;
	struct bus__journal_buffer *b;
	int ret;

	if (w->error)
		return w->error;
	if (m && w->has_messages && m->sequence < w->next_sequence)
		return -EINVAL; /* sequences only grow */
	if (gap && w->has_messages && gap->first < w->next_sequence)
		return -EINVAL;
	if (size > BUS__JOURNAL_RECORD_MAX)
		return -EMSGSIZE;
	end_in_file = w->file_offset +
		      (w->filling >= 0 ? w->buffers[w->filling].used : 0);
	/* A file with no message yet does not roll: the next would take
	 * the same name (the next sequence).  It grows past segment_bytes
	 * by acks only, until its first message. */
	if (end_in_file > BUS__JOURNAL_FILE_HEADER_SIZE &&
	    end_in_file + size > w->options.segment_bytes &&
	    w->file_has_message) {
		ret = roll(w, first_of(w, m, gap));
		if (ret < 0)
			return ret;
	}
	if (size > BUS__JOURNAL_BUFFER_SIZE)
		return append_large(w, size, m, ranges, count);
	mark = w->mark_synced > w->mark_named &&
			       size + BUS__JOURNAL_MARK_SIZE <=
				       BUS__JOURNAL_BUFFER_SIZE
		       ? BUS__JOURNAL_MARK_SIZE
		       : 0;
	ret = room(w, size + mark);
	if (ret < 0)
		return ret;
	b = &w->buffers[w->filling];
	if (mark) {
		b->used += (uint32_t)bus__journal_encode_mark(
			b->data + b->used, w->mark_synced);
		if (w->synced_position > b->vouches)
			b->vouches = w->synced_position;
		w->mark_named = w->mark_synced;
	}
	b->content = 1;
	if (m) {
		if (!b->has_message) {
			b->has_message = 1;
			b->index_sequence = m->sequence;
			b->index_time_ns = m->time_ns;
			b->index_offset = b->used;
		}
		bus__journal_encode_message(b->data + b->used, m);
		w->next_sequence = m->sequence + 1;
		w->has_messages = 1;
		w->file_has_message = 1;
	} else if (gap) {
		/* Its sequences are used up: the file may roll after it, and
		 * the written sequence passes it as a message's would. */
		bus__journal_encode_gap(b->data + b->used, gap);
		w->next_sequence = gap->first + gap->count;
		w->has_messages = 1;
		w->file_has_message = 1;
	} else {
		bus__journal_encode_acks(b->data + b->used, ranges, count);
	}
	b->used += (uint32_t)size;
	b->records++;
	if (b->used == BUS__JOURNAL_BUFFER_SIZE)
		return bus_journal_submit(w);
	return 0;
}

int bus_journal_append_message(struct bus_journal_writer *w,
			       const struct bus_journal_message *m)
{
	if (!w || !m || (m->extension_length && !m->extension) ||
	    (m->payload_length && !m->payload))
		return -EINVAL;
	return append(w, m, NULL, 0, NULL);
}

int bus_journal_append_acks(struct bus_journal_writer *w,
			    const struct bus_journal_range *ranges,
			    uint32_t count)
{
	if (!w || (count && !ranges) || count > (BUS__JOURNAL_RECORD_MAX / 16))
		return -EINVAL;
	return append(w, NULL, ranges, count, NULL);
}

int bus_journal_append_gap(struct bus_journal_writer *w,
			   const struct bus_journal_gap *gap)
{
	if (!w || !gap || !gap->count || gap->first + gap->count < gap->first)
		return -EINVAL;
	return append(w, NULL, NULL, 0, gap);
}

uint64_t bus_journal_durable_sequence(const struct bus_journal_writer *w)
{
	return w ? w->durable_sequence : 0;
}

uint64_t bus_journal_written_sequence(const struct bus_journal_writer *w)
{
	return w ? w->written_sequence : 0;
}

/* A mark is due and a buffer has room for it. */
static int mark_placeable(const struct bus_journal_writer *w)
{
	if (w->mark_synced <= w->mark_named)
		return 0;
	if (w->filling >= 0)
		return w->buffers[w->filling].used + BUS__JOURNAL_MARK_SIZE <=
		       BUS__JOURNAL_BUFFER_SIZE;
	for (int i = 0; i < BUS__JOURNAL_BUFFERS; i++)
		if (w->buffers[i].state == BUS__JOURNAL_BUFFER_FREE)
			return 1;
	return 0;
}

/*
 * 0 when a submit has something to do now: records not yet handed to a
 * write, or written bytes no sync covers (always, or interval once due).
 * What waits for writes in flight says -1: their completions make the
 * event fd readable, and bus_journal_reap() issues the sync then.  Never
 * 0 for nothing, so a caller's loop does not spin.
 */
int bus_journal_sync_due_ms(const struct bus_journal_writer *w)
{
	uint64_t now;

	if (!w || w->options.sync == BUS_JOURNAL_SYNC_NONE)
		return -1;
	if (w->filling >= 0 && w->buffers[w->filling].used)
		return 0;
	if (mark_placeable(w))
		return 0; /* a mark to write: bus_journal_submit() */
	if ((w->written_position < w->content_position
		     ? w->written_position
		     : w->content_position) <= sync_cover_max(w))
		return -1;
	if (w->options.sync == BUS_JOURNAL_SYNC_ALWAYS || !w->sync_due_ns)
		return 0;
	now = bus__journal_now_ns(CLOCK_MONOTONIC);
	return now >= w->sync_due_ns
		       ? 0
		       : (int)((w->sync_due_ns - now + 999999) / 1000000);
}

void bus_journal_sync_here(struct bus_journal_writer *w, int yes)
{
	if (w)
		w->sync_here = !!yes;
}

int bus_journal_event_fd(const struct bus_journal_writer *w)
{
	return w ? w->event_fd : -EINVAL;
}

void bus_journal_writer_figures(const struct bus_journal_writer *w,
				struct bus_journal_figures *figures)
{
	if (w && figures)
		*figures = w->figures;
}
