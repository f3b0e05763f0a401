/* SPDX-License-Identifier: MIT */
/*
 * The control socket: RUNTIME_DIR/BUS.sock, AF_UNIX SOCK_SEQPACKET, so that
 * one request or reply is always one packet (libbus/control_protocol.h).
 */
#ifndef BUSD_CONTROL_SOCKET_H
#define BUSD_CONTROL_SOCKET_H

#include "control_protocol.h"

/*
 * Binds and listens on path, which must not exist.  Mode 0666: anyone may
 * connect; busd checks each request.  Returns the socket or -errno.
 */
int busd_control_listen(const char *path);

/*
 * Sends one reply without blocking, with fd attached as SCM_RIGHTS when it
 * is >= 0.  A client that does not read its replies gets -EAGAIN, and
 * busd drops it rather than wait.
 */
int busd_control_send(int socket_fd, const struct bus_control_reply *reply,
		      int fd);

#endif /* BUSD_CONTROL_SOCKET_H */
