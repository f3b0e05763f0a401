/* SPDX-License-Identifier: MIT */
/*
 * Where dump and replay read a journal: a path, or the name of a recorded
 * topic or a durable queue, whose directory busd hands over
 * (BUS_CONTROL_JOURNAL, libbus/journal_open.h) so that busctl needs
 * neither busd's data_dir nor a path into it, only read rights on the
 * name.
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

int busctl_journal_open(struct busctl *ctl, const char *command,
			const char *what, struct bus_journal_reader **reader,
			int *dir_fd)
{
	char detail[600] = "", path[64];
	uint64_t position;
	int err;

	*dir_fd = -1;
	if (!busctl_journal_is_name(what)) {
		err = bus_journal_reader_open(reader, what, detail,
					      sizeof(detail));
		if (err < 0)
			busctl_error("%s: %s", command, detail);
		return err;
	}
	if (!ctl->bus && busctl_connect(ctl) < 0)
		return -1;
	err = bus__journal_open(ctl->bus, what, dir_fd, &position, NULL, 0);
	if (err < 0) {
		busctl_fail(ctl, err, "%s %s", command, what);
		return err;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *dir_fd);
	err = bus_journal_reader_open(reader, path, detail, sizeof(detail));
	if (err < 0) {
		busctl_error("%s %s: %s", command, what, detail);
		close(*dir_fd);
		*dir_fd = -1;
	}
	return err;
}
