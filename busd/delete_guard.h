/* SPDX-License-Identifier: MIT */
/*
 * The conditions a DELETE may carry (bus_delete(), busctl delete
 * --if-empty / --if-unused), as RabbitMQ's queue.delete has them: a
 * script that cleans up must not throw away messages nobody read, nor
 * pull a queue from under clients that still use it.
 */
#ifndef BUSD_DELETE_GUARD_H
#define BUSD_DELETE_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/*
 * 0 when the queue may go under flags (BUS_DELETE_IF_EMPTY,
 * BUS_DELETE_IF_UNUSED); -ENOTEMPTY (it holds messages) or -EBUSY
 * (clients are attached), with a sentence in detail.
 */
int busd_delete_guard_queue(const struct busd_queue *queue, uint32_t flags,
			    char *detail, size_t detail_size);

/* The same for a topic: empty means no live subscriber has messages left
 * to read; unused, no publisher and no subscriber. */
int busd_delete_guard_topic(const struct busd_topic *topic, uint32_t flags,
			    char *detail, size_t detail_size);

#endif /* BUSD_DELETE_GUARD_H */
