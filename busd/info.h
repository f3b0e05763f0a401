/* SPDX-License-Identifier: MIT */
/* INFO: busd describes itself to an operator (busctl info). */
#ifndef BUSD_INFO_H
#define BUSD_INFO_H

#include "handler_context.h"

/* busd's version, configuration, uptime and counts. */
int busd_on_info(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply);

#endif /* BUSD_INFO_H */
