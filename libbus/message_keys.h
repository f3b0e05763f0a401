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
/* The view is of a packed message (layout.h): its extension room starts
 * at payload + round_up(capacity, 8) and holds message->room bytes.  Set
 * on loans and on received views alike (extras is otherwise unused when
 * receiving), so a received view must set extras: 0 for a fixed cell. */
#define BUS__EXTRAS_PACKED 4u

/*
 * Where the key and header room of a view lies: a packed view's after its
 * payload, a fixed view's between header and payload.  0 with *base and
 * *size, or -EINVAL for something that is no view.
 */
int bus__message_room(const struct bus_message *m, uint8_t **base,
		      uint32_t *size);

/* Copies the fields a commit keeps when message->extras is set. */
void bus__message_extras_keep(const struct bus_message_header *from,
			      struct bus_message_header *to);

#endif /* BUS_MESSAGE_KEYS_H */
