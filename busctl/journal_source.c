/* SPDX-License-Identifier: MIT */
/*
 * Where dump and replay read a journal: a path, or the name of a recorded
 * topic or a durable queue, whose directory busd hands over
 * (BUS_CONTROL_JOURNAL, libbus/journal_open.h) so that busctl needs
 * neither busd's data_dir nor a path into it, only read rights on the
 * name.
 *
 * The reader opens that directory as /proc/self/fd/N, so its sentences
 * name that; busctl_journal_detail() puts the directory's real name back
 * (readlink, as libbus/topic_catch_up.c does), which is what an operator
 * can look at.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_cli.h"
#include "journal_open.h"

/* A name, not a path: no '/', nothing of that name here, a bus name. */
static int busctl_journal_is_name(const char *what)
{
	struct stat st;

	return !strchr(what, '/') && stat(what, &st) != 0 &&
	       bus_name_check(what) == 0;
}

/* The directory's real name, or "WHAT's journal" when it has none to
 * read (a directory deleted since). */
static void busctl_journal_real(struct busctl_journal_source *source,
				const char *what)
{
	ssize_t n = readlink(source->fd_path, source->real,
			     sizeof(source->real) - 1);

	if (n > 0 && source->real[0] == '/') {
		source->real[n] = '\0';
		return;
	}
	snprintf(source->real, sizeof(source->real), "%s's journal", what);
}

/* n bytes of text after out's used ones, cut to what size holds. */
static void busctl_journal_put(char *out, size_t size, size_t *used,
			       const char *text, size_t n)
{
	size_t room = size - 1 - *used;

	if (n > room)
		n = room;
	memcpy(out + *used, text, n);
	*used += n;
	out[*used] = '\0';
}

const char *busctl_journal_detail(const struct busctl_journal_source *source,
				  const char *detail, char *out, size_t size)
{
	size_t n = strlen(source->fd_path), used = 0;
	const char *at;

	if (source->dir_fd < 0 || !n || !size)
		return detail;
	out[0] = '\0';
	/* Every mention of the directory, whole (not /proc/self/fd/12 in
	 * /proc/self/fd/123). */
	while ((at = strstr(detail, source->fd_path)) &&
	       (at[n] == '/' || at[n] == ':' || at[n] == '\0')) {
		busctl_journal_put(out, size, &used, detail,
				   (size_t)(at - detail));
		busctl_journal_put(out, size, &used, source->real,
				   strlen(source->real));
		detail = at + n;
	}
	busctl_journal_put(out, size, &used, detail, strlen(detail));
	return out;
}

int busctl_journal_open(struct busctl *ctl, const char *command,
			const char *what, struct bus_journal_reader **reader,
			struct busctl_journal_source *source)
{
	char detail[600] = "", named[sizeof(detail) + 4096];
	uint64_t position;
	int err;

	memset(source, 0, sizeof(*source));
	source->dir_fd = -1;
	if (!busctl_journal_is_name(what)) {
		err = bus_journal_reader_open(reader, what, detail,
					      sizeof(detail));
		if (err < 0)
			busctl_error("%s: %s", command, detail);
		return err;
	}
	if (!ctl->bus && busctl_connect(ctl) < 0)
		return -1;
	err = bus__journal_open(ctl->bus, what, &source->dir_fd, &position,
				NULL, 0);
	if (err < 0) {
		source->dir_fd = -1;
		busctl_fail(ctl, err, "%s %s", command, what);
		return err;
	}
	snprintf(source->fd_path, sizeof(source->fd_path), "/proc/self/fd/%d",
		 source->dir_fd);
	busctl_journal_real(source, what);
	err = bus_journal_reader_open(reader, source->fd_path, detail,
				      sizeof(detail));
	if (err < 0) {
		busctl_error("%s %s: %s", command, what,
			     busctl_journal_detail(source, detail, named,
						   sizeof(named)));
		busctl_journal_source_close(source);
	}
	return err;
}

void busctl_journal_source_close(struct busctl_journal_source *source)
{
	if (source->dir_fd >= 0)
		close(source->dir_fd);
	source->dir_fd = -1;
}
