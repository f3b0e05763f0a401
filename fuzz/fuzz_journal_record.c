/* SPDX-License-Identifier: MIT */
/*
 * fuzz_journal_record: journal bytes from a disk that anyone with write
 * access to data_dir, a crash or a bad sector may have changed.
 *
 * The input is parsed as one record (bus_journal_record_parse, from an
 * 8-aligned copy), then read as a whole .journal file through the reader
 * (bus_journal_reader_open of a memfd), and again after a seek.  If the
 * first byte is 0x01, a valid file header takes its place, so that the
 * fuzzer spends its time on records.  Besides the sanitizers: a parse
 * that succeeds must stay within the input, a failure must come with a
 * sentence, and the reader must end (no record is longer than its file).
 * A GAP record (sequences a recorder could not record, which a catch-up
 * adds to what it lost) must count at least one sequence and not wrap,
 * and encode back the same; the reader's next sequence passes it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format.h"
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_bug(const char *what)
{
	fprintf(stderr, "fuzz_journal_record: %s\n", what);
	abort();
}

/* What parsed must encode and parse back the same, expiry included (a
 * record's expiry flag never shows in the message's flags). */
static void round_trip(const struct bus_journal_message *m)
{
	uint64_t size = bus__journal_message_size(m);
	uint64_t *out = malloc(size);
	struct bus_journal_entry e;
	long n;

	if (!out)
		return;
	if (m->flags & BUS__JOURNAL_FLAG_EXPIRY)
		fuzz_bug("the record's expiry flag in a message's flags");
	bus__journal_encode_message(out, m);
	n = bus_journal_record_parse(out, size, &e, NULL, 0);
	if (n != (long)size || e.message.sequence != m->sequence ||
	    e.message.expiry_ns != m->expiry_ns ||
	    e.message.flags != m->flags ||
	    e.message.extension_length != m->extension_length ||
	    e.message.payload_length != m->payload_length ||
	    memcmp(e.message.payload, m->payload, m->payload_length) ||
	    memcmp(e.message.extension, m->extension, m->extension_length))
		fuzz_bug("a message that does not encode and parse back");
	free(out);
}

/* A gap a reader would count lost: sane, and the same once encoded. */
static void gap_round_trip(const struct bus_journal_gap *gap)
{
	uint64_t out[BUS__JOURNAL_GAP_SIZE / 8];
	struct bus_journal_entry e;
	long n;

	if (!gap->count || gap->first + gap->count < gap->first)
		fuzz_bug("a gap of no sequences, or past the last");
	n = bus_journal_record_parse(out, bus__journal_encode_gap(out, gap),
				     &e, NULL, 0);
	if (n != BUS__JOURNAL_GAP_SIZE || e.type != BUS_JOURNAL_RECORD_GAP ||
	    e.gap.first != gap->first || e.gap.count != gap->count ||
	    e.gap.time_ns != gap->time_ns || e.gap.reason != gap->reason)
		fuzz_bug("a gap that does not encode and parse back");
}

static void parse_one(const uint8_t *data, size_t size)
{
	uint64_t *copy = malloc(size / 8 * 8 + 8);
	struct bus_journal_entry e;
	char detail[256] = "";
	long n;

	if (!copy)
		return;
	memcpy(copy, data, size);
	n = bus_journal_record_parse(copy, size, &e, detail, sizeof(detail));
	if (n > 0) {
		if ((size_t)n > size + 7)
			fuzz_bug("a record longer than its input");
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE &&
		    (const uint8_t *)e.message.payload +
				    e.message.payload_length >
			    (const uint8_t *)copy + size)
			fuzz_bug("a payload past the input");
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE)
			round_trip(&e.message);
		if (e.type == BUS_JOURNAL_RECORD_GAP)
			gap_round_trip(&e.gap);
	} else if (n == -EBADMSG && !detail[0]) {
		fuzz_bug("a refusal without a sentence");
	} else if (n != -EBADMSG && n != -EAGAIN) {
		fuzz_bug("an error other than -EBADMSG or -EAGAIN");
	}
	free(copy);
}

static void read_file(const char *path, int seek)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	char detail[512] = "";
	int ret, records = 0;

	if (bus_journal_reader_open(&r, path, detail, sizeof(detail)) < 0)
		return;
	if (seek == 1)
		bus_journal_seek_sequence(r, 5);
	else if (seek == 2)
		bus_journal_seek_time(r, 1000);
	while ((ret = bus_journal_next(r, &e, detail, sizeof(detail))) == 1) {
		struct bus_journal_recovery seen;

		if (++records > 1 << 20)
			fuzz_bug("the reader does not end");
		bus_journal_reader_recovery(r, &seen);
		if (e.type == BUS_JOURNAL_RECORD_GAP &&
		    seen.next_sequence < e.gap.first + e.gap.count)
			fuzz_bug("a gap the next sequence does not pass");
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE &&
		    e.message.payload_length)
			(void)((volatile const uint8_t *)e.message
				       .payload)[e.message.payload_length - 1];
	}
	if (ret == -EBADMSG && !strstr(detail, "offset"))
		fuzz_bug("corruption reported without an offset");
	bus_journal_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t header[BUS__JOURNAL_FILE_HEADER_SIZE];
	char path[64];
	int fd;

	parse_one(data, size);
	fd = memfd_create("fuzz_journal", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && data[0] == 0x01) {
		bus__journal_header_encode(header, BUS_JOURNAL_QUEUE, "fuzz",
					   0, 0);
		if (write(fd, header, sizeof(header)) != sizeof(header))
			goto out;
		data++;
		size--;
	}
	if (size && write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (int seek = 0; seek < 3; seek++)
		read_file(path, seek);
out:
	close(fd);
	return 0;
}
