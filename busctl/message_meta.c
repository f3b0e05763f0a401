/* SPDX-License-Identifier: MIT */
/*
 * Keys and headers on the command line: pub's --key and --header k=v, and
 * the "[key=K reply-to=R name=value ...] " prefix that consume and sub
 * print before the payload of a message that carries any of them.
 * Messages without them print as before: the payload alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "busctl.h"

int busctl_meta_add_header(struct busctl_meta *meta, char *pair)
{
	char *equals = strchr(pair, '=');

	if (!equals || equals == pair)
		return -EINVAL;
	if (meta->count >= BUS_MESSAGE_HEADERS_MAX)
		return -E2BIG;
	*equals = '\0';
	meta->names[meta->count] = pair;
	meta->values[meta->count] = equals + 1;
	meta->count++;
	return 0;
}

int busctl_meta_empty(const struct busctl_meta *meta)
{
	return !meta->key && !meta->count && !meta->reply_to &&
	       !meta->ttl_ns && !meta->correlation;
}

int busctl_meta_apply(const struct busctl_meta *meta,
		      struct bus_message *message)
{
	int err = 0;

	if (meta->key)
		err = bus_message_set_key(message, meta->key);
	if (err == 0 && meta->reply_to)
		err = bus_message_set_reply_to(message, meta->reply_to);
	if (err == 0 && meta->ttl_ns)
		err = bus_message_set_ttl(message, meta->ttl_ns);
	if (err == 0 && meta->correlation)
		err = bus_message_set_correlation(message, meta->correlation);
	for (unsigned int i = 0; err == 0 && i < meta->count; i++)
		err = bus_message_add_header(message, meta->names[i],
					     meta->values[i]);
	return err;
}

/*
 * Tries the key and headers on a scratch view laid out as a slot is
 * (header, header room of the same size, payload), so that a bad key or a
 * room too small fails before a loan is taken: a loan cannot be handed
 * back without committing something.
 */
static int busctl_meta_check(const struct busctl_meta *meta, uint32_t room)
{
	static struct {
		struct bus_message_header header;
		uint8_t room[BUS_QUEUE_HEADER_ROOM_MAX + BUS_CACHE_LINE];
	} scratch;
	struct bus_message view = { .header = &scratch.header };

	room = (room + BUS_CACHE_LINE - 1) / BUS_CACHE_LINE * BUS_CACHE_LINE;
	if (room > sizeof(scratch.room))
		return -EINVAL;
	view.payload = scratch.room + room;
	return busctl_meta_apply(meta, &view);
}

/* A loan, the payload, the key and headers, a commit. */
int busctl_meta_send(const struct busctl_meta *meta, bus_queue_t *queue,
		     bus_topic_t *topic, const void *data, size_t length,
		     int64_t timeout_ns)
{
	struct bus_message message;
	uint32_t room, max;
	int err;

	/* A packed segment's header_room is a limit (512 when 0). */
	room = topic ? busctl_topic_extension_room(bus_topic_settings(topic))
		     : busctl_queue_extension_room(bus_queue_settings(queue));
	max = topic ? bus_topic_settings(topic)->max_message
		    : bus_queue_settings(queue)->max_message;
	if (length > max)
		return -EMSGSIZE;
	err = busctl_meta_check(meta, room);
	if (err < 0)
		return err;
	err = topic ? bus_topic_loan(topic, &message, timeout_ns)
		    : bus_loan(queue, &message, timeout_ns);
	if (err < 0)
		return err;
	memcpy(message.payload, data, length);
	/* Checked above against a room of the same size. */
	busctl_meta_apply(meta, &message);
	return topic ? bus_topic_commit(topic, &message, (uint32_t)length)
		     : bus_commit(queue, &message, (uint32_t)length);
}

/* Prints the prefix; nothing for a message without key or headers. */
int busctl_meta_print(const struct bus_message *message, FILE *out)
{
	char name[BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char value[BUS_MESSAGE_KEY_MAX + 1];
	int any = 0, ret;

	if (!message->header || !message->header->extension_length)
		return 0;
	ret = bus_message_key(message, value, sizeof(value));
	if (ret > 0) {
		fprintf(out, "[key=%s", value);
		any = 1;
	}
	ret = bus_message_reply_to(message, value, sizeof(value));
	if (ret > 0) {
		fprintf(out, "%sreply-to=%s", any ? " " : "[", value);
		any = 1;
	}
	for (uint32_t i = 0;; i++) {
		ret = bus_message_header_at(message, i, name, sizeof(name),
					    value, sizeof(value));
		if (ret < 0)
			break;
		fprintf(out, "%s%s=%s", any ? " " : "[", name, value);
		any = 1;
	}
	if (any)
		fputs("] ", out);
	return ret == -EBADMSG ? ret : 0;
}

/*
 * A payload that starts with '[' could be read as the "[key=...] " prefix,
 * so it gets a '\' in front, and so does one that starts with '\' (so
 * that "\[" in the output always means a payload "[").  Only the first
 * byte is at stake: the prefix is only ever at the start of a line.
 */
int busctl_print_payload_text(FILE *out, const void *payload, size_t length)
{
	const char *bytes = payload;

	if (length && (bytes[0] == '[' || bytes[0] == '\\') &&
	    fputc('\\', out) == EOF)
		return -errno;
	if (length && fwrite(payload, 1, length, out) != length)
		return -errno;
	return 0;
}

int busctl_print_message(const struct bus_message *message, const char *from)
{
	if (from && printf("%s\t", from) < 0)
		return -errno;
	busctl_meta_print(message, stdout);
	if (busctl_print_payload_text(stdout, message->payload,
				      message->length))
		return -errno;
	if (putchar('\n') == EOF || fflush(stdout) == EOF)
		return -errno;
	return 0;
}
