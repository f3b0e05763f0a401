/* SPDX-License-Identifier: MIT */
/* A journal directory's real name for sentences (fd_dir.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_dir.h"

void bus_journal_fd_dir_init(struct bus_journal_fd_dir *d, int fd,
			     const char *what)
{
	ssize_t n;

	d->fd = fd;
	snprintf(d->path, sizeof(d->path), "/proc/self/fd/%d", fd);
	n = readlink(d->path, d->real, sizeof(d->real) - 1);
	if (n > 0 && d->real[0] == '/') {
		d->real[n] = '\0';
		return;
	}
	snprintf(d->real, sizeof(d->real), "%s's journal", what);
}

/* n bytes of text after out's used ones, cut to what size holds. */
static void put(char *out, size_t size, size_t *used, const char *text,
		size_t n)
{
	size_t room = size - 1 - *used;

	if (n > room)
		n = room;
	memcpy(out + *used, text, n);
	*used += n;
	out[*used] = '\0';
}

const char *bus_journal_fd_dir_detail(const struct bus_journal_fd_dir *d,
				      const char *detail, char *out,
				      size_t size)
{
	size_t n = strlen(d->path), used = 0;
	const char *at;

	if (!size)
		return detail;
	out[0] = '\0';
	/* Every mention of the directory, whole (not /proc/self/fd/12 in
	 * /proc/self/fd/123). */
	while ((at = strstr(detail, d->path)) &&
	       (at[n] == '/' || at[n] == ':' || at[n] == '\0')) {
		put(out, size, &used, detail, (size_t)(at - detail));
		put(out, size, &used, d->real, strlen(d->real));
		detail = at + n;
	}
	put(out, size, &used, detail, strlen(detail));
	return out;
}
