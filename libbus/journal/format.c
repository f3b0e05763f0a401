/* SPDX-License-Identifier: MIT */
/* Records and file headers to and from bytes (format.h has the layout). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t expiry_size(const struct bus_journal_message *m)
{
	return m->expiry_ns ? BUS__JOURNAL_EXPIRY_SIZE : 0;
}

uint64_t bus__journal_message_size(const struct bus_journal_message *m)
{
	return bus__journal_align((uint64_t)BUS__JOURNAL_RECORD_HEADER +
				  BUS__JOURNAL_MESSAGE_FIXED + expiry_size(m) +
				  m->extension_length + m->payload_length);
}

uint64_t bus__journal_acks_size(uint32_t count)
{
	return bus__journal_align((uint64_t)BUS__JOURNAL_RECORD_HEADER +
				  BUS__JOURNAL_ACK_FIXED +
				  (uint64_t)count * 16u);
}

/* Header, padding and CRC around a body already in place. */
static size_t seal(uint8_t *out, uint32_t type, uint64_t length)
{
	uint64_t aligned = bus__journal_align(length);

	memset(out + length, 0, aligned - length);
	put32(out, (uint32_t)length);
	put32(out + 4, 0);
	put32(out + 8, type);
	put32(out + 12, 0);
	put32(out + 4, bus__journal_crc32c(0, out, aligned));
	return aligned;
}

size_t bus__journal_encode_message(void *out_,
				   const struct bus_journal_message *m)
{
	uint8_t *out = out_, *body = out + BUS__JOURNAL_RECORD_HEADER;
	uint8_t *data = body + BUS__JOURNAL_MESSAGE_FIXED + expiry_size(m);

	put64(body, m->sequence);
	put64(body + 8, m->time_ns);
	put64(body + 16, m->correlation_id);
	put32(body + 24, m->delivery_count);
	put32(body + 28,
	      (m->flags & ~BUS__JOURNAL_FLAG_EXPIRY) |
		      (m->expiry_ns ? BUS__JOURNAL_FLAG_EXPIRY : 0));
	if (m->expiry_ns)
		put64(body + BUS__JOURNAL_MESSAGE_FIXED, m->expiry_ns);
	put32(body + 32, m->extension_length);
	put32(body + 36, m->payload_length);
	if (m->extension_length)
		memcpy(data, m->extension, m->extension_length);
	if (m->payload_length)
		memcpy(data + m->extension_length, m->payload,
		       m->payload_length);
	return seal(out, BUS_JOURNAL_RECORD_MESSAGE,
		    (uint64_t)(data - out) + m->extension_length +
			    m->payload_length);
}

size_t bus__journal_encode_acks(void *out_,
				const struct bus_journal_range *ranges,
				uint32_t count)
{
	uint8_t *out = out_, *body = out + BUS__JOURNAL_RECORD_HEADER;

	put32(body, count);
	put32(body + 4, 0);
	for (uint32_t i = 0; i < count; i++) {
		put64(body + 8 + 16 * i, ranges[i].first);
		put64(body + 16 + 16 * i, ranges[i].count);
	}
	return seal(out, BUS_JOURNAL_RECORD_ACK,
		    BUS__JOURNAL_RECORD_HEADER + BUS__JOURNAL_ACK_FIXED +
			    16ull * count);
}

size_t bus__journal_encode_mark(void *out_, uint64_t synced_offset)
{
	uint8_t *out = out_;

	put64(out + BUS__JOURNAL_RECORD_HEADER, synced_offset);
	return seal(out, BUS_JOURNAL_RECORD_SYNC_MARK, BUS__JOURNAL_MARK_SIZE);
}

size_t bus__journal_encode_gap(void *out_, const struct bus_journal_gap *gap)
{
	uint8_t *out = out_;
	uint8_t *body = out + BUS__JOURNAL_RECORD_HEADER;

	put64(body, gap->first);
	put64(body + 8, gap->count);
	put64(body + 16, gap->time_ns);
	put32(body + 24, gap->reason);
	put32(body + 28, 0);
	return seal(out, BUS_JOURNAL_RECORD_GAP, BUS__JOURNAL_GAP_SIZE);
}

static long bad(char *detail, size_t detail_size, const char *why)
{
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s", why);
	return -EBADMSG;
}

/* The body of a GAP record: a count a reader may add to what it lost, so
 * never 0 and never past the last sequence. */
static long parse_gap(const uint8_t *body, uint64_t body_size,
		      struct bus_journal_entry *entry, char *detail,
		      size_t detail_size)
{
	struct bus_journal_gap *gap = &entry->gap;

	if (body_size != BUS__JOURNAL_GAP_SIZE - BUS__JOURNAL_RECORD_HEADER)
		return bad(detail, detail_size,
			   "gap record of the wrong length");
	gap->first = get64(body);
	gap->count = get64(body + 8);
	gap->time_ns = get64(body + 16);
	gap->reason = get32(body + 24);
	if (get32(body + 28) != 0)
		return bad(detail, detail_size, "gap record reserved not 0");
	if (!gap->count || gap->first + gap->count < gap->first)
		return bad(detail, detail_size,
			   "gap record of no sequences, or past the last");
	return 0;
}

/* The body of a MESSAGE record, bounded by its length. */
static long parse_message(const uint8_t *body, uint64_t body_size,
			  struct bus_journal_entry *entry, char *detail,
			  size_t detail_size)
{
	struct bus_journal_message *m = &entry->message;
	uint64_t fixed = BUS__JOURNAL_MESSAGE_FIXED;

	if (body_size < BUS__JOURNAL_MESSAGE_FIXED)
		return bad(detail, detail_size, "message record too short");
	m->sequence = get64(body);
	m->time_ns = get64(body + 8);
	m->correlation_id = get64(body + 16);
	m->delivery_count = get32(body + 24);
	m->flags = get32(body + 28);
	m->extension_length = get32(body + 32);
	m->payload_length = get32(body + 36);
	m->expiry_ns = 0;
	if (m->flags & BUS__JOURNAL_FLAG_EXPIRY) {
		fixed += BUS__JOURNAL_EXPIRY_SIZE;
		if (body_size < fixed)
			return bad(detail, detail_size,
				   "message record too short for its expiry");
		m->expiry_ns = get64(body + BUS__JOURNAL_MESSAGE_FIXED);
		m->flags &= ~BUS__JOURNAL_FLAG_EXPIRY;
		if (!m->expiry_ns)
			return bad(detail, detail_size,
				   "message record with an expiry of 0");
	}
	if ((uint64_t)m->extension_length + m->payload_length !=
	    body_size - fixed)
		return bad(detail, detail_size,
			   "message lengths do not match the record's");
	m->extension = body + fixed;
	m->payload = body + fixed + m->extension_length;
	return 0;
}

/*
 * The ranges are handed out in place, so they must be 8-aligned in
 * memory: records are, in files and in the reader's buffer; a caller's
 * unaligned bytes (the fuzzer's) are refused rather than misread.  In
 * place means as stored, little-endian: a big-endian host would need
 * them swapped into a buffer of the caller's, which journal.h's entry has
 * no room for, so such a build stops here.
 */
#if __BYTE_ORDER != __LITTLE_ENDIAN
#error "the journal hands ack ranges out in place: little-endian hosts only"
#endif
static long parse_acks(const uint8_t *body, uint64_t body_size,
		       struct bus_journal_entry *entry, char *detail,
		       size_t detail_size)
{
	uint32_t count;

	if (body_size < BUS__JOURNAL_ACK_FIXED)
		return bad(detail, detail_size, "ack record too short");
	count = get32(body);
	if ((uint64_t)count * 16u != body_size - BUS__JOURNAL_ACK_FIXED)
		return bad(detail, detail_size,
			   "ack count does not match the record's length");
	if (get32(body + 4) != 0)
		return bad(detail, detail_size, "ack record reserved not 0");
	if (((uintptr_t)body & 7u) != 0)
		return bad(detail, detail_size, "ack record not 8-aligned");
	entry->ranges =
		(const struct bus_journal_range *)(const void *)(body + 8);
	entry->range_count = count;
	return 0;
}

long bus_journal_record_parse(const void *data, size_t size,
			      struct bus_journal_entry *entry, char *detail,
			      size_t detail_size)
{
	const uint8_t *p = data;
	uint32_t length, crc, type;
	uint64_t aligned;
	uint8_t head[BUS__JOURNAL_RECORD_HEADER];
	long ret;

	if (!data || !entry)
		return -EINVAL;
	if (size < BUS__JOURNAL_RECORD_HEADER)
		return -EAGAIN;
	length = get32(p);
	if (length < BUS__JOURNAL_RECORD_HEADER)
		return bad(detail, detail_size, "record length too small");
	if (length > BUS__JOURNAL_RECORD_MAX)
		return bad(detail, detail_size, "record length too large");
	aligned = bus__journal_align(length);
	if (aligned > size)
		return -EAGAIN;
	memcpy(head, p, sizeof(head));
	put32(head + 4, 0);
	crc = bus__journal_crc32c(0, head, sizeof(head));
	crc = bus__journal_crc32c(crc, p + sizeof(head),
				  aligned - sizeof(head));
	if (crc != get32(p + 4))
		return bad(detail, detail_size, "CRC-32C mismatch");
	if (get32(p + 12) != 0)
		return bad(detail, detail_size, "record reserved field not 0");
	memset(entry, 0, sizeof(*entry));
	type = get32(p + 8);
	entry->type = (enum bus_journal_record_type)type;
	if (type == BUS_JOURNAL_RECORD_MESSAGE)
		ret = parse_message(p + 16, length - 16u, entry, detail,
				    detail_size);
	else if (type == BUS_JOURNAL_RECORD_ACK)
		ret = parse_acks(p + 16, length - 16u, entry, detail,
				 detail_size);
	else if (type == BUS_JOURNAL_RECORD_SYNC_MARK)
		ret = length == BUS__JOURNAL_MARK_SIZE
			      ? (entry->synced_offset = get64(p + 16), 0)
			      : bad(detail, detail_size,
				    "sync mark of the wrong length");
	else if (type == BUS_JOURNAL_RECORD_GAP)
		ret = parse_gap(p + 16, length - 16u, entry, detail,
				detail_size);
	else
		ret = 0; /* a type of a later version: its CRC is good */
	return ret < 0 ? ret : (long)aligned;
}

void bus__journal_header_encode(void *out, enum bus_journal_kind kind,
				const char *name, uint64_t first_sequence,
				uint64_t created_ns)
{
	uint8_t *p = out;
	size_t n = name ? strnlen(name, BUS__JOURNAL_NAME_MAX) : 0;

	memset(p, 0, BUS__JOURNAL_FILE_HEADER_SIZE);
	memcpy(p, BUS_JOURNAL_MAGIC, 8);
	put32(p + 8, BUS_JOURNAL_VERSION);
	put32(p + 12, BUS__JOURNAL_FILE_HEADER_SIZE);
	put32(p + 16, (uint32_t)kind);
	put64(p + 24, first_sequence);
	put64(p + 32, created_ns);
	if (n)
		memcpy(p + 40, name, n);
	put32(p + 124, bus__journal_crc32c(0, p, 124));
}

int bus__journal_header_parse(const void *data, size_t size,
			      struct bus__journal_file_header *h, char *detail,
			      size_t detail_size)
{
	const uint8_t *p = data;

	if (size < BUS__JOURNAL_FILE_HEADER_SIZE)
		return (int)bad(detail, detail_size, "file header cut short");
	if (memcmp(p, BUS_JOURNAL_MAGIC, 8) != 0)
		return (int)bad(detail, detail_size,
				"not a journal file (bad magic)");
	if (get32(p + 124) != bus__journal_crc32c(0, p, 124))
		return (int)bad(detail, detail_size,
				"file header CRC-32C mismatch");
	memcpy(h->magic, p, 8);
	h->version = get32(p + 8);
	h->header_size = get32(p + 12);
	h->kind = get32(p + 16);
	h->first_sequence = get64(p + 24);
	h->created_ns = get64(p + 32);
	memcpy(h->name, p + 40, BUS__JOURNAL_NAME_MAX);
	h->crc = get32(p + 124);
	if (h->version != BUS_JOURNAL_VERSION) {
		if (detail && detail_size)
			snprintf(detail, detail_size,
				 "journal version %" PRIu32
				 ", this build reads %u",
				 h->version, BUS_JOURNAL_VERSION);
		return -EBADMSG;
	}
	if (h->header_size != BUS__JOURNAL_FILE_HEADER_SIZE)
		return (int)bad(detail, detail_size,
				"unknown file header size");
	return 0;
}
