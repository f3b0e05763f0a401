/* SPDX-License-Identifier: MIT */
/*
 * The journal's bytes on disk (journal.h describes the files); private to
 * libbus/journal/.  Every integer is little-endian: the encoders and
 * parsers go through bus__journal_le* so a big-endian host reads the same
 * files.
 *
 *   file:    struct bus__journal_file_header (128 bytes), then records
 *
 *   record:  +0  u32 length     bytes of the record before padding
 *            +4  u32 crc        CRC-32C of the record with this field 0
 *            +8  u32 type       enum bus_journal_record_type
 *            +12 u32 reserved   0
 *            +16 body, then zero padding up to a multiple of 8
 *
 *   MESSAGE body: u64 sequence, u64 time_ns, u64 correlation_id,
 *            u32 delivery_count, u32 flags, u32 extension_length,
 *            u32 payload_length (40 bytes), then, if flags has
 *            BUS__JOURNAL_FLAG_EXPIRY, u64 expiry_ns (CLOCK_REALTIME),
 *            then the extension bytes, the payload.  The flag is the
 *            record's, never a message's (BUS_MESSAGE_* use the low
 *            byte); journals from before it never set it.
 *   ACK body: u32 count, u32 reserved, count x (u64 first, u64 count)
 *   SYNC_MARK body: u64 offset of the file an fdatasync made durable
 *            (never past the mark itself)
 *   GAP body: u64 first, u64 count (at least 1, first + count does not
 *            wrap), u64 time_ns, u32 reason, u32 reserved 0 (32 bytes)
 *
 * There is no torn window: after a power cut the writes since the last
 * fdatasync may have landed in any order and any amount, so only the sync
 * marks tell a tear from corruption (journal.h).
 *
 * A reader trusts nothing: the length is bounded by what is there and by
 * BUS__JOURNAL_RECORD_MAX, the body's lengths by the record's, and the
 * CRC is checked before any field is used.
 */
#ifndef BUS_JOURNAL_FORMAT_H
#define BUS_JOURNAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "crc32c.h"
#include "journal.h"

#define BUS__JOURNAL_FILE_HEADER_SIZE 128u
#define BUS__JOURNAL_NAME_MAX 80u
#define BUS__JOURNAL_RECORD_HEADER 16u
#define BUS__JOURNAL_MESSAGE_FIXED 40u
/* In a MESSAGE record's flags: a u64 expiry follows the fixed part. */
#define BUS__JOURNAL_FLAG_EXPIRY 0x80000000u
#define BUS__JOURNAL_EXPIRY_SIZE 8u
#define BUS__JOURNAL_ACK_FIXED 8u
#define BUS__JOURNAL_ALIGN 8u
/* Larger than any message a segment can hold (1 GiB): a length past it
 * is garbage, not a record to wait for. */
#define BUS__JOURNAL_RECORD_MAX (1u << 30)
/* A SYNC_MARK record: header and u64 offset. */
#define BUS__JOURNAL_MARK_SIZE 24u
/* A GAP record: header and its 32-byte body. */
#define BUS__JOURNAL_GAP_SIZE 48u

/*
 * The file header.  crc covers the 124 bytes before it.  first_sequence
 * repeats the file's name, so a renamed file is noticed.
 */
struct bus__journal_file_header {
	char magic[8]; /* BUS_JOURNAL_MAGIC */
	uint32_t version;
	uint32_t header_size; /* BUS__JOURNAL_FILE_HEADER_SIZE */
	uint32_t kind;	      /* enum bus_journal_kind */
	uint32_t reserved0;
	uint64_t first_sequence;
	uint64_t created_ns;		  /* CLOCK_REALTIME */
	char name[BUS__JOURNAL_NAME_MAX]; /* NUL-padded, not terminated */
	uint32_t reserved1;
	uint32_t crc;
};

_Static_assert(sizeof(struct bus__journal_file_header) ==
		       BUS__JOURNAL_FILE_HEADER_SIZE,
	       "the file header is 128 bytes");

static inline uint64_t bus__journal_align(uint64_t n)
{
	return (n + BUS__JOURNAL_ALIGN - 1) &
	       ~(uint64_t)(BUS__JOURNAL_ALIGN - 1);
}

/* The aligned size a message or an ack record takes. */
uint64_t bus__journal_message_size(const struct bus_journal_message *m);
uint64_t bus__journal_acks_size(uint32_t count);

/* Encode into out (room for the aligned size); return the aligned size. */
size_t bus__journal_encode_message(void *out,
				   const struct bus_journal_message *m);
size_t bus__journal_encode_acks(void *out,
				const struct bus_journal_range *ranges,
				uint32_t count);
size_t bus__journal_encode_mark(void *out, uint64_t synced_offset);
size_t bus__journal_encode_gap(void *out, const struct bus_journal_gap *gap);

/* A file header for name (cut to BUS__JOURNAL_NAME_MAX bytes). */
void bus__journal_header_encode(void *out, enum bus_journal_kind kind,
				const char *name, uint64_t first_sequence,
				uint64_t created_ns);

/* 0 and *header, or -EBADMSG with why in detail. */
int bus__journal_header_parse(const void *data, size_t size,
			      struct bus__journal_file_header *header,
			      char *detail, size_t detail_size);

#endif /* BUS_JOURNAL_FORMAT_H */
