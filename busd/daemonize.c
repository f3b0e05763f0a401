/* SPDX-License-Identifier: MIT */
/* Forking into the background with a readiness pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemonize.h"

/* The parent: 0 once the child is ready, 1 when it exits without that. */
static int busd_daemon_wait(int ready_fd, pid_t child)
{
	char byte;
	ssize_t length;

	do
		length = read(ready_fd, &byte, 1);
	while (length < 0 && errno == EINTR);
	if (length == 1)
		return 0;
	/* The write end closed unsaid: the child exited, reap it. */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return 1;
}

/*
 * The daemon leaves its working directory, so a relative BUS_RUNTIME_DIR
 * would point elsewhere afterwards: resolve it against the directory busd
 * was started in, as the clients started there will.
 */
static int busd_daemon_pin_runtime_dir(void)
{
	const char *dir = getenv("BUS_RUNTIME_DIR");
	char cwd[PATH_MAX], absolute[2 * PATH_MAX];

	if (!dir || !*dir || *dir == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	snprintf(absolute, sizeof(absolute), "%s/%s", cwd, dir);
	return setenv("BUS_RUNTIME_DIR", absolute, 1) ? -errno : 0;
}

/* The child: its own session, no terminal, nothing on stdin or stdout. */
static void busd_daemon_detach(void)
{
	int fd;

	setsid();
	if (chdir("/"))
		return;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	close(fd);
}

int busd_daemonize(int *ready_fd)
{
	int fds[2], ret;
	pid_t child;

	ret = busd_daemon_pin_runtime_dir();
	if (ret)
		return ret;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (child > 0) {
		close(fds[1]);
		_exit(busd_daemon_wait(fds[0], child));
	}
	close(fds[0]);
	busd_daemon_detach();
	*ready_fd = fds[1];
	return 0;
}

void busd_daemon_ready(int ready_fd)
{
	if (ready_fd < 0)
		return;
	/* A failed write closes the pipe unsaid: the parent exits 1. */
	if (write(ready_fd, "", 1) != 1)
		fprintf(stderr, "busd: cannot tell the parent we are ready\n");
	close(ready_fd);
}
