/* SPDX-License-Identifier: MIT */
/*
 * busd's answers to the requests of libbus/core/control_protocol.h, one handler
 * per op.  A handler returns the reply's status, 0 or a negative errno, and
 * on failure has written a one-sentence detail into the reply.
 */
#ifndef BUSD_HANDLERS_H
#define BUSD_HANDLERS_H

#include <stddef.h>

#include "handler_context.h"

/*
 * Answers the packet of length bytes in client->in.  Returns 0, or a
 * negative errno when the reply could not be sent (the caller drops the
 * client).
 */
int busd_handle_request(struct busd_handlers *handlers,
			struct busd_client *client, size_t length);

int busd_on_hello(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply);
int busd_on_open(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply);
int busd_on_close(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply);
int busd_on_create(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply);
int busd_on_delete(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply);
int busd_on_list(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply);
int busd_on_topic_create(struct busd_handlers *handlers,
			 struct busd_client *client,
			 const struct bus_control_request *request,
			 struct busd_reply *reply);
int busd_on_topic_open(struct busd_handlers *handlers,
		       struct busd_client *client,
		       const struct bus_control_request *request,
		       struct busd_reply *reply);
int busd_on_topic_close(struct busd_handlers *handlers,
			struct busd_client *client,
			const struct bus_control_request *request,
			struct busd_reply *reply);
int busd_on_access(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply);
int busd_on_route_add(struct busd_handlers *handlers,
		      struct busd_client *client,
		      const struct bus_control_request *request,
		      struct busd_reply *reply);
int busd_on_route_delete(struct busd_handlers *handlers,
			 struct busd_client *client,
			 const struct bus_control_request *request,
			 struct busd_reply *reply);
int busd_on_purge(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply);

#endif /* BUSD_HANDLERS_H */
