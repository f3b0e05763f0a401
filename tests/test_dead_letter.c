/* SPDX-License-Identifier: MIT */
/*
 * Dead letters and ack timeouts through a real busd: messages that reach
 * max_deliveries by nacks or by their consumer's death move to the
 * dead-letter queue with their reason and history; a full dead-letter
 * queue leaves them where they are, counted; a consumer that holds a
 * message past ack_timeout_ms loses it to another, and its late ack fails
 * cleanly; bad dead_letter keys are refused with file and line.
 *
 * test_dead_letter [CASE]   runs every case, or those matching CASE (a
 * cmocka glob); exits 77 when there is no busd.  Time bounds are generous
 * (seconds); nothing here is timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "local_queue.h"
#include "queue_cell.h"
#include "queue_dead_letter.h"
#include "queue_ring.h"
#include "test_common.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

static const char config[] = "[queue work]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "max_deliveries = 3\n"
			     "dead_letter = dead\n"
			     "\n"
			     "[queue dead]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue once]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "max_deliveries = 1\n"
			     "dead_letter = small\n"
			     "\n"
			     "[queue small]\n"
			     "slots = 2\n"
			     "max_message = 64\n"
			     "overflow = reject\n"
			     "\n"
			     "[queue slow]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "ack_timeout_ms = 200\n"
			     "\n"
			     "[queue slow-spsc]\n"
			     "type = spsc\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "ack_timeout_ms = 200\n"
			     "\n"
			     "[queue slow-dead]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "ack_timeout_ms = 200\n"
			     "max_deliveries = 1\n"
			     "dead_letter = dead\n";

static int dl_setup(void **state)
{
	return test_bus_setup(state, config);
}

static bus_queue_t *open_queue(bus_t *bus, const char *name,
			       enum bus_role role)
{
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	bus_queue_t *queue = NULL;

	assert_ret(bus_queue_open(bus, name, role, &options, &queue), 0);
	return queue;
}

static struct bus_queue_stats stats_of(bus_t *bus, const char *name)
{
	bus_queue_t *observer = open_queue(bus, name, BUS_OBSERVER);
	struct bus_queue_stats stats;

	assert_ret(bus_queue_stats(observer, &stats), 0);
	assert_ret(bus_queue_close(observer), 0);
	return stats;
}

static void send_text(bus_queue_t *producer, const char *text)
{
	assert_ret(bus_send(producer, text, strlen(text), BUS_NOWAIT), 0);
}

static void assert_payload(const struct bus_message *m, const char *text)
{
	assert_int_equal(m->length, strlen(text));
	assert_memory_equal(m->payload, text, m->length);
}

/* Receives from the dead-letter queue, waiting for busd to move it. */
static void receive_dead(bus_queue_t *dead, struct bus_message *m)
{
	assert_ret(bus_receive(dead, m, 5 * SECOND), 0);
}

/* ---- max_deliveries ---------------------------------------------------- */

static void test_dead_letter_nacks_reach_max_deliveries(void **state)
{
	struct test_bus *dl = *state;
	bus_queue_t *producer = open_queue(dl->bus, "work", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(dl->bus, "work", BUS_CONSUMER);
	bus_queue_t *dead = open_queue(dl->bus, "dead", BUS_CONSUMER);
	struct bus_message_header first;
	struct bus_message m;
	struct bus_queue_stats stats;

	send_text(producer, "poison");
	for (uint32_t delivery = 1; delivery <= 3; delivery++) {
		assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
		assert_payload(&m, "poison");
		assert_int_equal(m.header->delivery_count, delivery);
		if (delivery == 1)
			first = *m.header;
		assert_ret(bus_nack(consumer, &m), 0);
	}
	/* Never delivered to the queue's consumers again. */
	send_text(producer, "next");
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "next");
	assert_ret(bus_ack(consumer, &m), 0);
	assert_ret(bus_receive(consumer, &m, 300 * MS), -ETIMEDOUT);

	receive_dead(dead, &m);
	assert_payload(&m, "poison");
	assert_int_equal(m.header->delivery_count, 3);
	assert_int_equal(m.header->dead_letter_reason, BUS_DEAD_LETTER_NACKED);
	assert_int_equal(m.header->producer_id, first.producer_id);
	assert_int_equal(m.header->sequence, first.sequence);
	assert_int_equal(m.header->publish_time_ns, first.publish_time_ns);
	assert_true(m.header->flags & BUS_MESSAGE_REDELIVERED);
	assert_ret(bus_ack(dead, &m), 0);

	stats = stats_of(dl->bus, "work");
	assert_int_equal(stats.dead_lettered, 1);
	assert_int_equal(stats.dead_waiting, 0);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.leased, 0);
	stats = stats_of(dl->bus, "dead");
	assert_int_equal(stats.enqueued, 1);
	assert_int_equal(stats.acked, 1);
	bus_queue_close(dead);
	bus_queue_close(consumer);
	bus_queue_close(producer);
}

/* A consumer that receives count messages, says so, and waits to die. */
static void holder_child(const char *bus_name, const char *queue_name,
			 int count, int ready_fd)
{
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	struct bus_message m;
	bus_queue_t *queue;
	bus_t *bus;

	if (bus_connect(bus_name, &bus) ||
	    bus_queue_open(bus, queue_name, BUS_CONSUMER, &options, &queue))
		_exit(2);
	for (int i = 0; i < count; i++) {
		if (bus_receive(queue, &m, 10 * SECOND))
			_exit(3);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static void wait_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&p, 1, 20 * 1000) != 1 || read(fd, &byte, 1) != 1)
		fail_msg("the child did not report ready within 20 s");
}

static pid_t start_holder(struct test_bus *dl, const char *queue_name,
			  int count)
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		holder_child(dl->busd.bus_name, queue_name, count, fds[1]);
	close(fds[1]);
	wait_ready(fds[0]);
	close(fds[0]);
	return pid;
}

static void kill_child(pid_t pid)
{
	int status;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
}

static void test_dead_letter_killed_consumer_reaches_max(void **state)
{
	struct test_bus *dl = *state;
	bus_queue_t *producer = open_queue(dl->bus, "once", BUS_PRODUCER);
	bus_queue_t *dead = open_queue(dl->bus, "small", BUS_CONSUMER);
	bus_queue_t *consumer;
	struct bus_message m;
	pid_t pid;

	send_text(producer, "held");
	pid = start_holder(dl, "once", 1);
	kill_child(pid);

	receive_dead(dead, &m);
	assert_payload(&m, "held");
	assert_int_equal(m.header->delivery_count, 1);
	assert_int_equal(m.header->dead_letter_reason,
			 BUS_DEAD_LETTER_CONSUMER_DIED);
	assert_ret(bus_ack(dead, &m), 0);
	consumer = open_queue(dl->bus, "once", BUS_CONSUMER);
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), -EAGAIN);
	assert_int_equal(stats_of(dl->bus, "once").dead_lettered, 1);
	bus_queue_close(consumer);
	bus_queue_close(dead);
	bus_queue_close(producer);
}

/* Polls the figures until pred holds or 5 s pass. */
static struct bus_queue_stats wait_stats(bus_t *bus, const char *name,
					 uint64_t dead_waiting,
					 uint64_t dead_lettered)
{
	uint64_t deadline = test_now_ns() + 5 * SECOND;
	struct bus_queue_stats stats;

	do {
		stats = stats_of(bus, name);
		if (stats.dead_waiting == dead_waiting &&
		    stats.dead_lettered == dead_lettered)
			return stats;
		usleep(10 * 1000);
	} while (test_now_ns() < deadline);
	fail_msg("'%s': dead_waiting %llu, dead_lettered %llu after 5 s; "
		 "expected %llu, %llu",
		 name, (unsigned long long)stats.dead_waiting,
		 (unsigned long long)stats.dead_lettered,
		 (unsigned long long)dead_waiting,
		 (unsigned long long)dead_lettered);
	return stats;
}

static void test_dead_letter_full_queue_keeps_message(void **state)
{
	struct test_bus *dl = *state;
	bus_queue_t *producer = open_queue(dl->bus, "once", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(dl->bus, "once", BUS_CONSUMER);
	bus_queue_t *filler = open_queue(dl->bus, "small", BUS_PRODUCER);
	bus_queue_t *dead = open_queue(dl->bus, "small", BUS_CONSUMER);
	struct bus_message m;

	send_text(filler, "a");
	send_text(filler, "b");
	send_text(producer, "stuck");
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_nack(consumer, &m), 0);

	/* It stays in 'once', counted, out of its consumers' reach. */
	wait_stats(dl->bus, "once", 1, 0);
	usleep(100 * 1000);
	wait_stats(dl->bus, "once", 1, 0);
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), -EAGAIN);
	assert_int_equal(stats_of(dl->bus, "small").depth, 2);

	/* Room in the dead-letter queue: busd moves it on its own. */
	assert_ret(bus_receive(dead, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "a");
	assert_ret(bus_ack(dead, &m), 0);
	wait_stats(dl->bus, "once", 0, 1);
	assert_ret(bus_receive(dead, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "b");
	assert_ret(bus_ack(dead, &m), 0);
	assert_ret(bus_receive(dead, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "stuck");
	assert_int_equal(m.header->dead_letter_reason, BUS_DEAD_LETTER_NACKED);
	assert_ret(bus_ack(dead, &m), 0);
	bus_queue_close(dead);
	bus_queue_close(filler);
	bus_queue_close(consumer);
	bus_queue_close(producer);
}

/* ---- ack_timeout_ms ---------------------------------------------------- */

/*
 * Receives one message, reports, sleeps past the timeout, then acks:
 * exit 0 when the ack says -ESTALE, 10 + something else otherwise.
 */
static void sleeper_child(const char *bus_name, int ready_fd)
{
	struct bus_queue_options options = { .wait = BUS_WAIT_FUTEX };
	struct bus_message m;
	bus_queue_t *queue;
	bus_t *bus;
	int ret;

	if (bus_connect(bus_name, &bus) ||
	    bus_queue_open(bus, "slow", BUS_CONSUMER, &options, &queue))
		_exit(2);
	if (bus_receive(queue, &m, 10 * SECOND))
		_exit(3);
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	usleep(1500 * 1000);
	ret = bus_ack(queue, &m);
	if (ret != -ESTALE)
		_exit(10 + (ret < 0 ? -ret : ret) % 100);
	/* A nack of it fails the same way once it is forgotten: -EINVAL. */
	_exit(bus_nack(queue, &m) == -EINVAL ? 0 : 5);
}

static void test_dead_letter_ack_timeout_gives_message_away(void **state)
{
	struct test_bus *dl = *state;
	bus_queue_t *producer = open_queue(dl->bus, "slow", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(dl->bus, "slow", BUS_CONSUMER);
	struct bus_message m;
	int fds[2], status;
	pid_t pid;

	send_text(producer, "slowly");
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		sleeper_child(dl->busd.bus_name, fds[1]);
	close(fds[1]);
	wait_ready(fds[0]);
	close(fds[0]);

	/* The sleeper is alive and holds it; after 200 ms it is ours. */
	assert_ret(bus_receive(consumer, &m, 5 * SECOND), 0);
	assert_payload(&m, "slowly");
	assert_int_equal(m.header->delivery_count, 2);
	assert_true(m.header->flags & BUS_MESSAGE_REDELIVERED);
	assert_ret(bus_ack(consumer, &m), 0);

	assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("the sleeper's late ack: exit %d (0: -ESTALE)",
			 WEXITSTATUS(status));
	struct bus_queue_stats stats = stats_of(dl->bus, "slow");
	assert_int_equal(stats.timed_out, 1);
	assert_int_equal(stats.acked, 1);
	assert_int_equal(stats.depth, 0);
	assert_int_equal(stats.leased, 0);
	bus_queue_close(consumer);
	bus_queue_close(producer);
}

/*
 * The same consumer gets the message again after the timeout: the ack of
 * the new delivery works once, the other view of it then says -ESTALE.
 * On an spsc queue (whose consumer then writes its cells, unlike without
 * ack_timeout_ms) and an mpmc one.
 */
static void same_consumer_takes_it_again(struct test_bus *dl, const char *name)
{
	bus_queue_t *producer = open_queue(dl->bus, name, BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(dl->bus, name, BUS_CONSUMER);
	struct bus_message old, again;

	send_text(producer, "again");
	assert_ret(bus_receive(consumer, &old, BUS_NOWAIT), 0);
	assert_ret(bus_receive(consumer, &again, 5 * SECOND), 0);
	assert_payload(&again, "again");
	assert_int_equal(again.header->delivery_count, 2);
	assert_ret(bus_ack(consumer, &again), 0);
	assert_ret(bus_ack(consumer, &old), -ESTALE);
	assert_ret(bus_receive(consumer, &again, 500 * MS), -ETIMEDOUT);
	assert_int_equal(stats_of(dl->bus, name).acked, 1);
	bus_queue_close(consumer);
	bus_queue_close(producer);
}

static void test_dead_letter_ack_timeout_same_consumer(void **state)
{
	struct test_bus *dl = *state;

	same_consumer_takes_it_again(dl, "slow");
	same_consumer_takes_it_again(dl, "slow-spsc");
}

static void test_dead_letter_ack_timeout_feeds_max_deliveries(void **state)
{
	struct test_bus *dl = *state;
	bus_queue_t *producer = open_queue(dl->bus, "slow-dead", BUS_PRODUCER);
	bus_queue_t *consumer = open_queue(dl->bus, "slow-dead", BUS_CONSUMER);
	bus_queue_t *dead = open_queue(dl->bus, "dead", BUS_CONSUMER);
	struct bus_message m, held;

	send_text(producer, "too slow");
	assert_ret(bus_receive(consumer, &held, BUS_NOWAIT), 0);
	receive_dead(dead, &m);
	assert_payload(&m, "too slow");
	assert_int_equal(m.header->delivery_count, 1);
	assert_int_equal(m.header->dead_letter_reason,
			 BUS_DEAD_LETTER_ACK_TIMEOUT);
	assert_ret(bus_ack(dead, &m), 0);
	assert_ret(bus_nack(consumer, &held), -ESTALE);
	assert_ret(bus_receive(consumer, &m, 300 * MS), -ETIMEDOUT);
	bus_queue_close(dead);
	bus_queue_close(consumer);
	bus_queue_close(producer);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_dead_letter_create_checks_target(void **state)
{
	struct test_bus *dl = *state;
	struct bus_queue_settings s;

	bus_queue_settings_default(&s);
	s.max_deliveries = 2;
	snprintf(s.dead_letter, sizeof(s.dead_letter), "nowhere");
	assert_ret(bus_queue_create(dl->bus, "late", &s), -ENOENT);
	assert_non_null(strstr(bus_error_detail(dl->bus),
			       "dead-letter queue 'nowhere' does not exist"));
	snprintf(s.dead_letter, sizeof(s.dead_letter), "late");
	assert_ret(bus_queue_create(dl->bus, "late", &s), -EINVAL);
	assert_non_null(strstr(bus_error_detail(dl->bus), "its own"));
	s.dead_letter[0] = '\0';
	assert_ret(bus_queue_create(dl->bus, "late", &s), -EINVAL);
	assert_non_null(strstr(bus_error_detail(dl->bus), "dead_letter"));
	snprintf(s.dead_letter, sizeof(s.dead_letter), "dead");
	/* 'dead' takes 64 bytes, the default max_message is 256. */
	assert_ret(bus_queue_create(dl->bus, "late", &s), -EINVAL);
	assert_non_null(strstr(bus_error_detail(dl->bus), "must take"));
	s.max_message = 64;
	s.ack_timeout_ms = 1000;
	assert_ret(bus_queue_create(dl->bus, "late", &s), 0);
	assert_ret(bus_queue_delete(dl->bus, "late"), 0);
}

/* Runs busd -c on a config; returns its exit status, stderr in out. */
static int run_busd_config(const char *text, char *out, size_t size,
			   char *path, size_t path_size)
{
	struct test_busd busd = { 0 };
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	FILE *file;
	pid_t pid;

	assert_ret(test_busd_prepare(&busd), 0);
	if (snprintf(path, path_size, "%s/bad.conf", busd.runtime_dir) >=
	    (int)path_size)
		fail_msg("runtime directory name too long");
	file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		execl(test_busd_path(), "busd", "-f", "-d", "-b",
		      busd.bus_name, "-c", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < size &&
	       (n = read(fds[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	assert_ret(test_child_wait(pid, 10 * 1000, &status), 0);
	test_busd_cleanup(&busd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_config_error(const char *text, int line, const char *what)
{
	char out[4096], path[PATH_MAX], where[PATH_MAX + 16];

	assert_int_not_equal(run_busd_config(text, out, sizeof(out), path,
					     sizeof(path)),
			     0);
	snprintf(where, sizeof(where), "%s:%d:", path, line);
	if (!strstr(out, where) || !strstr(out, what))
		fail_msg("expected '%s' and '%s' in busd's stderr:\n%s", where,
			 what, out);
}

static void test_dead_letter_config_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_config_error("[queue a]\n"
			    "max_deliveries = 2\n"
			    "dead_letter = nowhere\n",
			    3, "dead-letter queue 'nowhere' does not exist");
	expect_config_error("[queue b]\n"
			    "\n"
			    "dead_letter = b\n"
			    "max_deliveries = 2\n",
			    3, "its own dead-letter queue");
	expect_config_error("[queue c]\n"
			    "max_deliveries = 2\n",
			    1, "max_deliveries needs dead_letter");
	expect_config_error("[queue d]\n"
			    "dead_letter = e\n"
			    "[queue e]\n"
			    "type = spsc\n",
			    2, "must be mpmc");
	/* A durable queue's dead letters would not survive a reboot in a
	 * queue that is not durable (review h21b item 5). */
	expect_config_error("[queue f]\n"
			    "durable = yes\n"
			    "dead_letter = g\n"
			    "[queue g]\n",
			    3, "dead-letter queue 'g' must be durable too");
}

/* ---- busd killed in the middle (no busd: local segments) --------------- */

struct pair {
	struct local_queue source, target;
	bus_queue_t *producer, *consumer, *dead;
};

static void pair_create_typed(struct pair *p, enum bus_queue_type type)
{
	struct bus_queue_settings s;

	local_queue_settings(&s, BUS_QUEUE_MPMC, 8, 64, BUS_OVERFLOW_BLOCK, 4);
	assert_ret(local_queue_create(&p->target, &s), 0);
	local_queue_settings(&s, type, 8, 64, BUS_OVERFLOW_BLOCK, 4);
	s.max_deliveries = 1;
	snprintf(s.dead_letter, sizeof(s.dead_letter), "target");
	assert_ret(local_queue_create(&p->source, &s), 0);
	assert_ret(local_queue_attach(&p->source, BUS_PRODUCER, 0, NULL,
				      &p->producer),
		   0);
	assert_ret(local_queue_attach(&p->source, BUS_CONSUMER, 0, NULL,
				      &p->consumer),
		   0);
	assert_ret(local_queue_attach(&p->target, BUS_CONSUMER, 0, NULL,
				      &p->dead),
		   0);
}

static void pair_create(struct pair *p)
{
	pair_create_typed(p, BUS_QUEUE_MPMC);
}

static void pair_destroy(struct pair *p)
{
	local_queue_forget(p->producer);
	local_queue_forget(p->consumer);
	local_queue_forget(p->dead);
	local_queue_destroy(&p->source);
	local_queue_destroy(&p->target);
}

/* One message sent, received and nacked: its cell is DEAD.  Its index. */
static uint32_t bury_one(struct pair *p, const char *text)
{
	const struct bus__queue_geometry *g = &p->source.geometry;
	struct bus_message m;

	send_text(p->producer, text);
	assert_ret(bus_receive(p->consumer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_nack(p->consumer, &m), 0);
	for (uint32_t i = 0; i < g->slots; i++) {
		uint64_t cell = atomic_load(&bus__queue_cell(g, i)->state);

		if (bus__cell_kind(cell) == BUS__CELL_DEAD)
			return i;
	}
	fail_msg("no DEAD cell after the nack");
	return 0;
}

/*
 * What busd does up to its death: claims a target cell, writes the move
 * record and, if commit, copies and commits; never frees the source.
 */
static void move_until_killed(struct pair *p, uint32_t index, bool commit)
{
	const struct bus__queue_geometry *s = &p->source.geometry;
	struct bus_cell *from = bus__queue_cell(s, index);
	struct bus_queue busd = { 0 };
	struct bus_cell *to;
	struct bus__record src, dst;
	uint64_t d;
	int dropped = 0;

	busd.geometry = p->target.geometry;
	busd.role = BUS_PRODUCER;
	busd.owner = BUS__OWNER_BUSD;
	assert_ret(bus__ring_claim_mpmc(&busd, &d, &dropped), 0);
	atomic_store(&s->control->move_sequence, from->header.sequence);
	atomic_store(&s->control->move_target, d);
	atomic_store(&s->control->move_cell, (uint64_t)index + 1);
	if (!commit)
		return;
	to = bus__queue_cell(&busd.geometry, d);
	to->header = from->header;
	to->header.record_offset = 0;
	/* Where the bytes lie, in a packed source and the fixed target. */
	assert_ret(bus__message_locate(&s->area, from,
				       from->header.record_offset,
				       from->header.payload_length,
				       from->header.extension_length, &src),
		   0);
	assert_ret(bus__message_locate(&busd.geometry.area, to, 0,
				       from->header.payload_length,
				       from->header.extension_length, &dst),
		   0);
	memcpy(dst.payload, src.payload, from->header.payload_length);
	bus__ring_publish(&busd, d);
}

/* What the next busd does first. */
static void recover(struct pair *p)
{
	busd_dead_letter_recover_move(&p->source.geometry,
				      &p->target.geometry);
	busd_dead_letter_recover_move(&p->target.geometry, NULL);
	busd_dead_letter_recover_cells(&p->source.geometry);
	busd_dead_letter_recover_cells(&p->target.geometry);
	assert_int_equal(atomic_load(&p->source.geometry.control->move_cell),
			 0);
}

/* The message is in the target exactly once, and nowhere else. */
static void assert_moved_once(struct pair *p, const char *text)
{
	struct busd_dead_letter_pass pass;
	struct bus_queue_stats stats;
	struct bus_message m;

	busd_dead_letter_move(&p->source.geometry, &p->target.geometry, &pass);
	assert_ret(bus_receive(p->dead, &m, BUS_NOWAIT), 0);
	assert_payload(&m, text);
	assert_int_equal(m.header->dead_letter_reason, BUS_DEAD_LETTER_NACKED);
	assert_ret(bus_ack(p->dead, &m), 0);
	assert_ret(bus_receive(p->dead, &m, BUS_NOWAIT), -EAGAIN);
	assert_ret(bus_receive(p->consumer, &m, BUS_NOWAIT), -EAGAIN);
	assert_ret(bus_queue_stats(p->consumer, &stats), 0);
	assert_int_equal(stats.dead_waiting, 0);
	assert_int_equal(stats.dead_lettered, 1);
	assert_int_equal(stats.depth + stats.leased, 0);
	/* Both rings still work. */
	send_text(p->producer, "after");
	assert_ret(bus_receive(p->consumer, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "after");
	assert_ret(bus_ack(p->consumer, &m), 0);
}

static void test_dead_letter_busd_killed_before_commit(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	move_until_killed(&p, bury_one(&p, "undone"), false);
	recover(&p);
	assert_moved_once(&p, "undone");
	pair_destroy(&p);
}

static void test_dead_letter_busd_killed_after_commit(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	move_until_killed(&p, bury_one(&p, "finished"), true);
	recover(&p);
	assert_moved_once(&p, "finished");
	pair_destroy(&p);
}

/*
 * An spsc consumer leaves taken messages READY in the ring; a nack past
 * max_deliveries makes the cell DEAD there, the producer passes it, and
 * the move finds it.  The ring keeps going around it.
 */
static void test_dead_letter_spsc_nack_is_moved(void **state)
{
	struct bus_message m;
	struct pair p;

	(void)state;
	pair_create_typed(&p, BUS_QUEUE_SPSC);
	bury_one(&p, "spsc");
	for (int lap = 0; lap < 3; lap++) {
		for (int i = 0; i < 7; i++)
			send_text(p.producer, "x");
		for (int i = 0; i < 7; i++) {
			assert_ret(bus_receive(p.consumer, &m, BUS_NOWAIT), 0);
			assert_payload(&m, "x");
			assert_ret(bus_ack(p.consumer, &m), 0);
		}
	}
	assert_moved_once(&p, "spsc");
	pair_destroy(&p);
}

/* busd died between the two steps of an ack-timeout take-back. */
static void test_dead_letter_busd_killed_in_take_back(void **state)
{
	struct local_queue q;
	struct bus_queue_settings s;
	bus_queue_t *producer, *consumer;
	struct bus_message m;
	struct bus_cell *cell;
	uint64_t state_word;

	(void)state;
	local_queue_settings(&s, BUS_QUEUE_MPMC, 8, 64, BUS_OVERFLOW_BLOCK, 4);
	s.ack_timeout_ms = 1000;
	assert_ret(local_queue_create(&q, &s), 0);
	assert_ret(local_queue_attach(&q, BUS_PRODUCER, 0, NULL, &producer),
		   0);
	assert_ret(local_queue_attach(&q, BUS_CONSUMER, 0, NULL, &consumer),
		   0);
	send_text(producer, "taken");
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
	cell = bus__queue_cell(&q.geometry, m.token);
	state_word = atomic_load(&cell->state);
	atomic_store(&cell->state,
		     bus__cell_state(bus__cell_position(state_word),
				     BUS__OWNER_BUSD, BUS__CELL_HELD));
	assert_int_equal(busd_dead_letter_recover_cells(&q.geometry), 1);
	assert_ret(bus_ack(consumer, &m), -ESTALE);
	assert_ret(bus_receive(consumer, &m, BUS_NOWAIT), 0);
	assert_payload(&m, "taken");
	assert_int_equal(m.header->delivery_count, 2);
	assert_ret(bus_ack(consumer, &m), 0);
	local_queue_forget(producer);
	local_queue_forget(consumer);
	local_queue_destroy(&q);
}

#define DL_TEST(name) \
	cmocka_unit_test_setup_teardown(name, dl_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		DL_TEST(test_dead_letter_nacks_reach_max_deliveries),
		DL_TEST(test_dead_letter_killed_consumer_reaches_max),
		DL_TEST(test_dead_letter_full_queue_keeps_message),
		DL_TEST(test_dead_letter_ack_timeout_gives_message_away),
		DL_TEST(test_dead_letter_ack_timeout_same_consumer),
		DL_TEST(test_dead_letter_ack_timeout_feeds_max_deliveries),
		DL_TEST(test_dead_letter_create_checks_target),
		cmocka_unit_test(
			test_dead_letter_config_errors_name_file_and_line),
		cmocka_unit_test(test_dead_letter_busd_killed_before_commit),
		cmocka_unit_test(test_dead_letter_busd_killed_after_commit),
		cmocka_unit_test(test_dead_letter_busd_killed_in_take_back),
		cmocka_unit_test(test_dead_letter_spsc_nack_is_moved),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("dead_letter", tests, NULL, NULL)
		       ? 1
		       : 0;
}
