/* SPDX-License-Identifier: MIT */
/*
 * A writer's files: a new journal file with its header and index, the
 * ring pointed at it, old files deleted (bus_journal_trim).
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
	w->index_fd = bus__journal_index_create(path);
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
