/* SPDX-License-Identifier: MIT */
/*
 * Telling systemd how busd is doing (sd_notify(3), libsystemd), for a
 * Type=notify service such as packaging/busd.service: READY=1 once the
 * control socket listens and clients can connect, STOPPING=1 when a stop
 * begins.  Without NOTIFY_SOCKET in the environment (busd not started by
 * systemd) each call does nothing.
 */
#ifndef BUSD_NOTIFY_H
#define BUSD_NOTIFY_H

/* READY=1, with a STATUS= line naming the bus and what it serves. */
void busd_notify_ready(const char *bus_name, unsigned int queues,
		       unsigned int topics);

/* STOPPING=1. */
void busd_notify_stopping(void);

#endif /* BUSD_NOTIFY_H */
