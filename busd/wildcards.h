/* SPDX-License-Identifier: MIT */
/*
 * The wildcard subscriptions of each client, as busd knows them.
 *
 * A wildcard subscriber finds new topics through the announcement page, but
 * only after they exist: a publisher may have sent messages by then, and a
 * block topic would not keep them for a subscriber it does not know.  So a
 * client registers each pattern (BUS_CONTROL_WILDCARD), and when busd
 * creates a topic it lends every matching wildcard a subscriber slot at
 * position 0 before it announces the topic: no message can be published
 * that the wildcard is not counted for.  The client takes that slot when it
 * subscribes (TOPIC_OPEN naming the wildcard); slots never taken go back
 * when the wildcard is closed or the client goes.
 */
#ifndef BUSD_WILDCARDS_H
#define BUSD_WILDCARDS_H

#include <stdint.h>

#include "handler_context.h"

struct busd_client_list;
struct busd_topic;
struct busd_wildcards;

int busd_on_wildcard(struct busd_handlers *handlers,
		     struct busd_client *client,
		     const struct bus_control_request *request,
		     struct busd_reply *reply);
int busd_on_wildcard_close(struct busd_handlers *handlers,
			   struct busd_client *client,
			   const struct bus_control_request *request,
			   struct busd_reply *reply);

/* Lends a slot of a topic busd has just created to every matching
 * wildcard whose client may subscribe to it. */
void busd_wildcards_reserve(const struct busd_client_list *clients,
			    struct busd_topic *topic);

void busd_wildcards_free(struct busd_wildcards *wildcards);

#endif /* BUSD_WILDCARDS_H */
