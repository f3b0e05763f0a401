/* SPDX-License-Identifier: MIT */
/*
 * The payload the stress tests send: who sent it, its per-producer sequence
 * number, and a checksum over those and a filler whose length and bytes
 * depend on both, so that a torn, mixed-up or stale message is caught.
 */
#ifndef BUS_TEST_MESSAGE_H
#define BUS_TEST_MESSAGE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct test_message {
	uint32_t producer;
	uint32_t length; /* of the whole payload, this struct included */
	uint64_t sequence;
	uint64_t checksum;
};

#define TEST_MESSAGE_MIN ((uint32_t)sizeof(struct test_message))

static inline uint64_t test_mix(uint64_t x)
{
	/* splitmix64's finaliser: every input bit moves every output bit. */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Payload length for (producer, sequence): from the minimum to max. */
static inline uint32_t test_message_length(uint32_t producer,
					   uint64_t sequence, uint32_t max)
{
	uint64_t span = max - TEST_MESSAGE_MIN + 1;

	return TEST_MESSAGE_MIN +
	       (uint32_t)(test_mix(sequence * 64 + producer) % span);
}

static inline uint8_t test_filler_byte(uint32_t producer, uint64_t sequence,
				       uint32_t i)
{
	return (uint8_t)(sequence * 131 + producer * 7 + i);
}

static inline uint64_t test_message_sum(const uint8_t *payload,
					uint32_t length)
{
	const struct test_message *m = (const void *)payload;
	uint64_t sum = UINT64_C(0xcbf29ce484222325);

	sum = test_mix(sum ^ m->producer);
	sum = test_mix(sum ^ m->length);
	sum = test_mix(sum ^ m->sequence);
	for (uint32_t i = TEST_MESSAGE_MIN; i < length; i++)
		sum = (sum ^ payload[i]) * UINT64_C(0x100000001b3);
	return sum;
}

/* Writes the message into payload, which has room for length bytes. */
static inline void test_message_fill(void *payload, uint32_t producer,
				     uint64_t sequence, uint32_t length)
{
	uint8_t *bytes = payload;
	struct test_message m = {
		.producer = producer,
		.length = length,
		.sequence = sequence,
	};

	memcpy(bytes, &m, sizeof(m));
	for (uint32_t i = TEST_MESSAGE_MIN; i < length; i++)
		bytes[i] = test_filler_byte(producer, sequence, i);
	m.checksum = test_message_sum(bytes, length);
	memcpy(bytes + offsetof(struct test_message, checksum), &m.checksum,
	       sizeof(m.checksum));
}

/*
 * 0 and the producer and sequence when payload is an intact message of
 * length bytes, -EBADMSG otherwise.
 */
static inline int test_message_check(const void *payload, uint32_t length,
				     uint32_t *producer, uint64_t *sequence)
{
	struct test_message m;

	if (length < TEST_MESSAGE_MIN)
		return -EBADMSG;
	memcpy(&m, payload, sizeof(m));
	if (m.length != length ||
	    m.checksum != test_message_sum(payload, length))
		return -EBADMSG;
	*producer = m.producer;
	*sequence = m.sequence;
	return 0;
}

#endif /* BUS_TEST_MESSAGE_H */
