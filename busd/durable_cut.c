/* SPDX-License-Identifier: MIT */
/*
 * After a journal write failed: the newest file cut back to its last sync
 * mark before the journal is opened again (busd/durable_cut.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detail.h"
#include "durable_cut.h"
#include "format.h"
#include "journal.h"

/* DIR's newest .journal file (names are 20 digits: the greatest). */
static int newest_file(const char *directory, char *path, size_t size)
{
	char best[64] = "";
	struct dirent *e;
	DIR *d = opendir(directory);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n == 28 && !strcmp(e->d_name + 20, ".journal") &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0])
		return -ENOENT;
	if (snprintf(path, size, "%s/%s", directory, best) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* The offset the last good mark of data names (the header's end if
 * none), walking records until the first bad one; *cut_before: the file
 * is that, then one mark naming it (a cut done already). */
static uint64_t last_mark(const uint8_t *data, size_t size, bool *cut_before)
{
	uint64_t offset = BUS__JOURNAL_FILE_HEADER_SIZE, synced = offset;
	struct bus_journal_entry e;

	*cut_before = false;
	while (offset < size) {
		long n = bus_journal_record_parse(data + offset, size - offset,
						  &e, NULL, 0);

		if (n <= 0)
			break;
		if (e.type == BUS_JOURNAL_RECORD_SYNC_MARK &&
		    e.synced_offset >= synced && e.synced_offset <= offset) {
			synced = e.synced_offset;
			*cut_before = e.synced_offset == offset &&
				      offset + (uint64_t)n == size;
		}
		offset += (uint64_t)n;
	}
	return synced;
}

int busd_durable_cut_to_mark(const char *directory, uint64_t *cut_bytes,
			     char *detail, size_t detail_size)
{
	char path[4200];
	struct stat st;
	uint8_t *data = NULL;
	uint8_t mark[BUS__JOURNAL_MARK_SIZE];
	uint64_t keep;
	ssize_t n = 0;
	bool done;
	int fd, ret;

	*cut_bytes = 0;
	ret = newest_file(directory, path, sizeof(path));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return bus__detail(detail, detail_size, ret, "%s: %s",
				   directory, strerror(-ret));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return bus__detail(detail, detail_size, ret, "%s: %s", path,
				   strerror(-ret));
	}
	if ((uint64_t)st.st_size <= BUS__JOURNAL_FILE_HEADER_SIZE) {
		close(fd);
		return 0;
	}
	data = malloc((size_t)st.st_size);
	if (data)
		n = pread(fd, data, (size_t)st.st_size, 0);
	ret = !data ? -ENOMEM : n != st.st_size ? (n < 0 ? -errno : -EIO) : 0;
	keep = ret ? 0 : last_mark(data, (size_t)st.st_size, &done);
	free(data);
	/* Cut, then a mark naming the end again (what it names was synced
	 * when the mark we cut was written): a second failure before the
	 * writer writes its own mark cuts nothing more. */
	if (!ret && !done && keep < (uint64_t)st.st_size) {
		bus__journal_encode_mark(mark, keep);
		if (ftruncate(fd, (off_t)keep) ||
		    pwrite(fd, mark, sizeof(mark), (off_t)keep) !=
			    (ssize_t)sizeof(mark) ||
		    fdatasync(fd))
			ret = errno ? -errno : -EIO;
		else
			*cut_bytes = (uint64_t)st.st_size - keep;
	}
	close(fd);
	if (ret)
		return bus__detail(detail, detail_size, ret, "%s: %s", path,
				   strerror(-ret));
	return 0;
}
