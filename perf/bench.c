/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the benchmark programs: see bench.h.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- options ----------------------------------------------------------- */

enum {
	OPT_WARMUP = 256,
	OPT_HIST_DIR,
	OPT_RATE,
	OPT_SECONDS,
	OPT_PRODUCERS,
	OPT_CONSUMERS,
	OPT_SUBSCRIBERS,
	OPT_BATCH,
	OPT_SLOTS,
	OPT_SPIN_NS,
	OPT_NO_TIMESTAMP,
	OPT_NO_LATENCY,
	OPT_TIMEOUT,
	OPT_CPUS,
	OPT_QUEUE_TYPE,
	OPT_CLOCK_COST,
	OPT_COPY,
	OPT_RING_BYTES,
	OPT_RECORD,
};

static const struct option bench_long_options[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "size", required_argument, NULL, 's' },
	{ "bench", required_argument, NULL, 'B' },
	{ "mode", required_argument, NULL, 'm' },
	{ "transport", required_argument, NULL, 't' },
	{ "hist-dir", required_argument, NULL, OPT_HIST_DIR },
	{ "bus", required_argument, NULL, 'b' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "producers", required_argument, NULL, OPT_PRODUCERS },
	{ "consumers", required_argument, NULL, OPT_CONSUMERS },
	{ "subscribers", required_argument, NULL, OPT_SUBSCRIBERS },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "slots", required_argument, NULL, OPT_SLOTS },
	{ "spin-ns", required_argument, NULL, OPT_SPIN_NS },
	{ "no-timestamp", no_argument, NULL, OPT_NO_TIMESTAMP },
	{ "no-latency", no_argument, NULL, OPT_NO_LATENCY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "queue-type", required_argument, NULL, OPT_QUEUE_TYPE },
	{ "clock-cost", no_argument, NULL, OPT_CLOCK_COST },
	{ "copy", no_argument, NULL, OPT_COPY },
	{ "ring-bytes", required_argument, NULL, OPT_RING_BYTES },
	{ "record", no_argument, NULL, OPT_RECORD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void bench_usage(const char *usage, int status)
{
	fprintf(status ? stderr : stdout,
		"%s"
		"Common options:\n"
		"  -n, --count N      measured messages or round trips\n"
		"      --warmup N     unmeasured ones first\n"
		"  -s, --size LIST    payload bytes, e.g. 64 or 64,4096,1M\n"
		"      --hist-dir DIR append histogram buckets to DIR/*.hist\n"
		"      --cpus A,B     the two CPUs to pin to (default 0,1; -1: "
		"none)\n"
		"      --timeout S    give up after S seconds (default 300)\n"
		"      --clock-cost   print the ns one clock read takes, exit\n"
		"Prints one CSV row per case: " BENCH_ROW_COLUMNS "\n",
		usage);
	exit(status);
}

/* "64", "4K", "1M": a size in bytes; 0 when malformed. */
static uint64_t bench_parse_size(const char *text)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 0);

	if (end == text)
		return 0;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	return *end ? 0 : v;
}

static uint64_t bench_parse_count(const char *text, const char *usage)
{
	char *end;
	double v = strtod(text, &end);

	/* Accept 1e6 and 1000000 alike. */
	if (end == text || *end || v < 0) {
		fprintf(stderr, "bad number: %s\n", text);
		bench_usage(usage, 2);
	}
	return (uint64_t)v;
}

static void bench_parse_sizes(struct bench_options *o, char *list,
			      const char *usage)
{
	char *save = NULL, *item;

	o->size_count = 0;
	for (item = strtok_r(list, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		uint64_t size = bench_parse_size(item);

		if (size == 0 || size % 8 || size > (64u << 20) ||
		    o->size_count == BENCH_MAX_SIZES) {
			fprintf(stderr,
				"bad size %s: a multiple of 8 up to 64M\n",
				item);
			bench_usage(usage, 2);
		}
		o->sizes[o->size_count++] = (uint32_t)size;
	}
}

static void bench_defaults(struct bench_options *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 1000000;
	o->warmup = 10000;
	o->sizes[0] = 64;
	o->size_count = 1;
	o->bench = "pingpong";
	o->mode = "busy";
	o->cpu[0] = 0;
	o->cpu[1] = 1;
	o->rate = 100000;
	o->seconds = 5.0;
	o->producers = 1;
	o->consumers = 1;
	o->subscribers = 1;
	o->batch = 1;
	o->slots = 1024;
	o->spin_ns = 2000;
	o->timeout_s = 300;
}

static void bench_option(struct bench_options *o, int c, const char *usage)
{
	switch (c) {
	case 'n':
		o->count = bench_parse_count(optarg, usage);
		o->count_given = true;
		break;
	case OPT_WARMUP:
		o->warmup = bench_parse_count(optarg, usage);
		break;
	case 's':
		bench_parse_sizes(o, optarg, usage);
		o->sizes_given = true;
		break;
	case 'B':
		o->bench = optarg;
		break;
	case 'm':
		o->mode = optarg;
		break;
	case 't':
		o->transport = optarg;
		break;
	case OPT_HIST_DIR:
		o->hist_dir = optarg;
		break;
	case 'b':
		o->bus_name = optarg;
		break;
	case OPT_CPUS:
		if (sscanf(optarg, "%d,%d", &o->cpu[0], &o->cpu[1]) != 2)
			bench_usage(usage, 2);
		break;
	case OPT_RATE:
		o->rate = bench_parse_count(optarg, usage);
		break;
	case OPT_SECONDS:
		o->seconds = strtod(optarg, NULL);
		break;
	case OPT_PRODUCERS:
		o->producers = (unsigned int)bench_parse_count(optarg, usage);
		break;
	case OPT_CONSUMERS:
		o->consumers = (unsigned int)bench_parse_count(optarg, usage);
		break;
	case OPT_SUBSCRIBERS:
		o->subscribers =
			(unsigned int)bench_parse_count(optarg, usage);
		break;
	case OPT_BATCH:
		o->batch = (unsigned int)bench_parse_count(optarg, usage);
		o->batch_given = true;
		break;
	case OPT_SLOTS:
		o->slots = (unsigned int)bench_parse_count(optarg, usage);
		o->slots_given = true;
		break;
	case OPT_SPIN_NS:
		o->spin_ns = (uint32_t)bench_parse_count(optarg, usage);
		break;
	case OPT_NO_TIMESTAMP:
		o->no_timestamp = true;
		break;
	case OPT_NO_LATENCY:
		o->no_latency = true;
		break;
	case OPT_TIMEOUT:
		o->timeout_s = (unsigned int)bench_parse_count(optarg, usage);
		break;
	case OPT_QUEUE_TYPE:
		o->queue_type = optarg;
		break;
	case OPT_COPY:
		o->copy = true;
		break;
	case OPT_RING_BYTES:
		o->ring_bytes = (uint32_t)bench_parse_count(optarg, usage);
		break;
	case OPT_RECORD:
		o->record = true;
		break;
	case OPT_CLOCK_COST:
		printf("%llu\n", (unsigned long long)bench_clock_cost_ns());
		exit(0);
	case 'h':
		bench_usage(usage, 0);
		break;
	default:
		bench_usage(usage, 2);
	}
}

/*
 * A CPU we may not run on (a one-CPU container, a smaller cpuset) is not
 * an error for a smoke test: that side runs unpinned, with a warning.
 */
static void bench_check_cpus(struct bench_options *o)
{
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < 2; i++) {
		if (o->cpu[i] < 0 || o->cpu[i] >= CPU_SETSIZE ||
		    CPU_ISSET(o->cpu[i], &set))
			continue;
		fprintf(stderr,
			"warning: CPU %d is not available, running "
			"unpinned\n",
			o->cpu[i]);
		o->cpu[i] = -1;
	}
}

void bench_parse_options(int argc, char **argv, struct bench_options *o,
			 const char *usage)
{
	int c;

	bench_defaults(o);
	while ((c = getopt_long(argc, argv, "n:s:B:m:t:b:h",
				bench_long_options, NULL)) != -1)
		bench_option(o, c, usage);
	if (optind < argc) {
		fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
		bench_usage(usage, 2);
	}
	if (o->count == 0 || o->producers == 0 || o->consumers == 0 ||
	    o->batch == 0 || o->subscribers == 0 ||
	    o->producers + o->consumers > BENCH_MAX_PROCS ||
	    o->subscribers + 1 > BENCH_MAX_PROCS) {
		fprintf(stderr,
			"counts must be at least 1, and at most %d "
			"processes\n",
			BENCH_MAX_PROCS);
		bench_usage(usage, 2);
	}
	bench_check_cpus(o);
	if (o->slots < 1 || (o->slots & (o->slots - 1))) {
		fprintf(stderr, "--slots must be a power of two\n");
		bench_usage(usage, 2);
	}
}

/* ---- pinning, shared memory ------------------------------------------- */

int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

int bench_cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

void *bench_shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap %zu bytes: %s\n", size, strerror(errno));
		return NULL;
	}
	/* MAP_POPULATE is a hint; writing every page makes it certain. */
	memset(p, 0, size);
	return p;
}

void bench_shared_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/* ---- child processes -------------------------------------------------- */

/*
 * The child pins itself, runs fn and exits.  SIGCHLD is blocked in the
 * parent while children run (see bench_run); the child unblocks it again.
 */
static pid_t bench_spawn(const struct bench_child *child,
			 const sigset_t *old_mask)
{
	pid_t pid;
	int ret;

	fflush(NULL); /* or the child would print the parent's buffer too */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	if (child->cpu >= 0) {
		ret = bench_pin(child->cpu);
		if (ret < 0) {
			fprintf(stderr, "pin to CPU %d: %s\n", child->cpu,
				strerror(-ret));
			_exit(1);
		}
	}
	ret = child->fn(child->arg, child->index);
	fflush(NULL);
	_exit(ret == 0 ? 0 : 1);
}

static void bench_kill_rest(const pid_t *pids, const bool *done,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!done[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
}

/* Reaps whichever children have exited.  -ECHILD if one failed. */
static int bench_reap(const pid_t *pids, bool *done, unsigned int n,
		      unsigned int *left)
{
	unsigned int i;
	int status;

	for (i = 0; i < n; i++) {
		if (done[i] || waitpid(pids[i], &status, WNOHANG) <= 0)
			continue;
		done[i] = true;
		--*left;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "child %u (pid %d) failed\n", i,
				(int)pids[i]);
			return -ECHILD;
		}
	}
	return 0;
}

/*
 * Sleeps in sigtimedwait() until a child exits or the time is up: the
 * parent shares the CPUs with the pinned children, so it must not wake up
 * to poll while they measure.
 */
static int bench_wait(const pid_t *pids, unsigned int n,
		      unsigned int timeout_s)
{
	bool done[BENCH_MAX_PROCS + 2] = { false };
	uint64_t deadline = bench_now_ns() + timeout_s * 1000000000ull;
	unsigned int left = n;
	struct timespec ts;
	sigset_t chld;
	uint64_t now;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (bench_reap(pids, done, n, &left) == 0) {
		if (left == 0)
			return 0;
		now = bench_now_ns();
		if (now >= deadline) {
			fprintf(stderr, "timed out after %u s\n", timeout_s);
			bench_kill_rest(pids, done, n);
			return -ETIMEDOUT;
		}
		ts.tv_sec = (time_t)((deadline - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline - now) % 1000000000u);
		sigtimedwait(&chld, NULL, &ts);
	}
	bench_kill_rest(pids, done, n);
	return -ECHILD;
}

int bench_run(const struct bench_child *children, unsigned int n,
	      unsigned int timeout_s)
{
	pid_t pids[BENCH_MAX_PROCS + 2];
	bool done[BENCH_MAX_PROCS + 2] = { false };
	struct timespec zero = { 0, 0 };
	sigset_t chld, old_mask;
	unsigned int i;
	int ret = 0;

	if (n > BENCH_MAX_PROCS + 2)
		return -E2BIG;
	/* Blocked before the first fork, so no exit can be missed. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old_mask);
	for (i = 0; i < n && ret == 0; i++) {
		pids[i] = bench_spawn(&children[i], &old_mask);
		if (pids[i] < 0) {
			ret = pids[i];
			fprintf(stderr, "fork: %s\n", strerror(-ret));
			bench_kill_rest(pids, done, i);
		}
	}
	if (ret == 0)
		ret = bench_wait(pids, n, timeout_s);
	/* Drop the SIGCHLDs still pending before unblocking. */
	while (sigtimedwait(&chld, NULL, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return ret;
}

void bench_barrier_wait(struct bench_barrier *b, uint32_t n)
{
	uint32_t generation =
		atomic_load_explicit(&b->generation, memory_order_acquire);

	/* The last to arrive resets the count, then opens the gate; the
	 * release pairs with the acquire loads of the waiters below. */
	if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) ==
	    n - 1) {
		atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
		atomic_fetch_add_explicit(&b->generation, 1,
					  memory_order_release);
		return;
	}
	while (atomic_load_explicit(&b->generation, memory_order_acquire) ==
	       generation)
		sched_yield();
}

int bench_payload_error(const char *where, uint64_t seq)
{
	fprintf(stderr, "%s: payload check failed at message %llu\n", where,
		(unsigned long long)seq);
	return -EBADMSG;
}

/* ---- results ---------------------------------------------------------- */

static void bench_hist_append(const struct bench_row *row,
			      const struct bench_options *o)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path),
		 "%s/%s_%s_%s_%llu_p%uc%us%u_b%u_t%d_r%llu.hist", o->hist_dir,
		 row->bench, row->transport, row->mode,
		 (unsigned long long)row->size, row->producers, row->consumers,
		 row->subscribers, row->batch, row->timestamps,
		 (unsigned long long)row->rate);
	f = fopen(path, "a");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return;
	}
	hist_write_buckets(row->hist, f);
	fclose(f);
}

static void bench_print_u64(uint64_t v, bool present)
{
	if (present)
		printf(",%llu", (unsigned long long)v);
	else
		printf(",");
}

void bench_row_print(const struct bench_row *row,
		     const struct bench_options *o)
{
	const struct hist *h = row->hist;
	bool lat = h && h->count;

	printf("%s,%s,%s,%llu,%u,%llu", row->bench, row->transport, row->mode,
	       (unsigned long long)row->size, row->subscribers,
	       (unsigned long long)row->count);
	bench_print_u64(lat ? h->min : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 50.0) : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 99.0) : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 99.9) : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 99.99) : 0, lat);
	bench_print_u64(lat ? h->max : 0, lat);
	if (row->msgs_per_s > 0)
		printf(",%.0f", row->msgs_per_s);
	else
		printf(",");
	printf(",%u,%u,%u", row->producers, row->consumers, row->batch);
	if (row->timestamps >= 0)
		printf(",%s", row->timestamps ? "on" : "off");
	else
		printf(",");
	bench_print_u64(row->rate, row->rate != 0);
	if (lat)
		printf(",%.1f", hist_mean(h));
	else
		printf(",");
	h = row->raw_hist;
	lat = h && h->count;
	bench_print_u64(lat ? hist_percentile(h, 50.0) : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 99.0) : 0, lat);
	bench_print_u64(lat ? hist_percentile(h, 99.9) : 0, lat);
	bench_print_u64(lat ? h->max : 0, lat);
	printf(",%s", row->queue ? row->queue : "");
	if (row->pub_ns_per_msg > 0)
		printf(",%.1f\n", row->pub_ns_per_msg);
	else
		printf(",\n");
	fflush(stdout);
	if (row->hist && row->hist->count && o->hist_dir)
		bench_hist_append(row, o);
}

static int bench_u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bench_clock_cost_ns(void)
{
	uint64_t samples[101];
	unsigned int i, j;

	for (i = 0; i < 101; i++) {
		uint64_t t0 = bench_now_ns(), t1;

		for (j = 0; j < 1000; j++)
			(void)bench_now_ns();
		t1 = bench_now_ns();
		samples[i] = (t1 - t0) / 1001;
	}
	qsort(samples, 101, sizeof(samples[0]), bench_u64_compare);
	return samples[50];
}
