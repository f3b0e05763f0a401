/* SPDX-License-Identifier: MIT */
/* The control socket. */
#include <errno.h>
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

int busd_control_listen(const char *path, mode_t mode, gid_t group)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	strcpy(address.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&address, sizeof(address)))
		goto fail;
	ret = busd_control_restrict(path, mode, group);
	if (!ret && listen(fd, SOMAXCONN))
		ret = -errno;
	if (ret) {
		unlink(path);
		close(fd);
		return ret;
	}
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
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
