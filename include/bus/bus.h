/* SPDX-License-Identifier: MIT */
/*
 * shmbus client API.
 *
 * A process connects to a bus (bus_connect), opens queues as a producer or a
 * consumer (bus_queue_open), and moves messages through shared memory with no
 * copy: a producer loans a slot, writes the payload in place and commits it;
 * a consumer receives a view of the message in place and acks it when done.
 * busd, the supervisor daemon, is only consulted to open and close handles.
 *
 * Return values: every function that returns int gives 0 (or a count) on
 * success and a negative errno on failure; bus_strerror() turns the errno
 * into a sentence, and bus_error_detail() says which name or field was wrong
 * for the last failure on a connection.
 *
 * Handle rules
 * - A bus_t may be shared between threads: opening and closing handles is
 *   serialised inside.  A bus_queue_t is used by one thread at a time; the
 *   only call that may come from another thread is bus_queue_cancel().
 * - fork(): the child must not use its parent's bus_t or handles.  It calls
 *   bus_connect() itself.  Messages the parent holds stay the parent's; they
 *   are redelivered only if the parent dies or nacks them.
 * - busd restarts: a bus_t connects again by itself on its next request,
 *   but only while the process has the effective uid and gid it connected
 *   with (busd knows a client by its socket's credentials); otherwise that
 *   request fails with -ENOTCONN and the caller connects again.
 * - Signals: a blocked call that is interrupted by a signal handler returns
 *   -EINTR, like read(2), so a handler can cancel a wait by setting a flag.
 *   Without a handler the call keeps waiting until its deadline.
 * - Cancelling: bus_queue_cancel() makes every call blocked on that handle,
 *   and every later blocking call on it, return -ECANCELED until
 *   bus_queue_uncancel().
 * - Timeouts are relative nanoseconds: BUS_NOWAIT never blocks (-EAGAIN when
 *   empty, -ENOBUFS when full), BUS_FOREVER waits without a deadline.  The
 *   wait uses an absolute CLOCK_MONOTONIC deadline, so spurious wake-ups and
 *   restarts never stretch it.
 * - Disconnecting closes every handle of the connection; views of messages
 *   obtained from them must not be used afterwards.
 */
#ifndef BUS_BUS_H
#define BUS_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "bus/export.h"
#include "bus/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BUS_VERSION_MAJOR 0
#define BUS_VERSION_MINOR 1
#define BUS_VERSION_PATCH 0

/* Relative timeouts in nanoseconds. */
#define BUS_NOWAIT ((int64_t)0)
#define BUS_FOREVER ((int64_t)-1)

typedef struct bus bus_t;
typedef struct bus_queue bus_queue_t;

/* How a blocked call waits for data or for room. */
enum bus_wait_strategy {
	/* Spin for spin_ns, then sleep on a futex (the default). */
	BUS_WAIT_SPIN_FUTEX = 0,
	/* Spin until the deadline; lowest latency, one CPU at 100%. */
	BUS_WAIT_BUSY = 1,
	/* Sleep on a futex at once. */
	BUS_WAIT_FUTEX = 2,
};

enum bus_role {
	BUS_PRODUCER = 1,
	BUS_CONSUMER = 2,
	/* Maps the queue read-only to read its figures (busctl stat). */
	BUS_OBSERVER = 3,
};

/* Options of one handle; pass NULL for the defaults. */
struct bus_queue_options {
	enum bus_wait_strategy wait; /* default BUS_WAIT_SPIN_FUTEX */
	uint32_t spin_ns; /* spin phase of SPIN_FUTEX, default 2000 */
	/* Producer: leave publish_time_ns at 0 to save a clock read per
	 * message (a TSC read, or a clock_gettime() where the TSC is not
	 * usable: 3-17% of a busy round trip in perf/RESULTS.md);
	 * consumers then count no latency for them. */
	int no_timestamp;
	/* Consumer: do not count publish-to-receive latency (see
	 * bus_queue_latency). */
	int no_latency;
	/* Consumer: count the latency of every latency_every-th receive of
	 * a stamped message (0: BUS_LATENCY_EVERY_DEFAULT; 1: all). */
	uint32_t latency_every;
};

/* A clock read per receive would cost some 5% of a busy round trip;
 * every 16th costs nothing measurable and still fills the histogram
 * within a second at 100 messages a second. */
#define BUS_LATENCY_EVERY_DEFAULT 16u

/*
 * A view of one message in shared memory.  For a producer, payload points at
 * capacity writable bytes of a loaned slot.  For a consumer, payload and
 * length describe the received message, valid until it is acked or nacked.
 * token identifies the slot to bus_commit/bus_ack/bus_nack; treat it as
 * opaque.
 */
struct bus_message {
	void *payload;
	uint32_t length;
	uint32_t capacity;
	const struct bus_message_header *header;
	uint64_t token;
	/* Producer: 0 after a loan; the bus_message_set_*() calls set it so
	 * that the commit keeps what they wrote.  Unused when receiving. */
	uint32_t extras;
	/* Packed messages (layout.h): bytes of key and header room, which
	 * starts at payload + round_up(capacity, 8) for a loan and at
	 * payload + round_up(length, 8) for a received message; 0 for a
	 * message in a fixed cell, whose room lies between header and
	 * payload.  Set by the library; treat it as read-only. */
	uint32_t room;
};

/* One buffer of a copying batch send. */
struct bus_buffer {
	const void *data;
	size_t length;
};

/* ---- errors ---------------------------------------------------------- */

/* A sentence for a negative errno returned by this library.  Never NULL. */
BUS_EXPORT const char *bus_strerror(int error);

/*
 * Details of the last failure on this connection (which name, which field),
 * or "" when there are none.  The string is owned by the connection and is
 * overwritten by its next failure.  bus == NULL: the details of the calling
 * thread's last bus_connect() that failed (why busd refused it, say), ""
 * after one that succeeded; owned by the library, valid until the thread's
 * next bus_connect().
 */
BUS_EXPORT const char *bus_error_detail(const bus_t *bus);

/* ---- names ----------------------------------------------------------- */

/*
 * 0 when name is a valid bus, queue or topic name: 1 to BUS_NAME_MAX
 * characters of letters, digits, '_', '-' and '.'.  -EINVAL otherwise.
 */
BUS_EXPORT int bus_name_check(const char *name);

/*
 * Writes the directory that holds the control sockets and lock files into
 * buf: $BUS_RUNTIME_DIR if set, else /run/shmbus for root, else
 * $XDG_RUNTIME_DIR/shmbus, else /tmp/shmbus-UID.  Returns the length, or
 * -ENAMETOOLONG.
 */
BUS_EXPORT int bus_runtime_dir(char *buf, size_t size);

/* ---- busd's error log ------------------------------------------------ */

#define BUS_LOG_TEXT_MAX 240
#define BUS_LOG_ERROR 0
#define BUS_LOG_WARNING 1

/* One line of busd's error log. */
struct bus_log_record {
	uint64_t line;	      /* 1 for busd's first line since the log began */
	uint64_t realtime_ns; /* CLOCK_REALTIME when busd wrote it */
	uint32_t level;	      /* BUS_LOG_ERROR or BUS_LOG_WARNING */
	char text[BUS_LOG_TEXT_MAX + 1];
};

/*
 * busd keeps its last warnings and errors in shared memory (across its own
 * restarts, and after it died).  Copies up to count of the most recent,
 * oldest first, and returns how many; no busd connection is needed.
 * -ENOENT when the bus has no log (no busd ran, or it stopped cleanly).
 */
BUS_EXPORT int bus_log_read(const char *bus_name,
			    struct bus_log_record *records, uint32_t count);

/*
 * Removes a bus whose busd is gone for good: every segment (messages and
 * all), the announcement page, and busd's socket, access and lock files.
 * A clean stop keeps queues that hold messages for the next busd; this
 * says there will be none.  Returns the number of segments removed,
 * -EBUSY while a busd serves the bus, -EINVAL for a bad name.
 */
BUS_EXPORT int bus_remove(const char *bus_name);

/* ---- connection ------------------------------------------------------ */

/*
 * Connects to the busd serving bus_name (NULL: $BUS_NAME, else "default").
 * Returns 0 and sets *out, -ENOTCONN when no busd serves that bus, -EINVAL
 * for a bad name, -EPROTO when busd speaks another protocol version,
 * -EACCES when the control socket's mode keeps this user out, -EUSERS when
 * this user holds busd's max_connections_per_user already, -ECONNREFUSED
 * when busd keeps its last file descriptors for admins.  On failure,
 * bus_error_detail(NULL) says why in the calling thread.
 */
BUS_EXPORT int bus_connect(const char *bus_name, bus_t **out);

/* Closes every handle of the connection, then the connection.  NULL is ok. */
BUS_EXPORT void bus_disconnect(bus_t *bus);

/* The bus name this connection serves. */
BUS_EXPORT const char *bus_name(const bus_t *bus);

/* ---- administration -------------------------------------------------- */

/* The built-in defaults of a queue (see README.md, "Configuration"). */
BUS_EXPORT void
bus_queue_settings_default(struct bus_queue_settings *settings);

/*
 * Asks busd to create a queue.  settings NULL means the defaults.  Returns
 * -EEXIST if the name is taken, -EINVAL for bad settings (the detail names
 * the field), -ENOSPC when /dev/shm has no room for it, -EACCES without
 * admin rights.  Owner, group and mode are busd's defaults (see
 * bus_queue_create_with_access()).
 */
BUS_EXPORT int bus_queue_create(bus_t *bus, const char *name,
				const struct bus_queue_settings *settings);

/*
 * Asks busd to delete a queue (or a topic).  Its attached clients' calls
 * then return -EIDRM ("the queue or topic was deleted").  -EACCES without
 * admin rights.
 */
BUS_EXPORT int bus_queue_delete(bus_t *bus, const char *name);

/* What busd says about itself (bus_daemon_info(), busctl info). */
struct bus_daemon_info {
	char version[64];      /* busd's, such as "0.1.0" */
	char config_path[160]; /* its -c file; "" for the built-in one */
	int32_t pid;
	uint32_t clients; /* connections to its control socket now */
	uint32_t queues;
	uint32_t topics;
	uint64_t started_ns; /* when it started, CLOCK_REALTIME ns */
	uint64_t uptime_ns;  /* how long it has served */
};

/* Fills info from busd.  Any connected client may ask.  Returns 0, or a
 * negative errno (-ENOTCONN, -EPROTO). */
BUS_EXPORT int bus_daemon_info(bus_t *bus, struct bus_daemon_info *info);

/* Conditions of bus_delete(); busd checks them and deletes in one step. */
enum bus_delete_flags {
	/* Only a queue that holds no message, queued or leased, or a topic
	 * whose live subscribers have read everything: else -ENOTEMPTY. */
	BUS_DELETE_IF_EMPTY = 1u << 0,
	/* Only one that no producer, consumer, publisher or subscriber is
	 * attached to: else -EBUSY. */
	BUS_DELETE_IF_UNUSED = 1u << 1,
};

/*
 * bus_queue_delete() of a queue or topic, on the conditions in flags
 * (enum bus_delete_flags, or 0 for none).  Returns 0, -ENOTEMPTY or
 * -EBUSY with busd's sentence in bus_error_detail(), -ENOENT, -EACCES,
 * -EINVAL (unknown flags).
 */
BUS_EXPORT int bus_delete(bus_t *bus, const char *name, unsigned int flags);

/*
 * Who may use a queue or topic, read like a file's owner, group and mode:
 * r (4) lets a process consume or subscribe (and observe, as busctl stat
 * does), w (2) lets it produce or publish; x means nothing.  The owner's
 * bits apply to that uid, else the group's to its members (primary or
 * supplementary group), else the others'.  Root passes every check.
 *
 * given says which fields are set; the others take busd's defaults:
 * busd's effective uid, its effective gid and 0660.  A zeroed struct is
 * all defaults.
 */
#define BUS_ACCESS_OWNER 0x1u
#define BUS_ACCESS_GROUP 0x2u
#define BUS_ACCESS_MODE 0x4u

struct bus_access {
	uint32_t given; /* BUS_ACCESS_OWNER | BUS_ACCESS_GROUP | ... */
	uint32_t owner; /* a uid */
	uint32_t group; /* a gid */
	uint32_t mode;	/* permission bits, at most 0777 */
};

/*
 * bus_queue_create() with an owner, group and mode (access NULL: the
 * defaults).  Creating needs admin rights: busd's user, root, or a member
 * of busd's admin_group; -EACCES otherwise, with the detail saying so.
 * -EINVAL for a mode above 0777.
 */
BUS_EXPORT int
bus_queue_create_with_access(bus_t *bus, const char *name,
			     const struct bus_queue_settings *settings,
			     const struct bus_access *access);

/*
 * The owner, group and mode of a queue or topic (given has every bit).
 * Anyone connected may ask.  -ENOENT when there is no such name.
 */
BUS_EXPORT int bus_access_get(bus_t *bus, const char *name,
			      struct bus_access *access);

/*
 * Writes the name of the index-th queue or topic of the bus into name
 * (BUS_NAME_MAX + 1 bytes) and its kind (BUS_SEGMENT_QUEUE, ...) into *kind.
 * Returns 0, or -ENOENT past the last one.
 */
BUS_EXPORT int bus_list(bus_t *bus, uint32_t index, char *name,
			uint32_t *kind);

/* ---- queue handles --------------------------------------------------- */

/*
 * Opens the queue as a producer, consumer or observer.  Returns -ENOENT for
 * an unknown queue, -EBUSY when its producer or consumer table is full (an
 * SPSC queue has one of each), -EPROTO when the segment is not a valid
 * shmbus queue of this layout version, -EACCES when the queue's mode does
 * not let this user produce (w) or consume and observe (r); the detail
 * says who may.
 */
BUS_EXPORT int bus_queue_open(bus_t *bus, const char *name, enum bus_role role,
			      const struct bus_queue_options *options,
			      bus_queue_t **out);

/*
 * Closes the handle.  Messages it received and did not ack are redelivered
 * to other consumers; a loan it did not commit is discarded.
 */
BUS_EXPORT int bus_queue_close(bus_queue_t *queue);

/* The settings the queue was created with. */
BUS_EXPORT const struct bus_queue_settings *
bus_queue_settings(const bus_queue_t *queue);

/* The handle's wait strategy; may be changed between calls. */
BUS_EXPORT int bus_queue_set_wait(bus_queue_t *queue,
				  enum bus_wait_strategy wait,
				  uint32_t spin_ns);

/* Thread-safe: wakes and fails (-ECANCELED) blocked calls on the handle. */
BUS_EXPORT void bus_queue_cancel(bus_queue_t *queue);
BUS_EXPORT void bus_queue_uncancel(bus_queue_t *queue);

/* ---- producing ------------------------------------------------------- */

/*
 * Loans a free slot: message->payload points at message->capacity bytes to
 * write in place.  Waits up to timeout_ns for room when the queue's overflow
 * policy is block; -ENOBUFS when full and the policy is reject or the
 * timeout is BUS_NOWAIT; -ETIMEDOUT after a timeout.  A producer may hold
 * several loans; each must be committed.  In a packed (spsc) queue a loan
 * reserves max_message and the key room (layout.h) until its commit:
 * -EDEADLK, at once, when only the producer's own open loans stand in the
 * way of the room, which no wait could give.
 */
BUS_EXPORT int bus_loan(bus_queue_t *queue, struct bus_message *message,
			int64_t timeout_ns);

/*
 * As bus_loan(), for a message of at most size bytes (Aeron's tryClaim):
 * in a packed queue the loan reserves only size bytes and the key room,
 * so that loans of small messages neither need max_message bytes of the
 * arena in one piece nor fill it (message->capacity is size); with fixed
 * cells it is bus_loan() (message->capacity is max_message).  Committing
 * more than the capacity is -EMSGSIZE, as ever.  -EMSGSIZE at once for a
 * size over max_message.
 */
BUS_EXPORT int bus_loan_sized(bus_queue_t *queue, struct bus_message *message,
			      size_t size, int64_t timeout_ns);

/*
 * Publishes a loaned slot holding length payload bytes.  -EMSGSIZE if length
 * exceeds the capacity (the loan stays held), -EINVAL for a foreign token.
 */
BUS_EXPORT int bus_commit(bus_queue_t *queue, struct bus_message *message,
			  uint32_t length);

/*
 * Loans up to count slots in queue order, as bus_loan() each: waits up to
 * timeout_ns for room for the first one only, then takes what room there
 * is.  A full queue ends the batch: nothing more is counted as rejected,
 * and under drop-oldest only the first loan may drop a queued message.
 * Returns how many (at least one; 0 for count 0), or bus_loan()'s error
 * for the first.  Every loan must be committed (bus_commit() or
 * bus_commit_batch()), so ask for no more than you will write.
 */
BUS_EXPORT int bus_loan_batch(bus_queue_t *queue, struct bus_message *messages,
			      unsigned int count, int64_t timeout_ns);

/*
 * Publishes count loans, each with messages[i].length payload bytes (the
 * caller sets it after writing the payload), in array order, with one
 * clock read and at most one wake-up for all: they carry the same publish
 * stamp.  Returns how many were published (0 for count 0).  The first
 * that fails as bus_commit() would (-EMSGSIZE, -EINVAL for a token that is
 * not a loan of ours) stops the batch: it and those after it are left as
 * they were, and when it is the first, its error is returned.
 */
BUS_EXPORT int bus_commit_batch(bus_queue_t *queue,
				struct bus_message *messages,
				unsigned int count);

/* Copies length bytes into the queue: a loan and a commit. */
BUS_EXPORT int bus_send(bus_queue_t *queue, const void *data, size_t length,
			int64_t timeout_ns);

/*
 * Copies up to count buffers into the queue in order.  Returns how many were
 * sent (at least one, unless it fails), waiting up to timeout_ns for room
 * for the first one only.  The clock is read once per call: every message
 * of the batch carries the publish stamp of the first one's commit.
 */
BUS_EXPORT int bus_send_batch(bus_queue_t *queue,
			      const struct bus_buffer *buffers,
			      unsigned int count, int64_t timeout_ns);

/*
 * Publisher confirm on a durable queue (durable = yes): waits until every
 * message this producer handle committed is on disk as the queue's sync
 * setting promises: sync = none, written to the file (it survives busd's
 * crash, not a reboot or a power cut before the kernel writes the file
 * back); interval and always, written and fdatasync'd, so that it
 * survives a reboot or a power cut.  Plain commits never wait for the disk; call this when the
 * promise is needed (after a batch, before telling somebody "done").
 *
 * Messages committed before ours by other producers must reach the disk
 * first (the journal is written in queue order).  timeout_ms < 0 waits
 * for ever, 0 only looks.  Returns 0; -ETIMEDOUT; -EOPNOTSUPP when the
 * queue is not durable; -EBADF on a consumer or observer handle;
 * -ENOSPC or -EIO when busd's journal write failed (its disk is full:
 * nothing committed after the last confirmed message is promised until
 * busd writes again); -ENOTCONN or -EIDRM when the queue went.
 *
 * After a reboot a durable queue's messages come back with
 * BUS_MESSAGE_REDELIVERED set when they may have been delivered before:
 * a failed delivery raised their count, or busd saw a consumer holding
 * one (it journals each take it sees, within a millisecond, on disk with
 * the next sync).  A consumer that took a message in the last moment
 * before a power cut may get it back without the flag: the rule errs
 * toward marking only what the journal knows, so that a backlog never
 * delivered does not come back all "redelivered".
 */
BUS_EXPORT int bus_flush(bus_queue_t *queue, int timeout_ms);

/* ---- keys, headers, correlation, expiry --------------------------------
 *
 * A message may carry a routing key (a dotted subject such as
 * "orders.eu.red", up to BUS_MESSAGE_KEY_MAX bytes), a reply-to name, and
 * up to BUS_MESSAGE_HEADERS_MAX user headers (name up to
 * BUS_MESSAGE_HEADER_NAME_MAX bytes, value up to
 * BUS_MESSAGE_HEADER_VALUE_MAX).  They live in the slot's header room
 * (the header_room setting of the queue or topic, 0 by default: set it to
 * what your keys and headers need), apart from the payload, so a reader
 * finds them without parsing the payload.  A message without them costs
 * nothing more to send or receive.
 *
 * The setters work on a loan (queue or topic), before its commit; each
 * returns 0, -EINVAL for a bad argument (a key that is not a dotted
 * subject without wildcards, an empty header name, a name with '=' or a
 * value too long), -EMSGSIZE when the header room is too small (raise
 * header_room), -E2BIG past BUS_MESSAGE_HEADERS_MAX headers.  Setting the
 * key or reply-to again replaces it; headers add up.
 *
 * The getters work on a received view (or a loan): they copy a value with
 * a terminating NUL into buf and return its length, 0 when the message
 * has none (buf gets ""), -ENOENT for a header it lacks, -EMSGSIZE when
 * buf is too small, -EBADMSG when the header room is corrupt.
 */
BUS_EXPORT int bus_message_set_key(struct bus_message *message,
				   const char *key);
BUS_EXPORT int bus_message_set_reply_to(struct bus_message *message,
					const char *name);
BUS_EXPORT int bus_message_add_header(struct bus_message *message,
				      const char *name, const char *value);
/* The correlation id of a request and its reply (0: none). */
BUS_EXPORT int bus_message_set_correlation(struct bus_message *message,
					   uint64_t correlation_id);
/* The message expires ttl_ns from now (0: never): it is not delivered
 * after that.  See bus_queue_settings.ttl_ms for a per-queue default. */
BUS_EXPORT int bus_message_set_ttl(struct bus_message *message,
				   int64_t ttl_ns);

BUS_EXPORT int bus_message_key(const struct bus_message *message, char *buf,
			       size_t size);
BUS_EXPORT int bus_message_reply_to(const struct bus_message *message,
				    char *buf, size_t size);
/* The value of the first header called name. */
BUS_EXPORT int bus_message_header_get(const struct bus_message *message,
				      const char *name, char *buf,
				      size_t size);
/* The index-th header: name into name_buf, value into value_buf; returns
 * the value's length, -ENOENT past the last. */
BUS_EXPORT int bus_message_header_at(const struct bus_message *message,
				     uint32_t index, char *name_buf,
				     size_t name_size, char *value_buf,
				     size_t value_size);

/* ---- consuming ------------------------------------------------------- */

/*
 * Receives the next message in place: nacked and orphaned messages first,
 * then the oldest queued one.  -EAGAIN when empty and timeout_ns is
 * BUS_NOWAIT, -ETIMEDOUT after a timeout, -ENOLCK when the handle already
 * holds max_unacked messages (ack some first), -EBADMSG when the slot holds
 * a corrupt header (the message is skipped and counted).
 */
BUS_EXPORT int bus_receive(bus_queue_t *queue, struct bus_message *message,
			   int64_t timeout_ns);

/*
 * Receives up to count messages in place, waiting up to timeout_ns for the
 * first.  Returns the number received, or bus_receive()'s error for the
 * first.  A corrupt message met after the first ends the batch: it is
 * dropped as bus_receive() drops it (there with -EBADMSG).
 */
BUS_EXPORT int bus_receive_batch(bus_queue_t *queue,
				 struct bus_message *messages,
				 unsigned int count, int64_t timeout_ns);

/*
 * Marks a received message done; its slot becomes free.  -ESTALE when the
 * queue has ack_timeout_ms and this handle held the message longer: busd
 * took it back for another delivery, and this ack changes nothing (the
 * view may already show another message).
 */
BUS_EXPORT int bus_ack(bus_queue_t *queue, const struct bus_message *message);

/*
 * Acks every message this handle received up to and including message, in
 * the order they were received.  Returns the number acked.
 */
BUS_EXPORT int bus_ack_through(bus_queue_t *queue,
			       const struct bus_message *message);

/*
 * Hands a received message back: it is delivered again, ahead of new ones,
 * with its delivery count raised.  On a queue with max_deliveries, a
 * message that had that many deliveries goes to its dead_letter queue
 * instead (busd moves it; see README "Dead letters").  -ESTALE as for
 * bus_ack().
 */
BUS_EXPORT int bus_nack(bus_queue_t *queue, const struct bus_message *message);

/*
 * Receives one message, copies its payload into buf and acks it.  Returns
 * the payload length; -EMSGSIZE if it does not fit (the message is nacked
 * back to the queue).
 */
BUS_EXPORT int bus_receive_copy(bus_queue_t *queue, void *buf, size_t size,
				int64_t timeout_ns);

/* ---- figures --------------------------------------------------------- */

struct bus_queue_stats {
	uint64_t enqueued; /* messages committed */
	uint64_t dequeued; /* deliveries, redeliveries included */
	uint64_t acked;
	uint64_t nacked;
	uint64_t redelivered; /* deliveries of a message seen before */
	uint64_t dropped;     /* removed by the drop-oldest policy */
	uint64_t rejected;    /* sends refused with -ENOBUFS */
	uint64_t reclaimed;   /* dead producers' loans padded over */
	uint64_t depth;	      /* waiting to be delivered */
	uint64_t leased;      /* delivered and not yet acked */
	uint64_t capacity;    /* slots */
	uint32_t producers;
	uint32_t consumers;
	/* Moved to the dead-letter queue after max_deliveries deliveries. */
	uint64_t dead_lettered;
	/* Had max_deliveries and wait in this queue to be moved: the
	 * dead-letter queue is full (or missing, or busd is down).  Never
	 * delivered to this queue's consumers again. */
	uint64_t dead_waiting;
	/* Leases busd took back from live consumers after ack_timeout_ms. */
	uint64_t timed_out;
	/* Messages past their expiry (ttl_ms or their own ttl): never
	 * delivered, dropped. */
	uint64_t expired;
	/* Loans of a block queue that found it full and had to wait. */
	uint64_t backpressure_waits;
	/*
	 * The greatest depth the queue ever had, exact, departed consumers
	 * included: the highest depth any consumer saw just before a take,
	 * or the depth now if higher.  Counted in ring positions claimed
	 * by producers and not yet taken: queued messages, plus any being
	 * written and any cell a producer skipped because it still held an
	 * unacked message; messages waiting for redelivery count only
	 * while they wait now.
	 */
	uint64_t high_water;
	/*
	 * A durable queue's journal (0 for others): bytes busd wrote to it;
	 * messages committed and not yet on disk as the sync setting
	 * promises (its lag); fdatasyncs and the p50/p99 of their latency
	 * (nanoseconds, since busd started); writes that failed; and busd's
	 * start: how long reading the journal took, the messages it put
	 * back after a reboot, the torn records it cut off its end.
	 */
	uint64_t journal_bytes;
	uint64_t journal_lag;
	uint64_t journal_syncs;
	uint64_t journal_sync_p50_ns;
	uint64_t journal_sync_p99_ns;
	uint64_t journal_write_errors;
	uint64_t journal_recovery_ns;
	uint64_t journal_recovered;
	uint64_t journal_torn;
};

/*
 * Publish-to-receive latency, from the publish time in each message header
 * to the receive (messages sent without a timestamp are not counted).
 * Each value is the upper bound of its histogram bucket: at most 12.5%
 * above the true one; 17 s and more all count as the largest bucket.
 */
struct bus_latency {
	uint64_t count;
	uint64_t min_ns;
	uint64_t p50_ns;
	uint64_t p90_ns;
	uint64_t p99_ns;
	uint64_t p999_ns;
	uint64_t max_ns;
};

/* One producer or consumer attached to a queue, with its own figures. */
struct bus_attachment_stats {
	uint32_t slot;
	uint32_t role; /* BUS_PRODUCER or BUS_CONSUMER */
	int32_t pid;
	uint32_t uid;
	uint64_t enqueued;
	uint64_t dequeued;
	uint64_t acked;
	uint64_t nacked;
	uint64_t redelivered;
	uint64_t leased; /* messages it holds now: received, not acked */
	struct bus_latency latency; /* a consumer's; zero for a producer */
	/* A consumer's high-water mark: the highest depth of the queue it
	 * saw just before one of its takes; zero for a producer. */
	uint64_t high_water;
};

/*
 * The latency of every receive of the queue so far, live consumers and
 * departed ones together.  Any role may ask.
 */
BUS_EXPORT int bus_queue_latency(const bus_queue_t *queue,
				 struct bus_latency *latency);

/*
 * Fills up to count entries with the live attachments, in slot order, and
 * returns how many are live (which may be more than count).  Any role may
 * ask; busctl stat shows who holds which leases from it.
 */
BUS_EXPORT int bus_queue_attachments(const bus_queue_t *queue,
				     struct bus_attachment_stats *out,
				     uint32_t count);

/* Reads the queue's figures from shared memory; any role may ask. */
BUS_EXPORT int bus_queue_stats(const bus_queue_t *queue,
			       struct bus_queue_stats *stats);

/*
 * Looks at a queued message without taking it (any role; an observer
 * handle changes nothing in the queue, figures included).  Queued means
 * waiting for delivery: committed and not leased, or handed back for
 * redelivery.  Messages come in position order, oldest first, which is the
 * order consumers get them (redeliveries, being older, come first).
 *
 * *cursor is 0 for the first call; each call moves it past the message it
 * returns.  Copies the payload into buf and, if header is not NULL, the
 * header into *header.  Returns the payload length; -EAGAIN when no queued
 * message follows the cursor; -EMSGSIZE when buf is smaller than the
 * payload (the cursor stays: call again with max_message bytes); -EBUSY
 * when the queue changed under every try.  A message taken, acked or
 * overwritten while being copied is never returned torn: the copy is
 * checked against the cell's state afterwards.
 */
BUS_EXPORT int bus_queue_peek(const bus_queue_t *queue, uint64_t *cursor,
			      void *buf, size_t size,
			      struct bus_message_header *header);

/*
 * bus_queue_peek() with the key, reply-to name and headers: copies the
 * message into buf laid out as a view (header, header room, payload), and
 * fills *message as a receive would (payload, length, header), so that
 * bus_message_key(), bus_message_reply_to() and bus_message_header_get()
 * read it.  message->token is 0: a peeked message cannot be acked.  buf
 * needs bus_queue_peek_size() bytes; smaller gives -EMSGSIZE.  Otherwise
 * as bus_queue_peek().
 */
BUS_EXPORT int bus_queue_peek_message(const bus_queue_t *queue,
				      uint64_t *cursor, void *buf, size_t size,
				      struct bus_message *message);

/* The buffer bus_queue_peek_message() needs for any message of the
 * queue: the header, the header room and max_message. */
BUS_EXPORT size_t bus_queue_peek_size(const bus_queue_t *queue);

/*
 * Removes every queued message of the queue (see bus_queue_peek) and
 * returns how many it removed.  Messages leased by consumers stay theirs.
 * Needs admin rights on the bus, as bus_queue_delete() does (-EACCES with a
 * detail otherwise), not the queue's mode.
 *
 * It is safe against producers and consumers at work: busd lends the
 * caller a consumer slot, through which the call takes and acks messages
 * as any consumer would, so purged messages count as dequeued and acked
 * in the figures.  It stops when the queue is empty or after as many
 * messages as were queued when it began, so a busy producer cannot keep
 * it going.  -ENOENT for an unknown queue or a topic, -EBUSY for an spsc
 * queue whose consumer is attached.
 */
BUS_EXPORT int bus_queue_purge(bus_t *bus, const char *name);

/* ---- topics (publish/subscribe) ---------------------------------------
 *
 * A topic is one ring that publishers write once and every subscriber
 * reads at its own position: a subscriber gets every message committed
 * after its subscription was registered, in ring order (per publisher:
 * the order it published in).  With slow_subscriber = block a publisher
 * waits for the slowest live subscriber; with overwrite it never waits,
 * and a subscriber that falls a whole ring behind is told how many
 * messages it lost and goes on from the oldest one still intact.
 *
 * Handles: a bus_topic_t publishes (BUS_PRODUCER) or only looks
 * (BUS_OBSERVER: figures and the last value); a bus_subscription_t
 * receives.  Each is used by one thread at a time, except the _cancel
 * calls, as for queues; bus_disconnect() closes them too.
 */

typedef struct bus_topic bus_topic_t;
typedef struct bus_subscription bus_subscription_t;

/* The built-in defaults of a topic (see README.md, "Topics"). */
BUS_EXPORT void
bus_topic_settings_default(struct bus_topic_settings *settings);

/*
 * Asks busd to create a topic.  settings NULL means the defaults.  -EEXIST
 * if a queue or topic has the name, -EINVAL for bad settings (the detail
 * names the field), -ENOSPC when /dev/shm has no room, -EACCES without
 * admin rights.
 */
BUS_EXPORT int bus_topic_create(bus_t *bus, const char *name,
				const struct bus_topic_settings *settings);

/* bus_topic_create() with an owner, group and mode; as for queues. */
BUS_EXPORT int
bus_topic_create_with_access(bus_t *bus, const char *name,
			     const struct bus_topic_settings *settings,
			     const struct bus_access *access);

/* Asks busd to delete a topic; attached clients see it as closed.
 * -EACCES without admin rights. */
BUS_EXPORT int bus_topic_delete(bus_t *bus, const char *name);

/*
 * Opens the topic as a publisher (BUS_PRODUCER) or an observer
 * (BUS_OBSERVER).  -ENOENT for an unknown topic (or a queue of that name),
 * -EBUSY when max_publishers publishers have it open, -EINVAL for
 * BUS_CONSUMER (use bus_subscribe), -EPROTO for a segment that is not a
 * valid topic of this layout version, -EACCES when the topic's mode does
 * not let this user publish (w) or observe (r).  options may be NULL.
 */
BUS_EXPORT int bus_topic_open(bus_t *bus, const char *name, enum bus_role role,
			      const struct bus_queue_options *options,
			      bus_topic_t **out);

/* Closes the handle; a loan it did not commit is dropped (subscribers
 * skip it). */
BUS_EXPORT int bus_topic_close(bus_topic_t *topic);

/* The settings the topic was created with. */
BUS_EXPORT const struct bus_topic_settings *
bus_topic_settings(const bus_topic_t *topic);

BUS_EXPORT int bus_topic_set_wait(bus_topic_t *topic,
				  enum bus_wait_strategy wait,
				  uint32_t spin_ns);
/* Thread-safe: wakes and fails (-ECANCELED) blocked calls on the handle
 * until bus_topic_uncancel(). */
BUS_EXPORT void bus_topic_cancel(bus_topic_t *topic);
BUS_EXPORT void bus_topic_uncancel(bus_topic_t *topic);

/*
 * Loans the next slot of the ring: message->payload points at
 * message->capacity (max_message) bytes to write in place.  Under block,
 * waits up to timeout_ns for the slowest subscriber to pass the slot
 * (-ENOBUFS with BUS_NOWAIT, -ETIMEDOUT after the timeout); under
 * overwrite it never waits for subscribers.  Either way it waits for
 * another publisher still writing the message one ring back.  -ENOTCONN
 * once the topic is deleted.
 *
 * A recorded topic (record = yes), under either policy, also waits for
 * busd to record the message one ring back (-ENOBUFS, -ETIMEDOUT as
 * above); while busd cannot write the journal at all (a full disk) such a
 * wait ends in that error instead, -ENOSPC or -EIO.
 *
 * A subscriber may copy the slot while you write it and then discard the
 * copy (one lapped under overwrite, or one reading history): correct,
 * but ThreadSanitizer reports your plain stores against its atomic loads.
 * bus_publish() writes with atomic stores and is clean; see README.md,
 * "Topics".
 */
BUS_EXPORT int bus_topic_loan(bus_topic_t *topic, struct bus_message *message,
			      int64_t timeout_ns);

/*
 * As bus_topic_loan(), for a message of at most size bytes: a packed
 * topic reserves only size bytes and the key room (message->capacity is
 * size), fixed cells are as bus_topic_loan().  -EMSGSIZE at once for a
 * size over max_message.
 */
BUS_EXPORT int bus_topic_loan_sized(bus_topic_t *topic,
				    struct bus_message *message, size_t size,
				    int64_t timeout_ns);

/*
 * Publishes a loaned slot holding length payload bytes and wakes sleeping
 * subscribers.  -EMSGSIZE if length exceeds the loan's capacity (the loan
 * stays held), -EINVAL for a token that is not an open loan of this
 * handle.
 */
BUS_EXPORT int bus_topic_commit(bus_topic_t *topic,
				struct bus_message *message, uint32_t length);

/* Copies length bytes into the topic: a loan and a commit. */
BUS_EXPORT int bus_publish(bus_topic_t *topic, const void *data, size_t length,
			   int64_t timeout_ns);

/*
 * The last-value read: copies the newest committed message into buf
 * without subscribing (any role).  Returns its length; -EAGAIN when
 * nothing was published yet (or the ring was lapped during every try);
 * -EMSGSIZE when buf is too small.  header, if not NULL, gets its header.
 * The copy is checked: never torn, whatever the policy.
 */
BUS_EXPORT int bus_topic_last(bus_topic_t *topic, void *buf, size_t size,
			      struct bus_message_header *header);

/* Where a subscription starts (bus_subscribe_options.from). */
enum bus_subscribe_from {
	/* Messages committed after the subscription (and history). */
	BUS_FROM_NOW = 0,
	/* A recorded topic's messages from sequence from_value on. */
	BUS_FROM_SEQUENCE = 1,
	/* A recorded topic's messages published at or after from_value,
	 * CLOCK_REALTIME nanoseconds. */
	BUS_FROM_TIME = 2,
};

/* Options of a subscription; pass NULL for the defaults. */
struct bus_subscribe_options {
	enum bus_wait_strategy wait; /* default BUS_WAIT_SPIN_FUTEX */
	uint32_t spin_ns; /* spin phase of SPIN_FUTEX, default 2000 */
	/* Also deliver up to this many messages published before the
	 * subscription, those still intact; at most the topic's history
	 * setting (-EINVAL past it).  Default 0. */
	uint32_t history;
	/* Do not count publish-to-receive latency, or count every
	 * latency_every-th (as for queues). */
	int no_latency;
	uint32_t latency_every;
	/*
	 * Catch-up (a topic with record = yes): enum bus_subscribe_from and
	 * its value.  The subscription first reads the topic's journal (busd's
	 * data_dir) from that point, then the live ring: every message in
	 * sequence order, with no gap and no duplicate at the switch.
	 * Messages read from disk are copies (the view is valid until the
	 * next receive), have publish_time_ns 0 and count no latency.
	 * Messages that retention deleted before they were read are reported
	 * through *lost, as a lap is (from a sequence; from a time their
	 * count is unknown and not reported).  While it reads the disk the
	 * subscription already holds its place in the ring, so under block a
	 * subscriber far behind slows publishers like any slow one; under
	 * overwrite it may be lapped meanwhile, and the ring's messages it
	 * lost are reported through *lost (they are on disk: subscribe again
	 * from the last sequence received).  A
	 * receive waits, within its timeout, for messages published before
	 * the subscription that busd has not written yet; a waitset looks at
	 * the disk every millisecond meanwhile, and an armed waitset's fd is
	 * readable at once.  A receive fails with -EBADMSG on a corrupt
	 * journal file (bus_error_detail() names the file and the offset);
	 * the next one goes on at the next file, what it passed over
	 * reported through *lost.  -EOPNOTSUPP for a topic not recorded;
	 * -EINVAL with history or for a pattern.
	 */
	uint32_t from;
	uint64_t from_value;
};

/*
 * Subscribes to a topic.  -ENOENT for an unknown topic (or a queue of that
 * name), -EBUSY when it has max_subscribers subscribers (the detail says
 * so), -EINVAL for a history above the topic's, -EACCES when the topic's
 * mode does not let this user read (r), -EOPNOTSUPP for from on a topic
 * that is not recorded.
 */
BUS_EXPORT int bus_subscribe(bus_t *bus, const char *topic,
			     const struct bus_subscribe_options *options,
			     bus_subscription_t **out);

/* Ends the subscription: publishers stop waiting for it. */
BUS_EXPORT int bus_unsubscribe(bus_subscription_t *subscription);

BUS_EXPORT const struct bus_topic_settings *
bus_subscription_settings(const bus_subscription_t *subscription);
BUS_EXPORT int bus_subscription_set_wait(bus_subscription_t *subscription,
					 enum bus_wait_strategy wait,
					 uint32_t spin_ns);
BUS_EXPORT void bus_subscription_cancel(bus_subscription_t *subscription);
BUS_EXPORT void bus_subscription_uncancel(bus_subscription_t *subscription);

/*
 * Receives the next message.  Under block the view is in place (zero
 * copy): payload and header point into the ring and stay valid, and the
 * slot stays out of the publishers' reach, until bus_subscription_release()
 * or the next receive.  Under overwrite (and for history) the message is
 * copied into a buffer of the subscription and checked, so it is never
 * torn; the view is valid until the next receive.  Do not write through
 * the view.
 *
 * *lost (may be NULL) is set to the number of messages this subscriber
 * lost, by being lapped under overwrite, since the message it received
 * before; 0 normally.  Each loss is reported once, with the next message
 * delivered, and counted in bus_subscription_stats() at once.
 *
 * 0; -EAGAIN when there is nothing and timeout_ns is BUS_NOWAIT;
 * -ETIMEDOUT; -ENOTCONN once the topic is deleted and drained;
 * -EBADMSG for a message with a corrupt header (skipped).
 */
BUS_EXPORT int bus_subscription_receive(bus_subscription_t *subscription,
					struct bus_message *message,
					uint64_t *lost, int64_t timeout_ns);

/* Done with the view of the last message received: publishers under block
 * may reuse its slot.  0 also when nothing is held. */
BUS_EXPORT int bus_subscription_release(bus_subscription_t *subscription);

/*
 * Receives the next message into buf and releases it.  Returns the payload
 * length; -EMSGSIZE if it does not fit (it stays next, to receive with a
 * larger buffer); otherwise as bus_subscription_receive().
 */
BUS_EXPORT int bus_subscription_receive_copy(bus_subscription_t *subscription,
					     void *buf, size_t size,
					     uint64_t *lost,
					     int64_t timeout_ns);

/* ---- topic figures --------------------------------------------------- */

struct bus_topic_stats {
	uint64_t published; /* messages committed */
	uint64_t rejected;  /* loans that found no room in time */
	uint64_t received;  /* deliveries, every subscriber together */
	uint64_t lapped;    /* times a subscriber was lapped */
	uint64_t lost;	    /* messages subscribers lost by it */
	uint64_t padded;    /* loans dropped or left by dead publishers */
	uint64_t tail;	    /* positions claimed so far */
	uint64_t capacity;  /* slots */
	uint64_t max_lag;   /* the slowest live subscriber's lag */
	uint32_t publishers;
	uint32_t subscribers;
	/* Loans of a block topic that found it full and had to wait. */
	uint64_t backpressure_waits;
	/* Messages past their expiry, skipped by subscribers. */
	uint64_t expired;
	/*
	 * The greatest lag any subscriber ever had, exact, departed ones
	 * included: the highest lag one saw just before a read (at most
	 * capacity: further behind, it is lapped and counts lost), or the
	 * lag now if higher.  In positions, as tail and lag are.
	 */
	uint64_t high_water;
	/*
	 * A recorded topic's journal (0 for others), as for durable queues:
	 * bytes busd wrote to it; positions claimed that busd has not
	 * written yet (tail - journal_position: publishers wait when it
	 * reaches capacity); fdatasyncs and their latency; writes that
	 * failed; at busd's start: how long opening the journal took, the
	 * records it held and the torn records it cut off.
	 */
	uint64_t journal_bytes;
	uint64_t journal_lag;
	uint64_t journal_syncs;
	uint64_t journal_sync_p50_ns;
	uint64_t journal_sync_p99_ns;
	uint64_t journal_write_errors;
	uint64_t journal_recovery_ns;
	uint64_t journal_recovered;
	uint64_t journal_torn;
};

/* One subscriber as busctl stat shows it. */
struct bus_subscriber_stats {
	uint32_t slot;
	uint32_t client_id;
	int32_t pid;
	uint32_t reserved;
	uint64_t position; /* the oldest position it still needs */
	uint64_t lag;	   /* tail - position: messages it has yet to read */
	uint64_t received;
	uint64_t lapped;
	uint64_t lost;
	uint64_t expired; /* messages past their expiry it skipped */
	struct bus_latency latency;
	/* The highest lag it saw just before a read, or its lag now if
	 * higher. */
	uint64_t high_water;
};

/* As bus_queue_latency(), for every subscriber of the topic so far. */
BUS_EXPORT int bus_topic_latency(const bus_topic_t *topic,
				 struct bus_latency *latency);

/* Reads the topic's figures from shared memory; any role may ask. */
BUS_EXPORT int bus_topic_stats(const bus_topic_t *topic,
			       struct bus_topic_stats *stats);

/*
 * Fills up to count entries with the live subscribers, in slot order, and
 * returns how many are live (which may be more than count).
 */
BUS_EXPORT int bus_topic_subscribers(const bus_topic_t *topic,
				     struct bus_subscriber_stats *subscribers,
				     uint32_t count);

/* This subscription's own figures. */
BUS_EXPORT int bus_subscription_stats(const bus_subscription_t *subscription,
				      struct bus_subscriber_stats *stats);

/* ---- wildcards -------------------------------------------------------
 *
 * Subjects follow NATS: a topic name is dot-separated tokens ("prices.eu.
 * fx"); in a pattern `*` matches exactly one token and `>`, only as the
 * last token, one or more trailing tokens.  "prices.*" matches
 * "prices.eu" but not "prices" or "prices.eu.fx"; "prices.>" matches both
 * of the latter two but not "prices".  Tokens are never empty.
 */

/* 0 for a valid pattern (or plain name); -EINVAL for an empty token,
 * a '>' that is not the last token, or a wildcard inside a token
 * ("a*", "b>"). */
BUS_EXPORT int bus_pattern_check(const char *pattern);

/* 1 when pattern contains '*' or '>' (busctl sub picks by this). */
BUS_EXPORT int bus_pattern_is_wildcard(const char *pattern);

/* 1 when name matches pattern, 0 when not or when pattern is invalid. */
BUS_EXPORT int bus_subject_match(const char *pattern, const char *name);

typedef struct bus_wildcard bus_wildcard_t;

/*
 * Subscribes to every topic whose name matches pattern: those that exist
 * now (options->history applies to them, as in bus_subscribe) and those
 * created later.  busd raises a counter in the bus's announcement page
 * (/dev/shm/shmbus.BUS, mapped read-only) whenever a topic is created or
 * a name deleted; each receive reads it with one relaxed load and lists
 * the topics again (calls to busd) only when it changed.  A topic found
 * later is read from its oldest message still in its ring, so what its
 * publishers sent before the wildcard noticed it is delivered as long as
 * the ring still holds it.  Topics this user may not read, and those that
 * are full (max_subscribers), are skipped; deleted topics are dropped.
 * -EINVAL for a bad pattern, -EPROTO without an announcement page (an
 * older busd), or an error of bus_list()/bus_subscribe().
 */
BUS_EXPORT int
bus_subscribe_pattern(bus_t *bus, const char *pattern,
		      const struct bus_subscribe_options *options,
		      bus_wildcard_t **out);

/* Ends every subscription of the handle and frees it.  bus_disconnect()
 * closes the connection's wildcard handles too. */
BUS_EXPORT int bus_wildcard_close(bus_wildcard_t *wildcard);

/* How many topics the handle subscribes to now. */
BUS_EXPORT int bus_wildcard_topics(const bus_wildcard_t *wildcard);

/*
 * Receives the next message from any member topic; members take turns
 * (round-robin), and per topic the order is the topic's.  *topic (may be
 * NULL) points at the topic's name, valid until the next receive.  The
 * view, *lost and the errors are those of bus_subscription_receive(),
 * except that a deleted topic is dropped rather than answered with
 * -ENOTCONN.  Waiting sleeps on every member at once (see waitsets).
 */
BUS_EXPORT int bus_wildcard_receive(bus_wildcard_t *wildcard,
				    struct bus_message *message,
				    const char **topic, uint64_t *lost,
				    int64_t timeout_ns);

/* bus_subscription_receive_copy() for a wildcard handle. */
BUS_EXPORT int bus_wildcard_receive_copy(bus_wildcard_t *wildcard, void *buf,
					 size_t size, const char **topic,
					 uint64_t *lost, int64_t timeout_ns);

/* Releases the view of the last message received (as for a subscription). */
BUS_EXPORT int bus_wildcard_release(bus_wildcard_t *wildcard);

/* Any thread: blocked and later receives return -ECANCELED until
 * bus_wildcard_uncancel(). */
BUS_EXPORT void bus_wildcard_cancel(bus_wildcard_t *wildcard);
BUS_EXPORT void bus_wildcard_uncancel(bus_wildcard_t *wildcard);

/* ---- routes ------------------------------------------------------------
 *
 * A route sends what is published to an address (a name: an exchange that
 * exists only as a route source, or an existing queue or topic) to one or
 * more queues and topics, when the message's routing key matches the
 * route's pattern (NATS syntax, as for wildcards; an empty pattern
 * matches every message, with a key or without) and every header match
 * holds.  busd keeps the routes in a table in shared memory
 * ("/shmbus.BUS%routes", read-only for clients) with a generation number;
 * a publishing process reads it once and then only compares the
 * generation (one relaxed load) per message, so a route added or deleted
 * at run time applies to the next message of every running publisher.
 * busd is not on the path: the publisher writes into the targets itself.
 */
#define BUS_ROUTE_TARGETS_MAX 8u
#define BUS_ROUTE_MATCHES_MAX 4u
/* Targets of one message, all matching routes together. */
#define BUS_ADDRESS_TARGETS_MAX 16u
/* Routes and address entries of one bus. */
#define BUS_ROUTES_MAX 256u

enum bus_route_kind {
	/* A [route NAME]: from, key, to, header matches. */
	BUS_ROUTE_RULE = 1,
	/* An [address NAME] with unroutable = TARGET: name and from are
	 * the address, targets[0] the fallback for what no route takes. */
	BUS_ROUTE_UNROUTABLE = 2,
};

struct bus_route_match {
	char name[BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char value[BUS_NAME_MAX + 1]; /* the header's value must equal it */
};

struct bus_route {
	uint32_t kind;	       /* enum bus_route_kind */
	uint32_t target_count; /* 1 .. BUS_ROUTE_TARGETS_MAX */
	uint32_t match_count;  /* 0 .. BUS_ROUTE_MATCHES_MAX */
	uint32_t reserved;     /* 0 */
	char name[BUS_NAME_MAX + 1];
	char from[BUS_NAME_MAX + 1];
	char key[BUS_NAME_MAX + 1]; /* a pattern; "" matches every message */
	char targets[BUS_ROUTE_TARGETS_MAX][BUS_NAME_MAX + 1];
	struct bus_route_match matches[BUS_ROUTE_MATCHES_MAX];
};

/*
 * Adds a route or an address's unroutable target (admin rights, as for
 * creating a queue; -EACCES otherwise).  -EEXIST when a route of that name,
 * or an unroutable entry for that address, exists; -EINVAL for a bad name,
 * pattern or count (the detail says which); -ENOSPC past BUS_ROUTES_MAX.
 * Targets need not exist yet: a publisher finds out when it sends.
 */
BUS_EXPORT int bus_route_add(bus_t *bus, const struct bus_route *route);

/* Deletes the route named name, or with kind BUS_ROUTE_UNROUTABLE the
 * address name's unroutable entry.  Admin rights; -ENOENT if none. */
BUS_EXPORT int bus_route_delete(bus_t *bus, uint32_t kind, const char *name);

/* The index-th entry of the route table (read from shared memory, no
 * request to busd): 0, or -ENOENT past the last. */
BUS_EXPORT int bus_route_get(bus_t *bus, uint32_t index,
			     struct bus_route *route);

typedef struct bus_address bus_address_t;

/*
 * Opens an address for publishing through routes.  It need not have routes
 * yet.  Targets are opened as producers or publishers (w needed) the first
 * time a message goes to them, and kept open.  An address handle is used
 * by one thread; close it before bus_disconnect().  -EINVAL for a bad
 * name, -EPROTO when busd has no route table (an older busd).
 */
BUS_EXPORT int bus_address_open(bus_t *bus, const char *name,
				const struct bus_queue_options *options,
				bus_address_t **out);
BUS_EXPORT int bus_address_close(bus_address_t *address);

/* What became of one message, target by target. */
struct bus_route_report {
	uint32_t matched; /* targets the routes chose (or the fallback) */
	uint32_t taken;	  /* of them, those that took the message */
	struct {
		char name[BUS_NAME_MAX + 1];
		int32_t status; /* 0 taken, or a negative errno */
	} targets[BUS_ADDRESS_TARGETS_MAX];
};

/*
 * Loans a slot for a message with routing key key (NULL: none).  With one
 * target, and no route among the candidates that matches on headers, the
 * loan is in that target's ring (zero copy); otherwise the message is
 * written into a buffer of the handle, and the commit copies it into each
 * target.  The key is set on the message already; add headers, reply-to,
 * correlation or expiry with the bus_message_set_*() calls.  One loan per
 * handle at a time.  -ENOENT with detail "no route" when no route matches
 * and the address has no unroutable target; errors of bus_loan() for a
 * single target.
 */
BUS_EXPORT int bus_address_loan(bus_address_t *address, const char *key,
				struct bus_message *message,
				int64_t timeout_ns);

/*
 * Commits the loan to its target(s).  Each target that is full is handled
 * by its own overflow policy (block: waits, up to the loan's timeout;
 * reject: -ENOBUFS), and the others still get the message.  Returns the
 * number of targets that took it (>= 1); when none did, the error of the
 * first.  report (may be NULL) says what became of it per target.
 */
BUS_EXPORT int bus_address_commit(bus_address_t *address,
				  struct bus_message *message, uint32_t length,
				  struct bus_route_report *report);

/* A loan, a copy of length bytes and a commit. */
BUS_EXPORT int bus_address_send(bus_address_t *address, const char *key,
				const void *data, size_t length,
				int64_t timeout_ns,
				struct bus_route_report *report);

/* ---- request / reply ----------------------------------------------------
 *
 * A requester sends to a service (a queue or topic its responders consume
 * from or subscribe to) and waits for the reply on its own reply queue, or
 * on a reply topic that several requesters share (each skips replies that
 * are not its own).  A request carries a correlation id (in the message
 * header) and the reply-to name (in the header room: the service needs
 * header_room >= 4 + the name's length); the reply carries the same
 * correlation id.
 */
typedef struct bus_requester bus_requester_t;
typedef struct bus_responder bus_responder_t;

/*
 * Opens service as a producer (or publisher) and reply_to as a consumer
 * (or subscriber).  Errors of bus_queue_open() and bus_subscribe().
 */
BUS_EXPORT int bus_requester_open(bus_t *bus, const char *service,
				  const char *reply_to, bus_requester_t **out);
BUS_EXPORT int bus_requester_close(bus_requester_t *requester);

/*
 * Sends a request and waits for its reply, up to timeout_ns in all; copies
 * the reply into reply and returns its length.  -ENXIO at once when
 * nothing consumes from (or subscribes to) the service: no responder is
 * attached; also when the reply says so from the other side of a bridge
 * (busbridge's header Shmbus-Status: 503; 504 gives -ETIMEDOUT).
 * -ETIMEDOUT when no reply came in time (a late reply is
 * dropped by the next request); -EMSGSIZE when the request does not fit
 * the service, or the reply does not fit reply_size.
 */
BUS_EXPORT int bus_request(bus_requester_t *requester, const void *request,
			   size_t length, void *reply, size_t reply_size,
			   int64_t timeout_ns);

/* A responder keeps the reply queues and topics it has replied to open. */
BUS_EXPORT int bus_responder_open(bus_t *bus, bus_responder_t **out);
BUS_EXPORT int bus_responder_close(bus_responder_t *responder);

/*
 * Replies to a received request (before acking or releasing it): sends
 * length bytes to its reply-to name with its correlation id.  -EINVAL
 * when the request has no reply-to name; errors of bus_loan().
 */
BUS_EXPORT int bus_reply(bus_responder_t *responder,
			 const struct bus_message *request, const void *reply,
			 size_t length, int64_t timeout_ns);

/* ---- waitsets ---------------------------------------------------------
 *
 * One wait over many handles: consumer queue handles, subscriptions and
 * wildcard handles.  bus_waitset_wait() sleeps in one futex_waitv(2)
 * call (Linux 5.16+) on the data futex word of every member (and, for a
 * wildcard, on the announcement page's counter), after registering as a
 * sleeper on each, as a single blocked receive does: a publisher that
 * commits after that sees the sleeper and wakes us, one that committed
 * before is seen by our re-check, so no wake-up is lost.  A publisher
 * pays nothing more than for one sleeping receiver.  Where futex_waitv is
 * missing (ENOSYS), or a waitset has more than 128 futex words, the wait
 * polls the members every 50 us instead.
 *
 * A member is ready when a receive on it would not block: a message, a
 * loss to report, or its queue or topic closed.  The waitset does not own
 * its members; remove (or stop using the waitset) before closing one.  A
 * waitset is used by one thread; bus_waitset_cancel() may come from any.
 *
 * bus_waitset_fd() gives a file descriptor for epoll or io_uring loops.
 */
typedef struct bus_waitset bus_waitset_t;

BUS_EXPORT int bus_waitset_create(bus_waitset_t **out);
BUS_EXPORT void bus_waitset_destroy(bus_waitset_t *waitset);

/* Adds a member; tag is what bus_waitset_wait() reports for it.  -EINVAL
 * for a queue handle that is not a consumer, -EEXIST when the handle is
 * in the set already, -ENOMEM. */
BUS_EXPORT int bus_waitset_add_queue(bus_waitset_t *waitset,
				     bus_queue_t *queue, void *tag);
BUS_EXPORT int bus_waitset_add_subscription(bus_waitset_t *waitset,
					    bus_subscription_t *subscription,
					    void *tag);
BUS_EXPORT int bus_waitset_add_wildcard(bus_waitset_t *waitset,
					bus_wildcard_t *wildcard, void *tag);

/* Removes the member added for handle; -ENOENT when it is not one. */
BUS_EXPORT int bus_waitset_remove(bus_waitset_t *waitset, const void *handle);

/*
 * Waits until at least one member is ready, then writes the tags of up to
 * max ready members into ready and returns how many it wrote (>= 1).
 * -EAGAIN when none is ready and timeout_ns is BUS_NOWAIT, -ETIMEDOUT,
 * -ECANCELED, -EINTR (a signal handler ran), -EINVAL for an empty set or
 * max 0.  A wildcard member lists its topics again when they changed.
 */
BUS_EXPORT int bus_waitset_wait(bus_waitset_t *waitset, int64_t timeout_ns,
				void **ready, uint32_t max);

BUS_EXPORT void bus_waitset_cancel(bus_waitset_t *waitset);
BUS_EXPORT void bus_waitset_uncancel(bus_waitset_t *waitset);

/*
 * A file descriptor that becomes readable (EPOLLIN) when a member of the
 * armed waitset is ready.  It is an io_uring of the waitset's own, whose
 * one request is an IORING_OP_FUTEX_WAITV (Linux 6.7+) over the same
 * words as bus_waitset_wait(): publishers wake it with the futex wake
 * they already issue for a sleeping receiver, and busd is not involved.
 * Returns the fd (owned by the waitset: do not close or read it), or
 * -ENOSYS when the kernel lacks io_uring or its FUTEX_WAITV.
 *
 * The cost: only while a waitset is armed is it counted as a sleeper on
 * each member, so a commit to a member pays one futex wake system call;
 * handles that nobody waits on through an fd pay nothing.
 *
 * Use: bus_waitset_arm(), wait until the fd is readable, then
 * bus_waitset_wait(ws, BUS_NOWAIT, ...), which disarms and says which
 * members are ready (-EAGAIN now and then: a wake-up with nothing left),
 * receive, and arm again.
 */
BUS_EXPORT int bus_waitset_fd(bus_waitset_t *waitset);

/*
 * Registers the waitset on its members so that the fd becomes readable
 * when one is ready, at once if one is already.  0; -EINVAL before
 * bus_waitset_fd() or for an empty set; -E2BIG past 128 futex words.
 * bus_waitset_wait(), add, remove and destroy disarm it.  Do not close a
 * member while its waitset is armed.
 */
BUS_EXPORT int bus_waitset_arm(bus_waitset_t *waitset);

#ifdef __cplusplus
}
#endif

#endif /* BUS_BUS_H */
