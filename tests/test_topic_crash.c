/* SPDX-License-Identifier: MIT */
/*
 * test_topic_crash [SECONDS [PUBLISHERS [SUBSCRIBERS]]]
 *
 * Topic subscribers join and leave all the time while publishers hold
 * loans for random times, and this driver SIGKILLs a random publisher or
 * subscriber every few milliseconds and starts a replacement.  PUBLISHERS
 * processes (default 4) publish to a `block` topic and an `overwrite` topic
 * (alternately); SUBSCRIBERS processes (default 3) subscribe again and
 * again, to one of them or to both through a wildcard, some with history.
 * After SECONDS (0 or left out: 10, scaled by $BUS_TEST_SCALE, at least 2)
 * everything stops and the driver prints what was covered.
 *
 * Each subscription checks, for every publisher incarnation:
 *   - every message committed after the subscription was made is
 *     delivered, exactly once and in the publisher's order: the first one
 *     it gets at or past its floor (below) is the floor, and each next one
 *     follows without a gap, unless a loss was reported under overwrite;
 *   - no message is delivered twice or out of order, whether it came
 *     before the floor (history, or messages committed between an open
 *     loan and the join) or after;
 *   - under block nothing is ever reported lost;
 *   - no payload is torn or corrupt (checksummed; a loan killed mid-write
 *     never shows);
 *   - before it leaves, every message committed before it decided to
 *     leave arrives (under overwrite: unless a loss was reported).
 *
 * The floor: a publisher stores the sequence of each message in shared
 * memory (seq_cst) before it calls commit, and after commit returns.  A
 * subscriber that read "k" there after bus_subscribe() returned needs
 * every message from k + 1 on: their commits started after it joined,
 * even when their loans were taken before.  Message k may or may not count.
 *
 * Every process and /dev/shm segment is removed on the way out.  Exit 0
 * pass, 1 fail, 2 bad arguments, 77 skip (no busd).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "test_common.h"
#include "test_message.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

#define TOPIC_BLOCK "soak.block"
#define TOPIC_OVERWRITE "soak.over"
#define PATTERN "soak.*"
#define MAX_MESSAGE 64u
#define WORKERS_MAX 16u
#define INCARNATIONS_MAX (1u << 16)
#define HISTORY_MAX 8u
#define DRAIN_LIMIT_NS (20 * SECOND)
#define EXIT_LIMIT_MS (30 * 1000)
#define KILL_GAP_MIN_MS 5
#define KILL_GAP_MAX_MS 60

static const char config[] = "[topic " TOPIC_BLOCK "]\n"
			     "slots = 32\n"
			     "max_message = 64\n"
			     "history = 8\n"
			     "max_subscribers = 32\n"
			     "max_publishers = 16\n"
			     "\n"
			     "[topic " TOPIC_OVERWRITE "]\n"
			     "slots = 32\n"
			     "max_message = 64\n"
			     "history = 8\n"
			     "slow_subscriber = overwrite\n"
			     "max_subscribers = 32\n"
			     "max_publishers = 16\n";

enum { BLOCK, OVERWRITE, TOPICS };
static const char *const topic_names[TOPICS] = { TOPIC_BLOCK,
						 TOPIC_OVERWRITE };

/* Memory shared by the driver and every child (MAP_SHARED, before fork). */
struct shared {
	_Atomic int stop;
	_Atomic int failed;
	char error[512];
	_Atomic uint32_t incarnations;
	/* Per publisher incarnation; -1 before its first message. */
	_Atomic int64_t committing[INCARNATIONS_MAX]; /* commit called */
	_Atomic int64_t committed[INCARNATIONS_MAX];  /* commit returned */
	_Atomic uint8_t topic_of[INCARNATIONS_MAX];
	/* What was covered. */
	_Atomic uint64_t joins;
	_Atomic uint64_t subscriptions_checked;
	_Atomic uint64_t wildcard_joins;
	_Atomic uint64_t history_joins;
	_Atomic uint64_t after_join; /* messages at or past their floor */
	_Atomic uint64_t before_join;
	_Atomic uint64_t losses_reported; /* under overwrite */
	_Atomic uint64_t held_loans;
	_Atomic uint64_t published;
};

static struct shared *shared;

static int64_t now_ns(void)
{
	return (int64_t)test_now_ns();
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = { ns / SECOND, ns % SECOND };

	nanosleep(&t, NULL);
}

static uint64_t next_random(uint64_t *state)
{
	*state += UINT64_C(0x9e3779b97f4a7c15);
	return test_mix(*state);
}

static void child_fail(const char *format, ...)
{
	char line[sizeof(shared->error)];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	fprintf(stderr, "test_topic_crash: child %d: %s\n", (int)getpid(),
		line);
	if (!atomic_exchange(&shared->failed, 1))
		memcpy(shared->error, line, sizeof(line));
	_exit(1);
}

static bus_t *child_connect(const char *bus_name)
{
	bus_t *bus;
	int ret = bus_connect(bus_name, &bus);

	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	return bus;
}

/* ---- publishers --------------------------------------------------------- */

static void publisher_main(const char *bus_name, int topic, uint64_t seed)
{
	uint32_t me = atomic_fetch_add(&shared->incarnations, 1);
	bus_t *bus = child_connect(bus_name);
	uint64_t random = seed;
	bus_topic_t *t;
	int ret;

	if (me >= INCARNATIONS_MAX)
		child_fail("more than %u publisher incarnations", me);
	atomic_store(&shared->topic_of[me], (uint8_t)topic);
	ret = bus_topic_open(bus, topic_names[topic], BUS_PRODUCER, NULL, &t);
	if (ret)
		child_fail("open %s: %s", topic_names[topic],
			   bus_strerror(ret));
	for (uint64_t sequence = 0; !atomic_load(&shared->stop);) {
		uint32_t length =
			test_message_length(me, sequence, MAX_MESSAGE);
		struct bus_message loan;

		ret = bus_topic_loan(t, &loan, 50 * MS);
		if (ret == -ETIMEDOUT)
			continue; /* a slow subscriber under block */
		if (ret)
			child_fail("loan: %s", bus_strerror(ret));
		test_message_fill(loan.payload, me, sequence, length);
		/* Held open loans are what joins must get right. */
		if (next_random(&random) % 8 == 0) {
			atomic_fetch_add(&shared->held_loans, 1);
			sleep_ns((int64_t)(next_random(&random) %
					   (300 * 1000)));
		}
		/* seq_cst: a subscriber that reads an older value after it
		 * joined is sure this commit started later. */
		atomic_store(&shared->committing[me], (int64_t)sequence);
		ret = bus_topic_commit(t, &loan, length);
		if (ret)
			child_fail("commit: %s", bus_strerror(ret));
		atomic_store(&shared->committed[me], (int64_t)sequence);
		atomic_fetch_add(&shared->published, 1);
		sequence++;
	}
	bus_topic_close(t);
	bus_disconnect(bus);
	_exit(0);
}

/* ---- subscribers -------------------------------------------------------- */

/* One subscription's view of every publisher incarnation. */
struct view {
	int64_t floor[INCARNATIONS_MAX]; /* first sequence it must get */
	int64_t last[INCARNATIONS_MAX];	 /* last it got, -1 none */
	bool gap_allowed[INCARNATIONS_MAX];
	uint32_t known; /* incarnations that existed at the join */
	bool topics[TOPICS];
	bool lost_seen[TOPICS];
};

/* After the join: what each publisher had started to commit. */
static void view_start(struct view *v)
{
	v->known = atomic_load(&shared->incarnations);
	if (v->known > INCARNATIONS_MAX)
		v->known = INCARNATIONS_MAX;
	for (uint32_t i = 0; i < INCARNATIONS_MAX; i++) {
		/* Incarnations that start later commit after the join:
		 * committing is -1 there, so their floor is 0. */
		v->floor[i] = atomic_load(&shared->committing[i]) + 1;
		v->last[i] = -1;
		v->gap_allowed[i] = false;
	}
	memset(v->lost_seen, 0, sizeof(v->lost_seen));
}

static int topic_index(const char *name)
{
	for (int i = 0; i < TOPICS; i++)
		if (strcmp(name, topic_names[i]) == 0)
			return i;
	child_fail("a message from unknown topic '%s'", name);
	return -1;
}

static void view_take(struct view *v, int topic, const struct bus_message *m,
		      uint64_t lost)
{
	uint32_t who;
	uint64_t sequence;
	int64_t s, expected;

	if (test_message_check(m->payload, m->length, &who, &sequence))
		child_fail("corrupt message of %u bytes on %s", m->length,
			   topic_names[topic]);
	if (who >= INCARNATIONS_MAX ||
	    atomic_load(&shared->topic_of[who]) != topic)
		child_fail("publisher %u's message on the wrong topic %s", who,
			   topic_names[topic]);
	if (lost) {
		if (topic == BLOCK)
			child_fail("%" PRIu64
				   " reported lost on a block topic",
				   lost);
		atomic_fetch_add(&shared->losses_reported, 1);
		v->lost_seen[topic] = true;
		for (uint32_t i = 0; i < INCARNATIONS_MAX; i++)
			if (atomic_load(&shared->topic_of[i]) == topic)
				v->gap_allowed[i] = true;
	}
	s = (int64_t)sequence;
	if (s <= v->last[who])
		child_fail("publisher %u's %" PRId64 " after %" PRId64
			   " (a duplicate or out of order)",
			   who, s, v->last[who]);
	expected = v->last[who] + 1 > v->floor[who] ? v->last[who] + 1
						    : v->floor[who];
	if (s >= v->floor[who] && s != expected && !v->gap_allowed[who])
		child_fail("publisher %u's %" PRId64
			   " missing on %s (got %" PRId64 ", floor %" PRId64
			   ")",
			   who, expected, topic_names[topic], s,
			   v->floor[who]);
	v->last[who] = s;
	v->gap_allowed[who] = false;
	atomic_fetch_add(s >= v->floor[who] ? &shared->after_join
					    : &shared->before_join,
			 1);
}

/* A subscription to one topic or to both through the pattern. */
struct subscription {
	bus_subscription_t *one;
	bus_wildcard_t *all;
	int topic; /* of one */
};

static int subscription_receive(struct subscription *sub, struct view *v,
				int64_t timeout)
{
	struct bus_message m;
	const char *from = NULL;
	uint64_t lost = 0;
	int topic = sub->topic;
	int ret = sub->one ? bus_subscription_receive(sub->one, &m, &lost,
						      timeout)
			   : bus_wildcard_receive(sub->all, &m, &from, &lost,
						  timeout);

	if (ret == -ETIMEDOUT || ret == -EAGAIN)
		return 0;
	if (ret)
		child_fail("receive: %s", bus_strerror(ret));
	if (from)
		topic = topic_index(from);
	view_take(v, topic, &m, lost);
	return 1;
}

/* Is every message committed before `done` was read delivered? */
static bool drained(const struct view *v, const int64_t *done, uint32_t n,
		    uint32_t *missing, int64_t *sequence)
{
	for (uint32_t i = 0; i < n; i++) {
		int topic = atomic_load(&shared->topic_of[i]);

		if (!v->topics[topic] || done[i] < v->floor[i] ||
		    v->last[i] >= done[i] || v->lost_seen[topic])
			continue;
		*missing = i;
		*sequence = done[i];
		return false;
	}
	return true;
}

static void subscription_drain(struct subscription *sub, struct view *v,
			       int64_t *done)
{
	uint32_t n = atomic_load(&shared->incarnations), missing = 0;
	int64_t deadline = now_ns() + DRAIN_LIMIT_NS, sequence = 0;

	if (n > INCARNATIONS_MAX)
		n = INCARNATIONS_MAX;
	for (uint32_t i = 0; i < n; i++)
		done[i] = atomic_load(&shared->committed[i]);
	while (!drained(v, done, n, &missing, &sequence)) {
		if (now_ns() > deadline)
			child_fail("publisher %u's %" PRId64 ", committed "
				   "before we left, never came (last %" PRId64
				   ", floor %" PRId64 ")",
				   missing, sequence, v->last[missing],
				   v->floor[missing]);
		subscription_receive(sub, v, 10 * MS);
	}
}

static void subscriber_main(const char *bus_name, uint64_t seed)
{
	struct view *v = malloc(sizeof(*v));
	int64_t *done = malloc(INCARNATIONS_MAX * sizeof(*done));
	bus_t *bus = child_connect(bus_name);
	uint64_t random = seed;

	if (!v || !done)
		child_fail("out of memory");
	while (!atomic_load(&shared->stop)) {
		uint64_t pick = next_random(&random);
		struct bus_subscribe_options options = { 0 };
		struct subscription sub = { 0 };
		int64_t until;
		int ret;

		if (pick % 3 == 0) {
			options.history =
				1 + (uint32_t)(pick / 3 % HISTORY_MAX);
			atomic_fetch_add(&shared->history_joins, 1);
		}
		memset(v->topics, 0, sizeof(v->topics));
		if (pick / 64 % 5 == 0) {
			ret = bus_subscribe_pattern(bus, PATTERN, &options,
						    &sub.all);
			v->topics[BLOCK] = v->topics[OVERWRITE] = true;
			atomic_fetch_add(&shared->wildcard_joins, 1);
		} else {
			sub.topic = (int)(pick / 64 % 2);
			ret = bus_subscribe(bus, topic_names[sub.topic],
					    &options, &sub.one);
			v->topics[sub.topic] = true;
		}
		if (ret)
			child_fail("subscribe: %s (%s)", bus_strerror(ret),
				   bus_error_detail(bus));
		view_start(v);
		atomic_fetch_add(&shared->joins, 1);
		until = now_ns() + 1 * MS +
			(int64_t)(next_random(&random) % (30 * MS));
		while (now_ns() < until && !atomic_load(&shared->stop))
			subscription_receive(&sub, v, 5 * MS);
		if (!atomic_load(&shared->stop)) {
			subscription_drain(&sub, v, done);
			atomic_fetch_add(&shared->subscriptions_checked, 1);
		}
		ret = sub.one ? bus_unsubscribe(sub.one)
			      : bus_wildcard_close(sub.all);
		if (ret)
			child_fail("unsubscribe: %s", bus_strerror(ret));
	}
	bus_disconnect(bus);
	_exit(0);
}

/* ---- the driver --------------------------------------------------------- */

struct worker {
	pid_t pid;
	bool publisher;
	int topic;
};

struct driver {
	struct test_busd busd;
	struct worker workers[WORKERS_MAX];
	uint32_t count, publishers, subscribers;
	int64_t seconds;
	uint64_t random;
	uint64_t kills;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int signal)
{
	(void)signal;
	interrupted = 1;
}

static int worker_start(struct driver *d, struct worker *w)
{
	uint64_t seed = next_random(&d->random);
	pid_t pid = test_fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (w->publisher)
			publisher_main(d->busd.bus_name, w->topic, seed);
		subscriber_main(d->busd.bus_name, seed);
	}
	w->pid = pid;
	return 0;
}

/* A worker that ended by itself failed, or we were told to stop. */
static int workers_check(struct driver *d)
{
	for (uint32_t i = 0; i < d->count; i++) {
		int status;

		if (test_child_wait(d->workers[i].pid, 0, &status))
			continue;
		fprintf(stderr,
			"test_topic_crash: a %s ended (status %#x): "
			"%s\n",
			d->workers[i].publisher ? "publisher" : "subscriber",
			status,
			shared->error[0] ? shared->error : "see its stderr");
		return -1;
	}
	return 0;
}

static int kill_phase(struct driver *d)
{
	int64_t end = now_ns() + d->seconds * SECOND;

	while (now_ns() < end && !interrupted) {
		uint64_t gap = KILL_GAP_MIN_MS +
			       next_random(&d->random) %
				       (KILL_GAP_MAX_MS - KILL_GAP_MIN_MS);
		struct worker *w;
		int status;

		sleep_ns((int64_t)gap * MS);
		if (workers_check(d))
			return -1;
		w = &d->workers[next_random(&d->random) % d->count];
		kill(w->pid, SIGKILL);
		if (test_child_wait(w->pid, EXIT_LIMIT_MS, &status)) {
			fprintf(stderr,
				"test_topic_crash: pid %d outlived "
				"SIGKILL\n",
				(int)w->pid);
			return -1;
		}
		d->kills++;
		if (worker_start(d, w))
			return -1;
	}
	return interrupted ? -1 : 0;
}

static int workers_stop(struct driver *d)
{
	int ret = 0;

	atomic_store(&shared->stop, 1);
	for (uint32_t i = 0; i < d->count; i++) {
		int status;

		if (test_child_wait(d->workers[i].pid, EXIT_LIMIT_MS,
				    &status)) {
			fprintf(stderr, "test_topic_crash: a worker did not "
					"stop\n");
			ret = -1;
			continue;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr,
				"test_topic_crash: a worker failed "
				"(status %#x): %s\n",
				status,
				shared->error[0] ? shared->error
						 : "see its stderr");
			ret = -1;
		}
	}
	return ret;
}

static int report(const struct driver *d)
{
	uint64_t checked = atomic_load(&shared->subscriptions_checked);
	uint64_t after = atomic_load(&shared->after_join);

	printf("test_topic_crash: %" PRId64 " s, %u publishers, %u "
	       "subscribers, %" PRIu64 " kills\n",
	       d->seconds, d->publishers, d->subscribers, d->kills);
	printf("  joins %" PRIu64 " (wildcard %" PRIu64
	       ", with history %" PRIu64
	       "), subscriptions checked to the end %" PRIu64 "\n",
	       atomic_load(&shared->joins),
	       atomic_load(&shared->wildcard_joins),
	       atomic_load(&shared->history_joins), checked);
	printf("  published %" PRIu64 " (%" PRIu64 " with a held loan) by %u "
	       "incarnations\n",
	       atomic_load(&shared->published),
	       atomic_load(&shared->held_loans),
	       atomic_load(&shared->incarnations));
	printf("  delivered and checked: %" PRIu64 " committed after their "
	       "join, %" PRIu64 " before it (window or history); losses "
	       "reported under overwrite: %" PRIu64 "\n",
	       after, atomic_load(&shared->before_join),
	       atomic_load(&shared->losses_reported));
	if (!checked || !after) {
		fprintf(stderr, "test_topic_crash: nothing was checked\n");
		return -1;
	}
	return 0;
}

static int run(struct driver *d)
{
	if (test_busd_prepare(&d->busd) || test_busd_start(&d->busd, config))
		return -1;
	d->count = d->publishers + d->subscribers;
	for (uint32_t i = 0; i < d->count; i++) {
		struct worker *w = &d->workers[i];

		w->publisher = i < d->publishers;
		w->topic = (int)(i % TOPICS);
		if (worker_start(d, w))
			return -1;
	}
	if (kill_phase(d))
		return -1;
	if (workers_stop(d))
		return -1;
	return report(d);
}

static int parse_count(const char *text, long min, long max, long *out)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

static int parse_arguments(struct driver *d, int argc, char **argv)
{
	long seconds = 0, publishers = 4, subscribers = 3;

	if (argc > 4 ||
	    (argc > 1 && parse_count(argv[1], 0, 86400, &seconds)) ||
	    (argc > 2 &&
	     parse_count(argv[2], 1, WORKERS_MAX / 2, &publishers)) ||
	    (argc > 3 &&
	     parse_count(argv[3], 1, WORKERS_MAX / 2, &subscribers))) {
		fprintf(stderr,
			"usage: test_topic_crash [SECONDS [PUBLISHERS "
			"[SUBSCRIBERS]]] (1 to %u each)\n",
			WORKERS_MAX / 2);
		return -1;
	}
	d->seconds = seconds ? seconds : (int64_t)test_scaled(10, 2);
	d->publishers = (uint32_t)publishers;
	d->subscribers = (uint32_t)subscribers;
	return 0;
}

int main(int argc, char **argv)
{
	struct driver d = { 0 };
	struct sigaction action = { .sa_handler = on_signal };
	int ret;

	if (parse_arguments(&d, argc, argv))
		return 2;
	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fprintf(stderr, "test_topic_crash: mmap: %s\n",
			strerror(errno));
		return 1;
	}
	for (uint32_t i = 0; i < INCARNATIONS_MAX; i++) {
		atomic_init(&shared->committing[i], -1);
		atomic_init(&shared->committed[i], -1);
	}
	d.random = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	ret = run(&d);
	test_children_kill();
	if (test_busd_stop(&d.busd))
		ret = -1;
	test_busd_cleanup(&d.busd);
	munmap(shared, sizeof(*shared));
	printf("test_topic_crash: %s\n", ret ? "FAILED" : "passed");
	return ret ? 1 : 0;
}
