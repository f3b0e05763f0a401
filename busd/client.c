// SPDX-License-Identifier: MIT
/* The list of connected processes (client.h). */
#include <stdbool.h>

#include "client.h"

static bool busd_client_id_taken(const struct busd_client_list *list,
				 uint32_t id)
{
	for (const struct busd_client *c = list->head; c; c = c->next)
		if (!c->gone && c->identity.client_id == id)
			return true;
	return false;
}

uint32_t busd_client_list_new_id(struct busd_client_list *list)
{
	/* Ids in use are skipped: an adopted client may hold any id, even
	 * one a scribbling peer wrote near the top of the range. */
	do {
		if (++list->last_id == 0)
			list->last_id = 1;
	} while (busd_client_id_taken(list, list->last_id));
	return list->last_id;
}

void busd_client_list_link(struct busd_client_list *list,
			   struct busd_client *client)
{
	client->next = list->head;
	if (list->head)
		list->head->prev = client;
	list->head = client;
	list->count++;
}

void busd_client_list_unlink(struct busd_client_list *list,
			     struct busd_client *client)
{
	if (client->prev)
		client->prev->next = client->next;
	else
		list->head = client->next;
	if (client->next)
		client->next->prev = client->prev;
	list->count--;
}

struct busd_client *busd_client_list_adopted(struct busd_client_list *list,
					     uint32_t client_id)
{
	for (struct busd_client *c = list->head; c; c = c->next) {
		if (c->adopted && !c->gone &&
		    c->identity.client_id == client_id)
			return c;
	}
	return NULL;
}
