/* SPDX-License-Identifier: MIT */
/*
 * redelivery: how soon the bus recovers from a process killed with SIGKILL.
 *
 *   --bench queue   (the default) a consumer receives a message and holds
 *                   it without acking; the driver kills it, and another
 *                   consumer, already waiting in bus_receive(), gets the
 *                   message again with delivery count 2.  Measured: from
 *                   just before kill() to the moment that receive returns.
 *   --bench topic   a subscriber of a block-policy topic receives nothing
 *                   until the ring is full and the publisher waits in
 *                   bus_topic_loan(); the driver kills the subscriber.
 *                   Measured: from just before kill() to the moment the
 *                   publisher's loan returns.
 *   --bench floor   the kernel's part alone: the same victim (a consumer
 *                   that holds nothing), and the waiter waits in poll()
 *                   (busy: poll with no timeout, again and again) on the
 *                   victim's pidfd, as busd does.  Measured: from just
 *                   before kill() to the moment that poll returns.
 *
 * Both times are CLOCK_MONOTONIC readings in two processes (the clock is
 * system-wide).  Between them: the kernel tears the victim down; its pidfd
 * and its control socket wake busd's io_uring loop; busd scans the slots of
 * every queue and topic for what the victim held (the recovery scan),
 * marks it, and wakes every sleeper; the waiter sees it.
 *
 * --mode futex|spin-futex|busy is how the waiting consumer (or publisher)
 * waits.  The program starts its own busd (the one CMake built beside it;
 * unique bus name, private $BUS_RUNTIME_DIR, stopped by pid, checked to
 * leave nothing in /dev/shm), so -b is not taken.  One round per
 * --count (default 200) plus --warmup (default 3) unmeasured ones; each
 * round forks a fresh victim.
 *
 * Processes: the driver (pinned to the first CPU of --cpus, with the
 * victims), one long-lived waiter (the second CPU), busd (unpinned).  They
 * talk over one pipe of reports, written by the waiter and the victims, and
 * one pipe of commands to the waiter; every wait on them has a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/bus.h"

#include "bench.h"
#include "busd_harness.h"

#define RD_DEFAULT_COUNT 200u
#define RD_DEFAULT_WARMUP 3u
#define RD_STEP_TIMEOUT_MS 10000  /* one step of a round, at most */
#define RD_BUSY_SETTLE_NS 1000000 /* busy waiter: let it spin this long */

/* What a child tells the driver, in one atomic pipe write. */
enum rd_report_kind {
	RD_HOLDING = 1, /* victim: holds the message (or is subscribed) */
	RD_WAITING,	/* waiter: about to block in receive (or loan) */
	RD_RECEIVED,	/* waiter: got it; time_ns says when */
	RD_FAILED,	/* any: status says why */
};

struct rd_report {
	uint32_t kind;
	int32_t status;
	uint64_t time_ns;
};

/* Commands to the waiter, one atomic pipe write each. */
enum rd_command_kind {
	RD_GO = 1, /* wait once; victim names the victim's pid */
	RD_QUIT,
};

struct rd_command {
	int32_t kind;
	int32_t victim;
};

enum rd_bench {
	RD_BENCH_QUEUE,
	RD_BENCH_TOPIC,
	RD_BENCH_FLOOR,
};

struct rd_run {
	const struct bench_options *o;
	enum rd_bench bench;
	bool topic; /* bench == RD_BENCH_TOPIC */
	uint32_t size;
	enum bus_wait_strategy wait;
	const char *bus_name;
	char name[BUS_NAME_MAX + 1]; /* the queue or topic */
	int reports[2];		     /* pipe: children -> driver */
	int commands[2];	     /* pipe: driver -> waiter */
	pid_t waiter;
	pid_t victim;
	uint64_t seq; /* last message sent (queue) */
	struct hist hist;
};

static int rd_fail(const char *what, bus_t *bus, int error)
{
	fprintf(stderr, "redelivery: %s: %s%s%s\n", what, bus_strerror(error),
		bus && *bus_error_detail(bus) ? ": " : "",
		bus ? bus_error_detail(bus) : "");
	return error;
}

/* ---- the report pipe --------------------------------------------------- */

static void rd_report(const struct rd_run *r, uint32_t kind, int status,
		      uint64_t time_ns)
{
	struct rd_report report = { kind, status, time_ns };

	/* Smaller than PIPE_BUF: written whole, never interleaved. */
	if (write(r->reports[1], &report, sizeof(report)) != sizeof(report))
		_exit(3);
}

static int rd_poll_in(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret;

	do
		ret = poll(&p, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? 0 : -ETIMEDOUT;
}

/* Waits for the next report, which must be of kind want. */
static int rd_expect(struct rd_run *r, uint32_t want, struct rd_report *out)
{
	static const char *const names[] = {
		"", "holding", "waiting", "received", "failed",
	};
	int ret = rd_poll_in(r->reports[0], RD_STEP_TIMEOUT_MS);

	if (ret < 0) {
		fprintf(stderr, "redelivery: no '%s' report within %d ms\n",
			names[want], RD_STEP_TIMEOUT_MS);
		return ret;
	}
	if (read(r->reports[0], out, sizeof(*out)) != sizeof(*out))
		return -EIO;
	if (out->kind == want)
		return 0;
	if (out->kind == RD_FAILED)
		return out->status < 0 ? out->status : -EPROTO;
	fprintf(stderr, "redelivery: report %u, expected '%s'\n", out->kind,
		names[want]);
	return -EPROTO;
}

/* ---- the victims -------------------------------------------------------- */

/* Receives the message the driver sent and holds it until killed. */
static int rd_holder(struct rd_run *r, bus_t *bus)
{
	struct bus_queue_options qo = { .wait = BUS_WAIT_FUTEX };
	bus_queue_t *queue;
	struct bus_message m;
	int ret;

	ret = bus_queue_open(bus, r->name, BUS_CONSUMER, &qo, &queue);
	if (ret < 0)
		return rd_fail("holder: open", bus, ret);
	ret = bus_receive(queue, &m, BUS_FOREVER);
	if (ret < 0)
		return rd_fail("holder: receive", bus, ret);
	if (m.header->delivery_count != 1 || m.length != r->size ||
	    bench_payload_check(m.payload, r->size, r->seq))
		return bench_payload_error("holder", r->seq);
	return 0;
}

/* Subscribes and reads nothing: the publisher fills the ring and waits. */
static int rd_subscriber(struct rd_run *r, bus_t *bus)
{
	struct bus_subscribe_options so = { .wait = BUS_WAIT_FUTEX };
	bus_subscription_t *sub;
	int ret;

	ret = bus_subscribe(bus, r->name, &so, &sub);
	if (ret < 0)
		return rd_fail("subscriber: subscribe", bus, ret);
	return 0;
}

/* The floor's victim: attached as the holder is, holding nothing. */
static int rd_idle_consumer(struct rd_run *r, bus_t *bus)
{
	bus_queue_t *queue;
	int ret = bus_queue_open(bus, r->name, BUS_CONSUMER, NULL, &queue);

	return ret < 0 ? rd_fail("idle consumer: open", bus, ret) : 0;
}

/* The victim's process: holds its lease or slot until SIGKILL. */
static void rd_victim_main(struct rd_run *r)
{
	bus_t *bus;
	int ret;

	close(r->reports[0]);
	close(r->commands[1]);
	ret = bus_connect(r->bus_name, &bus);
	if (ret < 0)
		rd_fail("victim: connect", NULL, ret);
	else if (r->bench == RD_BENCH_TOPIC)
		ret = rd_subscriber(r, bus);
	else if (r->bench == RD_BENCH_FLOOR)
		ret = rd_idle_consumer(r, bus);
	else
		ret = rd_holder(r, bus);
	rd_report(r, ret < 0 ? RD_FAILED : RD_HOLDING, ret, 0);
	if (ret < 0)
		_exit(1);
	for (;;)
		pause();
}

/* ---- the waiter --------------------------------------------------------- */

/* Waits in bus_receive() for the redelivery, checks it, acks it. */
static int rd_take_redelivery(struct rd_run *r, bus_t *bus, bus_queue_t *queue)
{
	struct bus_message m;
	uint64_t now;
	int ret;

	rd_report(r, RD_WAITING, 0, 0);
	ret = bus_receive(queue, &m, BUS_FOREVER);
	now = bench_now_ns();
	if (ret < 0)
		return rd_fail("waiter: receive", bus, ret);
	/* The seq is the count of messages received so far, acked each. */
	r->seq++;
	if (m.header->delivery_count != 2 || m.length != r->size ||
	    bench_payload_check(m.payload, r->size, r->seq))
		return bench_payload_error("waiter (delivery count 2)",
					   r->seq);
	ret = bus_ack(queue, &m);
	if (ret < 0)
		return rd_fail("waiter: ack", bus, ret);
	rd_report(r, RD_RECEIVED, 0, now);
	return 0;
}

static int rd_publish(bus_topic_t *topic, int64_t timeout_ns, uint32_t size,
		      uint64_t *when)
{
	struct bus_message m;
	int ret = bus_topic_loan(topic, &m, timeout_ns);

	if (when)
		*when = bench_now_ns();
	if (ret < 0)
		return ret;
	bench_payload_write(m.payload, size, 1);
	return bus_topic_commit(topic, &m, size);
}

/* Fills the ring for the new subscriber, then waits in the next loan. */
static int rd_wait_for_room(struct rd_run *r, bus_t *bus, bus_topic_t *topic)
{
	uint64_t filled = 0, now;
	int ret;

	while ((ret = rd_publish(topic, BUS_NOWAIT, r->size, NULL)) == 0)
		filled++;
	if (ret != -ENOBUFS || filled == 0 || filled > r->o->slots) {
		fprintf(stderr, "redelivery: publisher filled %llu slots\n",
			(unsigned long long)filled);
		return ret < 0 && ret != -ENOBUFS
			       ? rd_fail("publish", bus, ret)
			       : -EPROTO;
	}
	rd_report(r, RD_WAITING, 0, 0);
	ret = rd_publish(topic, BUS_FOREVER, r->size, &now);
	if (ret < 0)
		return rd_fail("waiter: loan", bus, ret);
	rd_report(r, RD_RECEIVED, 0, now);
	return 0;
}

/* Waits until the victim's pidfd is readable: it has exited. */
static int rd_wait_for_exit(struct rd_run *r, pid_t victim)
{
	int fd = (int)syscall(SYS_pidfd_open, victim, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int timeout = r->wait == BUS_WAIT_BUSY ? 0 : -1;
	uint64_t now;
	int ret;

	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "redelivery: pidfd_open: %s\n",
			strerror(-ret));
		return ret;
	}
	rd_report(r, RD_WAITING, 0, 0);
	while ((ret = poll(&p, 1, timeout)) == 0 ||
	       (ret < 0 && errno == EINTR))
		bench_relax();
	now = bench_now_ns();
	if (ret < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		return ret;
	rd_report(r, RD_RECEIVED, 0, now);
	return 0;
}

static int rd_waiter_open(struct rd_run *r, bus_t *bus, bus_queue_t **queue,
			  bus_topic_t **topic)
{
	struct bus_queue_options qo = { .wait = r->wait,
					.spin_ns = r->o->spin_ns };
	int ret;

	if (r->bench == RD_BENCH_FLOOR)
		return 0; /* it waits on a pidfd, not on the bus */
	if (r->topic)
		ret = bus_topic_open(bus, r->name, BUS_PRODUCER, &qo, topic);
	else
		ret = bus_queue_open(bus, r->name, BUS_CONSUMER, &qo, queue);
	return ret < 0 ? rd_fail("waiter: open", bus, ret) : 0;
}

/* One wait per RD_GO, until RD_QUIT. */
static int rd_waiter_loop(struct rd_run *r, bus_t *bus)
{
	bus_queue_t *queue = NULL;
	bus_topic_t *topic = NULL;
	struct rd_command command;
	int ret;

	ret = rd_waiter_open(r, bus, &queue, &topic);
	while (ret == 0) {
		if (read(r->commands[0], &command, sizeof(command)) !=
			    sizeof(command) ||
		    command.kind != RD_GO)
			break;
		if (r->bench == RD_BENCH_FLOOR)
			ret = rd_wait_for_exit(r, command.victim);
		else if (topic)
			ret = rd_wait_for_room(r, bus, topic);
		else
			ret = rd_take_redelivery(r, bus, queue);
	}
	if (queue)
		bus_queue_close(queue);
	if (topic)
		bus_topic_close(topic);
	return ret;
}

static void rd_waiter_main(struct rd_run *r)
{
	bus_t *bus;
	int ret;

	close(r->reports[0]);
	close(r->commands[1]);
	if (r->o->cpu[1] >= 0 && bench_pin(r->o->cpu[1]) < 0)
		fprintf(stderr, "redelivery: cannot pin to CPU %d\n",
			r->o->cpu[1]);
	ret = bus_connect(r->bus_name, &bus);
	if (ret < 0) {
		rd_fail("waiter: connect", NULL, ret);
	} else {
		ret = rd_waiter_loop(r, bus);
		bus_disconnect(bus);
	}
	if (ret < 0)
		rd_report(r, RD_FAILED, ret, 0);
	_exit(ret < 0 ? 1 : 0);
}

/* ---- the driver ---------------------------------------------------------- */

/* The state letter of /proc/PID/stat ('S': asleep, 'R': running). */
static char rd_process_state(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	/* The command name may hold anything but ends at the last ')'. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

static void rd_sleep_ns(uint64_t ns)
{
	struct timespec t = { (time_t)(ns / 1000000000u),
			      (long)(ns % 1000000000u) };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/*
 * The waiter said it enters its wait.  A sleeping one must be asleep in
 * the futex before the kill (nothing else puts it to sleep after its
 * report); a busy one must be spinning in the call.
 */
static int rd_settle_waiter(const struct rd_run *r)
{
	uint64_t deadline = bench_now_ns() + RD_STEP_TIMEOUT_MS * 1000000ull;

	if (r->wait == BUS_WAIT_BUSY) {
		rd_sleep_ns(RD_BUSY_SETTLE_NS);
		return 0;
	}
	while (rd_process_state(r->waiter) != 'S') {
		if (bench_now_ns() > deadline) {
			fprintf(stderr,
				"redelivery: the waiter never slept\n");
			return -ETIMEDOUT;
		}
		rd_sleep_ns(50000);
	}
	return 0;
}

static int rd_command(const struct rd_run *r, int32_t kind)
{
	struct rd_command command = { kind, (int32_t)r->victim };

	return write(r->commands[1], &command, sizeof(command)) ==
			       sizeof(command)
		       ? 0
		       : -EPIPE;
}

/* Sends the message the next holder receives. */
static int rd_send(struct rd_run *r, bus_t *bus, bus_queue_t *queue)
{
	struct bus_message m;
	int ret = bus_loan(queue, &m, BUS_FOREVER);

	if (ret < 0)
		return rd_fail("loan", bus, ret);
	bench_payload_write(m.payload, r->size, ++r->seq);
	ret = bus_commit(queue, &m, r->size);
	return ret < 0 ? rd_fail("commit", bus, ret) : 0;
}

static int rd_spawn_victim(struct rd_run *r)
{
	/* test_fork: the victim dies with us, whatever happens. */
	r->victim = test_fork();
	if (r->victim < 0)
		return -EAGAIN;
	if (r->victim == 0)
		rd_victim_main(r);
	return 0;
}

static int rd_reap_victim(struct rd_run *r)
{
	int status,
		ret = test_child_wait(r->victim, RD_STEP_TIMEOUT_MS, &status);

	r->victim = 0;
	if (ret == 0 && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		ret = -ECHILD;
	return ret;
}

/* One round: a fresh victim takes its lease, is killed, the waiter wakes. */
static int rd_round(struct rd_run *r, bus_t *bus, bus_queue_t *producer,
		    bool measured)
{
	struct rd_report report;
	uint64_t t0;
	int ret = 0;

	/* Sent first: the victim's copy of r knows the message's seq. */
	if (r->bench == RD_BENCH_QUEUE)
		ret = rd_send(r, bus, producer);
	if (ret == 0)
		ret = rd_spawn_victim(r);
	if (ret == 0)
		ret = rd_expect(r, RD_HOLDING, &report);
	if (ret == 0)
		ret = rd_command(r, RD_GO);
	if (ret == 0)
		ret = rd_expect(r, RD_WAITING, &report);
	if (ret == 0)
		ret = rd_settle_waiter(r);
	if (ret)
		return ret;
	t0 = bench_now_ns();
	if (kill(r->victim, SIGKILL) < 0)
		return -errno;
	ret = rd_expect(r, RD_RECEIVED, &report);
	if (ret == 0 && measured)
		hist_record(&r->hist, report.time_ns - t0);
	if (ret == 0)
		ret = rd_reap_victim(r);
	return ret;
}

/* ---- setting up ----------------------------------------------------------- */

static int rd_create(struct rd_run *r, bus_t *bus)
{
	struct bus_queue_settings qs;
	struct bus_topic_settings ts;
	int ret;

	if (r->topic) {
		bus_topic_settings_default(&ts);
		ts.slots = r->o->slots;
		ts.max_message = r->size;
		ts.slow_subscriber = BUS_SLOW_SUBSCRIBER_BLOCK;
		ts.max_publishers = 1;
		ret = bus_topic_create(bus, r->name, &ts);
	} else {
		bus_queue_settings_default(&qs);
		qs.type = BUS_QUEUE_MPMC;
		qs.slots = r->o->slots;
		qs.max_message = r->size;
		ret = bus_queue_create(bus, r->name, &qs);
	}
	return ret < 0 ? rd_fail(r->name, bus, ret) : 0;
}

static int rd_start_waiter(struct rd_run *r)
{
	r->waiter = test_fork();
	if (r->waiter < 0)
		return -EAGAIN;
	if (r->waiter == 0)
		rd_waiter_main(r);
	return 0;
}

static int rd_stop_waiter(struct rd_run *r)
{
	int status, ret;

	rd_command(r, RD_QUIT);
	ret = test_child_wait(r->waiter, RD_STEP_TIMEOUT_MS, &status);
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ret = -ECHILD;
	return ret;
}

/* The rounds, between creating the queue or topic and deleting it. */
static int rd_rounds(struct rd_run *r, bus_t *bus)
{
	const struct bench_options *o = r->o;
	struct bus_queue_options qo = { .wait = BUS_WAIT_FUTEX };
	bus_queue_t *producer = NULL;
	uint64_t i;
	int ret = 0;

	if (r->bench == RD_BENCH_QUEUE) {
		ret = bus_queue_open(bus, r->name, BUS_PRODUCER, &qo,
				     &producer);
		if (ret < 0)
			return rd_fail("producer: open", bus, ret);
	}
	ret = rd_start_waiter(r);
	for (i = 0; ret == 0 && i < o->warmup + o->count; i++)
		ret = rd_round(r, bus, producer, i >= o->warmup);
	if (ret == 0)
		ret = rd_stop_waiter(r);
	/* After a failure: the waiter and a victim may still run. */
	test_children_kill();
	if (producer)
		bus_queue_close(producer);
	return ret;
}

static int rd_main(struct rd_run *r)
{
	bus_t *bus;
	int ret;

	/* Pinned after busd is started: busd stays free to move. */
	if (r->o->cpu[0] >= 0 && bench_pin(r->o->cpu[0]) < 0)
		fprintf(stderr, "redelivery: cannot pin to CPU %d\n",
			r->o->cpu[0]);
	ret = bus_connect(r->bus_name, &bus);
	if (ret < 0)
		return rd_fail("connect", NULL, ret);
	ret = rd_create(r, bus);
	if (ret == 0) {
		ret = rd_rounds(r, bus);
		if (r->topic)
			bus_topic_delete(bus, r->name);
		else
			bus_queue_delete(bus, r->name);
	}
	bus_disconnect(bus);
	return ret;
}

static void rd_print(const struct rd_run *r)
{
	struct bench_row row = {
		.bench = r->bench == RD_BENCH_TOPIC   ? "slot-release"
			 : r->bench == RD_BENCH_FLOOR ? "exit-floor"
						      : "redelivery",
		.transport = "bus",
		.mode = r->o->mode,
		.size = r->size,
		.subscribers = r->topic ? 1 : 0,
		.count = r->hist.count,
		.hist = &r->hist,
		.producers = 1,
		.consumers = r->bench == RD_BENCH_QUEUE ? 2 : 0,
		.batch = 1,
		.timestamps = -1,
		.queue = r->bench == RD_BENCH_QUEUE ? "mpmc" : NULL,
	};

	bench_row_print(&row, r->o);
}

/* ---- main ------------------------------------------------------------------ */

static const char usage[] =
	"Usage: redelivery [--bench queue|topic|floor] [options]\n"
	"Time from SIGKILL of a consumer holding a message to its redelivery\n"
	"to another consumer (queue), or of a block topic's slowest\n"
	"subscriber to the release of its waiting publisher (topic), or of\n"
	"a consumer to its pidfd polling readable (floor).  Starts its own\n"
	"busd.\n"
	"  -m, --mode M      how the other side waits: futex, spin-futex or\n"
	"                    busy (default busy)\n"
	"  -n, --count N     measured rounds (default 200); --warmup N\n"
	"                    unmeasured ones first (default 3)\n"
	"  -s, --size N      message bytes (default 64)\n"
	"      --slots N     ring slots of the queue or topic (default 1024)\n";

static int rd_wait_strategy(const char *mode, enum bus_wait_strategy *wait)
{
	if (strcmp(mode, "busy") == 0)
		*wait = BUS_WAIT_BUSY;
	else if (strcmp(mode, "spin-futex") == 0)
		*wait = BUS_WAIT_SPIN_FUTEX;
	else if (strcmp(mode, "futex") == 0)
		*wait = BUS_WAIT_FUTEX;
	else
		return -EINVAL;
	return 0;
}

/* bench.c's defaults suit message streams; a round here takes ms. */
static bool rd_warmup_given(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--warmup", 8) == 0)
			return true;
	return false;
}

static int rd_setup(struct rd_run *r, struct bench_options *o, bool warmup)
{
	memset(r, 0, sizeof(*r));
	if (!o->count_given)
		o->count = RD_DEFAULT_COUNT;
	if (!warmup)
		o->warmup = RD_DEFAULT_WARMUP;
	r->o = o;
	r->size = o->sizes[0];
	/* bench.c's default --bench is pingpong: ours is queue. */
	if (!strcmp(o->bench, "queue") || !strcmp(o->bench, "pingpong"))
		r->bench = RD_BENCH_QUEUE;
	else if (!strcmp(o->bench, "topic"))
		r->bench = RD_BENCH_TOPIC;
	else if (!strcmp(o->bench, "floor"))
		r->bench = RD_BENCH_FLOOR;
	else {
		fprintf(stderr, "--bench must be queue, topic or floor\n");
		return -EINVAL;
	}
	r->topic = r->bench == RD_BENCH_TOPIC;
	if (rd_wait_strategy(o->mode, &r->wait) < 0) {
		fprintf(stderr, "--mode must be busy, spin-futex or futex\n");
		return -EINVAL;
	}
	if (o->bus_name) {
		fprintf(stderr, "redelivery starts its own busd: no -b\n");
		return -EINVAL;
	}
	hist_reset(&r->hist);
	snprintf(r->name, sizeof(r->name), "redelivery-%d", (int)getpid());
	if (pipe2(r->reports, O_CLOEXEC) < 0 ||
	    pipe2(r->commands, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int rd_with_busd(struct rd_run *r)
{
	struct test_busd busd;
	int ret, stop;

	ret = test_busd_prepare(&busd);
	if (ret < 0) {
		fprintf(stderr, "redelivery: runtime directory: %s\n",
			strerror(-ret));
		return ret;
	}
	snprintf(busd.bus_name, sizeof(busd.bus_name), "perf-redelivery-%d",
		 (int)getpid());
	r->bus_name = busd.bus_name;
	/* Its info line per dropped client would only add noise. */
	ret = test_busd_start(&busd, "[bus]\nlog_level = warning\n");
	if (ret == 0)
		ret = rd_main(r);
	stop = test_busd_stop(&busd);
	test_busd_cleanup(&busd);
	return ret ? ret : stop;
}

int main(int argc, char **argv)
{
	bool warmup = rd_warmup_given(argc, argv);
	struct bench_options o;
	struct rd_run r;
	int ret;

	bench_parse_options(argc, argv, &o, usage);
	if (rd_setup(&r, &o, warmup) < 0)
		return 2;
	/* A child that dies leaves us a pipe without reader, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	ret = rd_with_busd(&r);
	if (ret < 0) {
		fprintf(stderr, "redelivery: %s\n", strerror(-ret));
		return 1;
	}
	rd_print(&r);
	return 0;
}
