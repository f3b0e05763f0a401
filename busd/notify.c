/* SPDX-License-Identifier: MIT */
/* Readiness and stopping for systemd; see notify.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

/*
 * sd_notify() returns 0 when NOTIFY_SOCKET is unset, > 0 when it sent,
 * and < 0 when it could not: then systemd will give up waiting for us,
 * which the log should explain.  unset_environment stays 0: a child that
 * busd may start one day should not inherit the socket, but nothing
 * forks after this point today.
 */
static void busd_notify(const char *state)
{
	int ret = sd_notify(0, state);

	if (ret < 0)
		busd_warning("cannot tell systemd '%.*s': %s",
			     (int)strcspn(state, "\n"), state, strerror(-ret));
	else if (ret > 0)
		busd_debug("told systemd '%.*s'", (int)strcspn(state, "\n"),
			   state);
}

void busd_notify_ready(const char *bus_name, unsigned int queues,
		       unsigned int topics)
{
	char state[256];

	snprintf(state, sizeof(state),
		 "READY=1\nMAINPID=%d\nSTATUS=serving bus '%s' with %u "
		 "queue%s and %u topic%s",
		 (int)getpid(), bus_name, queues, queues == 1 ? "" : "s",
		 topics, topics == 1 ? "" : "s");
	busd_notify(state);
}

void busd_notify_stopping(void)
{
	busd_notify("STOPPING=1\nSTATUS=stopping");
}
