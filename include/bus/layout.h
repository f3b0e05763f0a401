/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory format of shmbus segments (BUS_LAYOUT_VERSION): queues
 * and topics.
 *
 * One POSIX shared-memory object per queue or topic, named
 * "/shmbus.BUS:NAME" (queues and topics share one namespace per bus),
 * created and owned by busd and handed to clients as a file descriptor.
 * Both kinds open with the same 320-byte header; its kind field says which
 * control block follows.
 *
 *   A queue (kind BUS_SEGMENT_QUEUE):
 *
 *   offset 0      +--------------------------------------------+
 *                 | segment header (magic, version, sizes,     |
 *                 | state word, names, queue settings)  320 B  |
 *   320           +--------------------------------------------+
 *                 | producer line:  enqueue position      64 B |
 *                 | consumer line:  dequeue position      64 B |
 *                 | consumer wait:  sleepers, futex word  64 B |
 *                 | producer wait:  sleepers, futex word  64 B |
 *                 | redelivery:     pending count, dead-  64 B |
 *                 |   letter hint and move record (busd)       |
 *                 | retired figures (written by busd)    128 B |
 *                 | journal line: copied and durable      64 B |
 *                 |   positions, flush sleepers (busd's        |
 *                 |   journal thread; durable queues only)     |
 *                 | journal figures (busd)                64 B |
 *   attachments   +--------------------------------------------+
 *                 | attachment[0 .. max_producers +            |
 *                 |   max_consumers): identity line written by |
 *                 |   busd, figures line written by its client |
 *   cells         +--------------------------------------------+
 *                 | cell[0 .. slots): state word, message      |
 *                 |   header (one line), header room, payload  |
 *                 |   (packed: the first line alone)           |
 *   arena         +--------------------------------------------+
 *                 | packed (spsc) queues only: the records of  |
 *                 |   payload, key and headers, arena_bytes    |
 *   latency       +--------------------------------------------+
 *                 | histogram of departed consumers (busd),    |
 *                 | then one per attachment slot, each written |
 *                 |   by that slot's consumer alone      2 KiB |
 *                 +--------------------------------------------+
 *
 *   A topic (kind BUS_SEGMENT_TOPIC):
 *
 *   offset 0      +--------------------------------------------+
 *                 | segment header, with topic settings  320 B |
 *   320           +--------------------------------------------+
 *                 | publisher line: tail position         64 B |
 *                 | minimum line: slowest subscriber, as  64 B |
 *                 |   last scanned (written by publishers)     |
 *                 | subscriber wait: sleepers, futex word 64 B |
 *                 | publisher wait:  sleepers, futex word,     |
 *                 |   departed subscribers' high water    64 B |
 *                 | retired figures (written by busd)     64 B |
 *   subscribers   +--------------------------------------------+
 *                 | subscriber[0 .. max_subscribers): identity |
 *                 |   line written by busd, cursor line        |
 *                 |   written by that subscriber alone         |
 *   publishers    +--------------------------------------------+
 *                 | attachment[0 .. max_publishers): identity  |
 *                 |   line written by busd, figures line       |
 *                 |   written by that publisher alone          |
 *   cells         +--------------------------------------------+
 *                 | cell[0 .. slots): state word, message      |
 *                 |   header (one line), header room, payload  |
 *                 |   (packed: the first line alone)           |
 *   arena         +--------------------------------------------+
 *                 | packed (single-publisher) topics only      |
 *   latency       +--------------------------------------------+
 *                 | histogram of departed subscribers (busd),  |
 *                 | then one per subscriber slot         2 KiB |
 *                 +--------------------------------------------+
 *
 * Everything is addressed by offsets from the start of the segment.  Lines
 * written by different processes are 64-byte aligned and never shared.
 * busd writes the magic last, with release ordering; a client reads it with
 * acquire ordering before anything else and refuses the segment (-EPROTO)
 * unless magic, layout version, kind and sizes agree with what it computes
 * itself.
 *
 * The cell protocols live in libbus/core/queue_cell.h and libbus/core/topic_cell.h.
 */
#ifndef BUS_LAYOUT_H
#define BUS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define BUS_ATOMIC(type) std::atomic<type>
#define _Static_assert static_assert
#else
#include <stdatomic.h>
#define BUS_ATOMIC(type) _Atomic type
#endif

/* Longest bus, queue or topic name, without the terminating NUL. */
#define BUS_NAME_MAX 63

#define BUS_SEGMENT_MAGIC UINT64_C(0x31515355424d4853) /* "SHMBUSQ1" */
/* 2: dead letters, ack_timeout_ms.  3: topics' joins (a publisher that
 * does not read it could overwrite what a joining subscriber is owed).
 * 4: durable queues (the journal lines; a producer that does not read
 * journal_position could overwrite a message busd has not copied).
 * 5: recorded topics (the topic's journal line and record settings; a
 * publisher that does not read journal_position could overwrite a
 * message busd has not recorded).
 * 6: packed messages (spsc queues and single-publisher topics keep
 * payloads, keys and headers in an arena, not in cells of max_message
 * bytes; header.record_offset, settings.ring_bytes, the arena heads). */
#define BUS_LAYOUT_VERSION 6
#define BUS_MESSAGE_HEADER_VERSION 1

#define BUS_CACHE_LINE 64

/* Bounds that busd enforces on queue settings. */
#define BUS_QUEUE_SLOTS_MIN 2u
#define BUS_QUEUE_SLOTS_MAX (1u << 24)
#define BUS_QUEUE_MESSAGE_MAX (64u << 20)
#define BUS_QUEUE_HEADER_ROOM_MAX 4096u
#define BUS_QUEUE_ATTACHMENTS_MAX 4096u

enum bus_segment_kind {
	BUS_SEGMENT_QUEUE = 1,
	BUS_SEGMENT_TOPIC = 2,
};

enum bus_segment_state {
	BUS_SEGMENT_OPEN = 1,
	/* busd stopped: reconnect (-ENOTCONN). */
	BUS_SEGMENT_CLOSED = 2,
	/* Deleted on request (busctl delete): -EIDRM, so that clients can
	 * say so.  Older clients test for OPEN and see it as closed. */
	BUS_SEGMENT_DELETED = 3,
};

enum bus_queue_type {
	BUS_QUEUE_MPMC = 0,
	BUS_QUEUE_SPSC = 1,
};

enum bus_overflow {
	BUS_OVERFLOW_BLOCK = 0,
	BUS_OVERFLOW_REJECT = 1,
	BUS_OVERFLOW_DROP_OLDEST = 2,
};

/* Settings of one queue: config keys of a [queue NAME] section. */
struct bus_queue_settings {
	uint32_t type;		/* enum bus_queue_type, default MPMC */
	uint32_t slots;		/* power of two, default 1024 */
	uint32_t max_message;	/* payload bytes, default 256 */
	uint32_t overflow;	/* enum bus_overflow, default block */
	uint32_t max_unacked;	/* per consumer, default 64 */
	uint32_t max_producers; /* default 64 (SPSC: 1) */
	uint32_t max_consumers; /* default 64 (SPSC: 1) */
	uint32_t header_room;	/* bytes for routing key and headers, 0 */
	/* Deliveries a message may have before it goes to dead_letter; 0:
	 * unlimited (the default).  Needs dead_letter. */
	uint32_t max_deliveries;
	/* A live consumer that holds a message longer is treated as if it
	 * had nacked it (busd takes the lease back); 0: never (default). */
	uint32_t ack_timeout_ms;
	/* Messages older than this are never delivered: they are counted
	 * (expired) and dropped; 0: never (the default).  A message's own
	 * time to live (bus_message_set_ttl) comes first. */
	uint32_t ttl_ms;
	/* The queue that takes messages past max_deliveries: an mpmc queue
	 * of the same bus, not this one; "" for none (the default). */
	char dead_letter[BUS_NAME_MAX + 1];
	/* 1: busd keeps the queue's messages and acks on disk (its
	 * data_dir), so that they survive a reboot; 0 (the default). */
	uint8_t durable;
	/* enum bus_sync (durable queues), default BUS_SYNC_INTERVAL. */
	uint8_t sync;
	/* BUS_SYNC_INTERVAL: the group commit's period; 0: 10 ms. */
	uint16_t sync_interval_ms;
	/* Size of one journal file in KiB; 0: 64 MiB. */
	uint32_t segment_kib;
	/* spsc queues: set, the queue packs its messages (see "Packed
	 * messages" below) in an arena of this many bytes, each taking what
	 * it needs; 0: it packs only if max_message is over 1 KiB, with a
	 * default arena from slots and max_message.  Refused for mpmc
	 * queues, whose cells are fixed. */
	uint32_t ring_bytes;
};

/* How a durable queue's journal reaches the disk (bus_flush says when). */
enum bus_sync {
	BUS_SYNC_NONE = 0,     /* written to the file, never fdatasync'd */
	BUS_SYNC_INTERVAL = 1, /* fdatasync every sync_interval_ms */
	BUS_SYNC_ALWAYS = 2,   /* fdatasync linked to every write */
};

#define BUS_SYNC_INTERVAL_MAX_MS 60000u
#define BUS_JOURNAL_SEGMENT_KIB_MIN 64u

/* Longest ack_timeout_ms busd accepts: a day. */
#define BUS_QUEUE_ACK_TIMEOUT_MAX 86400000u

/* What a topic does with a subscriber that falls a whole ring behind. */
enum bus_slow_subscriber {
	/* The publisher waits (up to its timeout) for the slowest one. */
	BUS_SLOW_SUBSCRIBER_BLOCK = 0,
	/* The publisher never waits; the lagging subscriber is told how many
	 * messages it lost. */
	BUS_SLOW_SUBSCRIBER_OVERWRITE = 1,
};

/* Bounds that busd enforces on topic settings (slots and max_message as
 * for queues). */
#define BUS_TOPIC_SUBSCRIBERS_MAX 4096u
#define BUS_TOPIC_PUBLISHERS_MAX 4096u
/* busd's journal thread's share of a topic's subscribers_sleeping: a bit
 * above any count of subscribers. */
#define BUS_TOPIC_SLEEPING_RECORDER (1u << 31)

/* Settings of one topic: config keys of a [topic NAME] section. */
struct bus_topic_settings {
	uint32_t slots;		  /* power of two, default 1024 */
	uint32_t max_message;	  /* payload bytes, default 256 */
	uint32_t slow_subscriber; /* enum bus_slow_subscriber, default block */
	uint32_t max_subscribers; /* default 64 */
	uint32_t max_publishers;  /* default 64; 1: single-publisher path */
	uint32_t history;	  /* messages a late joiner may ask for, 0 */
	uint32_t header_room;	  /* bytes for routing key and headers, 0 */
	/* 1: busd records every message on disk (its data_dir), so that a
	 * subscriber may start from a sequence or a time and replay it
	 * (bus_subscribe_options.from); 0 (the default).  Publishers, under
	 * either slow_subscriber policy, never reuse a cell busd has not
	 * recorded yet: the disk is back-pressure, never loss. */
	uint8_t record;
	/* enum bus_sync (recorded topics), default BUS_SYNC_INTERVAL. */
	uint8_t sync;
	/* BUS_SYNC_INTERVAL: the group commit's period; 0: 10 ms. */
	uint16_t sync_interval_ms;
	/* Size of one journal file in KiB; 0: 64 MiB. */
	uint32_t segment_kib;
	/* Retention of a recorded topic: whole journal files go when the
	 * files hold more than retain_mib MiB, or when everything in a file
	 * is older than retain_age_s seconds; 0: kept (the default). */
	uint32_t retain_mib;
	uint32_t retain_age_s;
	/* Topics with max_publishers = 1: as for spsc queues.  Refused
	 * with several publishers. */
	uint32_t ring_bytes;
};

/*
 * Header of every message, in the first line of its cell right after the
 * cell's state word.  header_length lets later versions append fields.
 */
struct bus_message_header {
	uint16_t header_length;	     /* sizeof this struct */
	uint8_t header_version;	     /* BUS_MESSAGE_HEADER_VERSION */
	uint8_t flags;		     /* BUS_MESSAGE_* */
	uint32_t payload_length;     /* bytes */
	uint64_t sequence;	     /* per queue, increasing, may have gaps */
	uint64_t publish_time_ns;    /* CLOCK_MONOTONIC at commit, 0 if off */
	uint64_t correlation_id;     /* request/reply, 0 if none */
	uint64_t expiry_ns;	     /* CLOCK_MONOTONIC deadline, 0 if none */
	uint32_t producer_id;	     /* busd's id of the producing client */
	uint32_t delivery_count;     /* 1 on first delivery */
	uint16_t extension_length;   /* bytes used of the header room */
	uint16_t dead_letter_reason; /* enum bus_dead_letter_reason */
	/* Packed segments: where the message's record starts, in bytes
	 * from the start of the segment's arena (64-aligned); 0 and unused
	 * in segments with fixed cells.  Written by the producer with the
	 * rest of the header. */
	uint32_t record_offset;
};

#define BUS_MESSAGE_REDELIVERED 0x01u

/*
 * Why a message is in a dead-letter queue: it had max_deliveries
 * deliveries, and the last one ended as said; or it expired.  0 for other
 * messages.
 */
enum bus_dead_letter_reason {
	BUS_DEAD_LETTER_NONE = 0,
	BUS_DEAD_LETTER_NACKED = 1,	   /* its consumer nacked it */
	BUS_DEAD_LETTER_CONSUMER_DIED = 2, /* or died (or closed) holding it */
	BUS_DEAD_LETTER_ACK_TIMEOUT = 3,   /* or held it past ack_timeout_ms */
	BUS_DEAD_LETTER_EXPIRED = 4, /* taken after its expiry deadline */
};

/*
 * The header room: header_room bytes (queue or topic setting, rounded up
 * to whole lines) between a cell's first line and its payload.  A message
 * uses extension_length bytes of it, 0 when it carries nothing there (and
 * always in segments made with header_room = 0, as before this format):
 *
 *   byte 0         key length K (0 .. BUS_MESSAGE_KEY_MAX)
 *   byte 1         reply-to length R (0 .. BUS_NAME_MAX)
 *   byte 2         user header count N (0 .. BUS_MESSAGE_HEADERS_MAX)
 *   byte 3         0
 *   4              K bytes of routing key, R bytes of reply-to name
 *   then N times   name length, value length (one byte each), the name,
 *                  the value
 *
 * No terminating NULs.  Readers bound every length by extension_length
 * and extension_length by the room, so a corrupt one is -EBADMSG.
 */
#define BUS_MESSAGE_EXTENSION_FIXED 4u
#define BUS_MESSAGE_KEY_MAX 255u
#define BUS_MESSAGE_HEADERS_MAX 16u
#define BUS_MESSAGE_HEADER_NAME_MAX 63u
#define BUS_MESSAGE_HEADER_VALUE_MAX 255u

/*
 * Packed messages (layout 6).  spsc queues and topics with max_publishers
 * = 1 whose ring_bytes is set or whose max_message is over 1 KiB
 * (libbus/core/packed.h says why not below) keep only the state word and
 * the message header in their cells (one line each); payload, key and headers go to the segment's arena, ring_bytes
 * bytes after the cells, where each message takes what it needs:
 *
 *   arena + record_offset       payload (payload_length bytes)
 *   + round_up(payload_length, 8)
 *                               extension_length bytes of key, reply-to and
 *                               user headers (format as above)
 *   record length               round_up(that end, 64)
 *
 * header_room is then a limit, not reserved room: the most extension bytes
 * a message may carry, BUS_PACKED_EXTENSION_DEFAULT when 0.  A loan
 * reserves max_message + that limit (a copying send only what it sends);
 * the commit shrinks the record to what it holds.  mpmc queues and topics
 * with several publishers keep fixed cells: their producers claim
 * positions independently, and one arena order between them would need
 * a second point of agreement per message (libbus/core/packed.h).
 */
#define BUS_PACKED_EXTENSION_DEFAULT 512u
#define BUS_RING_BYTES_MAX 0xffffffc0u

/* First line of a cell; header room and payload follow. */
struct bus_cell {
	BUS_ATOMIC(uint64_t) state; /* see libbus/core/queue_cell.h */
	struct bus_message_header header;
};

/* An attachment: one producer or consumer handle. */
struct bus_attachment {
	/* Identity line: written by busd when it hands out the slot. */
	BUS_ATOMIC(uint32_t) role; /* 0 free, else enum bus_role */
	uint32_t client_id;
	int32_t pid;
	uint32_t uid;
	uint64_t start_time; /* the process start time, in clock ticks */
	uint8_t identity_pad[BUS_CACHE_LINE - 24];
	/* Figures line: written only by the attached client, relaxed. */
	BUS_ATOMIC(uint64_t) enqueued;
	BUS_ATOMIC(uint64_t) dequeued;
	BUS_ATOMIC(uint64_t) acked;
	BUS_ATOMIC(uint64_t) nacked;
	BUS_ATOMIC(uint64_t) redelivered;
	BUS_ATOMIC(uint64_t) dropped;
	BUS_ATOMIC(uint64_t) rejected;
	/* BUS_ATTACHMENT_SLEEPING_* while counted in a sleepers field of
	 * the control block, so busd can uncount a client that died asleep. */
	BUS_ATOMIC(uint32_t) sleeping;
	/* A consumer's high-water mark of the queue's depth, as seen just
	 * before its takes (libbus/core/queue_high_water.h); 0 for a producer.
	 * Zero in segments made before it existed, which is right. */
	BUS_ATOMIC(uint32_t) high_water;
	/* Slow-path line: written only by the attached client, relaxed,
	 * and only when it had to wait. */
	BUS_ATOMIC(uint64_t) backpressure_waits; /* messages that waited */
	uint8_t slow_pad[BUS_CACHE_LINE - 8];
};

#define BUS_ATTACHMENT_SLEEPING_DATA 1u
#define BUS_ATTACHMENT_SLEEPING_SPACE 2u

/*
 * Publish-to-receive latency of one consumer or subscriber: a count per
 * bucket, 8 buckets per power of two of nanoseconds (libbus/core/latency.h has
 * the mapping), the last one open-ended.  Written by the receiver alone.
 */
#define BUS_LATENCY_BUCKETS 256

struct bus_latency_histogram {
	BUS_ATOMIC(uint64_t) count[BUS_LATENCY_BUCKETS];
};

/* Figures of attachments that have gone, folded in by busd. */
struct bus_retired_figures {
	BUS_ATOMIC(uint64_t) enqueued;
	BUS_ATOMIC(uint64_t) dequeued;
	BUS_ATOMIC(uint64_t) acked;
	BUS_ATOMIC(uint64_t) nacked;
	BUS_ATOMIC(uint64_t) redelivered;
	BUS_ATOMIC(uint64_t) dropped;
	BUS_ATOMIC(uint64_t) rejected;
	BUS_ATOMIC(uint64_t) reclaimed;
	BUS_ATOMIC(uint64_t) orphaned; /* leases of dead consumers */
	/* Moved to the dead-letter queue, and leases taken back after
	 * ack_timeout_ms (busd does both). */
	BUS_ATOMIC(uint64_t) dead_lettered;
	BUS_ATOMIC(uint64_t) timed_out;
	/* Messages past their expiry, skipped by consumers (written by
	 * them with an atomic add: expiry is the rare case). */
	BUS_ATOMIC(uint64_t) expired;
	BUS_ATOMIC(uint64_t) backpressure_waits;
	/* The highest high_water of departed consumers: folded in with
	 * max(), not added (libbus/core/queue_high_water.h). */
	BUS_ATOMIC(uint64_t) high_water;
	uint8_t pad[2 * BUS_CACHE_LINE - 14 * 8];
};

struct bus_segment_header {
	BUS_ATOMIC(uint64_t) magic; /* BUS_SEGMENT_MAGIC, written last */
	uint32_t layout_version;
	uint32_t kind; /* enum bus_segment_kind */
	uint64_t segment_size;
	uint32_t header_size;	    /* sizeof(struct bus_segment_header) */
	BUS_ATOMIC(uint32_t) state; /* enum bus_segment_state */
	uint64_t created_ns;	    /* CLOCK_REALTIME */
	uint64_t attachments_offset;
	uint64_t cells_offset;
	uint32_t attachment_count;
	uint32_t cell_stride;
	uint32_t message_header_size;
	/* Packed segments: bytes of the arena, which follows the cells
	 * (settings.ring_bytes, or its default); 0 for fixed cells. */
	uint32_t arena_bytes;
	/* Which one is meant follows from kind. */
	union {
		struct bus_queue_settings settings;
		struct bus_topic_settings topic_settings;
	};
	char bus_name[BUS_NAME_MAX + 1];
	char name[BUS_NAME_MAX + 1];
};

struct bus_queue_control {
	/* Producers' line.  MPMC: claimed by CAS; SPSC: the producer's
	 * position, saved for a replacement producer. */
	BUS_ATOMIC(uint64_t) enqueue_position;
	/* Packed (spsc) queues: the producer's arena head, the arena offset
	 * where its next record goes; a mirror of its own copy, written
	 * relaxed, read by a replacement producer (after busd) and busd. */
	BUS_ATOMIC(uint64_t) arena_head;
	uint8_t pad0[BUS_CACHE_LINE - 16];
	/* Consumers' line.  MPMC: the dequeue position, claimed by CAS.
	 * SPSC: the released position (every message before it is acked or
	 * out of the ring; the producer reads it when the ring looks full)
	 * and the next position the consumer will take (for busd, when the
	 * consumer dies: between the two lie the messages it held). */
	BUS_ATOMIC(uint64_t) dequeue_position;
	BUS_ATOMIC(uint64_t) taken_position;
	uint8_t pad1[BUS_CACHE_LINE - 16];
	/* Consumers that may sleep, and the word they sleep on. */
	BUS_ATOMIC(uint32_t) consumers_sleeping;
	BUS_ATOMIC(uint32_t) data_futex;
	uint8_t pad2[BUS_CACHE_LINE - 8];
	/* Producers that may sleep on a full queue. */
	BUS_ATOMIC(uint32_t) producers_sleeping;
	BUS_ATOMIC(uint32_t) space_futex;
	uint8_t pad3[BUS_CACHE_LINE - 8];
	/* Redelivery hint: raises since the last empty scan (low 32 bits)
	 * and an epoch (high 32 bits); see libbus/core/queue_cell.h. */
	BUS_ATOMIC(uint64_t) redeliver_pending;
	/* Dead-letter hint: raised whenever a cell becomes DEAD, so busd
	 * looks for cells to move (busd/queue_dead_letter.c). */
	BUS_ATOMIC(uint64_t) dead_pending;
	/* busd's record of the move in progress, for a busd that restarts
	 * after dying in the middle: the source cell index + 1 (0: none),
	 * the message's sequence and the dead-letter queue position. */
	BUS_ATOMIC(uint64_t) move_cell;
	BUS_ATOMIC(uint64_t) move_sequence;
	BUS_ATOMIC(uint64_t) move_target;
	uint8_t pad4[BUS_CACHE_LINE - 5 * 8];
	struct bus_retired_figures retired;
	/*
	 * Journal line (durable queues; busd's journal thread writes it,
	 * busd/durable_*.c).  journal_position: every position before it
	 * has been copied for the disk (or carried no message); a producer
	 * never claims position p unless p < journal_position + slots
	 * (read with acquire, only when its cached copy says no), so that no
	 * cell is reused before busd copied it.  durable_position: every
	 * message before it is on disk as the queue's sync setting promises
	 * (bus_flush waits for it on durable_futex, counted in
	 * flush_sleepers).  journal_doorbell: raised by a flusher so that
	 * the journal thread looks now.  journal_error: 0, or the negative
	 * errno of a write that failed (a full disk), until one succeeds.
	 */
	BUS_ATOMIC(uint64_t) journal_position;
	BUS_ATOMIC(uint64_t) durable_position;
	BUS_ATOMIC(uint32_t) flush_sleepers;
	BUS_ATOMIC(uint32_t) durable_futex;
	BUS_ATOMIC(uint32_t) journal_doorbell;
	BUS_ATOMIC(int32_t) journal_error;
	uint8_t pad5[BUS_CACHE_LINE - 32];
	/* Journal figures, written by busd (relaxed) for busctl stat. */
	struct bus_journal_line {
		BUS_ATOMIC(uint64_t) bytes_written;
		BUS_ATOMIC(uint64_t) syncs;
		BUS_ATOMIC(uint64_t) write_errors;
		BUS_ATOMIC(uint64_t) sync_p50_ns; /* since busd started */
		BUS_ATOMIC(uint64_t) sync_p99_ns;
		BUS_ATOMIC(uint64_t) recovery_ns;  /* reading it at start */
		BUS_ATOMIC(uint64_t) recovered;	   /* messages put back */
		BUS_ATOMIC(uint64_t) torn_records; /* cut off at start */
	} journal;
};

/* ---- topics ------------------------------------------------------------ */

/*
 * A subscriber slot of a topic.  Its cursor line is written by the
 * subscriber alone (and by busd before it lends the slot and after it takes
 * it back); publishers read it to find the slowest subscriber.
 */
struct bus_subscriber {
	/* Identity line: written by busd when it hands out the slot. */
	BUS_ATOMIC(uint32_t) role; /* 0 free, BUS_CONSUMER while subscribed */
	uint32_t client_id;
	int32_t pid;
	uint32_t uid;
	uint64_t start_time; /* the process start time, in clock ticks */
	/* The first position that counts as published after the
	 * subscription; the subscriber reads it once. */
	uint64_t first_position;
	/* busd's own note: the wildcard id (of client_id) this slot is
	 * reserved for until that client takes it, else 0.  A restarted
	 * busd reads it to keep the reservation. */
	uint32_t reserved_for;
	uint8_t identity_pad[BUS_CACHE_LINE - 36];
	/* Cursor line.  position: the oldest position this subscriber still
	 * needs; under the block policy no publisher reuses its cell.  The
	 * figures are written relaxed. */
	BUS_ATOMIC(uint64_t) position;
	BUS_ATOMIC(uint64_t) received;
	BUS_ATOMIC(uint64_t) lapped; /* times it was overwritten and jumped */
	BUS_ATOMIC(uint64_t) lost;   /* messages it jumped over */
	/* BUS_ATTACHMENT_SLEEPING_DATA while counted in subscribers_sleeping,
	 * so busd can uncount a subscriber that died asleep. */
	BUS_ATOMIC(uint32_t) sleeping;
	/* The highest lag this subscriber saw just before its reads
	 * (libbus/core/topic_high_water.h); zero in older segments. */
	BUS_ATOMIC(uint32_t) high_water;
	BUS_ATOMIC(uint64_t) expired; /* past their expiry: skipped */
	uint8_t cursor_pad[BUS_CACHE_LINE - 48];
};

/* Figures of topic attachments that have gone, folded in by busd. */
struct bus_topic_retired_figures {
	BUS_ATOMIC(uint64_t) published;
	BUS_ATOMIC(uint64_t) rejected; /* publishes that found no room */
	BUS_ATOMIC(uint64_t) received;
	BUS_ATOMIC(uint64_t) lapped;
	BUS_ATOMIC(uint64_t) lost;
	BUS_ATOMIC(uint64_t) padded; /* dead publishers' loans padded over */
	BUS_ATOMIC(uint64_t) backpressure_waits;
	BUS_ATOMIC(uint64_t) expired;
};

struct bus_topic_control {
	/* Publishers' line: the next position to claim.  Several publishers
	 * advance it by CAS; a single publisher keeps its own copy and
	 * mirrors it here for subscribers and busd. */
	BUS_ATOMIC(uint64_t) tail;
	/* Subscribers busd has let in so far (block policy): a publisher
	 * whose count is older scans the subscribers again before it reuses
	 * a cell (topic_cell.h, "Joining").  In the tail's line, which a
	 * publisher has in its cache anyway; 0 in older segments. */
	BUS_ATOMIC(uint64_t) joins;
	/* Packed (single-publisher) topics: the publisher's arena head, as
	 * for queues; and overwritten: every message at a position below it
	 * may have lost its record in the arena to a newer one.  The
	 * publisher raises overwritten before it writes over a record; a
	 * reader that copied a message at position p (the overwrite way)
	 * checks p >= overwritten after its acquire fence, as it checks the
	 * cell's state (libbus/core/topic_ring.c). */
	BUS_ATOMIC(uint64_t) arena_head;
	BUS_ATOMIC(uint64_t) overwritten;
	uint8_t pad0[BUS_CACHE_LINE - 32];
	/*
	 * Journal line (recorded topics; busd's journal thread writes it).
	 * journal_position: every position before it has been recorded for
	 * the disk (or carried no message); a publisher of a recorded topic
	 * never claims position p unless p < journal_position + slots (read
	 * with acquire, only when its cached copy says no; pairs with busd's
	 * release store after its copy), under either policy, so that no
	 * cell is reused before busd recorded it.  busd wakes publishers
	 * sleeping on space_futex when it advances it.  journal_error: 0, or
	 * the negative errno of a write that failed (a full disk), until one
	 * succeeds.  (Until layout 5 this line held an unused minimum.)
	 */
	BUS_ATOMIC(uint64_t) journal_position;
	BUS_ATOMIC(int32_t) journal_error;
	/* Unused since the recorder's share moved into subscribers_sleeping
	 * (BUS_TOPIC_SLEEPING_RECORDER); busd writes 0.  A busd of before
	 * set it to 1 while its journal thread was counted in
	 * subscribers_sleeping as 1, so an adopting busd still takes back
	 * such a count when it finds the flag. */
	BUS_ATOMIC(uint32_t) journal_reserved;
	uint8_t pad1[BUS_CACHE_LINE - 16];
	/* Sleepers that publishers must wake, and the word they sleep on.
	 * Subscribers count 1 each in the low bits (at most
	 * BUS_TOPIC_SUBSCRIBERS_MAX); busd's journal thread, while it sleeps
	 * on a recorded topic, counts BUS_TOPIC_SLEEPING_RECORDER, a bit no
	 * count of subscribers reaches.  One atomic add both counts it and
	 * marks it as busd's, so a busd killed at any instant leaves either
	 * the bit or nothing, and the busd that adopts the segment removes
	 * exactly the bit (busd/topic_record_recover.c).  Publishers test
	 * the whole word for non-zero; a reader wanting subscribers alone
	 * masks the bit off. */
	BUS_ATOMIC(uint32_t) subscribers_sleeping;
	BUS_ATOMIC(uint32_t) data_futex;
	uint8_t pad2[BUS_CACHE_LINE - 8];
	/* Publishers that may sleep on a full ring. */
	BUS_ATOMIC(uint32_t) publishers_sleeping;
	BUS_ATOMIC(uint32_t) space_futex;
	/* The highest high_water of departed subscribers, folded in with
	 * max() by busd.  Here, in a line touched only when a publisher
	 * waits, because the retired figures' line below is full; zero in
	 * older segments, which is right. */
	BUS_ATOMIC(uint32_t) retired_high_water;
	uint8_t pad3[BUS_CACHE_LINE - 12];
	struct bus_topic_retired_figures retired;
	/* Journal figures of a recorded topic, written by busd (relaxed) for
	 * busctl stat; recovered: messages the journal held at start. */
	struct bus_journal_line journal;
};

/* The layout is a contract between processes built separately. */
_Static_assert(sizeof(struct bus_message_header) == 56, "message header");
_Static_assert(sizeof(struct bus_cell) == BUS_CACHE_LINE, "cell line");
_Static_assert(offsetof(struct bus_cell, header) == 8, "cell header");
_Static_assert(offsetof(struct bus_attachment, enqueued) == BUS_CACHE_LINE,
	       "attachment figures line");
_Static_assert(sizeof(struct bus_attachment) == 3 * BUS_CACHE_LINE,
	       "attachment size");
_Static_assert(sizeof(struct bus_segment_header) <= 320, "segment header");
_Static_assert(sizeof(struct bus_latency_histogram) % BUS_CACHE_LINE == 0,
	       "a histogram is whole lines");
_Static_assert(offsetof(struct bus_queue_control, dequeue_position) == 64,
	       "dequeue line");
_Static_assert(offsetof(struct bus_queue_control, consumers_sleeping) == 128,
	       "consumer wait line");
_Static_assert(offsetof(struct bus_queue_control, producers_sleeping) == 192,
	       "producer wait line");
_Static_assert(offsetof(struct bus_queue_control, redeliver_pending) == 256,
	       "redelivery line");
_Static_assert(offsetof(struct bus_queue_control, retired) == 320,
	       "retired figures");
_Static_assert(offsetof(struct bus_queue_control, journal_position) == 448,
	       "journal line");
_Static_assert(offsetof(struct bus_queue_control, journal) == 512,
	       "journal figures line");
_Static_assert(sizeof(struct bus_queue_control) == 576, "queue control");
_Static_assert(offsetof(struct bus_attachment, high_water) ==
		       BUS_CACHE_LINE + 7 * 8 + 4,
	       "attachment high-water mark");
_Static_assert(offsetof(struct bus_retired_figures, high_water) == 13 * 8,
	       "retired high-water mark");

_Static_assert(sizeof(struct bus_topic_settings) <=
		       sizeof(struct bus_queue_settings),
	       "topic settings share the header's settings field");
_Static_assert(offsetof(struct bus_subscriber, position) == BUS_CACHE_LINE,
	       "subscriber cursor line");
_Static_assert(sizeof(struct bus_subscriber) == 2 * BUS_CACHE_LINE,
	       "subscriber size");
_Static_assert(offsetof(struct bus_topic_control, joins) == 8, "topic joins");
_Static_assert(offsetof(struct bus_topic_control, overwritten) == 24,
	       "topic arena line");
_Static_assert(offsetof(struct bus_queue_control, arena_head) == 8,
	       "queue arena head");
_Static_assert(offsetof(struct bus_topic_control, journal_position) == 64,
	       "topic journal line");
_Static_assert(offsetof(struct bus_topic_control, subscribers_sleeping) == 128,
	       "topic subscriber wait line");
_Static_assert(offsetof(struct bus_topic_control, publishers_sleeping) == 192,
	       "topic publisher wait line");
_Static_assert(offsetof(struct bus_topic_control, retired) == 256,
	       "topic retired figures");
_Static_assert(offsetof(struct bus_topic_control, journal) == 320,
	       "topic journal figures");
_Static_assert(sizeof(struct bus_topic_control) == 384, "topic control");
_Static_assert(offsetof(struct bus_subscriber, high_water) ==
		       BUS_CACHE_LINE + 4 * 8 + 4,
	       "subscriber high-water mark");
_Static_assert(offsetof(struct bus_topic_control, retired_high_water) ==
		       192 + 8,
	       "topic retired high-water mark");

/* The queue control block starts right after the 320-byte header. */
#define BUS_QUEUE_CONTROL_OFFSET 320u
/* So does a topic's. */
#define BUS_TOPIC_CONTROL_OFFSET 320u

#endif /* BUS_LAYOUT_H */
