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
 * (libbus/journal/fd_dir.h), which is what an operator can look at.
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

const char *busctl_journal_detail(const struct busctl_journal_source *source,
				  const char *detail, char *out, size_t size)
{
	if (source->dir.fd < 0)
		return detail;
	return bus_journal_fd_dir_detail(&source->dir, detail, out, size);
}

int busctl_journal_open(struct busctl *ctl, const char *command,
			const char *what, struct bus_journal_reader **reader,
			struct busctl_journal_source *source)
{
	char detail[600] = "", named[sizeof(detail) + 4096];
	uint64_t position;
	int err, dir_fd;

	source->dir.fd = -1;
	if (!busctl_journal_is_name(what)) {
		err = bus_journal_reader_open(reader, what, detail,
					      sizeof(detail));
		if (err < 0)
			busctl_error("%s: %s", command, detail);
		return err;
	}
	if (!ctl->bus && busctl_connect(ctl) < 0)
		return -1;
	err = bus__journal_open(ctl->bus, what, &dir_fd, &position, NULL, 0);
	if (err < 0) {
		busctl_fail(ctl, err, "%s %s", command, what);
		return err;
	}
	bus_journal_fd_dir_init(&source->dir, dir_fd, what);
	err = bus_journal_reader_open(reader, source->dir.path, detail,
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
	if (source->dir.fd >= 0)
		close(source->dir.fd);
	source->dir.fd = -1;
}
