/* SPDX-License-Identifier: MIT */
/* A queue segment private to one process, for ring tests without busd. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "local_queue.h"

void local_queue_settings(struct bus_queue_settings *settings,
			  enum bus_queue_type type, uint32_t slots,
			  uint32_t max_message, enum bus_overflow overflow,
			  uint32_t max_unacked)
{
	bus_queue_settings_default(settings);
	settings->type = type;
	settings->slots = slots;
	settings->max_message = max_message;
	settings->overflow = overflow;
	settings->max_unacked = max_unacked;
	if (type == BUS_QUEUE_SPSC) {
		settings->max_producers = 1;
		settings->max_consumers = 1;
	} else {
		settings->max_producers = 2;
		settings->max_consumers = 2;
	}
}

int local_queue_create(struct local_queue *queue,
		       const struct bus_queue_settings *settings)
{
	char detail[256];
	int ret;

	memset(queue, 0, sizeof(*queue));
	queue->fd = -1;
	ret = bus__queue_settings_check(settings, detail, sizeof(detail));
	if (ret)
		return ret;
	queue->settings = *settings;
	queue->size = bus__queue_segment_size(settings);
	queue->fd = memfd_create("shmbus-test", MFD_CLOEXEC);
	if (queue->fd < 0)
		return -errno;
	if (ftruncate(queue->fd, (off_t)queue->size)) {
		ret = -errno;
		goto fail;
	}
	queue->base = mmap(NULL, queue->size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, queue->fd, 0);
	if (queue->base == MAP_FAILED) {
		ret = -errno;
		queue->base = NULL;
		goto fail;
	}
	busd_queue_segment_init(queue->base, queue->size, "test", "local",
				settings);
	ret = bus__queue_segment_validate(queue->base, queue->size,
					  &queue->geometry, detail,
					  sizeof(detail));
	if (ret)
		goto fail;
	return 0;
fail:
	local_queue_destroy(queue);
	return ret;
}

void local_queue_destroy(struct local_queue *queue)
{
	if (queue->base)
		munmap(queue->base, queue->size);
	queue->base = NULL;
	if (queue->fd >= 0)
		close(queue->fd);
	queue->fd = -1;
}

uint32_t local_queue_index(const struct local_queue *queue, enum bus_role role,
			   uint32_t nth)
{
	/* Producers own the first max_producers slots, consumers the rest. */
	if (role == BUS_PRODUCER)
		return nth;
	return queue->settings.max_producers + nth;
}

int local_queue_attach(struct local_queue *queue, enum bus_role role,
		       uint32_t nth, const struct bus_queue_options *options,
		       bus_queue_t **out)
{
	uint32_t index = local_queue_index(queue, role, nth);
	struct bus_attachment *a;
	int ret;

	if (index >= queue->geometry.attachment_count)
		return -EINVAL;
	a = &queue->geometry.attachments[index];
	a->client_id = index + 1;
	a->pid = (int32_t)getpid();
	a->uid = (uint32_t)getuid();
	atomic_store_explicit(&a->role, (uint32_t)role, memory_order_release);
	ret = bus__queue_handle_create(&queue->geometry, role, index,
				       index + 1, options, out);
	if (ret)
		atomic_store_explicit(&a->role, 0u, memory_order_release);
	else
		(*out)->local_detach = busd_queue_slot_detach;
	return ret;
}

int local_queue_detach(struct local_queue *queue, bus_queue_t *handle)
{
	uint32_t index = handle->attachment_index;
	int ret;

	bus__queue_handle_destroy(handle);
	ret = busd_queue_slot_detach(&queue->geometry, index);
	/* busd frees the slot; do it here too in case detach leaves it. */
	atomic_store_explicit(&queue->geometry.attachments[index].role, 0u,
			      memory_order_release);
	return ret;
}

void local_queue_forget(bus_queue_t *handle)
{
	if (handle)
		bus__queue_handle_destroy(handle);
}
