/* SPDX-License-Identifier: MIT */
/*
 * A writer's life outside the write path: opening a journal (reading it
 * through, cutting a torn tail, appending after the last good record),
 * starting files, deleting old ones, closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "index.h"
#include "reader.h"
#include "writer.h"
#include "writer_files.h"

#define QUEUE_DEPTH 64

static void say(char *detail, size_t detail_size, const char *path, int error)
{
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s: %s", path,
			 strerror(-error));
}

static int options_check(const struct bus_journal_options *o)
{
	if (!o || !o->directory || !o->directory[0] ||
	    (o->kind != BUS_JOURNAL_QUEUE && o->kind != BUS_JOURNAL_TOPIC) ||
	    (unsigned)o->sync > BUS_JOURNAL_SYNC_ALWAYS)
		return -EINVAL;
	if (strlen(o->directory) >= BUS__JOURNAL_PATH_MAX - 32)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads the journal through: where it ends, what it holds, the newest
 * file's index entries. */
static int scan(struct bus_journal_writer *w, struct bus_journal_reader *r,
		char *detail, size_t detail_size)
{
	struct bus_journal_entry e;
	uint64_t last_indexed = 0;
	int ret, indexed = 0;

	while ((ret = bus_journal_next(r, &e, detail, detail_size)) == 1) {
		if ((e.type != BUS_JOURNAL_RECORD_MESSAGE &&
		     e.type != BUS_JOURNAL_RECORD_GAP) ||
		    !bus__journal_reader_in_newest(r))
			continue;
		/* A gap used up sequences too: the file may roll. */
		w->file_has_message = 1;
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE)
			continue;
		if (indexed &&
		    e.offset - last_indexed < BUS__JOURNAL_BUFFER_SIZE)
			continue;
		if (w->index_fd >= 0) {
			struct bus__journal_index_entry ie = {
				e.message.sequence, e.message.time_ns, e.offset
			};

			(void)bus__journal_index_put(w->index_fd,
						     w->index_count++, &ie);
		}
		indexed = 1;
		last_indexed = e.offset;
	}
	return ret;
}

/* Opens the newest file for appending after its good records, cutting a
 * torn tail off it. */
static int adopt_newest(struct bus_journal_writer *w,
			struct bus_journal_reader *r, char *detail,
			size_t detail_size)
{
	char path[BUS__JOURNAL_PATH_MAX];
	uint64_t end = r->offset;
	int ret;

	ret = bus__journal_path(path, sizeof(path), w->directory,
				r->firsts[r->files - 1], "journal");
	if (ret < 0)
		return ret;
	w->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (w->fd < 0) {
		ret = -errno;
		say(detail, detail_size, path, ret);
		return ret;
	}
	w->file_first = r->firsts[r->files - 1];
	if (r->torn || end < r->file_size) {
		if (ftruncate(w->fd, (off_t)end) != 0) {
			ret = -errno;
			say(detail, detail_size, path, ret);
			return ret;
		}
		if (end < BUS__JOURNAL_FILE_HEADER_SIZE) {
			ret = bus__journal_header_write(w, w->fd,
							w->file_first);
			if (ret < 0) {
				say(detail, detail_size, path, ret);
				return ret;
			}
			end = BUS__JOURNAL_FILE_HEADER_SIZE;
		}
	}
	w->file_offset = end;
	if (w->options.sync == BUS_JOURNAL_SYNC_NONE)
		return 0;
	/* What a writer with sync = none (or one killed before its sync)
	 * left in the page cache is durable only from here: the durable
	 * sequence at open counts on it, and the first mark names it. */
	if (fdatasync(w->fd) != 0) {
		ret = -errno;
		say(detail, detail_size, path, ret);
		return ret;
	}
	ret = bus__journal_sync_directory(w->directory);
	if (ret < 0) {
		say(detail, detail_size, w->directory, ret);
		return ret;
	}
	w->figures.syncs++;
	w->mark_synced = end;
	return 0;
}

static int ring_setup(struct bus_journal_writer *w)
{
	struct iovec iov[BUS__JOURNAL_BUFFERS];
	int ret;

	ret = io_uring_queue_init(QUEUE_DEPTH, &w->ring, 0);
	if (ret < 0)
		return ret;
	w->ring_ready = 1;
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->event_fd < 0)
		return -errno;
	ret = io_uring_register_eventfd(&w->ring, w->event_fd);
	if (ret < 0)
		return ret;
	if (posix_memalign((void **)&w->memory, 4096,
			   (size_t)BUS__JOURNAL_BUFFERS *
				   BUS__JOURNAL_BUFFER_SIZE) != 0)
		return -ENOMEM;
	for (int i = 0; i < BUS__JOURNAL_BUFFERS; i++) {
		w->buffers[i].data =
			w->memory + (size_t)i * BUS__JOURNAL_BUFFER_SIZE;
		iov[i].iov_base = w->buffers[i].data;
		iov[i].iov_len = BUS__JOURNAL_BUFFER_SIZE;
	}
	/* Registered buffers spare the kernel pinning pages per write; a
	 * kernel that refuses (RLIMIT_MEMLOCK) gets plain writes. */
	w->fixed_buffers = io_uring_register_buffers(
				   &w->ring, iov, BUS__JOURNAL_BUFFERS) == 0;
	bus__journal_file_register(w);
	return 0;
}

static int lock_directory(struct bus_journal_writer *w, char *detail,
			  size_t detail_size)
{
	w->directory_fd =
		open(w->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->directory_fd < 0) {
		int ret = -errno;

		say(detail, detail_size, w->directory, ret);
		return ret;
	}
	if (flock(w->directory_fd, LOCK_EX | LOCK_NB) != 0) {
		if (detail && detail_size)
			snprintf(detail, detail_size,
				 "%s: another writer has this journal open",
				 w->directory);
		return -EBUSY;
	}
	return 0;
}

static int open_files(struct bus_journal_writer *w,
		      struct bus_journal_recovery *recovered, char *detail,
		      size_t detail_size)
{
	struct bus_journal_reader *r;
	int ret;

	ret = bus_journal_reader_open(&r, w->directory, detail, detail_size);
	if (ret < 0)
		return ret;
	if (r->files)
		bus__journal_index_open(w, r->firsts[r->files - 1]);
	ret = scan(w, r, detail, detail_size);
	if (ret == 0 && r->files)
		ret = adopt_newest(w, r, detail, detail_size);
	if (ret == 0) {
		/* A file's name is the first sequence it may hold, also
		 * when its messages went with a trim. */
		w->next_sequence = r->recovery.next_sequence;
		if (r->files && r->firsts[r->files - 1] > w->next_sequence)
			w->next_sequence = r->firsts[r->files - 1];
		w->has_messages = w->next_sequence > 0;
		w->durable_sequence = w->next_sequence;
		w->written_sequence = w->next_sequence;
		if (recovered) {
			*recovered = r->recovery;
			recovered->files = r->files;
			/* Past a trim of every message: the newest name. */
			recovered->next_sequence = w->next_sequence;
		}
	}
	if (ret == 0 && !r->files) {
		ret = bus__journal_writer_new_file(w, 0);
		if (ret < 0)
			say(detail, detail_size, w->directory, ret);
	}
	bus_journal_reader_close(r);
	return ret;
}

int bus_journal_writer_open(struct bus_journal_writer **writer,
			    const struct bus_journal_options *options,
			    struct bus_journal_recovery *recovered,
			    char *detail, size_t detail_size)
{
	struct bus_journal_writer *w;
	int ret;

	if (!writer)
		return -EINVAL;
	*writer = NULL;
	ret = options_check(options);
	if (ret < 0)
		return ret;
	if (recovered)
		memset(recovered, 0, sizeof(*recovered));
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->options = *options;
	w->fd = w->index_fd = w->event_fd = w->directory_fd = -1;
	w->filling = -1;
	snprintf(w->directory, sizeof(w->directory), "%s", options->directory);
	snprintf(w->name, sizeof(w->name), "%s",
		 options->name ? options->name : "");
	w->options.directory = w->directory;
	w->options.name = w->name;
	if (!w->options.sync_interval_ms)
		w->options.sync_interval_ms = 10;
	if (!w->options.segment_bytes)
		w->options.segment_bytes = 64ull << 20;
	ret = bus__journal_make_directory(w->directory, detail, detail_size);
	if (ret == 0)
		ret = lock_directory(w, detail, detail_size);
	if (ret == 0)
		ret = open_files(w, recovered, detail, detail_size);
	if (ret == 0) {
		ret = ring_setup(w);
		if (ret < 0)
			say(detail, detail_size, "io_uring", ret);
	}
	if (ret < 0) {
		w->error = ret;
		bus_journal_writer_close(w);
		return ret;
	}
	*writer = w;
	return 0;
}

/* A journal closed cleanly ends with a sync mark that covers all of it,
 * itself fdatasync'd: damage anywhere in it is refused, never cut. */
static int close_mark(struct bus_journal_writer *w)
{
	uint8_t mark[BUS__JOURNAL_MARK_SIZE];
	int ret;

	if (w->options.sync == BUS_JOURNAL_SYNC_NONE ||
	    w->mark_synced <= w->mark_named || w->fd < 0)
		return 0;
	bus__journal_encode_mark(mark, w->mark_synced);
	ret = bus__journal_write_all(w->fd, mark, sizeof(mark),
				     (off_t)w->file_offset);
	if (ret == 0 && fdatasync(w->fd) != 0)
		ret = -errno;
	if (ret < 0)
		return ret;
	w->mark_named = w->mark_synced;
	w->file_offset += sizeof(mark);
	return 0;
}

int bus_journal_writer_close(struct bus_journal_writer *w)
{
	int ret = 0, drained;

	if (!w)
		return -EINVAL;
	if (w->ring_ready) {
		/* Drained whatever submit says: the buffers are freed below
		 * and no write in flight may still read them. */
		ret = w->error ? w->error : bus_journal_submit(w);
		drained = bus__journal_writer_drain(w);
		if (ret == 0)
			ret = drained;
		if (ret == 0)
			ret = bus__journal_writer_sync_now(w);
		if (ret == 0)
			ret = close_mark(w);
	}
	if (w->ring_ready) {
		/* The ring lets go of its files when it is torn down, later
		 * and in the background: give them back now, so that the
		 * file system is free (unmounted, say) once this returns. */
		if (w->fixed_file)
			io_uring_unregister_files(&w->ring);
		io_uring_queue_exit(&w->ring);
	}
	if (w->event_fd >= 0)
		close(w->event_fd);
	if (w->fd >= 0)
		close(w->fd);
	if (w->index_fd >= 0)
		close(w->index_fd);
	if (w->directory_fd >= 0)
		close(w->directory_fd);
	free(w->memory);
	free(w->marks);
	free(w);
	return ret;
}
