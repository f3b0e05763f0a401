/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"

static void encode(uint8_t *p, const struct bus__journal_index_entry *e)
{
	uint64_t v[3] = { htole64(e->sequence), htole64(e->time_ns),
			  htole64(e->offset) };

	memcpy(p, v, sizeof(v));
}

static void decode(const uint8_t *p, struct bus__journal_index_entry *e)
{
	uint64_t v[3];

	memcpy(v, p, sizeof(v));
	e->sequence = le64toh(v[0]);
	e->time_ns = le64toh(v[1]);
	e->offset = le64toh(v[2]);
}

static int read_all(int fd, uint8_t **data, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_size < BUS__JOURNAL_INDEX_HEADER || st.st_size > (1 << 30))
		return -EBADMSG;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < BUS__JOURNAL_INDEX_HEADER) {
		free(buf);
		return -EBADMSG;
	}
	*data = buf;
	*size = (size_t)n;
	return 0;
}

int bus__journal_index_load(const char *path, uint64_t file_size,
			    struct bus__journal_index_entry **entries,
			    size_t *count)
{
	struct bus__journal_index_entry *list, prev = { 0 };
	uint8_t *data = NULL;
	size_t size = 0, n = 0, max;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*entries = NULL;
	*count = 0;
	if (fd < 0)
		return 0;
	if (read_all(fd, &data, &size) < 0 ||
	    memcmp(data, BUS__JOURNAL_INDEX_MAGIC, 8) != 0) {
		close(fd);
		free(data);
		return 0;
	}
	close(fd);
	max = (size - BUS__JOURNAL_INDEX_HEADER) / BUS__JOURNAL_INDEX_ENTRY;
	list = calloc(max ? max : 1, sizeof(*list));
	if (!list) {
		free(data);
		return -ENOMEM;
	}
	for (size_t i = 0; i < max; i++) {
		struct bus__journal_index_entry e;

		decode(data + BUS__JOURNAL_INDEX_HEADER +
			       i * BUS__JOURNAL_INDEX_ENTRY,
		       &e);
		/* A hint: keep only what is consistent, stop at a hole. */
		if (e.offset >= file_size ||
		    (n &&
		     (e.offset <= prev.offset || e.sequence < prev.sequence)))
			break;
		list[n++] = e;
		prev = e;
	}
	free(data);
	*entries = list;
	*count = n;
	return 0;
}

int bus__journal_index_create(const char *path, unsigned int mode)
{
	uint8_t header[BUS__JOURNAL_INDEX_HEADER] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	/* An index is an optimisation: a mode it cannot take is no error. */
	(void)fchmod(fd, mode ? mode : 0640);
	memcpy(header, BUS__JOURNAL_INDEX_MAGIC, 8);
	if (pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
		int ret = errno ? -errno : -EIO;

		close(fd);
		return ret;
	}
	return fd;
}

int bus__journal_index_put(int fd, size_t n,
			   const struct bus__journal_index_entry *entry)
{
	uint8_t p[BUS__JOURNAL_INDEX_ENTRY];
	off_t at = (off_t)(BUS__JOURNAL_INDEX_HEADER +
			   n * BUS__JOURNAL_INDEX_ENTRY);

	encode(p, entry);
	if (pwrite(fd, p, sizeof(p), at) != (ssize_t)sizeof(p))
		return errno ? -errno : -EIO;
	return 0;
}
