/* SPDX-License-Identifier: MIT */
/* The queues and topics of the bus and their slots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "log.h"
#include "queue_recovery.h"
#include "registry.h"
#include "topic_slots.h"

struct busd_queue *busd_queue_new(const char *name, int fd,
				  const struct bus__queue_geometry *geometry)
{
	struct busd_queue *queue = calloc(1, sizeof(*queue));

	if (!queue)
		return NULL;
	queue->owners =
		calloc(geometry->attachment_count, sizeof(*queue->owners));
	if (!queue->owners) {
		free(queue);
		return NULL;
	}
	snprintf(queue->name, sizeof(queue->name), "%s", name);
	queue->fd = fd;
	queue->geometry = *geometry;
	return queue;
}

void busd_queue_free(struct busd_queue *queue)
{
	if (!queue)
		return;
	if (queue->watch)
		free(queue->watch->samples);
	free(queue->watch);
	free(queue->owners);
	free(queue);
}

/* ---- the table ---------------------------------------------------------- */

struct busd_queue *busd_registry_find(const struct busd_registry *registry,
				      const char *name)
{
	for (unsigned int i = 0; i < registry->count; i++) {
		if (!strcmp(registry->queues[i]->name, name))
			return registry->queues[i];
	}
	return NULL;
}

struct busd_queue *busd_registry_at(const struct busd_registry *registry,
				    uint32_t index)
{
	return index < registry->count ? registry->queues[index] : NULL;
}

int busd_registry_add(struct busd_registry *registry, struct busd_queue *queue)
{
	unsigned int capacity;
	struct busd_queue **queues;

	if (registry->count == registry->capacity) {
		capacity = registry->capacity ? registry->capacity * 2 : 8;
		queues = realloc(registry->queues, capacity * sizeof(*queues));
		if (!queues)
			return -ENOMEM;
		registry->queues = queues;
		registry->capacity = capacity;
	}
	registry->queues[registry->count++] = queue;
	return 0;
}

/* Keeps the order, so that LIST shows queues as they were created. */
void busd_registry_remove(struct busd_registry *registry,
			  struct busd_queue *queue)
{
	for (unsigned int i = 0; i < registry->count; i++) {
		if (registry->queues[i] != queue)
			continue;
		memmove(&registry->queues[i], &registry->queues[i + 1],
			(registry->count - i - 1) * sizeof(*registry->queues));
		registry->count--;
		return;
	}
}

void busd_registry_free(struct busd_registry *registry)
{
	free(registry->queues);
	free(registry->topics);
	memset(registry, 0, sizeof(*registry));
}

/* ---- attachment slots --------------------------------------------------- */

static void busd_queue_role_range(const struct busd_queue *queue,
				  enum bus_role role, uint32_t *first,
				  uint32_t *end)
{
	uint32_t producers = queue->geometry.settings.max_producers;

	*first = role == BUS_PRODUCER ? 0 : producers;
	*end = role == BUS_PRODUCER ? producers
				    : queue->geometry.attachment_count;
}

int busd_queue_attach(struct busd_queue *queue, enum bus_role role,
		      const struct busd_identity *who)
{
	struct bus_attachment *slot;
	uint32_t index, end;

	busd_queue_role_range(queue, role, &index, &end);
	while (index < end && queue->owners[index])
		index++;
	if (index == end)
		return -EBUSY;

	slot = &queue->geometry.attachments[index];
	slot->client_id = who->client_id;
	slot->pid = who->pid;
	slot->uid = who->uid;
	slot->start_time = who->start_time;
	/*
	 * Publish the slot last.  Pairs with the acquire load of role by
	 * whoever reads identity lines from shared memory (the client, an
	 * observer, a restarted busd): seeing the role means seeing the
	 * identity above.  The client also learns its slot from our reply,
	 * which is sent after this store.
	 */
	bus__store_release(&slot->role, (uint32_t)role);
	queue->owners[index] = who->client_id;
	return (int)index;
}

bool busd_queue_owns(const struct busd_queue *queue, uint32_t index,
		     uint32_t client_id)
{
	return index < queue->geometry.attachment_count &&
	       queue->owners[index] == client_id;
}

int busd_queue_detach(struct busd_queue *queue, uint32_t index)
{
	int redelivered = busd_queue_slot_detach(&queue->geometry, index);

	queue->owners[index] = 0;
	if (redelivered < 0) {
		busd_warning("detaching slot %u of queue '%s' failed: %s",
			     index, queue->name, strerror(-redelivered));
		return 0;
	}
	return redelivered;
}

int busd_queue_detach_client(struct busd_queue *queue, uint32_t client_id,
			     unsigned int *slots)
{
	int redelivered = 0;

	for (uint32_t i = 0; i < queue->geometry.attachment_count; i++) {
		if (queue->owners[i] != client_id)
			continue;
		redelivered += busd_queue_detach(queue, i);
		(*slots)++;
	}
	return redelivered;
}

/* ---- topics --------------------------------------------------------------- */

struct busd_topic *busd_topic_new(const char *name, int fd,
				  const struct bus__topic_geometry *geometry)
{
	struct busd_topic *topic = calloc(1, sizeof(*topic));

	if (!topic)
		return NULL;
	topic->publishers = calloc(geometry->settings.max_publishers,
				   sizeof(*topic->publishers));
	topic->subscribers = calloc(geometry->settings.max_subscribers,
				    sizeof(*topic->subscribers));
	topic->reserved = calloc(geometry->settings.max_subscribers,
				 sizeof(*topic->reserved));
	if (!topic->publishers || !topic->subscribers || !topic->reserved) {
		busd_topic_free(topic);
		return NULL;
	}
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->fd = fd;
	topic->geometry = *geometry;
	return topic;
}

void busd_topic_free(struct busd_topic *topic)
{
	if (!topic)
		return;
	free(topic->publishers);
	free(topic->subscribers);
	free(topic->reserved);
	free(topic);
}

struct busd_topic *
busd_registry_find_topic(const struct busd_registry *registry,
			 const char *name)
{
	for (unsigned int i = 0; i < registry->topic_count; i++) {
		if (!strcmp(registry->topics[i]->name, name))
			return registry->topics[i];
	}
	return NULL;
}

struct busd_topic *busd_registry_topic_at(const struct busd_registry *registry,
					  uint32_t index)
{
	return index < registry->topic_count ? registry->topics[index] : NULL;
}

int busd_registry_add_topic(struct busd_registry *registry,
			    struct busd_topic *topic)
{
	unsigned int capacity;
	struct busd_topic **topics;

	if (registry->topic_count == registry->topic_capacity) {
		capacity = registry->topic_capacity
				   ? registry->topic_capacity * 2
				   : 8;
		topics = realloc(registry->topics, capacity * sizeof(*topics));
		if (!topics)
			return -ENOMEM;
		registry->topics = topics;
		registry->topic_capacity = capacity;
	}
	registry->topics[registry->topic_count++] = topic;
	return 0;
}

void busd_registry_remove_topic(struct busd_registry *registry,
				struct busd_topic *topic)
{
	for (unsigned int i = 0; i < registry->topic_count; i++) {
		if (registry->topics[i] != topic)
			continue;
		memmove(&registry->topics[i], &registry->topics[i + 1],
			(registry->topic_count - i - 1) *
				sizeof(*registry->topics));
		registry->topic_count--;
		return;
	}
}

/* The owner table of a role, and its length; NULL for other roles. */
static uint32_t *busd_topic_owners(const struct busd_topic *topic,
				   enum bus_role role, uint32_t *count)
{
	const struct bus_topic_settings *s = &topic->geometry.settings;

	if (role == BUS_PRODUCER) {
		*count = s->max_publishers;
		return topic->publishers;
	}
	if (role == BUS_CONSUMER) {
		*count = s->max_subscribers;
		return topic->subscribers;
	}
	*count = 0;
	return NULL;
}

int busd_topic_attach(struct busd_topic *topic, enum bus_role role,
		      const struct busd_identity *who)
{
	const struct busd_topic_identity identity = {
		.client_id = who->client_id,
		.pid = (int32_t)who->pid,
		.uid = (uint32_t)who->uid,
		.start_time = who->start_time,
	};
	uint32_t index = 0, count;
	uint32_t *owners = busd_topic_owners(topic, role, &count);

	if (!owners)
		return -EINVAL;
	while (index < count && owners[index])
		index++;
	if (index == count)
		return -EBUSY;
	/* Both publish the slot with a release store of its role last; the
	 * client learns its slot from our reply, sent after. */
	if (role == BUS_PRODUCER)
		busd_topic_publisher_start(&topic->geometry, index, &identity);
	else
		busd_topic_subscriber_start(&topic->geometry, index,
					    &identity);
	if (role == BUS_CONSUMER) /* a dead holder's note goes */
		busd_topic_mark_reserved(topic, index, 0);
	owners[index] = who->client_id;
	return (int)index;
}

bool busd_topic_owns(const struct busd_topic *topic, enum bus_role role,
		     uint32_t index, uint32_t client_id)
{
	uint32_t count;
	const uint32_t *owners = busd_topic_owners(topic, role, &count);

	return owners && index < count && owners[index] == client_id;
}

int busd_topic_detach(struct busd_topic *topic, enum bus_role role,
		      uint32_t index)
{
	uint32_t count;
	uint32_t *owners = busd_topic_owners(topic, role, &count);
	int padded;

	if (!owners || index >= count)
		return 0;
	if (role == BUS_PRODUCER)
		padded = busd_topic_publisher_detach(&topic->geometry, index);
	else
		padded = busd_topic_subscriber_detach(&topic->geometry, index);
	owners[index] = 0;
	if (role == BUS_CONSUMER)
		busd_topic_mark_reserved(topic, index, 0);
	if (padded < 0) {
		busd_warning("detaching slot %u of topic '%s' failed: %s",
			     index, topic->name, strerror(-padded));
		return 0;
	}
	return padded;
}

void busd_topic_mark_reserved(struct busd_topic *topic, uint32_t index,
			      uint32_t wildcard_id)
{
	topic->reserved[index] = wildcard_id;
	/* Plain: only busd reads it, and only a later busd after this one
	 * is gone. */
	topic->geometry.subscribers[index].reserved_for = wildcard_id;
}

int busd_topic_reserve(struct busd_topic *topic,
		       const struct busd_identity *who, uint32_t wildcard_id)
{
	int index = busd_topic_attach(topic, BUS_CONSUMER, who);

	if (index >= 0)
		busd_topic_mark_reserved(topic, (uint32_t)index, wildcard_id);
	return index;
}

int busd_topic_claim(struct busd_topic *topic, uint32_t client_id,
		     uint32_t wildcard_id)
{
	for (uint32_t i = 0; i < topic->geometry.settings.max_subscribers;
	     i++) {
		if (topic->subscribers[i] != client_id ||
		    topic->reserved[i] != wildcard_id)
			continue;
		busd_topic_mark_reserved(topic, i, 0);
		return (int)i;
	}
	return -ENOENT;
}

int busd_topic_detach_client(struct busd_topic *topic, uint32_t client_id,
			     unsigned int *slots)
{
	static const enum bus_role roles[] = { BUS_PRODUCER, BUS_CONSUMER };
	int padded = 0;

	for (unsigned int r = 0; r < 2; r++) {
		uint32_t count;
		uint32_t *owners = busd_topic_owners(topic, roles[r], &count);

		for (uint32_t i = 0; i < count; i++) {
			if (owners[i] != client_id)
				continue;
			padded += busd_topic_detach(topic, roles[r], i);
			(*slots)++;
		}
	}
	return padded;
}
