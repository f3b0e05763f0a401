/* SPDX-License-Identifier: MIT */
/* The queues of the bus and their attachment slots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "log.h"
#include "registry.h"

struct busd_queue *busd_queue_new(const char *name, int fd,
				  const struct bus__queue_geometry *geometry)
{
	struct busd_queue *queue = calloc(1, sizeof(*queue));

	if (!queue)
		return NULL;
	queue->owners = calloc(geometry->attachment_count,
			       sizeof(*queue->owners));
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

int busd_registry_add(struct busd_registry *registry,
		      struct busd_queue *queue)
{
	unsigned int capacity;
	struct busd_queue **queues;

	if (registry->count == registry->capacity) {
		capacity = registry->capacity ? registry->capacity * 2 : 8;
		queues = realloc(registry->queues,
				 capacity * sizeof(*queues));
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
	memset(registry, 0, sizeof(*registry));
}

/* ---- attachment slots --------------------------------------------------- */

static void busd_queue_role_range(const struct busd_queue *queue,
				  enum bus_role role, uint32_t *first,
				  uint32_t *end)
{
	uint32_t producers = queue->geometry.settings.max_producers;

	*first = role == BUS_PRODUCER ? 0 : producers;
	*end = role == BUS_PRODUCER ? producers :
				      queue->geometry.attachment_count;
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
	int redelivered = bus__queue_detach(&queue->geometry, index);

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
