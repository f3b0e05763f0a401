/* SPDX-License-Identifier: MIT */
/*
 * What a power cut leaves of a journal, for test_durable_faults.sh:
 *
 *   journal_powercut DIR [GARBAGE [SEED]]
 *
 * SIGKILL leaves the page cache, so a write that was never fdatasync'd
 * still reads back after a plain kill: a missing sync would not show.
 * This cuts DIR's newest journal file back to the offset its last good
 * sync mark names (journal.h: the writer appends a mark naming what an
 * fdatasync that completed made durable), which is all a power cut is
 * sure to leave of it, and then appends GARBAGE bytes of noise (a torn
 * write; 0: none).  Older files are fdatasync'd before the next begins
 * and are left whole.  The records are walked with
 * bus_journal_record_parse() from the header on; the walk stops at the
 * first bad record (a write that had not landed when busd died).
 *
 * Prints "FILE SIZE CUT GARBAGE" and exits 0; 1 on an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "journal.h"

static int newest(const char *dir, char *path, size_t size)
{
	char best[256] = "";
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		/* Names are 20 digits: the greatest is the newest. */
		if (n == 28 && !strcmp(e->d_name + 20, ".journal") &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0])
		return -ENOENT;
	snprintf(path, size, "%s/%s", dir, best);
	return 0;
}

static uint8_t *read_all(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *data;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	data = malloc((size_t)st.st_size + 1);
	while (data && done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	*size = done;
	return data;
}

/* The offset the last good sync mark names; the header's end if none. */
static uint64_t synced_end(const uint8_t *data, size_t size)
{
	uint64_t offset = BUS__JOURNAL_FILE_HEADER_SIZE, synced = offset;
	struct bus_journal_entry e;

	while (offset < size) {
		long n = bus_journal_record_parse(data + offset, size - offset,
						  &e, NULL, 0);

		if (n <= 0)
			break;
		if (e.type == BUS_JOURNAL_RECORD_SYNC_MARK &&
		    e.synced_offset > synced && e.synced_offset <= offset)
			synced = e.synced_offset;
		offset += (uint64_t)n;
	}
	return synced;
}

int main(int argc, char **argv)
{
	char path[4096];
	uint64_t cut;
	size_t size = 0;
	long garbage = argc > 2 ? atol(argv[2]) : 0;
	unsigned int seed = argc > 3 ? (unsigned int)atol(argv[3]) : 1;
	uint8_t *data;
	int fd, ret;

	if (argc < 2) {
		fprintf(stderr,
			"usage: journal_powercut DIR [GARBAGE [SEED]]\n");
		return 1;
	}
	ret = newest(argv[1], path, sizeof(path));
	if (ret < 0) {
		fprintf(stderr, "journal_powercut: %s: no journal file: %s\n",
			argv[1], strerror(-ret));
		return 1;
	}
	data = read_all(path, &size);
	if (!data) {
		fprintf(stderr, "journal_powercut: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	cut = size < BUS__JOURNAL_FILE_HEADER_SIZE ? size
						   : synced_end(data, size);
	free(data);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)cut) < 0) {
		fprintf(stderr, "journal_powercut: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	srand(seed);
	for (long i = 0; i < garbage; i++) {
		uint8_t b = (uint8_t)rand();

		if (pwrite(fd, &b, 1, (off_t)(cut + (uint64_t)i)) != 1) {
			fprintf(stderr, "journal_powercut: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	close(fd);
	printf("%s %zu %" PRIu64 " %ld\n", path, size, cut, garbage);
	return 0;
}
