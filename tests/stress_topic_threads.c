/* SPDX-License-Identifier: MIT */
/*
 * stress_topic_threads POLICY PUBLISHERS SUBSCRIBERS COUNT [--churn]
 *                      [--ring-bytes=N]
 *
 * Publishers and subscribers of one topic as threads of one process,
 * sharing one mapping of a local topic segment (no busd), so that
 * ThreadSanitizer sees every access to the ring.  POLICY is block or
 * overwrite.  Each publisher sends COUNT messages (scaled by
 * $BUS_TEST_SCALE) carrying (publisher, sequence, checksum); with one
 * publisher the topic takes the single-publisher path.
 *
 * Checked: no payload is torn or corrupt; per publisher, sequences only
 * grow.  block: every subscriber gets every message, in order, and nothing
 * is lost.  overwrite: received + reported lost == published, exactly, for
 * every subscriber; subscriber 0 is slow on purpose, so it is lapped.
 * --churn (block) adds a subscriber that joins and leaves over and over
 * while the others run: after its first message from a publisher it must
 * get that publisher's next ones without a gap.  --ring-bytes=N (one
 * publisher: a packed topic) makes the arena N bytes, smaller than the
 * ring's slots x max_message, so that records are reused before cells.
 *
 * Publishers use bus_publish(); under block also loans, to drive the
 * zero-copy path and joins while loans are open (bus.h says why loans are
 * not used where a reader may copy a cell being written: under overwrite).
 * Exit 0 on success, 1 on a failure, 2 on bad arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "local_topic.h"
#include "test_message.h"

#define MAX_MESSAGE 96u
#define SLOTS 256u
#define MAX_PUBLISHERS 4u
#define MAX_SUBSCRIBERS 6u
#define CALL_TIMEOUT_NS (20 * 1000 * 1000)
#define STALL_LIMIT_NS (30ull * 1000 * 1000 * 1000)

struct stress {
	struct local_topic topic;
	int overwrite;
	int churn;
	uint32_t ring_bytes; /* packed (one publisher): the arena */
	uint32_t publishers;
	uint32_t subscribers;
	uint64_t count;		     /* per publisher */
	_Atomic uint32_t publishing; /* publishers still running */
	_Atomic uint64_t progress;   /* anything done, for the stall check */
	_Atomic int failed;
};

struct worker {
	struct stress *stress;
	uint32_t index;
	pthread_t thread;
	bus_topic_t *publisher;
	bus_subscription_t *subscription;
	uint64_t received;
	uint64_t lost;
	uint64_t next[MAX_PUBLISHERS]; /* per publisher, UINT64_MAX: none */
	/* Per publisher: a loss was reported since its last message, so its
	 * next one may leave a gap. */
	int gap_allowed[MAX_PUBLISHERS];
	int churning;
	uint64_t rounds; /* churn: subscriptions made */
};

static void stress_fail(struct stress *s, const char *format, ...)
{
	va_list args;

	/* Only the first failure is printed: the rest follow from it. */
	if (atomic_exchange(&s->failed, 1))
		return;
	va_start(args, format);
	fprintf(stderr, "stress_topic_threads: ");
	vfprintf(stderr, format, args);
	fprintf(stderr, "\n");
	va_end(args);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t scaled(uint64_t count)
{
	const char *text = getenv("BUS_TEST_SCALE");
	double scale = text && *text ? strtod(text, NULL) : 1.0;
	double n = (double)count * scale;

	return n >= 100 ? (uint64_t)n : 100;
}

/* ---- publishers ---------------------------------------------------------- */

static int publish_one(struct worker *w, uint64_t sequence, int by_loan)
{
	uint32_t length = test_message_length(w->index, sequence, MAX_MESSAGE);
	uint8_t payload[MAX_MESSAGE];
	struct bus_message loan;
	int ret;

	if (!by_loan) {
		test_message_fill(payload, w->index, sequence, length);
		return bus_publish(w->publisher, payload, length,
				   CALL_TIMEOUT_NS);
	}
	ret = bus_topic_loan(w->publisher, &loan, CALL_TIMEOUT_NS);
	if (ret)
		return ret;
	test_message_fill(loan.payload, w->index, sequence, length);
	return bus_topic_commit(w->publisher, &loan, length);
}

static void *publisher_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->stress;
	int loans = !s->overwrite;
	uint64_t sequence = 0;

	while (sequence < s->count && !atomic_load(&s->failed)) {
		int ret = publish_one(w, sequence, loans && (sequence & 1));

		if (ret == -ETIMEDOUT)
			continue; /* the slowest subscriber is slow */
		if (ret) {
			stress_fail(s, "publisher %u at %" PRIu64 ": %s",
				    w->index, sequence, bus_strerror(ret));
			break;
		}
		sequence++;
		atomic_fetch_add_explicit(&s->progress, 1,
					  memory_order_relaxed);
	}
	atomic_fetch_sub(&s->publishing, 1);
	return NULL;
}

/* ---- subscribers --------------------------------------------------------- */

/* Checks one message; 0, or -1 after reporting. */
static int check(struct worker *w, const struct bus_message *m, uint64_t lost)
{
	struct stress *s = w->stress;
	uint32_t publisher;
	uint64_t sequence;

	if (test_message_check(m->payload, m->length, &publisher, &sequence) ||
	    publisher >= s->publishers || sequence >= s->count) {
		stress_fail(s, "subscriber %u: corrupt message of %u bytes",
			    w->index, m->length);
		return -1;
	}
	/* Under block a joiner's position protects even the loans that
	 * were open when it joined (topic_cell.h, "Joining"). */
	if (lost && !s->overwrite) {
		stress_fail(s, "subscriber %u lost %" PRIu64 " under block",
			    w->index, lost);
		return -1;
	}
	if (lost)
		for (uint32_t p = 0; p < MAX_PUBLISHERS; p++)
			w->gap_allowed[p] = 1;
	/* Per publisher: only growing, and without gaps unless a loss was
	 * reported since, or this is the first message seen from it. */
	if (w->next[publisher] != UINT64_MAX &&
	    (sequence < w->next[publisher] ||
	     (!w->gap_allowed[publisher] && sequence != w->next[publisher]))) {
		stress_fail(s,
			    "subscriber %u: publisher %u's %" PRIu64
			    " after %" PRIu64,
			    w->index, publisher, sequence,
			    w->next[publisher] - 1);
		return -1;
	}
	w->next[publisher] = sequence + 1;
	w->gap_allowed[publisher] = 0;
	w->received++;
	w->lost += lost;
	return 0;
}

/* Receives one message, checks it; 1 got one, 0 nothing yet, -1 failed. */
static int receive_one(struct worker *w)
{
	struct stress *s = w->stress;
	struct bus_message m;
	uint8_t copy[MAX_MESSAGE];
	uint64_t lost = 0;
	int ret;

	/* Odd subscribers copy; even ones (and the churning one) read in
	 * place under block. */
	if ((w->index & 1) && !w->churning) {
		ret = bus_subscription_receive_copy(w->subscription, copy,
						    sizeof(copy), &lost,
						    CALL_TIMEOUT_NS);
		m.payload = copy;
		m.length = ret > 0 ? (uint32_t)ret : 0;
		m.token = 0;
	} else {
		ret = bus_subscription_receive(w->subscription, &m, &lost,
					       CALL_TIMEOUT_NS);
	}
	if (ret == -ETIMEDOUT || ret == -EAGAIN)
		return 0;
	if (ret < 0) {
		stress_fail(s, "subscriber %u: %s", w->index,
			    bus_strerror(ret));
		return -1;
	}
	if (check(w, &m, lost))
		return -1;
	atomic_fetch_add_explicit(&s->progress, 1, memory_order_relaxed);
	return 1;
}

/* The slow subscriber of the overwrite run dawdles now and then. */
static void dawdle(struct worker *w)
{
	if (w->stress->overwrite && w->index == 0 && (w->received & 63) == 0)
		usleep(200);
}

static void *subscriber_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->stress;
	uint64_t total = s->count * s->publishers;

	for (;;) {
		int done = atomic_load(&s->publishing) == 0;
		int ret;

		if (atomic_load(&s->failed))
			break;
		if (w->received + w->lost >= total)
			break;
		ret = receive_one(w);
		if (ret < 0)
			break;
		/* Overwrite: once publishing ended, drain, then stop. */
		if (ret == 0 && done && s->overwrite)
			break;
		dawdle(w);
	}
	return NULL;
}

/* Joins, reads a few, leaves; again and again while publishing lasts. */
static void *churn_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->stress;

	while (atomic_load(&s->publishing) && !atomic_load(&s->failed)) {
		int ret = local_topic_subscribe(&s->topic, w->index, NULL,
						&w->subscription);

		if (ret) {
			stress_fail(s, "churn: subscribe: %s",
				    bus_strerror(ret));
			break;
		}
		for (uint32_t p = 0; p < MAX_PUBLISHERS; p++)
			w->next[p] = UINT64_MAX;
		for (int i = 0, got = 0; i < 64 && got < 32; i++) {
			ret = receive_one(w);
			if (ret < 0)
				break;
			got += ret;
		}
		bus_unsubscribe(w->subscription);
		w->subscription = NULL;
		w->rounds++;
	}
	return NULL;
}

/* ---- the run ------------------------------------------------------------- */

static int watch(struct stress *s)
{
	uint64_t last = 0, since = now_ns();

	while (atomic_load(&s->publishing) && !atomic_load(&s->failed)) {
		uint64_t now = atomic_load(&s->progress);

		if (now != last) {
			last = now;
			since = now_ns();
		} else if (now_ns() - since > STALL_LIMIT_NS) {
			stress_fail(s, "no progress for 30 s");
			return -1;
		}
		usleep(10000);
	}
	return 0;
}

/* Overwrite: what each subscriber saw and lost adds up to everything. */
static void check_totals(struct stress *s, struct worker *subscribers)
{
	uint64_t total = s->count * s->publishers;

	for (uint32_t i = 0; i < s->subscribers; i++) {
		struct worker *w = &subscribers[i];
		struct bus_subscriber_stats stats;

		if (w->received + w->lost != total)
			stress_fail(s,
				    "subscriber %u: %" PRIu64 " received + "
				    "%" PRIu64 " lost != %" PRIu64,
				    i, w->received, w->lost, total);
		bus_subscription_stats(w->subscription, &stats);
		if (stats.received != w->received || stats.lost != w->lost)
			stress_fail(s,
				    "subscriber %u: figures say %" PRIu64
				    " received, %" PRIu64 " lost",
				    i, stats.received, stats.lost);
		if (!s->overwrite && w->lost)
			stress_fail(s, "subscriber %u lost %" PRIu64, i,
				    w->lost);
	}
}

static int parse(struct stress *s, int argc, char **argv)
{
	if (argc < 5 || argc > 7)
		return -1;
	if (!strcmp(argv[1], "block"))
		s->overwrite = 0;
	else if (!strcmp(argv[1], "overwrite"))
		s->overwrite = 1;
	else
		return -1;
	s->publishers = (uint32_t)strtoul(argv[2], NULL, 10);
	s->subscribers = (uint32_t)strtoul(argv[3], NULL, 10);
	s->count = scaled(strtoull(argv[4], NULL, 10));
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--churn"))
			s->churn = 1;
		else if (!strncmp(argv[i], "--ring-bytes=", 13))
			s->ring_bytes =
				(uint32_t)strtoul(argv[i] + 13, NULL, 10);
		else
			return -1;
	}
	if (s->publishers < 1 || s->publishers > MAX_PUBLISHERS ||
	    s->subscribers < 1 || s->subscribers >= MAX_SUBSCRIBERS ||
	    (s->churn && s->overwrite))
		return -1;
	return 0;
}

static int start(struct stress *s, struct worker *w, void *(*main)(void *))
{
	int ret = pthread_create(&w->thread, NULL, main, w);

	if (ret)
		stress_fail(s, "pthread_create: %s", strerror(ret));
	return ret;
}

int main(int argc, char **argv)
{
	static struct stress s;
	static struct worker publishers[MAX_PUBLISHERS];
	static struct worker subscribers[MAX_SUBSCRIBERS];
	struct bus_topic_settings settings;
	uint64_t begin = now_ns();
	int ret;

	if (parse(&s, argc, argv)) {
		fprintf(stderr, "usage: stress_topic_threads block|overwrite "
				"PUBLISHERS(1-4) SUBSCRIBERS(1-5) COUNT "
				"[--churn (block)] [--ring-bytes=N]\n");
		return 2;
	}
	local_topic_settings(&settings, SLOTS, MAX_MESSAGE,
			     s.overwrite ? BUS_SLOW_SUBSCRIBER_OVERWRITE
					 : BUS_SLOW_SUBSCRIBER_BLOCK,
			     s.publishers, 0);
	settings.ring_bytes = s.ring_bytes;
	ret = local_topic_create(&s.topic, &settings);
	if (ret) {
		fprintf(stderr, "local topic: %s\n", bus_strerror(ret));
		return 1;
	}
	/* Every subscriber but the churning one joins before anything is
	 * published, so it must see everything. */
	for (uint32_t i = 0; i < s.subscribers && !ret; i++) {
		subscribers[i] = (struct worker){ .stress = &s, .index = i };
		for (uint32_t p = 0; p < MAX_PUBLISHERS; p++)
			subscribers[i].next[p] = UINT64_MAX;
		ret = local_topic_subscribe(&s.topic, i, NULL,
					    &subscribers[i].subscription);
	}
	for (uint32_t i = 0; i < s.publishers && !ret; i++) {
		publishers[i] = (struct worker){ .stress = &s, .index = i };
		ret = local_topic_publisher(&s.topic, i, NULL,
					    &publishers[i].publisher);
	}
	if (ret) {
		fprintf(stderr, "attach: %s\n", bus_strerror(ret));
		return 1;
	}
	atomic_store(&s.publishing, s.publishers);
	for (uint32_t i = 0; i < s.subscribers; i++)
		start(&s, &subscribers[i], subscriber_main);
	if (s.churn) {
		subscribers[s.subscribers] = (struct worker){
			.stress = &s, .index = s.subscribers, .churning = 1
		};
		start(&s, &subscribers[s.subscribers], churn_main);
	}
	for (uint32_t i = 0; i < s.publishers; i++)
		start(&s, &publishers[i], publisher_main);

	watch(&s);
	for (uint32_t i = 0; i < s.publishers; i++)
		pthread_join(publishers[i].thread, NULL);
	for (uint32_t i = 0; i < s.subscribers + (uint32_t)s.churn; i++)
		pthread_join(subscribers[i].thread, NULL);
	if (!atomic_load(&s.failed))
		check_totals(&s, subscribers);

	printf("%s: %u publishers x %" PRIu64 ", %u subscribers%s: lost",
	       argv[1], s.publishers, s.count, s.subscribers,
	       s.churn ? " and a churning one" : "");
	for (uint32_t i = 0; i < s.subscribers; i++)
		printf(" %" PRIu64, subscribers[i].lost);
	if (s.churn)
		printf(", %" PRIu64 " joins",
		       subscribers[s.subscribers].rounds);
	printf("; %.2f s\n", (double)(now_ns() - begin) / 1e9);
	for (uint32_t i = 0; i < s.publishers; i++)
		bus_topic_close(publishers[i].publisher);
	for (uint32_t i = 0; i < s.subscribers; i++)
		bus_unsubscribe(subscribers[i].subscription);
	local_topic_destroy(&s.topic);
	return atomic_load(&s.failed) ? 1 : 0;
}
