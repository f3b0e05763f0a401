/* SPDX-License-Identifier: MIT */
/* Byte buffers of a connection: bytes are appended at end and consumed
 * from start; the room before start is reused before the buffer grows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

size_t gate_buffer_length(const struct gate_buffer *b)
{
	return b->end - b->start;
}

int gate_buffer_reserve(struct gate_buffer *b, size_t more)
{
	size_t length = gate_buffer_length(b);
	size_t size;
	char *data;

	if (b->size - b->end >= more)
		return 0;
	if (b->start && b->size - length >= more) {
		memmove(b->data, b->data + b->start, length);
		b->start = 0;
		b->end = length;
		return 0;
	}
	size = b->size ? b->size : 4096;
	while (size - length < more)
		size *= 2;
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	if (length)
		memcpy(data, b->data + b->start, length);
	free(b->data);
	b->data = data;
	b->size = size;
	b->start = 0;
	b->end = length;
	return 0;
}

int gate_buffer_append(struct gate_buffer *b, const void *data, size_t n)
{
	int ret = gate_buffer_reserve(b, n);

	if (ret)
		return ret;
	memcpy(b->data + b->end, data, n);
	b->end += n;
	return 0;
}

void gate_buffer_consume(struct gate_buffer *b, size_t n)
{
	b->start += n;
	if (b->start == b->end) {
		b->start = 0;
		b->end = 0;
	}
}

void gate_buffer_free(struct gate_buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
