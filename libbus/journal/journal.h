/* SPDX-License-Identifier: MIT */
/*
 * The journal: append-only files that keep a queue's or a topic's messages
 * (and a durable queue's acks) across reboots and power cuts.  A static
 * internal library (libbus/journal/), linked by busd (durable queues,
 * recorded topics) and busctl (record, dump, replay); it reads and writes
 * files only and knows nothing of segments.
 *
 * On disk, one directory per queue or topic:
 *
 *   DIR/SSSSSSSSSSSSSSSSSSSS.journal  a segment file, named by the first
 *                                     sequence it may hold (20 digits)
 *   DIR/SSSSSSSSSSSSSSSSSSSS.index    its seek index (rebuildable)
 *
 * A file opens with a struct bus_journal_file_header, then records back to
 * back, each 8-byte aligned.  Integers are little-endian.  Every record
 * carries a CRC-32C of its bytes.
 *
 * Torn or corrupt: after each fdatasync completes the writer appends a
 * sync mark naming the offset of the file it made durable.  A bad record
 * in the newest file before the offset its newest good mark names is
 * corruption: the file is refused with its name and offset (-EBADMSG).
 * After it, what a crash or a power cut left of writes never synced: a
 * tear, cut off with all that follows, counted and logged.  A bad record
 * in any other file (each is fdatasync'd before the next begins, whatever
 * the sync setting) is corruption.  What this promises per sync setting:
 * ALWAYS and INTERVAL, every record before the newest mark is checked and
 * kept or refused, never cut; NONE writes no marks, so across a power cut
 * nothing of the newest file is promised: whatever follows its first bad
 * record is cut as a tear, also when the damage was not a crash's.
 */
#ifndef BUS_JOURNAL_H
#define BUS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define BUS_JOURNAL_MAGIC "SHMBUSJ1" /* 8 bytes, no NUL stored */
#define BUS_JOURNAL_VERSION 1u

enum bus_journal_kind {
	BUS_JOURNAL_QUEUE = 1,
	BUS_JOURNAL_TOPIC = 2,
};

enum bus_journal_record_type {
	/* One message: struct bus_journal_message's fields, then its
	 * extension bytes (key, reply-to, headers as in the header room,
	 * include/bus/layout.h), then its payload. */
	BUS_JOURNAL_RECORD_MESSAGE = 1,
	/* Sequences acked: an array of struct bus_journal_range. */
	BUS_JOURNAL_RECORD_ACK = 2,
	/* The writer's: u64 file offset an fdatasync that completed made
	 * durable (journal.h's top).  bus_journal_next() never returns it;
	 * bus_journal_record_parse() gives it in synced_offset. */
	BUS_JOURNAL_RECORD_SYNC_MARK = 3,
	/* Sequences that held messages the writer could not record (a
	 * recorded topic's cell with a corrupt header, or one reused before
	 * busd copied it): struct bus_journal_gap.  They count as written:
	 * the sequence after them is the next one, and a reader counts them
	 * lost rather than waiting for them.  Readers from before it skip
	 * it, as any type they do not know. */
	BUS_JOURNAL_RECORD_GAP = 4,
	/* Further types (delivery counts, ...) may be added by busd's
	 * durable queues; a reader skips a type it does not know only if
	 * its CRC is good. */
};

enum bus_journal_sync {
	BUS_JOURNAL_SYNC_NONE = 0,     /* written, never fdatasync'd */
	BUS_JOURNAL_SYNC_INTERVAL = 1, /* group commit every interval */
	BUS_JOURNAL_SYNC_ALWAYS = 2,   /* fdatasync linked to every write */
};

struct bus_journal_range {
	uint64_t first; /* sequence */
	uint64_t count;
};

/* Why a gap's messages could not be recorded. */
enum bus_journal_gap_reason {
	BUS_JOURNAL_GAP_CORRUPT = 1,	 /* its header did not fit its cell */
	BUS_JOURNAL_GAP_OVERWRITTEN = 2, /* reused before it was copied */
};

/* A GAP record: sequences first .. first + count - 1. */
struct bus_journal_gap {
	uint64_t first;
	uint64_t count;	  /* at least 1 */
	uint64_t time_ns; /* CLOCK_REALTIME when the writer met it */
	uint32_t reason;  /* enum bus_journal_gap_reason; others: later ones */
};

/* A message as the journal takes it and gives it back. */
struct bus_journal_message {
	uint64_t sequence;
	uint64_t time_ns; /* CLOCK_REALTIME of the publish */
	uint64_t correlation_id;
	uint32_t delivery_count;
	uint32_t flags; /* BUS_MESSAGE_* of the message header */
	const void *extension;
	uint32_t extension_length;
	uint32_t payload_length;
	const void *payload;
	/* CLOCK_REALTIME deadline of its time to live, 0: none.  Kept in
	 * the record only when set (format.h), so that journals written
	 * before it existed read as before. */
	uint64_t expiry_ns;
};

struct bus_journal_options {
	const char *directory; /* made if missing (0750) */
	const char *name;      /* the queue's or topic's, in file headers */
	enum bus_journal_kind kind;
	enum bus_journal_sync sync;
	uint32_t sync_interval_ms; /* INTERVAL; 0: 10 */
	uint64_t segment_bytes;	   /* a new file past this; 0: 64 MiB */
	uint64_t retain_bytes;	/* topics: oldest files go past it; 0: all */
	uint64_t retain_age_ms; /* topics: files older go; 0: all */
	/* Permission bits of the files it makes (set with fchmod, whatever
	 * the umask); 0: 0640.  Who may read a journal (busd hands readers
	 * the directory, busd/journal_access.h). */
	uint32_t file_mode;
};

/* What opening found and repaired. */
struct bus_journal_recovery {
	uint64_t files;
	uint64_t records;
	uint64_t torn_records; /* cut off the newest file's end */
	uint64_t torn_bytes;
	uint64_t first_sequence; /* of the oldest message kept, 0: none */
	uint64_t next_sequence;	 /* one past the newest message */
};

/* Counters for busctl stat and Prometheus; sync latency in
 * libbus/core/latency.h's buckets. */
struct bus_journal_figures {
	uint64_t bytes_written;
	uint64_t records_written;
	uint64_t syncs;
	uint64_t write_errors;
	uint64_t sync_latency[64 * 8]; /* as struct bus_latency_histogram */
};

struct bus_journal_writer;
struct bus_journal_reader;

/*
 * Opens (making if needed) the journal in options->directory for
 * appending: checks every file, cuts a torn tail (filling *recovered) and
 * appends after the last good record.  -EBADMSG with "FILE: offset N: why"
 * in detail for corruption anywhere but the torn tail, -EACCES/-ENOTDIR/...
 * with the path for a directory it cannot use.
 */
int bus_journal_writer_open(struct bus_journal_writer **writer,
			    const struct bus_journal_options *options,
			    struct bus_journal_recovery *recovered,
			    char *detail, size_t detail_size);

/*
 * Copy a record into the batch being built (registered buffers); a full
 * batch is submitted.  Never waits for the disk.  -EAGAIN: every buffer is
 * in flight (reap, then try again); -ENOSPC/-EIO: an earlier write failed,
 * nothing after the durable sequence is promised.
 */
int bus_journal_append_message(struct bus_journal_writer *writer,
			       const struct bus_journal_message *message);
int bus_journal_append_acks(struct bus_journal_writer *writer,
			    const struct bus_journal_range *ranges,
			    uint32_t count);
/* As a message: gap->first not below the next sequence, which becomes
 * first + count. */
int bus_journal_append_gap(struct bus_journal_writer *writer,
			   const struct bus_journal_gap *gap);

/* Submits the batch (writes, and an fdatasync linked to them when the sync
 * setting calls for one now).  Does not wait. */
int bus_journal_submit(struct bus_journal_writer *writer);

/* yes: with sync = ALWAYS, a submit that finds nothing in flight writes,
 * fdatasyncs and marks in the caller's thread, blocking for the disk,
 * rather than through io_uring (two fewer thread wakes before a confirm).
 * For a caller with no other journal to serve meanwhile; default no. */
void bus_journal_sync_here(struct bus_journal_writer *writer, int yes);

/* Reaps finished writes and syncs without waiting (wait_ms > 0: up to that
 * long for at least one).  >= 0 completions, or the failed write's -errno. */
int bus_journal_reap(struct bus_journal_writer *writer, int wait_ms);

/* One past the newest message that is on disk as the sync setting promises
 * (written for NONE; for INTERVAL and ALWAYS written, fdatasync'd, and a
 * sync mark naming it written after, so that the newest file cut back to
 * its last mark still holds it), and every record appended before it too.  At open: what the journal held,
 * fdatasync'd first unless sync is NONE. */
uint64_t bus_journal_durable_sequence(const struct bus_journal_writer *w);

/* One past the newest message whose write completed, whatever the sync
 * setting: in the page cache, so it survives the writer's death (kill -9),
 * not a power cut.  Recorded topics gate their publishers on it. */
uint64_t bus_journal_written_sequence(const struct bus_journal_writer *w);

/* Milliseconds until an INTERVAL sync is due, -1 when none is pending. */
int bus_journal_sync_due_ms(const struct bus_journal_writer *writer);

/* An eventfd that becomes readable when completions wait to be reaped. */
int bus_journal_event_fd(const struct bus_journal_writer *writer);

/* Deletes the whole files that hold only sequences below below (a queue:
 * every message acked) or, for topics, past retention.  Acks for sequences
 * >= below in the files it deletes (acked before the journal wrote the
 * message) are appended again to the newest file and fdatasync'd first. */
int bus_journal_trim(struct bus_journal_writer *writer, uint64_t below);

void bus_journal_writer_figures(const struct bus_journal_writer *writer,
				struct bus_journal_figures *figures);

/* Submits what is left, waits for it and a final fdatasync, closes. */
int bus_journal_writer_close(struct bus_journal_writer *writer);

/* One record as read back; pointers valid until the next call. */
struct bus_journal_entry {
	enum bus_journal_record_type type;
	struct bus_journal_message message;	/* MESSAGE */
	const struct bus_journal_range *ranges; /* ACK */
	uint32_t range_count;
	struct bus_journal_gap gap; /* GAP */
	const char *file;	    /* where it was read, for messages */
	uint64_t offset;
	uint64_t synced_offset; /* SYNC_MARK */
};

/* Opens a journal directory, or one .journal file, for reading. */
int bus_journal_reader_open(struct bus_journal_reader **reader,
			    const char *path, char *detail,
			    size_t detail_size);

/* Positions the reader at the first message with sequence >= sequence, or
 * with time_ns >= time_ns (through the index, then a scan), or at a gap
 * before it that reaches that far. */
int bus_journal_seek_sequence(struct bus_journal_reader *r, uint64_t sequence);
int bus_journal_seek_time(struct bus_journal_reader *r, uint64_t time_ns);

/* 1 and *entry, 0 at the end (a torn tail ends it too, counted in
 * *recovered of reader_figures), or -EBADMSG with "FILE: offset N: why". */
int bus_journal_next(struct bus_journal_reader *reader,
		     struct bus_journal_entry *entry, char *detail,
		     size_t detail_size);

void bus_journal_reader_recovery(const struct bus_journal_reader *reader,
				 struct bus_journal_recovery *recovered);

void bus_journal_reader_close(struct bus_journal_reader *reader);

/*
 * Parses one record at data (size bytes available): its length, CRC, type
 * and fields, bounds-checked.  > 0: the record's aligned length and
 * *entry; -EAGAIN: data holds only part of a record; -EBADMSG: not a
 * record (why in detail).  What the reader and the fuzzer call.
 */
long bus_journal_record_parse(const void *data, size_t size,
			      struct bus_journal_entry *entry, char *detail,
			      size_t detail_size);

#endif /* BUS_JOURNAL_H */
