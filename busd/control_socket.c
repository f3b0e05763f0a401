/* SPDX-License-Identifier: MIT */
/* The control socket. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_socket.h"

/*
 * Nobody can connect before listen(), so the socket's mode and group are
 * in place before the first client could use what bind() left.
 */
static int busd_control_restrict(const char *path, mode_t mode, gid_t group)
{
	if (group != (gid_t)-1 && chown(path, (uid_t)-1, group))
		return -errno;
	if (chmod(path, mode))
		return -errno;
	return 0;
}

/* A listening socket at path: bound, restricted and listening, or -errno
 * with nothing left at path. */
static int busd_control_bind(const char *path, mode_t mode, gid_t group)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd, ret;

	strcpy(address.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&address, sizeof(address))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = busd_control_restrict(path, mode, group);
	if (!ret && listen(fd, SOMAXCONN))
		ret = -errno;
	if (ret) {
		unlink(path);
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * The socket appears at path already listening: it is made under
 * PATH.new and renamed into place, so that a client which sees the file
 * (a script waiting for busd, say) is never refused in the moment between
 * bind() and listen().  Only one busd serves a bus (its lock file), so the
 * .new name is its own.  A path too long for the suffix is bound directly.
 */
int busd_control_listen(const char *path, mode_t mode, gid_t group)
{
	char staging[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;

	if (strlen(path) >= sizeof(staging))
		return -ENAMETOOLONG;
	if ((size_t)snprintf(staging, sizeof(staging), "%s.new", path) >=
	    sizeof(staging))
		return busd_control_bind(path, mode, group);
	unlink(staging); /* left by a busd killed right here */
	fd = busd_control_bind(staging, mode, group);
	if (fd < 0)
		return fd;
	if (rename(staging, path)) {
		int ret = -errno;

		unlink(staging);
		close(fd);
		return ret;
	}
	return fd;
}

int busd_control_send(int socket_fd, const struct bus_control_reply *reply,
		      int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { (void *)reply, sizeof(*reply) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t sent;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	sent = sendmsg(socket_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == (ssize_t)sizeof(*reply) ? 0 : -EIO;
}
