/* SPDX-License-Identifier: MIT */
/* Keys and headers of messages: what the send paths need.  Internal. */
#ifndef BUS_MESSAGE_KEYS_H
#define BUS_MESSAGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

/* 0 for a routing key: 1 to BUS_MESSAGE_KEY_MAX printable bytes, dotted
 * tokens, none empty, no wildcard; -EINVAL otherwise. */
int bus__message_key_check(const char *key, size_t length);

/* message->extras: the setters were used on the loan (the commit keeps
 * what they wrote); the queue's ttl_ms applies (queue.c sets it at loan). */
#define BUS__EXTRAS_SET 1u
#define BUS__EXTRAS_TTL 2u

/* Copies the fields a commit keeps when message->extras is set. */
void bus__message_extras_keep(const struct bus_message_header *from,
			      struct bus_message_header *to);

#endif /* BUS_MESSAGE_KEYS_H */
