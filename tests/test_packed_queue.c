/* SPDX-License-Identifier: MIT */
/*
 * Packed spsc queues (layout.h, "Packed messages") through a real busd:
 * payloads, keys and headers live in the segment's arena, each message
 * taking what it needs.  Every case starts a private busd, creates its
 * queue with bus_queue_create() and forks producer and consumer processes
 * that connect on their own; children report through their exit status,
 * stderr and a shared board.
 *
 *   sizes_and_keys       every length 0..max_message, with no key, a key,
 *                        key + reply-to + headers, and headers up to the
 *                        extension limit (512: header_room 0), sent by
 *                        copy, by batch copy and by loan; all checked.
 *   held_out_of_order    a consumer holding many messages acks them in
 *                        random order while the producer laps the arena
 *                        many times; sequence + checksum on every payload.
 *   nack_redelivery      every fifth message nacked once, then delivered
 *                        again intact, with delivery_count 2.
 *   drop_oldest          a small arena, nobody consuming: the newest
 *                        messages stay, intact, the rest counted dropped.
 *   drop_only_when_full  drop-oldest with a consumer keeping up, in an arena
 *                        far larger than its 8 slots need: the producer's
 *                        record list fills and is compacted again and
 *                        again, and nothing is dropped, since the queue is
 *                        never full (compaction must not drop).
 *   drop_then_full       a loan that drops queued messages for room and
 *                        then meets held ones counts the drops it made.
 *   own_loans_fill_the_arena  a loan that only the producer's own open
 *                        loan stands in the way of: -EDEADLK at once.
 *   sized_loan           bus_loan_sized() reserves what it asks for: it
 *                        fits beside an open max_message loan, holds its
 *                        capacity and no more, arrives intact.
 *   reject               an arena that holds four big messages rejects the
 *                        fifth (-ENOBUFS, counted); a ring of small ones
 *                        fills by its slots; room comes back with acks.
 *   producer_killed      kill -9 of the producer mid-stream, five times;
 *                        each replacement rebuilds the arena from the
 *                        cells and goes on: nothing committed is lost,
 *                        nothing is corrupt.
 *   consumer_killed      kill -9 of a consumer holding messages: the next
 *                        one gets them again, intact, redelivered.
 *   memory_target        1,024 slots of max_message 64 KiB: the segment is
 *                        at most 1/16 of a layout-5 one, and holds 1,024
 *                        messages of 100 bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "queue.h"
#include "test_common.h"
#include "test_message.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)
#define BIG 4096u

static const char config[] = "[bus]\n";

/* What a case's processes share. */
struct board {
	_Atomic int failed;
	_Atomic uint64_t sending;   /* producer: sequences up to it handed
				       to libbus */
	_Atomic uint64_t committed; /* and up to it committed */
	_Atomic uint64_t received;  /* consumer: deliveries checked */
	_Atomic uint64_t held;	    /* consumer: holding, ready to die */
	char error[256];
	_Atomic uint8_t seen[]; /* per sequence: acked deliveries */
};

struct fixture {
	struct test_bus tb;
	struct board *board;
	size_t board_size;
	pid_t children[8];
	int child_count;
};

static uint64_t scaled(uint64_t n)
{
	const char *text = getenv("BUS_TEST_SCALE");
	double scale = text && *text ? strtod(text, NULL) : 1;

	if (scale > 0)
		n = (uint64_t)((double)n * scale);
	return n < 64 ? 64 : n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (test_bus_start(&f->tb, config)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int ret;

	for (int i = 0; i < f->child_count; i++)
		if (f->children[i] > 0) {
			kill(f->children[i], SIGKILL);
			waitpid(f->children[i], NULL, 0);
		}
	ret = test_bus_stop(&f->tb);
	if (f->board)
		munmap(f->board, f->board_size);
	free(f);
	return ret;
}

static struct board *board_make(struct fixture *f, uint64_t sequences)
{
	f->board_size = sizeof(struct board) + sequences;
	f->board = mmap(NULL, f->board_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(f->board != MAP_FAILED);
	return f->board;
}

static void create(struct fixture *f, const char *name, uint32_t slots,
		   uint32_t max_message, enum bus_overflow overflow,
		   uint32_t ring_bytes)
{
	struct bus_queue_settings s;

	bus_queue_settings_default(&s);
	s.type = BUS_QUEUE_SPSC;
	s.slots = slots;
	s.max_message = max_message;
	s.overflow = overflow;
	s.max_unacked = slots < 64 ? slots : 64;
	s.max_producers = 1;
	s.max_consumers = 1;
	s.ring_bytes = ring_bytes;
	if (bus_queue_create(f->tb.bus, name, &s))
		fail_msg("bus_queue_create(%s): %s", name,
			 bus_error_detail(f->tb.bus));
}

/* ---- children -------------------------------------------------------- */

static struct board *child_board;

static void child_fail(const char *format, ...)
{
	char line[sizeof(child_board->error)];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	fprintf(stderr, "child %d: %s\n", (int)getpid(), line);
	if (!atomic_exchange(&child_board->failed, 1))
		memcpy(child_board->error, line, sizeof(line));
	_exit(1);
}

static bus_queue_t *child_open(struct fixture *f, const char *name,
			       enum bus_role role, bus_t **bus)
{
	bus_queue_t *q;
	int ret = bus_connect(bus_name(f->tb.bus), bus);

	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	ret = bus_queue_open(*bus, name, role, NULL, &q);
	if (ret)
		child_fail("open %s: %s (%s)", name, bus_strerror(ret),
			   bus_error_detail(*bus));
	return q;
}

static void child_leave(bus_t *bus, bus_queue_t *q)
{
	bus_queue_close(q);
	bus_disconnect(bus);
	_exit(0);
}

static pid_t spawn(struct fixture *f, void (*body)(struct fixture *, void *),
		   void *arg)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		child_board = f->board;
		body(f, arg);
		_exit(0);
	}
	f->children[f->child_count++] = pid;
	return pid;
}

/* Waits for a child: its exit status, or -1 when it was killed. */
static int reap(struct fixture *f, pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < f->child_count; i++)
		if (f->children[i] == pid)
			f->children[i] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_success(struct fixture *f, pid_t pid)
{
	if (reap(f, pid) != 0)
		fail_msg("child failed: %s", f->board->error);
}

/* ---- payloads of any length -------------------------------------------- */

static uint8_t byte_of(uint64_t sequence, uint32_t i)
{
	return (uint8_t)(sequence * 131 + i * 7 + (i >> 8));
}

static void fill(uint8_t *payload, uint64_t sequence, uint32_t length)
{
	for (uint32_t i = 0; i < length; i++)
		payload[i] = byte_of(sequence, i);
}

static bool intact(const uint8_t *payload, uint64_t sequence, uint32_t length)
{
	for (uint32_t i = 0; i < length; i++)
		if (payload[i] != byte_of(sequence, i))
			return false;
	return true;
}

/* ---- sizes_and_keys ------------------------------------------------------ */

/* Style of sequence s: 0 copy, 1 loan + key, 2 loan + key, reply-to and
 * headers, 3 loan + headers up to the limit, 4 batch copy. */
#define STYLES 5

static uint32_t sizes_length(uint64_t s)
{
	return (uint32_t)(s % (BIG + 1));
}

/* Headers of style 3: as many 255-byte values as fit the 512 limit. */
static void big_value(char *value, uint64_t s, int i)
{
	memset(value, 'a' + (int)((s + (uint64_t)i) % 26), 200);
	value[200] = '\0';
}

static void sizes_producer(struct fixture *f, void *arg)
{
	uint64_t count = *(uint64_t *)arg;
	bus_t *bus;
	bus_queue_t *q = child_open(f, "sizes", BUS_PRODUCER, &bus);
	uint8_t payload[BIG];
	int ret;

	for (uint64_t s = 0; s < count; s++) {
		uint32_t length = sizes_length(s);
		struct bus_message m;
		char key[32], value[256];
		int headers = 0;

		switch (s % STYLES) {
		case 0:
			fill(payload, s, length);
			ret = bus_send(q, payload, length, 10 * SECOND);
			break;
		case 4: {
			struct bus_buffer buffer = { payload, length };

			fill(payload, s, length);
			ret = bus_send_batch(q, &buffer, 1, 10 * SECOND);
			ret = ret == 1 ? 0 : ret < 0 ? ret : -EIO;
			break;
		}
		default:
			ret = bus_loan(q, &m, 10 * SECOND);
			if (ret)
				break;
			if (m.capacity != BIG)
				child_fail("loan capacity %u", m.capacity);
			snprintf(key, sizeof(key), "k.%" PRIu64, s);
			if (s % STYLES != 3 && bus_message_set_key(&m, key))
				child_fail("set_key %" PRIu64, s);
			if (s % STYLES == 2) {
				snprintf(value, sizeof(value), "%" PRIu64, s);
				if (bus_message_set_reply_to(&m, "replies") ||
				    bus_message_add_header(&m, "seq", value) ||
				    bus_message_add_header(&m, "len", "x"))
					child_fail("headers %" PRIu64, s);
			}
			if (s % STYLES == 3) {
				/* 2 + 3 + 200 each: two fit 512, a third
				 * does not. */
				for (;; headers++) {
					big_value(value, s, headers);
					ret = bus_message_add_header(&m, "big",
								     value);
					if (ret)
						break;
				}
				if (ret != -EMSGSIZE || headers != 2)
					child_fail("limit: %d after %d", ret,
						   headers);
			}
			bus_message_set_correlation(&m, s);
			fill(m.payload, s, length);
			ret = bus_commit(q, &m, length);
			break;
		}
		if (ret)
			child_fail("send %" PRIu64 ": %s", s,
				   bus_strerror(ret));
	}
	child_leave(bus, q);
}

static void sizes_check(const struct bus_message *m, uint64_t s)
{
	char buf[300], want[300];
	int ret;

	if (m->length != sizes_length(s) || !intact(m->payload, s, m->length))
		child_fail("message %" PRIu64 ": %u bytes, corrupt", s,
			   m->length);
	ret = bus_message_key(m, buf, sizeof(buf));
	switch (s % STYLES) {
	case 0:
	case 4:
		/* A packed message without extension: no key. */
		if (ret != 0 || m->header->extension_length != 0 ||
		    m->room != 0)
			child_fail("%" PRIu64 ": key %d without one", s, ret);
		return;
	case 3:
		snprintf(want, sizeof(want), "%s", "");
		break;
	default:
		snprintf(want, sizeof(want), "k.%" PRIu64, s);
		break;
	}
	if (ret < 0 || strcmp(buf, want))
		child_fail("%" PRIu64 ": key '%s' (%d), not '%s'", s, buf, ret,
			   want);
	if (m->header->correlation_id != s)
		child_fail("%" PRIu64 ": correlation", s);
	if (s % STYLES == 2) {
		snprintf(want, sizeof(want), "%" PRIu64, s);
		if (bus_message_header_get(m, "seq", buf, sizeof(buf)) < 0 ||
		    strcmp(buf, want) ||
		    bus_message_reply_to(m, buf, sizeof(buf)) != 7 ||
		    strcmp(buf, "replies"))
			child_fail("%" PRIu64 ": headers", s);
	}
	if (s % STYLES == 3) {
		char name[64];

		for (int i = 0; i < 2; i++) {
			big_value(want, s, i);
			if (bus_message_header_at(m, (uint32_t)i, name,
						  sizeof(name), buf,
						  sizeof(buf)) != 200 ||
			    strcmp(name, "big") || strcmp(buf, want))
				child_fail("%" PRIu64 ": header %d", s, i);
		}
		if (bus_message_header_at(m, 2, name, sizeof(name), buf,
					  sizeof(buf)) != -ENOENT)
			child_fail("%" PRIu64 ": a third header", s);
	}
}

static void sizes_consumer(struct fixture *f, void *arg)
{
	uint64_t count = *(uint64_t *)arg;
	bus_t *bus;
	bus_queue_t *q = child_open(f, "sizes", BUS_CONSUMER, &bus);

	for (uint64_t s = 0; s < count; s++) {
		struct bus_message m;
		int ret = bus_receive(q, &m, 20 * SECOND);

		if (ret)
			child_fail("receive %" PRIu64 ": %s", s,
				   bus_strerror(ret));
		sizes_check(&m, s);
		if (bus_ack(q, &m))
			child_fail("ack %" PRIu64, s);
	}
	child_leave(bus, q);
}

static void test_sizes_and_keys(void **state)
{
	struct fixture *f = *state;
	/* Every length 0..4096 at least once in each style, twice over. */
	uint64_t count = 2 * (BIG + 1) * STYLES;
	pid_t consumer, producer;

	board_make(f, 0);
	create(f, "sizes", 64, BIG, BUS_OVERFLOW_BLOCK, 0);
	consumer = spawn(f, sizes_consumer, &count);
	producer = spawn(f, sizes_producer, &count);
	expect_success(f, producer);
	expect_success(f, consumer);
}

/* ---- checksummed streams ----------------------------------------------- */

struct stream {
	const char *name;
	uint32_t max_message;
	uint64_t count;
	uint64_t from; /* producer: first sequence */
	int hold;      /* consumer: messages held, acked in random order */
	int slow;      /* consumer: pauses now and then */
	int nack_every;
};

static uint32_t stream_length(const struct stream *j, uint64_t s)
{
	return test_message_length(0, s, j->max_message);
}

/* Sends j->from .. j->count, recording what it handed over and what was
 * committed (a kill between the two leaves that one in doubt). */
static void stream_producer(struct fixture *f, void *arg)
{
	struct stream *j = arg;
	uint8_t payload[BIG];
	bus_t *bus;
	bus_queue_t *q = child_open(f, j->name, BUS_PRODUCER, &bus);

	for (uint64_t s = j->from; s < j->count; s++) {
		uint32_t length = stream_length(j, s);
		struct bus_message m;
		int ret;

		atomic_store(&f->board->sending, s + 1);
		if (s % 2) {
			test_message_fill(payload, 0, s, length);
			ret = bus_send(q, payload, length, 20 * SECOND);
		} else {
			ret = bus_loan(q, &m, 20 * SECOND);
			if (ret == 0) {
				test_message_fill(m.payload, 0, s, length);
				ret = bus_commit(q, &m, length);
			}
		}
		if (ret)
			child_fail("send %" PRIu64 ": %s", s,
				   bus_strerror(ret));
		atomic_store(&f->board->committed, s + 1);
	}
	child_leave(bus, q);
}

static uint64_t next_random(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/* Checks a delivery: intact, of a sequence that was handed to libbus. */
static uint64_t stream_check(const struct stream *j,
			     const struct bus_message *m)
{
	uint32_t producer;
	uint64_t s;

	if (test_message_check(m->payload, m->length, &producer, &s) ||
	    producer != 0 || s >= j->count)
		child_fail("corrupt message of %u bytes", m->length);
	if (m->length != stream_length(j, s))
		child_fail("%" PRIu64 ": length %u", s, m->length);
	return s;
}

/* A held message is still intact when we let it go: nothing wrote over
 * its record meanwhile, however far the producer went. */
static void recheck(const struct stream *j, const struct bus_message *m,
		    uint64_t s)
{
	if (stream_check(j, m) != s)
		child_fail("held %" PRIu64 " changed under us", s);
}

/*
 * Receives until every sequence up to j->count (bar those the board says
 * were in doubt, seen[] == 2 set by the driver) was acked once; holds up
 * to j->hold messages and acks a random one of them; nacks one in
 * nack_every first deliveries.
 */
static void stream_consumer(struct fixture *f, void *arg)
{
	struct stream *j = arg;
	struct board *b = f->board;
	struct bus_message *held = calloc((size_t)j->hold + 1, sizeof(*held));
	uint64_t *held_seq = calloc((size_t)j->hold + 1, sizeof(*held_seq));
	uint64_t rng = 12345, last_first = UINT64_MAX, acked = 0;
	int count = 0;
	bus_t *bus;
	bus_queue_t *q = child_open(f, j->name, BUS_CONSUMER, &bus);
	int64_t idle_since = 0;

	while (acked < j->count) {
		struct bus_message m;
		uint64_t s;
		/* Short: a consumer that holds messages while it waits for
		 * more can leave the producer no room (a bounded queue);
		 * when nothing comes, it lets them go. */
		int ret = bus_receive(q, &m, 2 * MS);

		if (ret == -EAGAIN || ret == -ETIMEDOUT) {
			struct timespec now;
			int64_t t;

			clock_gettime(CLOCK_MONOTONIC, &now);
			t = now.tv_sec * SECOND + now.tv_nsec;
			if (!idle_since)
				idle_since = t;
			/* The driver marks sequences lost in doubt; all the
			 * rest acked: done. */
			acked = 0;
			for (uint64_t i = 0; i < j->count; i++)
				acked += atomic_load(&b->seen[i]) != 0;
			if (acked >= j->count)
				break;
			if (t - idle_since > 30 * SECOND)
				child_fail("stalled at %" PRIu64 " acked",
					   acked);
			/* Holding messages while idle: let them go. */
			while (count) {
				count--;
				recheck(j, &held[count], held_seq[count]);
				if (bus_ack(q, &held[count]))
					child_fail("ack");
				if (atomic_fetch_add(&b->seen[held_seq[count]],
						     1) &
				    1)
					child_fail("%" PRIu64 " acked twice",
						   held_seq[count]);
			}
			continue;
		}
		idle_since = 0;
		if (ret)
			child_fail("receive: %s", bus_strerror(ret));
		s = stream_check(j, &m);
		atomic_fetch_add(&b->received, 1);
		if (m.header->delivery_count == 1) {
			/* First deliveries keep the producer's order. */
			if (last_first != UINT64_MAX && s <= last_first)
				child_fail("%" PRIu64 " after %" PRIu64, s,
					   last_first);
			last_first = s;
			if (j->nack_every &&
			    s % (uint64_t)j->nack_every == 0) {
				if (bus_nack(q, &m))
					child_fail("nack %" PRIu64, s);
				continue;
			}
		} else if (j->nack_every && (m.header->delivery_count != 2 ||
					     s % (uint64_t)j->nack_every)) {
			child_fail("%" PRIu64 " delivered %u times", s,
				   m.header->delivery_count);
		}
		held[count] = m;
		held_seq[count++] = s;
		/* Now and then a pause: a backlog builds up, and the
		 * producer waits for room (and dies) with a full arena. */
		if (j->slow && s % 256 == 0)
			usleep(2000);
		if (count > j->hold) {
			int i = (int)(next_random(&rng) % (uint64_t)count);

			recheck(j, &held[i], held_seq[i]);
			if (bus_ack(q, &held[i]))
				child_fail("ack %" PRIu64, held_seq[i]);
			/* Bit 0: acked; the driver adds 2 for one in
			 * doubt. */
			if (atomic_fetch_add(&b->seen[held_seq[i]], 1) & 1)
				child_fail("%" PRIu64 " acked twice",
					   held_seq[i]);
			held[i] = held[--count];
			held_seq[i] = held_seq[count];
		}
		acked = 0;
	}
	child_leave(bus, q);
}

static void stream_run(struct fixture *f, struct stream *j)
{
	pid_t consumer, producer;

	board_make(f, j->count);
	consumer = spawn(f, stream_consumer, j);
	producer = spawn(f, stream_producer, j);
	expect_success(f, producer);
	expect_success(f, consumer);
	for (uint64_t s = 0; s < j->count; s++)
		if (f->board->seen[s] != 1)
			fail_msg("%" PRIu64 " acked %u times", s,
				 f->board->seen[s]);
}

static void test_held_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct stream j = {
		.name = "held",
		.max_message = 1024,
		.count = scaled(40000),
		.hold = 48,
		.slow = 1,
	};
	struct bus_queue_stats stats;
	bus_queue_t *q;

	create(f, "held", 256, 1024, BUS_OVERFLOW_BLOCK, 0);
	stream_run(f, &j);
	/* Laps: the stream is many times the arena. */
	assert_int_equal(
		bus_queue_open(f->tb.bus, "held", BUS_OBSERVER, NULL, &q), 0);
	assert_int_equal(bus_queue_stats(q, &stats), 0);
	assert_int_equal(stats.acked, j.count);
	assert_true(j.count * (TEST_MESSAGE_MIN + 512) >
		    10 * (uint64_t)q->geometry.area.arena_bytes);
	bus_queue_close(q);
}

static void test_nack_redelivery(void **state)
{
	struct fixture *f = *state;
	struct stream j = {
		.name = "nack",
		.max_message = 700,
		.count = scaled(20000),
		.hold = 8,
		.nack_every = 5,
	};

	/* 8 KiB: the arena, not the ring, bounds the stream, and the
	 * producer laps it around the nacked and held records. */
	create(f, "nack", 64, 700, BUS_OVERFLOW_BLOCK, 8192);
	stream_run(f, &j);
}

/* ---- drop_oldest and reject ------------------------------------------------ */

static void test_drop_oldest(void **state)
{
	struct fixture *f = *state;
	uint8_t payload[2048];
	const uint64_t sent = 1000;
	struct bus_queue_stats stats;
	uint64_t got = 0, last = 0;
	bus_queue_t *p, *c;

	board_make(f, 0);
	/* 16 KiB: about eight of these messages, in 64 slots. */
	create(f, "drop", 64, 2048, BUS_OVERFLOW_DROP_OLDEST, 16384);
	assert_int_equal(
		bus_queue_open(f->tb.bus, "drop", BUS_PRODUCER, NULL, &p), 0);
	for (uint64_t s = 0; s < sent; s++) {
		uint32_t length = 1500 + (uint32_t)(s * 37 % 548);

		test_message_fill(payload, 0, s, length);
		assert_int_equal(bus_send(p, payload, length, BUS_NOWAIT), 0);
	}
	assert_int_equal(
		bus_queue_open(f->tb.bus, "drop", BUS_CONSUMER, NULL, &c), 0);
	for (;;) {
		struct bus_message m;
		uint32_t producer;
		uint64_t s = 0;
		int ret = bus_receive(c, &m, BUS_NOWAIT);

		if (ret == -EAGAIN)
			break;
		assert_int_equal(ret, 0);
		assert_int_equal(test_message_check(m.payload, m.length,
						    &producer, &s),
				 0);
		assert_true(got == 0 || s > last);
		last = s;
		got++;
		assert_int_equal(bus_ack(c, &m), 0);
	}
	assert_int_equal(last, sent - 1); /* the newest stayed */
	assert_true(got >= 5 && got <= 16);
	assert_int_equal(bus_queue_stats(p, &stats), 0);
	assert_int_equal(stats.dropped + got, sent);
	assert_int_equal(stats.rejected, 0);
	bus_queue_close(c);
	bus_queue_close(p);
}

static void test_drop_only_when_full(void **state)
{
	struct fixture *f = *state;
	uint8_t payload[64];
	struct bus_queue_stats stats;
	uint64_t next = 0;
	bus_queue_t *p, *c;

	board_make(f, 0);
	/* 64 KiB of 64-byte records: a thousand a lap, while the FIFO of
	 * 8 slots holds 16 extents, so it fills long before the head comes
	 * round and is compacted with unread messages in it. */
	create(f, "dropless", 8, 64, BUS_OVERFLOW_DROP_OLDEST, 65536);
	assert_int_equal(bus_queue_open(f->tb.bus, "dropless", BUS_PRODUCER,
					NULL, &p),
			 0);
	assert_int_equal(bus_queue_open(f->tb.bus, "dropless", BUS_CONSUMER,
					NULL, &c),
			 0);
	for (uint64_t s = 0; s < 4000; s++) {
		test_message_fill(payload, 0, s, sizeof(payload));
		assert_int_equal(
			bus_send(p, payload, sizeof(payload), BUS_NOWAIT), 0);
		/* At most four unread of eight slots: never full. */
		while (s + 1 - next > 3) {
			struct bus_message m;
			uint32_t producer;
			uint64_t got = 0;

			assert_int_equal(bus_receive(c, &m, BUS_NOWAIT), 0);
			assert_int_equal(test_message_check(m.payload,
							    m.length,
							    &producer, &got),
					 0);
			assert_int_equal(got, next);
			next++;
			assert_int_equal(bus_ack(c, &m), 0);
		}
	}
	assert_int_equal(bus_queue_stats(p, &stats), 0);
	assert_int_equal(stats.dropped, 0);
	bus_queue_close(c);
	bus_queue_close(p);
}

static void test_drop_then_full(void **state)
{
	struct fixture *f = *state;
	uint8_t payload[128];
	struct bus_queue_stats stats;
	struct bus_message held[9], loan;
	bus_queue_t *p, *c;

	board_make(f, 0);
	/* 16 lines; a loan reserves 128 + 512 bytes: 10 lines. */
	create(f, "dropfull", 64, 128, BUS_OVERFLOW_DROP_OLDEST, 1024);
	assert_int_equal(bus_queue_open(f->tb.bus, "dropfull", BUS_PRODUCER,
					NULL, &p),
			 0);
	assert_int_equal(bus_queue_open(f->tb.bus, "dropfull", BUS_CONSUMER,
					NULL, &c),
			 0);
	for (uint64_t s = 0; s < 16; s++) { /* one line each */
		memset(payload, (int)s, 64);
		assert_int_equal(bus_send(p, payload, 64, BUS_NOWAIT), 0);
	}
	for (int i = 0; i < 9; i++)
		assert_int_equal(bus_receive(c, &held[i], BUS_NOWAIT), 0);
	for (int i = 1; i < 8; i++) /* hold 0 and 8 */
		assert_int_equal(bus_ack(c, &held[i]), 0);
	/* The loan drops the 7 queued messages behind 8 for room, then
	 * meets held ones: no room, but the drops happened and count. */
	assert_int_equal(bus_loan(p, &loan, BUS_NOWAIT), -ENOBUFS);
	assert_int_equal(bus_queue_stats(p, &stats), 0);
	assert_int_equal(stats.dropped, 7);
	assert_int_equal(bus_receive(c, &loan, BUS_NOWAIT), -EAGAIN);
	assert_int_equal(bus_ack(c, &held[0]), 0);
	assert_int_equal(bus_ack(c, &held[8]), 0);
	bus_queue_close(c);
	bus_queue_close(p);
}

static void test_own_loans_fill_the_arena(void **state)
{
	struct fixture *f = *state;
	struct bus_message loans[16];
	bus_queue_t *p;
	int n, ret = 0;

	board_make(f, 0);
	/* 16 lines; a loan reserves 128 + 512 bytes: 10 lines.  The second
	 * loan can only come once the first is committed: no wait helps. */
	create(f, "ownloans", 64, 128, BUS_OVERFLOW_BLOCK, 1024);
	assert_int_equal(bus_queue_open(f->tb.bus, "ownloans", BUS_PRODUCER,
					NULL, &p),
			 0);
	for (n = 0; n < 16; n++) {
		ret = bus_loan(p, &loans[n], BUS_FOREVER);
		if (ret)
			break;
	}
	assert_int_equal(ret, -EDEADLK);
	assert_int_equal(n, 1);
	assert_int_equal(bus_commit(p, &loans[0], 10), 0);
	assert_int_equal(bus_loan(p, &loans[0], BUS_FOREVER), 0);
	assert_int_equal(bus_commit(p, &loans[0], 10), 0);
	bus_queue_close(p);
}

/* A sized loan reserves what it asks for: it fits beside an open loan of
 * max_message where bus_loan() cannot, holds its capacity and no more,
 * and its message arrives intact; too large a size is refused at once. */
static void test_sized_loan(void **state)
{
	struct fixture *f = *state;
	struct bus_message big, small, other, got;
	bus_queue_t *p, *c;

	board_make(f, 0);
	/* One loan of 4096 + 512, then 1,024 bytes: a small loan's room. */
	create(f, "sized", 64, BIG, BUS_OVERFLOW_BLOCK, BIG + 512 + 1024);
	assert_int_equal(
		bus_queue_open(f->tb.bus, "sized", BUS_PRODUCER, NULL, &p), 0);
	assert_int_equal(
		bus_queue_open(f->tb.bus, "sized", BUS_CONSUMER, NULL, &c), 0);
	assert_int_equal(bus_loan_sized(p, &small, BIG + 1, BUS_NOWAIT),
			 -EMSGSIZE);
	assert_int_equal(bus_loan(p, &big, BUS_NOWAIT), 0);
	assert_int_equal(bus_loan(p, &other, BUS_FOREVER), -EDEADLK);
	assert_int_equal(bus_loan_sized(p, &small, 100, BUS_NOWAIT), 0);
	assert_int_equal(small.capacity, 100);
	memset(small.payload, 's', 100);
	assert_int_equal(bus_message_set_key(&small, "k"), 0);
	assert_int_equal(bus_commit(p, &small, 101), -EMSGSIZE);
	memset(big.payload, 'b', BIG);
	assert_int_equal(bus_commit(p, &big, BIG), 0);
	assert_int_equal(bus_commit(p, &small, 100), 0);
	assert_int_equal(bus_receive(c, &got, BUS_NOWAIT), 0);
	assert_int_equal(got.length, BIG);
	assert_int_equal(((uint8_t *)got.payload)[BIG - 1], 'b');
	assert_int_equal(bus_ack(c, &got), 0);
	assert_int_equal(bus_receive(c, &got, BUS_NOWAIT), 0);
	assert_int_equal(got.length, 100);
	assert_int_equal(((uint8_t *)got.payload)[0], 's');
	assert_int_equal(((uint8_t *)got.payload)[99], 's');
	{
		char key[8];

		assert_int_equal(bus_message_key(&got, key, sizeof(key)), 1);
		assert_string_equal(key, "k");
	}
	assert_int_equal(bus_ack(c, &got), 0);
	bus_queue_close(c);
	bus_queue_close(p);
}

static void test_reject(void **state)
{
	struct fixture *f = *state;
	uint8_t payload[2048];
	struct bus_queue_stats stats;
	struct bus_message m;
	bus_queue_t *p, *c;
	int sent = 0;

	board_make(f, 0);
	/* 8 KiB: four records of 2 KiB; a loan reserves 2048 + 512. */
	create(f, "reject", 64, 2048, BUS_OVERFLOW_REJECT, 8192);
	assert_int_equal(bus_queue_open(f->tb.bus, "reject", BUS_PRODUCER,
					NULL, &p),
			 0);
	assert_int_equal(bus_queue_open(f->tb.bus, "reject", BUS_CONSUMER,
					NULL, &c),
			 0);
	memset(payload, 7, sizeof(payload));
	while (bus_send(p, payload, 2048, BUS_NOWAIT) == 0)
		sent++;
	assert_int_equal(sent, 4); /* the arena, not the 64 slots */
	assert_int_equal(bus_send(p, payload, 2048, BUS_NOWAIT), -ENOBUFS);
	assert_int_equal(bus_loan(p, &m, BUS_NOWAIT), -ENOBUFS);
	assert_int_equal(bus_queue_stats(p, &stats), 0);
	assert_int_equal(stats.rejected, 3);
	/* One ack: room for one more. */
	assert_int_equal(bus_receive(c, &m, BUS_NOWAIT), 0);
	assert_int_equal(bus_ack(c, &m), 0);
	assert_int_equal(bus_send(p, payload, 2048, BUS_NOWAIT), 0);
	assert_int_equal(bus_send(p, payload, 2048, BUS_NOWAIT), -ENOBUFS);
	while (bus_receive(c, &m, BUS_NOWAIT) == 0)
		assert_int_equal(bus_ack(c, &m), 0);
	/* Small messages: 64 of them take 4 KiB; the ring is full first. */
	for (sent = 0; bus_send(p, payload, 10, BUS_NOWAIT) == 0;)
		sent++;
	assert_int_equal(sent, 64);
	bus_queue_close(c);
	bus_queue_close(p);
}

/* ---- kills ------------------------------------------------------------------ */

static void test_producer_killed(void **state)
{
	struct fixture *f = *state;
	struct stream j = {
		.name = "pkill",
		.max_message = 1024,
		.count = scaled(60000),
		.hold = 16,
		.slow = 1,
	};
	struct board *b;
	pid_t consumer, producer;

	/* 16 KiB: the arena is full when the producer dies (not the ring),
	 * so a replacement that lost track of its records would write over
	 * unread ones. */
	create(f, "pkill", 128, 1024, BUS_OVERFLOW_BLOCK, 16384);
	b = board_make(f, j.count);
	consumer = spawn(f, stream_consumer, &j);
	producer = spawn(f, stream_producer, &j);
	for (int kill_round = 0; kill_round < 5; kill_round++) {
		uint64_t before = atomic_load(&b->committed);
		struct timespec pause = { 0, 0 };

		/* Let it get going, then kill it mid-stream. */
		while (atomic_load(&b->committed) < before + j.count / 12 &&
		       atomic_load(&b->committed) < j.count &&
		       !atomic_load(&b->failed))
			usleep(200);
		pause.tv_nsec = (long)(rand() % 1000) * 1000;
		nanosleep(&pause, NULL);
		kill(producer, SIGKILL);
		assert_int_equal(reap(f, producer), -1);
		if (atomic_load(&b->failed))
			fail_msg("%s", b->error);
		/* What it handed over but may not have committed is in
		 * doubt: marked done for the consumer, checked below. */
		for (uint64_t s = atomic_load(&b->committed);
		     s < atomic_load(&b->sending); s++)
			atomic_fetch_add(&b->seen[s], 2);
		j.from = atomic_load(&b->sending);
		producer = spawn(f, stream_producer, &j);
	}
	expect_success(f, producer);
	expect_success(f, consumer);
	for (uint64_t s = 0; s < j.count; s++) {
		uint8_t n = b->seen[s];

		/* Committed: acked exactly once; in doubt: at most once. */
		if (n != 1 && n != 2 && n != 3)
			fail_msg("%" PRIu64 " acked %u times", s, n);
	}
}

struct holder {
	int hold;
};

static void holder_consumer(struct fixture *f, void *arg)
{
	struct holder *h = arg;
	bus_t *bus;
	bus_queue_t *q = child_open(f, "ckill", BUS_CONSUMER, &bus);

	for (int i = 0; i < h->hold; i++) {
		struct bus_message m;
		uint32_t producer;
		uint64_t s;

		if (bus_receive(q, &m, 10 * SECOND) ||
		    test_message_check(m.payload, m.length, &producer, &s) ||
		    s != (uint64_t)i)
			child_fail("receive %d", i);
	}
	atomic_store(&f->board->held, 1);
	pause(); /* killed here, holding them all */
	child_leave(bus, q);
}

static void test_consumer_killed(void **state)
{
	struct fixture *f = *state;
	struct holder h = { 10 };
	uint8_t payload[1024];
	bus_queue_t *p, *c;
	pid_t consumer;

	board_make(f, 0);
	create(f, "ckill", 64, 1024, BUS_OVERFLOW_BLOCK, 0);
	assert_int_equal(
		bus_queue_open(f->tb.bus, "ckill", BUS_PRODUCER, NULL, &p), 0);
	for (uint64_t s = 0; s < 32; s++) {
		uint32_t length = test_message_length(0, s, 1024);

		test_message_fill(payload, 0, s, length);
		assert_int_equal(bus_send(p, payload, length, BUS_NOWAIT), 0);
	}
	consumer = spawn(f, holder_consumer, &h);
	while (!atomic_load(&f->board->held) &&
	       !atomic_load(&f->board->failed))
		usleep(1000);
	kill(consumer, SIGKILL);
	assert_int_equal(reap(f, consumer), -1);
	/* busd hands its messages on; a new consumer gets all 32. */
	assert_int_equal(
		bus_queue_open(f->tb.bus, "ckill", BUS_CONSUMER, NULL, &c), 0);
	/* Meanwhile the producer laps the arena around what was held. */
	for (uint64_t s = 32; s < 32 + 64; s++) {
		struct bus_message m;
		uint32_t producer;
		uint64_t got;

		assert_int_equal(bus_receive(c, &m, 10 * SECOND), 0);
		assert_int_equal(test_message_check(m.payload, m.length,
						    &producer, &got),
				 0);
		assert_true(got == s - 32);
		assert_int_equal(m.header->delivery_count, got < 10 ? 2 : 1);
		assert_int_equal(bus_ack(c, &m), 0);
		if (s < 32 + 32) {
			uint32_t length = test_message_length(0, s, 1024);

			test_message_fill(payload, 0, s, length);
			assert_int_equal(
				bus_send(p, payload, length, 10 * SECOND), 0);
		}
	}
	bus_queue_close(c);
	bus_queue_close(p);
}

/* ---- memory_target ----------------------------------------------------------- */

static void test_memory_target(void **state)
{
	struct fixture *f = *state;
	const uint32_t slots = 1024, max_message = 65536, header_room = 0;
	/* Layout 5: each cell of round64(64 + header_room) + max_message
	 * bytes (and round64 of that). */
	uint64_t cell =
		((64 + ((header_room + 63) / 64 * 64) + max_message) + 63) /
		64 * 64;
	uint64_t old_size = (uint64_t)slots * cell;
	uint8_t payload[100];
	bus_queue_t *p, *c;
	uint64_t size;

	board_make(f, 0);
	create(f, "memory", slots, max_message, BUS_OVERFLOW_REJECT, 0);
	assert_int_equal(bus_queue_open(f->tb.bus, "memory", BUS_PRODUCER,
					NULL, &p),
			 0);
	size = p->geometry.header->segment_size;
	print_message("segment %" PRIu64 " bytes, layout 5: %" PRIu64
		      " (1/%.1f)\n",
		      size, old_size, (double)old_size / (double)size);
	assert_true(size * 16 <= old_size);
	for (uint64_t s = 0; s < slots; s++) {
		memset(payload, (int)s, sizeof(payload));
		memcpy(payload, &s, sizeof(s));
		assert_int_equal(
			bus_send(p, payload, sizeof(payload), BUS_NOWAIT), 0);
	}
	assert_int_equal(bus_send(p, payload, sizeof(payload), BUS_NOWAIT),
			 -ENOBUFS); /* the ring is full */
	assert_int_equal(bus_queue_open(f->tb.bus, "memory", BUS_CONSUMER,
					NULL, &c),
			 0);
	for (uint64_t s = 0; s < slots; s++) {
		struct bus_message m;
		uint64_t got;

		assert_int_equal(bus_receive(c, &m, BUS_NOWAIT), 0);
		assert_int_equal(m.length, sizeof(payload));
		memcpy(&got, m.payload, sizeof(got));
		assert_true(got == s);
		for (uint32_t i = sizeof(got); i < sizeof(payload); i++)
			assert_int_equal(((uint8_t *)m.payload)[i],
					 (uint8_t)s);
		assert_int_equal(bus_ack(c, &m), 0);
	}
	bus_queue_close(c);
	bus_queue_close(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes_and_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_held_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nack_redelivery, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drop_only_when_full,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_then_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_own_loans_fill_the_arena,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_oldest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sized_loan, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_producer_killed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consumer_killed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_memory_target, setup,
						teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
