/* SPDX-License-Identifier: MIT */
/*
 * Routing keys, reply-to names and user headers in a message's header room
 * (format in include/bus/layout.h), and the correlation id and expiry of
 * its header.
 *
 * Writers work on a loan, which the producer owns until its commit: plain
 * stores, published by the commit's release like the payload.  The first
 * setter of a loan clears what the slot's previous message left there and
 * sets message->extras, which tells the commit to keep these fields;
 * without a setter the commit writes its header as it always did, so a
 * message without keys costs nothing more.
 *
 * Readers trust nothing: the room is bounded by the view itself (from the
 * end of the header to the payload, which is how every fixed view is laid
 * out, copies included; a packed view's room follows its payload and is
 * message->room bytes long, set by the library), extension_length by the
 * room, every length byte by extension_length, and each byte is read once.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "clock.h"
#include "message_keys.h"

#define FIXED BUS_MESSAGE_EXTENSION_FIXED

/* ---- the room of a view ---------------------------------------------- */

struct room {
	uint8_t *base;
	uint32_t size;
	uint32_t used;
};

int bus__message_room(const struct bus_message *m, uint8_t **base,
		      uint32_t *size)
{
	const uint8_t *start, *end;

	if (!m || !m->header || !m->payload)
		return -EINVAL;
	if (m->extras & BUS__EXTRAS_PACKED) {
		/* The loan's or the view's own bounds (bus.h). */
		if (m->room > UINT16_MAX)
			return -EINVAL; /* not a view of a record */
		*base = (uint8_t *)m->payload + ((m->capacity + 7u) & ~7u);
		*size = m->room;
		return 0;
	}
	start = (const uint8_t *)m->header + sizeof(*m->header);
	end = m->payload;
	if (end < start ||
	    (size_t)(end - start) > BUS_QUEUE_HEADER_ROOM_MAX + BUS_CACHE_LINE)
		return -EINVAL; /* not a view of a slot */
	*base = (uint8_t *)start;
	*size = (uint32_t)(end - start);
	return 0;
}

static int room_bounds(const struct bus_message *m, struct room *r)
{
	return bus__message_room(m, &r->base, &r->size);
}

/* Read once: a hostile writer could change the byte under us. */
static uint32_t byte_at(const uint8_t *p)
{
	return *(const volatile uint8_t *)p;
}

struct extension {
	struct room room;
	uint32_t key_length;
	uint32_t reply_length;
	uint32_t count;
	uint32_t headers; /* offset of the first user header */
};

static int parse_fixed(struct extension *e)
{
	uint32_t used = e->room.used;

	/* An unused room reads as an empty fixed part. */
	e->key_length = e->reply_length = e->count = 0;
	e->headers = FIXED;
	if (used == 0)
		return 0;
	if (used < FIXED || used > e->room.size)
		return -EBADMSG;
	e->key_length = byte_at(e->room.base);
	e->reply_length = byte_at(e->room.base + 1);
	e->count = byte_at(e->room.base + 2);
	e->headers = FIXED + e->key_length + e->reply_length;
	if (e->headers > used || e->count > BUS_MESSAGE_HEADERS_MAX ||
	    e->reply_length > BUS_NAME_MAX)
		return -EBADMSG;
	return 0;
}

static int parse_received(const struct bus_message *m, struct extension *e)
{
	int ret = room_bounds(m, &e->room);

	if (ret)
		return ret;
	e->room.used =
		*(const volatile uint16_t *)&m->header->extension_length;
	return parse_fixed(e);
}

/* Copies length bytes at from into buf with a NUL; returns the length. */
static int copy_out(const uint8_t *from, uint32_t length, char *buf,
		    size_t size)
{
	if (!buf || size <= length) {
		if (buf && size)
			buf[0] = '\0';
		return -EMSGSIZE;
	}
	memcpy(buf, from, length);
	buf[length] = '\0';
	return (int)length;
}

int bus_message_key(const struct bus_message *m, char *buf, size_t size)
{
	struct extension e;
	int ret = parse_received(m, &e);

	if (ret)
		return ret;
	return copy_out(e.room.base + FIXED, e.key_length, buf, size);
}

int bus_message_reply_to(const struct bus_message *m, char *buf, size_t size)
{
	struct extension e;
	int ret = parse_received(m, &e);

	if (ret)
		return ret;
	return copy_out(e.room.base + FIXED + e.key_length, e.reply_length,
			buf, size);
}

/* One user header, found by walking from the first. */
struct header_entry {
	const uint8_t *name;
	const uint8_t *value;
	uint32_t name_length;
	uint32_t value_length;
};

static int header_entry(const struct extension *e, uint32_t index,
			struct header_entry *h)
{
	uint32_t at = e->headers;

	if (index >= e->count)
		return -ENOENT;
	for (uint32_t i = 0;; i++) {
		if (at + 2 > e->room.used)
			return -EBADMSG;
		h->name_length = byte_at(e->room.base + at);
		h->value_length = byte_at(e->room.base + at + 1);
		h->name = e->room.base + at + 2;
		h->value = h->name + h->name_length;
		at += 2 + h->name_length + h->value_length;
		if (at > e->room.used)
			return -EBADMSG;
		if (i == index)
			return 0;
	}
}

int bus_message_header_at(const struct bus_message *m, uint32_t index,
			  char *name_buf, size_t name_size, char *value_buf,
			  size_t value_size)
{
	struct header_entry h;
	struct extension e;
	int ret = parse_received(m, &e);

	if (ret)
		return ret;
	ret = header_entry(&e, index, &h);
	if (ret)
		return ret;
	ret = copy_out(h.name, h.name_length, name_buf, name_size);
	if (ret < 0)
		return ret;
	return copy_out(h.value, h.value_length, value_buf, value_size);
}

int bus_message_header_get(const struct bus_message *m, const char *name,
			   char *buf, size_t size)
{
	struct header_entry h;
	struct extension e;
	size_t length;
	int ret;

	if (!name)
		return -EINVAL;
	ret = parse_received(m, &e);
	if (ret)
		return ret;
	length = strlen(name);
	for (uint32_t i = 0; i < e.count; i++) {
		ret = header_entry(&e, i, &h);
		if (ret)
			return ret;
		if (h.name_length == length && !memcmp(h.name, name, length))
			return copy_out(h.value, h.value_length, buf, size);
	}
	return -ENOENT;
}

/* ---- writing a loan -------------------------------------------------- */

static struct bus_message_header *loan_header(struct bus_message *m)
{
	/* The producer owns the slot until its commit. */
	return (struct bus_message_header *)m->header;
}

/*
 * The room of a loan.  The first setter clears what the slot's previous
 * message left in the fields the commit will keep.
 */
static int parse_loan(struct bus_message *m, struct extension *e)
{
	struct bus_message_header *h;
	int ret = room_bounds(m, &e->room);

	if (ret)
		return ret;
	h = loan_header(m);
	if (!(m->extras & BUS__EXTRAS_SET)) {
		h->extension_length = 0;
		h->correlation_id = 0;
		h->expiry_ns = 0;
		m->extras |= BUS__EXTRAS_SET;
	}
	e->room.used = h->extension_length;
	ret = parse_fixed(e);
	return ret ? -EINVAL : 0;
}

/*
 * Replaces old_length bytes at offset with length bytes of data, moving
 * what follows; the fixed part is made first if the room was unused.
 */
static int splice(struct bus_message *m, struct extension *e, uint32_t offset,
		  uint32_t old_length, const void *data, uint32_t length)
{
	uint8_t *base = e->room.base;
	uint32_t used = e->room.used ? e->room.used : FIXED;
	uint32_t grown = used - old_length + length;

	if (grown > e->room.size)
		return -EMSGSIZE;
	if (!e->room.used)
		memset(base, 0, FIXED);
	memmove(base + offset + length, base + offset + old_length,
		used - offset - old_length);
	memcpy(base + offset, data, length);
	loan_header(m)->extension_length = (uint16_t)grown;
	return 0;
}

int bus__message_key_check(const char *key, size_t length)
{
	if (!key || length == 0 || length > BUS_MESSAGE_KEY_MAX)
		return -EINVAL;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c <= ' ' || c >= 0x7f || c == '*' || c == '>')
			return -EINVAL;
		if (c == '.' &&
		    (i == 0 || i + 1 == length || key[i + 1] == '.'))
			return -EINVAL; /* an empty token */
	}
	return 0;
}

int bus_message_set_key(struct bus_message *m, const char *key)
{
	struct extension e;
	size_t length = key ? strlen(key) : 0;
	int ret;

	if (bus__message_key_check(key, length))
		return -EINVAL;
	ret = parse_loan(m, &e);
	if (ret)
		return ret;
	ret = splice(m, &e, FIXED, e.key_length, key, (uint32_t)length);
	if (ret == 0)
		e.room.base[0] = (uint8_t)length;
	return ret;
}

int bus_message_set_reply_to(struct bus_message *m, const char *name)
{
	struct extension e;
	int ret;

	if (bus_name_check(name))
		return -EINVAL;
	ret = parse_loan(m, &e);
	if (ret)
		return ret;
	ret = splice(m, &e, FIXED + e.key_length, e.reply_length, name,
		     (uint32_t)strlen(name));
	if (ret == 0)
		e.room.base[1] = (uint8_t)strlen(name);
	return ret;
}

int bus_message_add_header(struct bus_message *m, const char *name,
			   const char *value)
{
	uint8_t entry[2 + BUS_MESSAGE_HEADER_NAME_MAX +
		      BUS_MESSAGE_HEADER_VALUE_MAX];
	size_t name_length = name ? strlen(name) : 0;
	size_t value_length = value ? strlen(value) : 0;
	struct extension e;
	int ret;

	if (!name_length || name_length > BUS_MESSAGE_HEADER_NAME_MAX ||
	    strchr(name, '=') || !value ||
	    value_length > BUS_MESSAGE_HEADER_VALUE_MAX)
		return -EINVAL;
	ret = parse_loan(m, &e);
	if (ret)
		return ret;
	if (e.count >= BUS_MESSAGE_HEADERS_MAX)
		return -E2BIG;
	entry[0] = (uint8_t)name_length;
	entry[1] = (uint8_t)value_length;
	memcpy(entry + 2, name, name_length);
	memcpy(entry + 2 + name_length, value, value_length);
	ret = splice(m, &e, e.room.used ? e.room.used : FIXED, 0, entry,
		     (uint32_t)(2 + name_length + value_length));
	if (ret == 0)
		e.room.base[2] = (uint8_t)(e.count + 1);
	return ret;
}

int bus_message_set_correlation(struct bus_message *m, uint64_t id)
{
	struct extension e;
	int ret = parse_loan(m, &e);

	if (ret)
		return ret;
	loan_header(m)->correlation_id = id;
	return 0;
}

int bus_message_set_ttl(struct bus_message *m, int64_t ttl_ns)
{
	struct extension e;
	int ret;

	if (ttl_ns < 0)
		return -EINVAL;
	ret = parse_loan(m, &e);
	if (ret)
		return ret;
	/* Never 0 for a real deadline: 0 means none. */
	loan_header(m)->expiry_ns =
		ttl_ns ? (uint64_t)(bus__monotonic_ns() + ttl_ns) | 1 : 0;
	return 0;
}

void bus__message_extras_keep(const struct bus_message_header *from,
			      struct bus_message_header *to)
{
	to->extension_length = from->extension_length;
	to->correlation_id = from->correlation_id;
	to->expiry_ns = from->expiry_ns;
}
