/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "log_file.h"

static int busd_log_file_redirect(const char *path)
{
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		      0640);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (dup2(fd, STDERR_FILENO) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int busd_log_file_open(const char *path)
{
	int ret = busd_log_file_redirect(path);

	if (ret)
		busd_refuse("cannot open the log file %s: %s", path,
			    strerror(-ret));
	return ret;
}

void busd_log_file_reopen(const char *path)
{
	int ret;

	if (!path || !path[0])
		return;
	ret = busd_log_file_redirect(path);
	if (ret)
		busd_error("cannot open the log file %s again: %s; still "
			   "writing to the old one",
			   path, strerror(-ret));
}
