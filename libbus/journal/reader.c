/* SPDX-License-Identifier: MIT */
/*
 * Reading a journal back, file after file, record after record, every CRC
 * checked.  What the reader does at a bad record is the journal's rule
 * (journal.h): in the newest file, corruption when a good sync mark after
 * it names an offset past it, else a tear; in any other file, corruption.
 * A reader at the end of the newest file of a journal being written looks
 * again on its next call: the file may have grown, or newer files appeared
 * (and older ones went with a trim).  A tailer may see a record while it
 * is being written: before it calls one corrupt it reads it again.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "index.h"
#include "reader.h"

#define CHUNK (1u << 20)

static int corrupt(const struct bus_journal_reader *r, uint64_t offset,
		   const char *why, char *detail, size_t detail_size)
{
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s: offset %" PRIu64 ": %s",
			 r->file_path, offset, why);
	return -EBADMSG;
}

static void close_file(struct bus_journal_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->buffer_bytes = 0;
	r->buffer_offset = 0;
}

static int file_size(struct bus_journal_reader *r)
{
	struct stat st;

	if (fstat(r->fd, &st) != 0)
		return -errno;
	r->file_size = (uint64_t)st.st_size;
	return 0;
}

/* Bytes of the file from at that are in the buffer, reading at least
 * need of them if the file has them. */
static long fetch(struct bus_journal_reader *r, uint64_t at, size_t need)
{
	size_t want = CHUNK, got = 0;

	if (at >= r->buffer_offset &&
	    at + need <= r->buffer_offset + r->buffer_bytes)
		return (long)(r->buffer_offset + r->buffer_bytes - at);
	/* A chunk, or what the file has left if less, or need. */
	if (at < r->file_size && r->file_size - at < want)
		want = (size_t)(r->file_size - at);
	if (want < need)
		want = need;
	if (want > r->buffer_size) {
		uint8_t *grown = realloc(r->buffer, want);

		if (!grown)
			return -ENOMEM;
		r->buffer = grown;
		r->buffer_size = want;
	}
	while (got < want) {
		ssize_t n = pread(r->fd, r->buffer + got, want - got,
				  (off_t)(at + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->buffer_offset = at;
	r->buffer_bytes = got;
	return (long)got;
}

/* A cheap look before the CRC while searching garbage for records. */
static int plausible(const uint8_t *p)
{
	uint32_t length, type, reserved;

	memcpy(&length, p, 4);
	memcpy(&type, p + 8, 4);
	memcpy(&reserved, p + 12, 4);
	length = le32toh(length);
	type = le32toh(type);
	return length >= BUS__JOURNAL_RECORD_HEADER &&
	       length <= BUS__JOURNAL_RECORD_MAX && type != 0 && type < 64 &&
	       reserved == 0;
}

static int all_zero(const uint8_t *p, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * A bad record at offset in the newest file: corruption when a good sync
 * mark after it names an offset past it (what lies before that offset was
 * on disk, fdatasync'd, when the mark was written), else a tear: the
 * reader ends there, counting the records it cuts.  Reads the rest of the
 * file a chunk at a time through the reader's buffer.
 */
static int tear_or_corruption(struct bus_journal_reader *r, uint64_t offset,
			      const char *why, char *detail,
			      size_t detail_size)
{
	uint64_t torn_records = 1, synced = 0;
	struct bus_journal_entry e;

	for (uint64_t p = offset + 8;
	     p + BUS__JOURNAL_RECORD_HEADER <= r->file_size; p += 8) {
		uint64_t aligned;
		uint32_t length;
		long n, len;

		n = fetch(r, p, BUS__JOURNAL_RECORD_HEADER);
		if (n < 0)
			return (int)n;
		if (n < (long)BUS__JOURNAL_RECORD_HEADER)
			break;
		if (!plausible(r->buffer + (p - r->buffer_offset)))
			continue;
		memcpy(&length, r->buffer + (p - r->buffer_offset), 4);
		aligned = bus__journal_align(le32toh(length));
		if (p + aligned > r->file_size)
			continue;
		n = fetch(r, p, aligned);
		if (n < 0)
			return (int)n;
		len = bus_journal_record_parse(r->buffer +
						       (p - r->buffer_offset),
					       (size_t)n, &e, NULL, 0);
		if (len <= 0)
			continue;
		torn_records++;
		if (e.type == BUS_JOURNAL_RECORD_SYNC_MARK &&
		    e.synced_offset <= p && e.synced_offset > synced)
			synced = e.synced_offset;
		p += (uint64_t)len - 8;
	}
	if (offset < synced)
		return corrupt(r, offset, why, detail, detail_size);
	r->torn = 1;
	r->recovery.torn_records = torn_records;
	r->recovery.torn_bytes = r->file_size - offset;
	return 0;
}

/* Opens file number i and checks its header; the reader at its first
 * record.  A newest file too short for its header is a tear. */
static int open_file(struct bus_journal_reader *r, size_t i, char *detail,
		     size_t detail_size)
{
	struct bus__journal_file_header h;
	char why[160];
	long n;
	int ret;

	close_file(r);
	r->file = i;
	r->torn = 0;
	if (!r->single) {
		ret = bus__journal_path(r->file_path, sizeof(r->file_path),
					r->path, r->firsts[i], "journal");
		if (ret < 0)
			return ret;
	}
	r->fd = open(r->file_path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		ret = -errno;
		if (detail && detail_size)
			snprintf(detail, detail_size, "%s: %s", r->file_path,
				 strerror(-ret));
		return ret;
	}
	ret = file_size(r);
	if (ret < 0)
		return ret;
	r->offset = BUS__JOURNAL_FILE_HEADER_SIZE;
	if (r->file_size < BUS__JOURNAL_FILE_HEADER_SIZE &&
	    bus__journal_reader_in_newest(r)) {
		r->torn = 1;
		r->offset = 0;
		r->recovery.torn_records = 0;
		r->recovery.torn_bytes = r->file_size;
		return 0;
	}
	n = fetch(r, 0, BUS__JOURNAL_FILE_HEADER_SIZE);
	if (n < 0)
		return (int)n;
	if (bus__journal_header_parse(r->buffer, (size_t)n, &h, why,
				      sizeof(why)) < 0) {
		/* Zeros where the header goes: its pages never landed (a
		 * power cut before the file's first fdatasync, XFS). */
		if (bus__journal_reader_in_newest(r) &&
		    all_zero(r->buffer, BUS__JOURNAL_FILE_HEADER_SIZE)) {
			r->offset = 0;
			return tear_or_corruption(r, 0, why, detail,
						  detail_size);
		}
		return corrupt(r, 0, why, detail, detail_size);
	}
	if (!r->single && h.first_sequence != r->firsts[i])
		return corrupt(r, 0,
			       "the header's first sequence is not the "
			       "file's name",
			       detail, detail_size);
	if (i + 1 > r->recovery.files)
		r->recovery.files = i + 1; /* seeks open files again */
	return 0;
}

/*
 * At the end of the newest file: has the writer gone on?  The new list
 * may have lost older files to a trim, the one being read too (its fd
 * still reads it): the reader goes on with the first file after it.
 */
static int look_again(struct bus_journal_reader *r, int *more)
{
	uint64_t *firsts, current;
	size_t count, j = 0;
	int ret;

	*more = 0;
	if (r->single)
		return 0;
	ret = bus__journal_list(r->path, &firsts, &count);
	if (ret < 0)
		return ret;
	if (r->files == 0) {
		if (count) {
			free(r->firsts);
			r->firsts = firsts;
			r->files = count;
			r->file = 0;
			*more = 1;
		} else {
			free(firsts);
		}
		return 0;
	}
	current = r->firsts[r->file];
	while (j < count && firsts[j] < current)
		j++;
	if (j < count && firsts[j] == current) {
		if (j + 1 == count) {
			free(firsts);
			return 0;
		}
	} else if (j < count) {
		/* Deleted under the reader: kept in the list, so that the
		 * next file opened is the first one after it. */
		uint64_t *grown =
			realloc(firsts, (count + 1) * sizeof(*grown));

		if (!grown) {
			free(firsts);
			return -ENOMEM;
		}
		firsts = grown;
		memmove(firsts + j + 1, firsts + j,
			(count - j) * sizeof(*firsts));
		firsts[j] = current;
		count++;
	} else {
		free(firsts);
		return 0;
	}
	free(r->firsts);
	r->firsts = firsts;
	r->files = count;
	r->file = j;
	*more = 1;
	return 0;
}

/* The record at the reader's position, not consumed: 1, 0 at the end,
 * or -errno. */
static int load(struct bus_journal_reader *r, struct bus_journal_entry *entry,
		char *detail, size_t detail_size)
{
	char why[160];
	long n, len;
	int ret, more, reread = 0;

	for (;;) {
		if (r->files == 0) {
			ret = look_again(r, &more);
			if (ret < 0 || !more)
				return ret;
		}
		if (r->fd < 0) {
			ret = open_file(r, r->file, detail, detail_size);
			if (ret < 0)
				return ret;
		}
		if (r->torn || r->offset >= r->file_size) {
			ret = file_size(r);
			if (ret < 0)
				return ret;
		}
		if (r->torn && r->offset == 0) {
			/* A header torn: wait for the writer to redo it. */
			if (r->file_size < BUS__JOURNAL_FILE_HEADER_SIZE)
				return 0;
			ret = open_file(r, r->file, detail, detail_size);
			if (ret < 0 || (r->torn && r->offset == 0))
				return ret;
		}
		if (r->offset >= r->file_size) {
			if (!bus__journal_reader_in_newest(r)) {
				ret = open_file(r, r->file + 1, detail,
						detail_size);
				if (ret < 0)
					return ret;
				continue;
			}
			ret = look_again(r, &more);
			if (ret < 0)
				return ret;
			if (more)
				continue;
			r->torn = 0;
			r->recovery.torn_records = 0;
			r->recovery.torn_bytes = 0;
			return 0;
		}
		n = fetch(r, r->offset, BUS__JOURNAL_RECORD_HEADER);
		if (n < 0)
			return (int)n;
		len = bus_journal_record_parse(
			r->buffer + (r->offset - r->buffer_offset), (size_t)n,
			entry, why, sizeof(why));
		if (len == -EAGAIN) {
			uint32_t length;

			if ((size_t)n >= 4) {
				memcpy(&length,
				       r->buffer +
					       (r->offset - r->buffer_offset),
				       4);
				length = le32toh(length);
			} else {
				length = BUS__JOURNAL_RECORD_HEADER;
			}
			if (r->offset + bus__journal_align(length) <=
			    r->file_size) {
				n = fetch(r, r->offset,
					  bus__journal_align(length));
				if (n < 0)
					return (int)n;
				len = bus_journal_record_parse(
					r->buffer +
						(r->offset - r->buffer_offset),
					(size_t)n, entry, why, sizeof(why));
			}
			if (len == -EAGAIN)
				snprintf(why, sizeof(why),
					 "record cut short by the end of the "
					 "file");
		}
		if (len > 0) {
			entry->file = r->file_path;
			entry->offset = r->offset;
			r->pending = len;
			r->torn = 0;
			return 1;
		}
		if (!bus__journal_reader_in_newest(r))
			return corrupt(r, r->offset, why, detail, detail_size);
		ret = tear_or_corruption(r, r->offset, why, detail,
					 detail_size);
		if (ret == 0) {
			ret = look_again(r, &more);
			if (ret < 0)
				return ret;
			if (!more)
				return 0;
			/* A newer file: this one's end is final now. */
			ret = -EBADMSG;
		}
		if (ret != -EBADMSG)
			return ret;
		/* Seen while being written?  Its writes completed before a
		 * newer file or a mark past it appeared: once more. */
		if (reread)
			return corrupt(r, r->offset, why, detail, detail_size);
		reread = 1;
		r->torn = 0;
		r->buffer_bytes = 0;
		ret = file_size(r);
		if (ret < 0)
			return ret;
	}
}

int bus_journal_next(struct bus_journal_reader *r,
		     struct bus_journal_entry *entry, char *detail,
		     size_t detail_size)
{
	int ret;

	if (!r || !entry)
		return -EINVAL;
	do {
		ret = load(r, entry, detail, detail_size);
		if (ret <= 0)
			return ret;
		r->offset += (uint64_t)r->pending;
	} while (entry->type == BUS_JOURNAL_RECORD_SYNC_MARK);
	r->recovery.records++;
	if (entry->type == BUS_JOURNAL_RECORD_MESSAGE) {
		if (!r->seen_message)
			r->recovery.first_sequence = entry->message.sequence;
		r->seen_message = 1;
		if (entry->message.sequence + 1 > r->recovery.next_sequence)
			r->recovery.next_sequence =
				entry->message.sequence + 1;
	}
	/* A gap's sequences are used up as a message's are. */
	if (entry->type == BUS_JOURNAL_RECORD_GAP &&
	    entry->gap.first + entry->gap.count > r->recovery.next_sequence)
		r->recovery.next_sequence =
			entry->gap.first + entry->gap.count;
	return 1;
}

int bus_journal_reader_open(struct bus_journal_reader **reader,
			    const char *path, char *detail, size_t detail_size)
{
	struct bus_journal_reader *r;
	struct stat st;
	int ret;

	if (!reader || !path)
		return -EINVAL;
	*reader = NULL;
	if (stat(path, &st) != 0) {
		ret = -errno;
		goto fail_detail;
	}
	if (strlen(path) >= BUS__JOURNAL_PATH_MAX - 32) {
		ret = -ENAMETOOLONG;
		goto fail_detail;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	if (S_ISDIR(st.st_mode)) {
		ret = bus__journal_list(path, &r->firsts, &r->files);
		if (ret < 0) {
			free(r);
			goto fail_detail;
		}
	} else {
		r->single = 1;
		r->files = 1;
		snprintf(r->file_path, sizeof(r->file_path), "%s", path);
	}
	*reader = r;
	return 0;
fail_detail:
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s: %s", path, strerror(-ret));
	return ret;
}

/* Positions r in file i at the index entry before the target (or its
 * first record); the scan goes on from there. */
static int seek_in_file(struct bus_journal_reader *r, size_t i,
			uint64_t sequence, uint64_t time_ns, int by_time)
{
	struct bus__journal_index_entry *entries, *best = NULL;
	struct bus_journal_entry e;
	char index_path[BUS__JOURNAL_PATH_MAX];
	size_t count;
	int ret;

	ret = open_file(r, i, NULL, 0);
	if (ret < 0 || r->single || r->torn)
		return ret;
	if (bus__journal_path(index_path, sizeof(index_path), r->path,
			      r->firsts[i], "index") < 0)
		return 0;
	ret = bus__journal_index_load(index_path, r->file_size, &entries,
				      &count);
	if (ret < 0)
		return ret;
	for (size_t k = 0; k < count; k++) {
		if (by_time ? entries[k].time_ns >= time_ns
			    : entries[k].sequence >= sequence)
			break;
		best = &entries[k];
	}
	if (best) {
		uint64_t at = best->offset, want = best->sequence;

		/* Only when the entry points at the message it names. */
		r->offset = at;
		if ((at & 7u) || at < BUS__JOURNAL_FILE_HEADER_SIZE ||
		    load(r, &e, NULL, 0) != 1 || r->file != i ||
		    e.type != BUS_JOURNAL_RECORD_MESSAGE ||
		    e.message.sequence != want)
			ret = open_file(r, i, NULL, 0);
	}
	free(entries);
	return ret;
}

/* Does a gap reach the target?  Then the seek stops at it, so that a
 * reader from a sequence in it learns of it. */
static int gap_reaches(const struct bus_journal_gap *gap, uint64_t sequence,
		       uint64_t time_ns, int by_time)
{
	return by_time ? gap->time_ns >= time_ns
		       : gap->first + gap->count > sequence;
}

/* Scans on to the first message that matches, or a gap that reaches it;
 * an error is left where it is, for bus_journal_next() to report with its
 * detail. */
static int seek_scan(struct bus_journal_reader *r, uint64_t sequence,
		     uint64_t time_ns, int by_time)
{
	struct bus_journal_entry e;
	int ret;

	while ((ret = load(r, &e, NULL, 0)) == 1) {
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE &&
		    (by_time ? e.message.time_ns >= time_ns
			     : e.message.sequence >= sequence))
			return 0;
		if (e.type == BUS_JOURNAL_RECORD_GAP &&
		    gap_reaches(&e.gap, sequence, time_ns, by_time))
			return 0;
		r->offset += (uint64_t)r->pending;
	}
	return ret == -ENOMEM ? ret : 0;
}

int bus_journal_seek_sequence(struct bus_journal_reader *r, uint64_t sequence)
{
	size_t i = 0;
	int ret;

	if (!r)
		return -EINVAL;
	if (r->files == 0)
		return 0;
	if (!r->single)
		while (i + 1 < r->files && r->firsts[i + 1] <= sequence)
			i++;
	ret = seek_in_file(r, i, sequence, 0, 0);
	if (ret < 0)
		return ret;
	return seek_scan(r, sequence, 0, 0);
}

/* The time of the first message of file i, 0 if it has none. */
static uint64_t first_time(struct bus_journal_reader *r, size_t i)
{
	struct bus_journal_entry e;

	if (open_file(r, i, NULL, 0) < 0)
		return 0;
	while (load(r, &e, NULL, 0) == 1) {
		if (r->file != i)
			return 0;
		if (e.type == BUS_JOURNAL_RECORD_MESSAGE)
			return e.message.time_ns;
		r->offset += (uint64_t)r->pending;
	}
	return 0;
}

/* Messages' times are taken to grow with their sequences (the publish
 * clock), as the index's search assumes. */
int bus_journal_seek_time(struct bus_journal_reader *r, uint64_t time_ns)
{
	size_t i = 0;
	int ret;

	if (!r)
		return -EINVAL;
	if (r->files == 0)
		return 0;
	for (size_t k = r->files; k-- > 1;) {
		uint64_t t = first_time(r, k);

		/* Strictly before: messages of time_ns may end the file
		 * before it. */
		if (t && t < time_ns) {
			i = k;
			break;
		}
	}
	ret = seek_in_file(r, i, 0, time_ns, 1);
	if (ret < 0)
		return ret;
	return seek_scan(r, 0, time_ns, 1);
}

void bus_journal_reader_recovery(const struct bus_journal_reader *r,
				 struct bus_journal_recovery *recovered)
{
	if (r && recovered)
		*recovered = r->recovery;
}

void bus_journal_reader_close(struct bus_journal_reader *r)
{
	if (!r)
		return;
	close_file(r);
	free(r->firsts);
	free(r->buffer);
	free(r);
}
