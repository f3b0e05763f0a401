/* SPDX-License-Identifier: MIT */
/*
 * The control socket: RUNTIME_DIR/BUS.sock, AF_UNIX SOCK_SEQPACKET, so that
 * one request or reply is always one packet (libbus/core/control_protocol.h).
 */
#ifndef BUSD_CONTROL_SOCKET_H
#define BUSD_CONTROL_SOCKET_H

#include <sys/types.h>

#include "control_protocol.h"

/*
 * Binds and listens on path, which must not exist, after giving it mode
 * (connecting needs w) and, unless group is (gid_t)-1, that group.  The
 * default, 0666, lets anyone connect: the queues' own modes guard the data.
 * Returns the socket or -errno (-EPERM: busd may not give that group).
 */
int busd_control_listen(const char *path, mode_t mode, gid_t group);

/*
 * Sends one reply without blocking, with fd attached as SCM_RIGHTS when it
 * is >= 0.  A client that does not read its replies gets -EAGAIN, and
 * busd drops it rather than wait.
 */
int busd_control_send(int socket_fd, const struct bus_control_reply *reply,
		      int fd);

#endif /* BUSD_CONTROL_SOCKET_H */
