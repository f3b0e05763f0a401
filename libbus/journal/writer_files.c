/* SPDX-License-Identifier: MIT */
/*
 * A writer's files: a new journal file with its header and index, the
 * ring pointed at it, old files chosen and deleted (bus_journal_trim,
 * writer_trim.c, and a topic's roll).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "format.h"
#include "index.h"
#include "writer_files.h"

uint64_t bus__journal_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bus__journal_write_all(int fd, const void *data, size_t size, off_t at)
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

int bus__journal_header_write(struct bus_journal_writer *w, int fd,
			      uint64_t first)
{
	uint8_t header[BUS__JOURNAL_FILE_HEADER_SIZE];

	bus__journal_header_encode(header, w->options.kind, w->name, first,
				   bus__journal_now_ns(CLOCK_REALTIME));
	return bus__journal_write_all(fd, header, sizeof(header), 0);
}

/* Points the ring's file 0 (or plain fd use) at w->fd. */
void bus__journal_file_register(struct bus_journal_writer *w)
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

void bus__journal_index_open(struct bus_journal_writer *w, uint64_t first)
{
	char path[BUS__JOURNAL_PATH_MAX];

	if (w->index_fd >= 0)
		close(w->index_fd);
	w->index_fd = -1;
	w->index_count = 0;
	if (bus__journal_path(path, sizeof(path), w->directory, first,
			      "index") < 0)
		return;
	/* The index is a hint: without one, seeks scan. */
	w->index_fd = bus__journal_index_create(path, w->options.file_mode);
	if (w->index_fd < 0)
		w->index_fd = -1;
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
	/* Exact, whatever the umask: who may read it (options). */
	ret = fchmod(fd, w->options.file_mode ? w->options.file_mode : 0640)
		      ? -errno
		      : 0;
	if (ret == 0)
		ret = bus__journal_header_write(w, fd, first);
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
	w->file_has_message = 0;
	w->mark_synced = w->mark_named = 0;
	bus__journal_file_register(w);
	bus__journal_index_open(w, first);
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

int bus__journal_trim_choose(struct bus_journal_writer *w, uint64_t below,
			     uint64_t **firsts, size_t *n)
{
	char path[BUS__JOURNAL_PATH_MAX];
	uint64_t total = 0, now_s = (uint64_t)time(NULL);
	size_t count, i = 0;
	int ret, topic;

	*n = 0;
	ret = bus__journal_list(w->directory, firsts, &count);
	if (ret < 0)
		return ret;
	topic = w->options.kind == BUS_JOURNAL_TOPIC;
	for (size_t k = 0; k < count; k++)
		if (bus__journal_path(path, sizeof(path), w->directory,
				      (*firsts)[k], "journal") == 0)
			total += size_of(path);
	/* Oldest first, never the file being written. */
	for (; i + 1 < count && (*firsts)[i] != w->file_first; i++) {
		if (bus__journal_path(path, sizeof(path), w->directory,
				      (*firsts)[i], "journal") < 0)
			break;
		if (!((*firsts)[i + 1] <= below ||
		      (topic && ((w->options.retain_bytes &&
				  total > w->options.retain_bytes) ||
				 stale(w, path, now_s)))))
			break;
		total -= size_of(path);
	}
	*n = i;
	return 0;
}

int bus__journal_trim_delete(struct bus_journal_writer *w,
			     const uint64_t *firsts, size_t n)
{
	char path[BUS__JOURNAL_PATH_MAX];
	size_t removed = 0;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		if (bus__journal_path(path, sizeof(path), w->directory,
				      firsts[i], "journal") < 0)
			break;
		if (unlink(path) != 0) {
			ret = -errno;
			break;
		}
		removed++;
		if (bus__journal_path(path, sizeof(path), w->directory,
				      firsts[i], "index") == 0)
			unlink(path);
	}
	if (removed && w->options.sync != BUS_JOURNAL_SYNC_NONE)
		bus__journal_sync_directory(w->directory);
	return ret < 0 ? ret : (int)removed;
}
