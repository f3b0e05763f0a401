/* SPDX-License-Identifier: MIT */
/* Wildcard registrations and the slots busd reserves for them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "client.h"
#include "log.h"
#include "wildcards.h"

static bool busd_wildcard_id_taken(const struct busd_wildcards *w, uint32_t id)
{
	for (uint32_t i = 0; i < w->count; i++)
		if (w->items[i].id == id)
			return true;
	return false;
}

/* wanted: the id the client had before busd restarted, or 0. */
static int busd_wildcard_add(struct busd_wildcards *w, const char *pattern,
			     uint32_t wanted, uint32_t *id)
{
	if (w->count == w->capacity) {
		uint32_t capacity = w->capacity ? 2 * w->capacity : 4;
		void *items = realloc(w->items, capacity * sizeof(*w->items));

		if (!items)
			return -ENOMEM;
		w->items = items;
		w->capacity = capacity;
	}
	if (wanted && !busd_wildcard_id_taken(w, wanted)) {
		*id = wanted;
		if (w->last_id < wanted)
			w->last_id = wanted;
	} else {
		do
			*id = ++w->last_id;
		while (!*id || busd_wildcard_id_taken(w, *id));
	}
	w->items[w->count].id = *id;
	snprintf(w->items[w->count].pattern, sizeof(w->items[0].pattern), "%s",
		 pattern);
	w->count++;
	return 0;
}

int busd_on_wildcard(struct busd_handlers *handlers,
		     struct busd_client *client,
		     const struct bus_control_request *request,
		     struct busd_reply *reply)
{
	struct busd_wildcards *w = &client->wildcards;
	char *detail = reply->message.detail;
	size_t size = sizeof(reply->message.detail);
	uint32_t id;

	(void)handlers;
	if (memchr(request->name, '\0', sizeof(request->name)) == NULL ||
	    bus_pattern_check(request->name)) {
		snprintf(detail, size, "'%.*s' is not a valid subject pattern",
			 BUS_NAME_MAX, request->name);
		return -EINVAL;
	}
	if (w->count >= BUSD_WILDCARDS_MAX) {
		snprintf(detail, size,
			 "a client may hold at most %u wildcard "
			 "subscriptions",
			 BUSD_WILDCARDS_MAX);
		return -EMFILE;
	}
	if (busd_wildcard_add(w, request->name, request->attachment, &id)) {
		snprintf(detail, size, "out of memory");
		return -ENOMEM;
	}
	reply->message.attachment = id;
	busd_debug("client %u subscribed to pattern '%s' (wildcard %u)",
		   client->identity.client_id, request->name, id);
	return 0;
}

/* Gives back the slots still reserved for the wildcard in every topic. */
static void busd_wildcard_release(struct busd_registry *registry,
				  const struct busd_client *client,
				  uint32_t id)
{
	struct busd_topic *topic;

	for (uint32_t i = 0; (topic = busd_registry_topic_at(registry, i));
	     i++) {
		int index;

		while ((index = busd_topic_claim(
				topic, client->identity.client_id, id)) >= 0)
			busd_topic_detach(topic, BUS_CONSUMER,
					  (uint32_t)index);
	}
}

int busd_on_wildcard_close(struct busd_handlers *handlers,
			   struct busd_client *client,
			   const struct bus_control_request *request,
			   struct busd_reply *reply)
{
	struct busd_wildcards *w = &client->wildcards;

	for (uint32_t i = 0; i < w->count; i++) {
		if (w->items[i].id != request->attachment)
			continue;
		busd_wildcard_release(&handlers->catalog->registry, client,
				      request->attachment);
		w->items[i] = w->items[--w->count];
		return 0;
	}
	snprintf(reply->message.detail, sizeof(reply->message.detail),
		 "this client has no wildcard %u", request->attachment);
	return -ENOENT;
}

void busd_wildcards_reserve(const struct busd_client_list *clients,
			    struct busd_topic *topic)
{
	for (struct busd_client *c = clients->head; c; c = c->next) {
		if (c->gone || !c->greeted ||
		    busd_access_check(&topic->access, &c->credentials,
				      BUSD_ACCESS_READ))
			continue;
		for (uint32_t i = 0; i < c->wildcards.count; i++) {
			const struct busd_wildcard *w = &c->wildcards.items[i];

			if (!bus_subject_match(w->pattern, topic->name))
				continue;
			/* Full: the wildcard's own subscribe will say so. */
			if (busd_topic_reserve(topic, &c->identity, w->id) < 0)
				return;
		}
	}
}

void busd_wildcards_free(struct busd_wildcards *wildcards)
{
	free(wildcards->items);
	memset(wildcards, 0, sizeof(*wildcards));
}
