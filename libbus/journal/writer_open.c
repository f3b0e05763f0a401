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

#define QUEUE_DEPTH 64

int bus__journal_writer_drain(struct bus_journal_writer *w);
int bus__journal_writer_sync_now(struct bus_journal_writer *w);

static void say(char *detail, size_t detail_size, const char *path, int error)
{
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s: %s", path,
			 strerror(-error));
}

static int write_all(int fd, const void *data, size_t size, off_t at)
{
	const uint8_t *p = data;

	while (size) {
		ssize_t n = pwrite(fd, p, size, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		p += n;
		size -= (size_t)n;
		at += n;
	}
	return 0;
}

static int header_write(struct bus_journal_writer *w, int fd, uint64_t first)
{
	uint8_t header[BUS__JOURNAL_FILE_HEADER_SIZE];

	bus__journal_header_encode(header, w->options.kind, w->name, first,
				   bus__journal_now_ns(CLOCK_REALTIME));
	return write_all(fd, header, sizeof(header), 0);
}

/* Points the ring's file 0 (or plain fd use) at w->fd. */
static void file_register(struct bus_journal_writer *w)
{
	if (!w->ring_ready)
		return;
	if (w->fixed_file)
		w->fixed_file = io_uring_register_files_update(&w->ring, 0,
							       &w->fd, 1) == 1;
	else
		w->fixed_file = io_uring_register_files(&w->ring, &w->fd, 1) ==
				0;
}

static int index_open(struct bus_journal_writer *w, uint64_t first)
{
	char path[BUS__JOURNAL_PATH_MAX];

	if (w->index_fd >= 0)
		close(w->index_fd);
	w->index_fd = -1;
	w->index_count = 0;
	if (bus__journal_path(path, sizeof(path), w->directory, first,
			      "index") < 0)
		return 0;
	/* The index is a hint: without one, seeks scan. */
	w->index_fd = bus__journal_index_create(path);
	if (w->index_fd < 0)
		w->index_fd = -1;
	return 0;
}

int bus__journal_writer_new_file(struct bus_journal_writer *w, uint64_t first)
{
	char path[BUS__JOURNAL_PATH_MAX];
	int fd, ret;

	ret = bus__journal_path(path, sizeof(path), w->directory, first,
				"journal");
	if (ret < 0)
		return ret;
	/* O_EXCL: a file of this name holds records already. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	ret = header_write(w, fd, first);
	if (ret == 0 && w->options.sync != BUS_JOURNAL_SYNC_NONE)
		ret = bus__journal_sync_directory(w->directory);
	if (ret < 0) {
		close(fd);
		unlink(path);
		return ret;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->file_first = first;
	w->file_offset = BUS__JOURNAL_FILE_HEADER_SIZE;
	file_register(w);
	return index_open(w, first);
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
		if (e.type != BUS_JOURNAL_RECORD_MESSAGE ||
		    !bus__journal_reader_in_newest(r))
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
			ret = header_write(w, w->fd, w->file_first);
			if (ret < 0) {
				say(detail, detail_size, path, ret);
				return ret;
			}
			end = BUS__JOURNAL_FILE_HEADER_SIZE;
		}
		if (w->options.sync != BUS_JOURNAL_SYNC_NONE &&
		    fdatasync(w->fd) != 0) {
			ret = -errno;
			say(detail, detail_size, path, ret);
			return ret;
		}
	}
	w->file_offset = end;
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
	file_register(w);
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
		index_open(w, r->firsts[r->files - 1]);
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
		if (recovered) {
			*recovered = r->recovery;
			recovered->files = r->files;
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

static int stale(const struct bus_journal_writer *w, const char *path,
		 uint64_t now_s)
{
	struct stat st;

	return w->options.retain_age_ms && stat(path, &st) == 0 &&
	       (uint64_t)st.st_mtime * 1000u + w->options.retain_age_ms <
		       now_s * 1000u;
}

static uint64_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int bus_journal_trim(struct bus_journal_writer *w, uint64_t below)
{
	char path[BUS__JOURNAL_PATH_MAX];
	uint64_t *firsts, total = 0, now_s = (uint64_t)time(NULL);
	size_t count, removed = 0;
	int ret, topic;

	if (!w)
		return -EINVAL;
	ret = bus__journal_list(w->directory, &firsts, &count);
	if (ret < 0)
		return ret;
	topic = w->options.kind == BUS_JOURNAL_TOPIC;
	for (size_t i = 0; i < count; i++)
		if (bus__journal_path(path, sizeof(path), w->directory,
				      firsts[i], "journal") == 0)
			total += size_of(path);
	/* Oldest first, never the file being written. */
	for (size_t i = 0; i + 1 < count && firsts[i] != w->file_first; i++) {
		uint64_t size;
		int go;

		if (bus__journal_path(path, sizeof(path), w->directory,
				      firsts[i], "journal") < 0)
			break;
		size = size_of(path);
		go = firsts[i + 1] <= below ||
		     (topic && ((w->options.retain_bytes &&
				 total > w->options.retain_bytes) ||
				stale(w, path, now_s)));
		if (!go)
			break;
		if (unlink(path) != 0) {
			ret = -errno;
			break;
		}
		total -= size;
		removed++;
		if (bus__journal_path(path, sizeof(path), w->directory,
				      firsts[i], "index") == 0)
			unlink(path);
	}
	free(firsts);
	if (removed && w->options.sync != BUS_JOURNAL_SYNC_NONE)
		bus__journal_sync_directory(w->directory);
	return ret < 0 ? ret : (int)removed;
}

int bus_journal_writer_close(struct bus_journal_writer *w)
{
	int ret = 0;

	if (!w)
		return -EINVAL;
	if (w->ring_ready && !w->error) {
		ret = bus_journal_submit(w);
		if (ret == 0)
			ret = bus__journal_writer_drain(w);
		if (ret == 0)
			ret = bus__journal_writer_sync_now(w);
	} else if (w->ring_ready) {
		bus__journal_writer_drain(w);
		ret = w->error;
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
