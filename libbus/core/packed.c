/* SPDX-License-Identifier: MIT */
/* Sizes of packed segments and where a message lies (packed.h). */
#include <errno.h>

#include "detail.h"
#include "packed.h"

#define SMALL_MESSAGE 1024u
/* Loans of the largest size the default arena holds besides its small
 * messages: a batch of loans (bus_loan_batch) keeps each loan's full
 * reservation until the head comes round, and a queue of 8 slots must
 * still lend all 8 at once, as its cells did. */
#define LOANS 8u

uint64_t bus__packed_arena_bytes(uint32_t slots, uint32_t max_message,
				 uint32_t header_room, uint32_t ring_bytes)
{
	uint64_t loan = bus__packed_reservation(max_message, header_room);
	uint32_t typical = max_message < SMALL_MESSAGE ? max_message
						       : SMALL_MESSAGE;
	uint64_t bytes;

	if (ring_bytes)
		return ring_bytes;
	bytes = (uint64_t)slots * bus__packed_record_length(typical, 0) +
		LOANS * loan;
	if (bytes > (uint64_t)slots * loan)
		bytes = (uint64_t)slots * loan;
	if (bytes > BUS_RING_BYTES_MAX)
		bytes = BUS_RING_BYTES_MAX;
	return bytes;
}

void bus__cell_sizes(bool packed, uint32_t slots, uint32_t max_message,
		     uint32_t header_room, uint32_t ring_bytes,
		     struct bus__cell_sizes *sizes)
{
	if (packed) {
		/* The cell is its first line; the rest goes to the arena. */
		sizes->payload_offset = 0;
		sizes->stride = sizeof(struct bus_cell);
		sizes->arena_bytes = (uint32_t)bus__packed_arena_bytes(
			slots, max_message, header_room, ring_bytes);
		return;
	}
	sizes->payload_offset =
		sizeof(struct bus_cell) +
		(uint32_t)bus__round_up(header_room, BUS_CACHE_LINE);
	sizes->stride = (uint32_t)bus__round_up(
		(uint64_t)sizes->payload_offset + max_message, BUS_CACHE_LINE);
	sizes->arena_bytes = 0;
}

int bus__packed_ring_check(bool packed, uint32_t max_message,
			   uint32_t header_room, uint32_t ring_bytes,
			   char *detail, size_t detail_size)
{
	uint64_t loan = bus__packed_reservation(max_message, header_room);

	if (ring_bytes == 0)
		return 0;
	if (!packed)
		return bus__detail(detail, detail_size, -EINVAL,
				   "ring_bytes applies only to spsc queues "
				   "and topics with max_publishers = 1");
	if (ring_bytes % BUS__RECORD_ALIGN || ring_bytes < loan ||
	    ring_bytes > BUS_RING_BYTES_MAX)
		return bus__detail(
			detail, detail_size, -EINVAL,
			"ring_bytes must be a multiple of %u from %llu (one "
			"message of max_message with its key and headers) "
			"to %u, not %u",
			BUS__RECORD_ALIGN, (unsigned long long)loan,
			BUS_RING_BYTES_MAX, ring_bytes);
	return 0;
}

int bus__message_locate(const struct bus__message_area *area,
			const struct bus_cell *cell, uint32_t record_offset,
			uint32_t payload_length, uint32_t extension_length,
			struct bus__record *record)
{
	uint64_t end;

	if (!area->arena) {
		record->payload = (uint8_t *)cell + area->payload_offset;
		record->extension = (uint8_t *)cell + sizeof(*cell);
		record->room = area->payload_offset - (uint32_t)sizeof(*cell);
		return 0;
	}
	end = (uint64_t)record_offset +
	      bus__packed_record_length(payload_length, extension_length);
	if (record_offset % BUS__RECORD_ALIGN || end > area->arena_bytes ||
	    extension_length > area->extension_limit)
		return -EBADMSG;
	record->payload = area->arena + record_offset;
	record->extension =
		record->payload + bus__packed_extension_at(payload_length);
	record->room = extension_length;
	return 0;
}
