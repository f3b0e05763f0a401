/* SPDX-License-Identifier: MIT */
/*
 * floor-log: the bare single-writer log, the floor for streaming messages
 * that carry a header.
 *
 * Frames are packed back to back in a ring of bytes: an 8-byte frame word,
 * then the payload, the whole rounded up to 8 bytes, so that a 64-byte
 * payload takes 72 bytes (1.125 cache lines) and not two slots.  The frame
 * word says what follows:
 *
 *   bits 63..32  the frame's sequence number (mod 2^32)
 *   bit  31      padding: the rest of the ring is skipped, the next frame
 *                starts at offset 0
 *   bits 30..0   the frame's length in bytes, word included (never 0)
 *
 * so a word of 0 means "not written yet".  The writer fills the payload,
 * writes 0 into the word of the frame after it, and only then stores its
 * own word with release; the reader spins on the word of the next frame
 * with acquire.  That zero is what lets the reader trust the word it spins
 * on whatever an earlier lap left in the ring (a payload byte pattern that
 * happens to look like a frame word), without cleaning the ring behind it:
 * it lands in the line the writer fills next anyway.
 *
 * The reader publishes its position (bytes consumed, running freely) once
 * per batch of --batch frames (default 64), or once it has consumed a
 * quarter of the ring without publishing, so that a ring of a few large
 * frames still moves.  The writer keeps a cached limit (that position plus
 * the ring's size) and reads the real position only when a frame would
 * pass it.  Nothing the reader writes per message is read by the writer,
 * and the position has a line of its own.
 *
 *   --bench pingpong    round trip over two logs (request, reply), per size
 *   --bench throughput  one writer streams --count frames, per size
 *   --bench size        round trips over floor-size's sizes (64 B to
 *                       4 MiB), fewer of them above 4 KiB: the size sweep
 *
 * --slots N sizes each ring to hold N frames of the case's size, rounded
 * up to whole cache lines (at least 4 frames; default 1024): a ring whose
 * frames do not fill whole lines, as 4 frames of 72 bytes, ends in a
 * padding frame every lap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define LOG_ALIGN 8u
#define LOG_WORD_BYTES 8u
#define LOG_PADDING (1ull << 31)
#define LOG_LENGTH_MASK (LOG_PADDING - 1)
#define LOG_MIN_FRAMES 4u
#define LOG_BATCH 64u

struct log_ring {
	/* Written by the reader once per batch, read by the writer only
	 * near its cached limit: a 128-byte pair of its own, because the
	 * adjacent-line prefetcher pairs lines. */
	_Atomic uint64_t reader_position __attribute__((aligned(128)));
	/* The frames, on a pair of their own. */
	uint8_t bytes[] __attribute__((aligned(128)));
};

/* One side's private view of a ring: nothing here is shared. */
struct log_end {
	struct log_ring *ring;
	uint64_t size;	    /* bytes in the ring, a multiple of 64 */
	uint64_t position;  /* bytes written or consumed, running freely */
	uint64_t offset;    /* position within the ring */
	uint64_t limit;	    /* writer: cached reader position + size */
	uint64_t published; /* reader: the position last published */
	unsigned int unpublished; /* reader: frames since then */
	unsigned int batch;	  /* reader: frames per publication */
};

struct floor_log_shared {
	struct bench_barrier barrier;
	struct hist hist __attribute__((aligned(128)));
	uint64_t total;	   /* frames or round trips, warm-up included */
	uint64_t rounds;   /* measured */
	uint64_t seq_base; /* sequences keep growing across sizes */
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t frames;    /* per ring, of the case's size */
	uint64_t ring_size; /* bytes, for the case's size */
	uint32_t payload;   /* bytes of payload in every frame of this case */
	unsigned int batch;
	struct log_ring *request; /* the same address in every child */
	struct log_ring *reply;
};

static inline _Atomic uint64_t *log_word(const struct log_end *e,
					 uint64_t offset)
{
	return (_Atomic uint64_t *)(e->ring->bytes + offset);
}

static inline uint64_t log_frame_bytes(uint32_t payload)
{
	return (LOG_WORD_BYTES + payload + LOG_ALIGN - 1) &
	       ~(LOG_ALIGN - 1ull);
}

static inline uint64_t log_tag(uint64_t seq, uint64_t length)
{
	return (seq << 32) | length;
}

/* ---- writer ----------------------------------------------------------- */

/*
 * Waits until need more bytes fit before the reader's position comes round
 * again.  The acquire pairs with the reader's release in log_consumed():
 * the reader is done with every byte before the position it published, so
 * the writer may overwrite them.
 */
static inline void log_reserve(struct log_end *w, uint64_t need)
{
	while (w->position + need > w->limit) {
		w->limit = atomic_load_explicit(&w->ring->reader_position,
						memory_order_acquire) +
			   w->size;
		if (w->position + need > w->limit)
			bench_relax();
	}
}

/*
 * Publishes the frame of length bytes at the writer's offset, whose body is
 * already written.  The next frame's word is zeroed first (relaxed: the
 * release below orders it), so a reader that sees this frame and moves on
 * finds 0 there, never what an earlier lap left.  Release pairs with the
 * reader's acquire in log_await(): the body and that zero are visible
 * before the word is.
 */
static inline void log_commit(struct log_end *w, uint64_t word,
			      uint64_t length)
{
	uint64_t at = w->offset, next = at + length;

	if (next == w->size)
		next = 0;
	atomic_store_explicit(log_word(w, next), 0, memory_order_relaxed);
	atomic_store_explicit(log_word(w, at), word, memory_order_release);
	w->position += length;
	w->offset = next;
}

/* Writes one frame; a padding frame first when it does not fit the end. */
static inline void log_write(struct log_end *w, uint64_t seq, uint32_t payload)
{
	uint64_t length = log_frame_bytes(payload);
	uint64_t pad = w->size - w->offset < length ? w->size - w->offset : 0;

	/* The frame, the padding before it, the next frame's word. */
	log_reserve(w, pad + length + LOG_WORD_BYTES);
	if (pad)
		log_commit(w, log_tag(seq, LOG_PADDING | pad), pad);
	bench_payload_write(w->ring->bytes + w->offset + LOG_WORD_BYTES,
			    payload, seq);
	log_commit(w, log_tag(seq, length), length);
}

/* ---- reader ----------------------------------------------------------- */

/*
 * Spins on the next frame's word until the writer has stored it; acquire
 * pairs with the release in log_commit().  A padding frame sends the
 * reader to offset 0, where the writer zeroed the word before publishing
 * the padding.
 */
static inline uint64_t log_await(struct log_end *r)
{
	uint64_t word;

	for (;;) {
		word = atomic_load_explicit(log_word(r, r->offset),
					    memory_order_acquire);
		if (word == 0) {
			bench_relax();
			continue;
		}
		if (!(word & LOG_PADDING))
			return word;
		r->position += word & LOG_LENGTH_MASK;
		r->offset = 0;
	}
}

/*
 * Done with the frame of length bytes.  The position goes out once per
 * batch, or once a quarter of the ring waits on it: release pairs with
 * the writer's acquire in log_reserve() (every read of those bytes is
 * done before the writer may reuse them).
 */
static inline void log_consumed(struct log_end *r, uint64_t length)
{
	r->position += length;
	r->offset += length;
	if (r->offset == r->size)
		r->offset = 0;
	if (++r->unpublished < r->batch &&
	    r->position - r->published < r->size / 4)
		return;
	atomic_store_explicit(&r->ring->reader_position, r->position,
			      memory_order_release);
	r->published = r->position;
	r->unpublished = 0;
}

/* Reads one frame and checks its word and every byte of its payload. */
static inline int log_read(struct log_end *r, uint64_t seq, uint32_t payload,
			   const char *who)
{
	uint64_t length = log_frame_bytes(payload);
	uint64_t word = log_await(r);

	if (word != log_tag(seq, length) ||
	    bench_payload_check(r->ring->bytes + r->offset + LOG_WORD_BYTES,
				payload, seq))
		return bench_payload_error(who, seq);
	log_consumed(r, length);
	return 0;
}

/*
 * Before a side starts, it touches every page of the ring the way it will
 * use it: the writer stores to it, the reader loads from it.  fork() does
 * not copy the page tables of a shared mapping, so each child would take a
 * page fault on its first touch of every page; and on the virtual machines
 * perf/ runs on, a process's first store to a page costs 10-25 us more
 * even where the page is mapped (no fault is counted: it is the
 * hypervisor's), so a ring walked once or twice per case, as the size
 * sweep's are, would measure that.  The writer stores 0 into a word the
 * reader may be spinning on (the first): relaxed, as 0 means "nothing
 * yet" to it, and its frames come after (the release in log_commit()).
 */
static void log_ring_touch(struct log_ring *ring, uint64_t size, bool store)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;

	for (i = 0; i < size; i += page) {
		_Atomic uint64_t *word = (_Atomic uint64_t *)(ring->bytes + i);

		if (store)
			atomic_store_explicit(word, 0, memory_order_relaxed);
		else
			(void)atomic_load_explicit(word, memory_order_relaxed);
	}
}

static struct log_end log_end_open(const struct floor_log_shared *s,
				   struct log_ring *ring, bool writer)
{
	struct log_end e = {
		.ring = ring,
		.size = s->ring_size,
		.limit = s->ring_size,
		.batch = s->batch,
	};

	log_ring_touch(ring, s->ring_size, writer);
	return e;
}

/*
 * Each loop runs with what it needs copied out of the shared struct (the
 * payload stores could alias it, and the compiler would reload it around
 * every message), and is inlined twice: once with the payload size a
 * constant 64, so that the common case is unrolled as floor-spsc's is,
 * and once for any size.
 */
#define FLOOR_LOG_INLINE static inline __attribute__((always_inline))

/* ---- ping-pong -------------------------------------------------------- */

FLOOR_LOG_INLINE int pinger_loop(struct floor_log_shared *s, uint32_t payload)
{
	struct log_end out = log_end_open(s, s->request, true);
	struct log_end in = log_end_open(s, s->reply, false);
	const uint64_t total = s->total, warmup = total - s->rounds;
	const uint64_t base = s->seq_base;
	uint64_t i, start = 0;

	bench_barrier_wait(&s->barrier, 2); /* both rings touched */
	for (i = 0; i < total; i++) {
		uint64_t t0 = bench_now_ns();

		if (i == warmup)
			start = t0;
		log_write(&out, base + i + 1, payload);
		if (log_read(&in, base + i + 1, payload, "floor-log pinger"))
			return -EBADMSG;
		if (i >= warmup)
			hist_record(&s->hist, bench_now_ns() - t0);
	}
	s->end_ns = bench_now_ns();
	s->start_ns = start;
	return 0;
}

FLOOR_LOG_INLINE int ponger_loop(struct floor_log_shared *s, uint32_t payload)
{
	struct log_end in = log_end_open(s, s->request, false);
	struct log_end out = log_end_open(s, s->reply, true);
	const uint64_t total = s->total, base = s->seq_base;
	uint64_t i;

	bench_barrier_wait(&s->barrier, 2);
	for (i = 0; i < total; i++) {
		if (log_read(&in, base + i + 1, payload, "floor-log ponger"))
			return -EBADMSG;
		log_write(&out, base + i + 1, payload);
	}
	return 0;
}

static int pingpong_pinger(void *arg, unsigned int index)
{
	struct floor_log_shared *s = arg;

	return s->payload == BENCH_LINE ? pinger_loop(s, BENCH_LINE)
					: pinger_loop(s, s->payload);
}

static int pingpong_ponger(void *arg, unsigned int index)
{
	struct floor_log_shared *s = arg;

	return s->payload == BENCH_LINE ? ponger_loop(s, BENCH_LINE)
					: ponger_loop(s, s->payload);
}

/* ---- streaming -------------------------------------------------------- */

FLOOR_LOG_INLINE int writer_loop(struct floor_log_shared *s, uint32_t payload)
{
	struct log_end out = log_end_open(s, s->request, true);
	const uint64_t total = s->total, base = s->seq_base;
	uint64_t i;

	bench_barrier_wait(&s->barrier, 2);
	s->start_ns = bench_now_ns();
	for (i = 1; i <= total; i++)
		log_write(&out, base + i, payload);
	return 0;
}

FLOOR_LOG_INLINE int reader_loop(struct floor_log_shared *s, uint32_t payload)
{
	struct log_end in = log_end_open(s, s->request, false);
	const uint64_t total = s->total, base = s->seq_base;
	uint64_t i;

	bench_barrier_wait(&s->barrier, 2);
	for (i = 1; i <= total; i++)
		if (log_read(&in, base + i, payload, "floor-log reader"))
			return -EBADMSG;
	s->end_ns = bench_now_ns();
	return 0;
}

static int stream_writer(void *arg, unsigned int index)
{
	struct floor_log_shared *s = arg;

	return s->payload == BENCH_LINE ? writer_loop(s, BENCH_LINE)
					: writer_loop(s, s->payload);
}

static int stream_reader(void *arg, unsigned int index)
{
	struct floor_log_shared *s = arg;

	return s->payload == BENCH_LINE ? reader_loop(s, BENCH_LINE)
					: reader_loop(s, s->payload);
}

/* ---- main ------------------------------------------------------------- */

static const char usage[] =
	"Usage: floor-log [--bench pingpong|throughput|size] [options]\n"
	"A bare single-writer log: frames [word | payload] packed back to\n"
	"back, the reader publishing its position once per batch.\n"
	"  --slots N   frames per ring, of the case's size (at least 4)\n"
	"  --batch N   frames the reader consumes per publication (64)\n";

static const uint32_t size_sweep[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
};

/* Round trips at a size, as floor-size does: all up to 4 KiB, fewer above. */
static uint64_t floor_log_rounds(uint64_t count, uint32_t size)
{
	uint64_t n = size <= 4096 ? count : count * 4096 / size;

	return n < 20 ? 20 : n;
}

/*
 * Before each case, in the parent: the reader at 0 and the first word 0.
 * The rest of the ring may hold an earlier case's frames, of another size:
 * the zeroed next word (log_commit) is what keeps the reader off them.
 * Relaxed: the fork that starts the children orders these stores.
 */
static void log_ring_reset(struct log_ring *ring)
{
	atomic_store_explicit(&ring->reader_position, 0, memory_order_relaxed);
	atomic_store_explicit((_Atomic uint64_t *)ring->bytes, 0,
			      memory_order_relaxed);
}

/* Bytes of a ring of frames frames of payload bytes: whole cache lines. */
static uint64_t log_ring_size(uint64_t frames, uint32_t payload)
{
	return (frames * log_frame_bytes(payload) + BENCH_LINE - 1) &
	       ~(uint64_t)(BENCH_LINE - 1);
}

static struct log_ring *log_ring_map(uint64_t ring_size)
{
	return bench_shared_map(sizeof(struct log_ring) + ring_size);
}

/* Runs one case at s->payload and prints its row. */
static int floor_log_case(struct floor_log_shared *s,
			  const struct bench_options *o, const char *bench)
{
	bool stream = strcmp(bench, "throughput") == 0;
	struct bench_row row = {
		.bench = bench,
		.transport = "floor-log",
		.mode = "busy",
		.size = s->payload,
		.count = s->rounds,
		.hist = stream ? NULL : &s->hist,
		.producers = 1,
		.consumers = 1,
		.batch = s->batch,
		.timestamps = -1,
	};
	bench_child_fn a = stream ? stream_writer : pingpong_pinger;
	bench_child_fn b = stream ? stream_reader : pingpong_ponger;
	int ret;

	s->ring_size = log_ring_size(s->frames, s->payload);
	hist_reset(&s->hist);
	log_ring_reset(s->request);
	log_ring_reset(s->reply);
	ret = bench_run(
		(const struct bench_child[]){
			{ o->cpu[1], b, s, 1 },
			{ o->cpu[0], a, s, 0 },
		},
		2, o->timeout_s);
	if (ret)
		return ret;
	row.msgs_per_s = s->rounds * 1e9 / (double)(s->end_ns - s->start_ns);
	bench_row_print(&row, o);
	s->seq_base += s->total;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_options o;
	struct floor_log_shared *s;
	uint64_t largest_ring;
	uint32_t largest = 0;
	bool sweep;
	unsigned int i;
	int ret = 0;

	bench_parse_options(argc, argv, &o, usage);
	sweep = strcmp(o.bench, "size") == 0;
	if (!sweep && strcmp(o.bench, "pingpong") &&
	    strcmp(o.bench, "throughput")) {
		fprintf(stderr, "unknown --bench %s\n", o.bench);
		return 2;
	}
	if (sweep && !o.sizes_given) {
		o.size_count = sizeof(size_sweep) / sizeof(size_sweep[0]);
		memcpy(o.sizes, size_sweep, sizeof(size_sweep));
	}
	for (i = 0; i < o.size_count; i++)
		if (o.sizes[i] > largest)
			largest = o.sizes[i];
	s = bench_shared_map(sizeof(*s));
	if (!s)
		return 1;
	s->frames = o.slots < LOG_MIN_FRAMES ? LOG_MIN_FRAMES : o.slots;
	largest_ring = log_ring_size(s->frames, largest);
	s->request = log_ring_map(largest_ring);
	s->reply = log_ring_map(largest_ring);
	if (!s->request || !s->reply)
		return 1;
	s->batch = o.batch_given ? o.batch : LOG_BATCH;
	for (i = 0; i < o.size_count && ret == 0; i++) {
		s->payload = o.sizes[i];
		s->rounds = sweep ? floor_log_rounds(o.count, s->payload)
				  : o.count;
		s->total =
			s->rounds + (sweep ? (s->rounds + 9) / 10 : o.warmup);
		if (strcmp(o.bench, "throughput") == 0)
			s->total = s->rounds;
		ret = floor_log_case(s, &o, sweep ? "size" : o.bench);
	}
	return ret ? 1 : 0;
}
