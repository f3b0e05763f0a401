/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark program of perf/ shares: options, pinned child
 * processes, shared memory, the clock, payload touching and the result row.
 *
 * Every program prints one CSV row per case on stdout, without a header,
 * in the column order of BENCH_ROW_COLUMNS; perf/run collects the rows of
 * several repetitions and writes the summary.  Diagnostics go to stderr.
 */
#ifndef PERF_BENCH_H
#define PERF_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bench_core.h"
#include "hist.h"

#define BENCH_ROW_COLUMNS                                                   \
	"bench,transport,mode,size,subscribers,count,min_ns,p50_ns,p99_ns," \
	"p999_ns,p9999_ns,max_ns,msgs_per_s,producers,consumers,batch,"     \
	"timestamps,rate_per_s,mean_ns,raw_p50_ns,raw_p99_ns,raw_p999_ns,"  \
	"raw_max_ns,queue,pub_ns_per_msg"

#define BENCH_MAX_PROCS 16
#define BENCH_MAX_SIZES 32

/* Every option any program takes; each program reads the ones it needs. */
struct bench_options {
	uint64_t count;			 /* measured messages or round trips */
	bool count_given;		 /* --count was on the command line */
	uint64_t warmup;		 /* unmeasured ones before them */
	uint32_t sizes[BENCH_MAX_SIZES]; /* payload bytes */
	unsigned int size_count;
	bool sizes_given;      /* --size was on the command line */
	const char *bench;     /* pingpong, oneway, throughput, size, fanout */
	const char *mode;      /* busy, spin-futex, futex */
	const char *transport; /* for programs that serve several */
	const char *hist_dir;  /* append histogram buckets there */
	const char *bus_name;  /* bus-bench: the bus to connect to */
	const char *queue_type; /* spsc or mpmc */
	int cpu[2];		/* the two CPUs to pin to */
	uint64_t rate;		/* oneway: messages per second */
	double seconds;		/* oneway: how long to send */
	unsigned int producers;
	unsigned int consumers;
	unsigned int subscribers; /* fanout */
	unsigned int batch;	  /* 1: single calls, else batch calls */
	bool batch_given;	  /* --batch was on the command line */
	bool copy;	    /* batch producer: copying sends, not loans */
	unsigned int slots; /* ring slots */
	bool slots_given;   /* --slots was on the command line */
	/* bus: the arena of packed queues and topics (0: fixed cells for
	 * small messages, layout.h "Packed messages") */
	uint32_t ring_bytes;
	bool record;	  /* bus: the topic is recorded (busd's journal) */
	uint32_t spin_ns; /* spin phase of spin-then-futex */
	bool no_timestamp;
	bool no_latency;	/* bus: receivers keep no latency histogram */
	unsigned int timeout_s; /* kill the children after this long */
};

/*
 * Parses the command line into *o (defaults first).  Prints usage and
 * exits on --help or a bad option; usage is the program's own text.
 */
void bench_parse_options(int argc, char **argv, struct bench_options *o,
			 const char *usage);

/* ---- clock, pinning, shared memory ------------------------------------ */

/* Pins the calling process to one CPU.  0 or -errno. */
int bench_pin(int cpu);

/* How many CPUs the process may run on. */
int bench_cpu_count(void);

/*
 * A MAP_SHARED | MAP_ANONYMOUS mapping of size bytes, zeroed and touched so
 * that no page fault happens during the measurement.  NULL on failure
 * (after a message on stderr).
 */
void *bench_shared_map(size_t size);
void bench_shared_unmap(void *p, size_t size);

/* ---- child processes -------------------------------------------------- */

typedef int (*bench_child_fn)(void *arg, unsigned int index);

/* One child of bench_run(). */
struct bench_child {
	int cpu; /* -1: not pinned */
	bench_child_fn fn;
	void *arg;
	unsigned int index;
};

/*
 * Forks the n children in order; each pins itself to its cpu, runs
 * fn(arg, index) and exits 0 when that returned 0, 1 otherwise.  Then
 * sleeps until they have all exited.  When one fails, or timeout_s passes,
 * kills the others (by pid).  0, or -ECHILD, -ETIMEDOUT, -errno of fork.
 */
int bench_run(const struct bench_child *children, unsigned int n,
	      unsigned int timeout_s);

/*
 * A start line for n processes in shared memory: each calls
 * bench_barrier_wait(); the last to arrive lets them all go.  Waiters spin
 * with sched_yield() so that more processes than CPUs still make progress.
 */
struct bench_barrier {
	_Atomic uint32_t arrived;
	_Atomic uint32_t generation;
};
void bench_barrier_wait(struct bench_barrier *b, uint32_t n);

/* ---- payload (the inline halves are in core/bench_core.h) ------------ */

/* Prints "where: payload check failed at seq" and returns -EBADMSG. */
int bench_payload_error(const char *where, uint64_t seq);

/* ---- results ---------------------------------------------------------- */

struct bench_row {
	const char *bench;
	const char *transport;
	const char *mode;
	uint64_t size;
	unsigned int subscribers;
	uint64_t count;		 /* messages or round trips */
	const struct hist *hist; /* NULL for throughput rows */
	double msgs_per_s;	 /* 0: leave empty */
	unsigned int producers;
	unsigned int consumers;
	unsigned int batch;
	int timestamps; /* 1 on, 0 off, -1 not applicable */
	uint64_t rate;	/* oneway: the intended rate */
	/* oneway: latency from the publish timestamp, without the
	 * coordinated-omission correction; NULL elsewhere. */
	const struct hist *raw_hist;
	const char *queue;     /* spsc, mpmc, or NULL when not a queue */
	double pub_ns_per_msg; /* fanout: publisher cost; 0: leave empty */
};

/* Prints the row as CSV on stdout and, if asked, appends the histogram. */
void bench_row_print(const struct bench_row *row,
		     const struct bench_options *o);

/* The nanoseconds one bench_now_ns() call takes, the median of many. */
uint64_t bench_clock_cost_ns(void);

#endif /* PERF_BENCH_H */
