/* SPDX-License-Identifier: MIT */
/* JOURNAL: a recorded topic's or a durable queue's journal directory for a
 * reader (catch-up subscriptions, replay by name). */
#ifndef BUSD_JOURNAL_REQUEST_H
#define BUSD_JOURNAL_REQUEST_H

#include "handler_context.h"

/* Needs read rights (r) on the name; the directory goes with the reply as
 * SCM_RIGHTS (reply->close_fd: ours, closed once sent). */
int busd_on_journal(struct busd_handlers *handlers, struct busd_client *client,
		    const struct bus_control_request *request,
		    struct busd_reply *reply);

#endif /* BUSD_JOURNAL_REQUEST_H */
