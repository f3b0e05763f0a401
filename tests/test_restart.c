/* SPDX-License-Identifier: MIT */
/*
 * busd killed and restarted, and busd stopped cleanly: clients go on while
 * it is down, a new busd adopts the segments and the leases of clients
 * still alive, and no message is lost (busd/adopt.h).  Real processes,
 * real segments; tests/bus_test_util.c starts a private busd.
 *
 * test_restart [CASE]   runs every case, or those matching CASE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus/layout.h"
#include "bus_test_util.h"
#include "test_common.h"

#define MS (1000 * 1000)
#define SECOND (1000 * MS)
#define FIRST 10u	 /* sent before busd is killed */
#define SECOND_BATCH 10u /* sent while it is down */
#define HELD 3u		 /* received by the child and never acked */
#define TOTAL (FIRST + SECOND_BATCH)

static const char config[] = "[queue jobs]\n"
			     "slots = 64\n"
			     "max_message = 64\n"
			     "\n"
			     "[queue empty]\n"
			     "slots = 16\n"
			     "max_message = 64\n";

struct rt {
	struct test_busd busd;
};

static int rt_setup(void **state)
{
	struct rt *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -1;
	*state = rt;
	if (test_busd_prepare(&rt->busd) ||
	    test_busd_start(&rt->busd, config)) {
		test_busd_cleanup(&rt->busd);
		free(rt);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int rt_teardown(void **state)
{
	struct rt *rt = *state;
	int ret;

	test_children_kill();
	ret = test_busd_stop(&rt->busd);
	test_busd_cleanup(&rt->busd);
	free(rt);
	return ret ? -1 : 0;
}

/* SIGKILL, as a crash would; the lock file stays, the lock goes. */
static void kill_busd(struct rt *rt)
{
	int status;

	assert_int_equal(kill(rt->busd.pid, SIGKILL), 0);
	assert_int_equal(waitpid(rt->busd.pid, &status, 0), rt->busd.pid);
	rt->busd.pid = 0;
}

static void send_numbers(bus_queue_t *q, uint64_t from, uint64_t count)
{
	for (uint64_t n = from; n < from + count; n++)
		assert_ret(bus_send(q, &n, sizeof(n), SECOND), 0);
}

__attribute__((noreturn)) static void child_fail(const char *what, int ret)
{
	fprintf(stderr, "child %d: %s: %s\n", (int)getpid(), what,
		bus_strerror(ret));
	_exit(1);
}

/*
 * Receives HELD messages without acking them, says so on ready_fd, then
 * sleeps until it is killed: its leases must survive busd's restart and be
 * redelivered by the new busd when it dies.
 */
static void holder_child(const char *bus_name, int ready_fd)
{
	struct bus_message m;
	bus_queue_t *q;
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret)
		child_fail("bus_connect", ret);
	ret = bus_queue_open(bus, "jobs", BUS_CONSUMER, NULL, &q);
	if (ret)
		child_fail("bus_queue_open", ret);
	for (unsigned int i = 0; i < HELD; i++) {
		ret = bus_receive(q, &m, 10ll * SECOND);
		if (ret)
			child_fail("bus_receive", ret);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static pid_t spawn_holder(struct rt *rt)
{
	int ready[2];
	char byte;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		holder_child(rt->busd.bus_name, ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	return pid;
}

/* Receives and acks until the queue stays empty; marks what it saw. */
static unsigned int drain(bus_queue_t *q, unsigned int *seen,
			  unsigned int *redelivered)
{
	unsigned int got = 0;
	struct bus_message m;

	while (bus_receive(q, &m, 200ll * MS) == 0) {
		uint64_t n;

		assert_int_equal(m.length, sizeof(n));
		memcpy(&n, m.payload, sizeof(n));
		assert_true(n < TOTAL);
		seen[n]++;
		if (m.header->delivery_count > 1)
			(*redelivered)++;
		assert_ret(bus_ack(q, &m), 0);
		got++;
	}
	return got;
}

/* The queue says which process holds how many leases (busctl stat). */
static void assert_holder(bus_queue_t *q, pid_t pid, uint64_t leased)
{
	struct bus_attachment_stats a[4];
	int count = bus_queue_attachments(q, a, 4);
	bool found = false;

	assert_true(count >= 1 && count <= 4);
	for (int i = 0; i < count; i++) {
		if (a[i].pid != pid)
			continue;
		assert_int_equal(a[i].role, BUS_CONSUMER);
		assert_int_equal(a[i].leased, leased);
		assert_int_equal(a[i].dequeued, HELD);
		found = true;
	}
	assert_true(found);
}

/* ---- busd killed with -9 ---------------------------------------------- */

static void test_busd_killed_and_restarted_loses_nothing(void **state)
{
	struct rt *rt = *state;
	unsigned int seen[TOTAL] = { 0 }, redelivered = 0;
	struct bus_queue_stats stats;
	bus_queue_t *producer, *consumer;
	int status;
	bus_t *bus;
	pid_t holder;

	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_PRODUCER, NULL, &producer),
		   0);
	send_numbers(producer, 0, FIRST);
	holder = spawn_holder(rt);

	/* While busd is down, the data path goes on. */
	kill_busd(rt);
	send_numbers(producer, FIRST, SECOND_BATCH);

	/* The new busd adopts the queue, our producer slot and the
	 * holder's leases: both processes are still alive. */
	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_ret(bus_queue_stats(producer, &stats), 0);
	assert_int_equal(stats.depth, TOTAL - HELD);
	assert_int_equal(stats.leased, HELD);
	assert_int_equal(stats.producers, 1);
	assert_int_equal(stats.consumers, 1);
	assert_holder(producer, holder, HELD);

	/* Our connection died with the old busd: the next request connects
	 * again and keeps our id, so our slot stays ours. */
	assert_ret(bus_queue_open(bus, "jobs", BUS_CONSUMER, NULL, &consumer),
		   0);
	assert_ret(bus_queue_close(producer), 0);
	assert_int_equal(drain(consumer, seen, &redelivered), TOTAL - HELD);
	assert_int_equal(redelivered, 0);

	/* The new busd watches the holder it never saw connect: its death
	 * gives its leases back. */
	assert_int_equal(kill(holder, SIGKILL), 0);
	assert_int_equal(test_child_wait(holder, 20000, &status), 0);
	assert_int_equal(drain(consumer, seen, &redelivered), HELD);
	assert_int_equal(redelivered, HELD);
	for (unsigned int n = 0; n < TOTAL; n++)
		assert_int_equal(seen[n], 1);

	assert_ret(bus_queue_close(consumer), 0);
	bus_disconnect(bus);
}

/* ---- a clean stop ------------------------------------------------------ */

static int shm_exists(const char *bus_name, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/shm/shmbus.%s:%s", bus_name, name);
	return access(path, F_OK) == 0;
}

static void test_clean_stop_keeps_queues_with_messages(void **state)
{
	struct rt *rt = *state;
	unsigned int seen[TOTAL] = { 0 }, redelivered = 0;
	struct bus_access access = { .given = BUS_ACCESS_MODE, .mode = 0640 };
	struct bus_queue_settings settings;
	bus_queue_t *q;
	int status;
	bus_t *bus;

	/* Restart the private busd without -d. */
	assert_ret(test_busd_stop(&rt->busd), 0);
	rt->busd.keep_on_stop = true;
	assert_ret(test_busd_start(&rt->busd, config), 0);

	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	/* Made at run time: its mode must survive in busd's access file. */
	bus_queue_settings_default(&settings);
	settings.slots = 64;
	settings.max_message = 64;
	assert_ret(bus_queue_create_with_access(bus, "later", &settings,
						&access),
		   0);
	assert_ret(bus_queue_open(bus, "later", BUS_PRODUCER, NULL, &q), 0);
	send_numbers(q, 0, 2);
	assert_ret(bus_queue_close(q), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_PRODUCER, NULL, &q), 0);
	send_numbers(q, 0, FIRST);
	assert_ret(bus_queue_close(q), 0);
	bus_disconnect(bus);

	rt->busd.keep_on_stop = false;
	kill(rt->busd.pid, SIGTERM);
	assert_int_equal(test_child_wait(rt->busd.pid, 20000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rt->busd.pid = 0;
	assert_true(shm_exists(rt->busd.bus_name, "jobs"));
	assert_true(shm_exists(rt->busd.bus_name, "later"));
	assert_false(shm_exists(rt->busd.bus_name, "empty"));

	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_access_get(bus, "later", &access), 0);
	assert_int_equal(access.mode, 0640);
	assert_ret(bus_queue_open(bus, "jobs", BUS_CONSUMER, NULL, &q), 0);
	assert_int_equal(drain(q, seen, &redelivered), FIRST);
	for (unsigned int n = 0; n < FIRST; n++)
		assert_int_equal(seen[n], 1);
	assert_ret(bus_queue_close(q), 0);
	bus_disconnect(bus);
}

/* ---- a segment of another layout version ------------------------------ */

static void test_other_layout_version_is_refused(void **state)
{
	struct rt *rt = *state;
	struct bus_segment_header *h;
	char shm_name[256];
	int fd;

	kill_busd(rt);
	snprintf(shm_name, sizeof(shm_name), "/shmbus.%s:future",
		 rt->busd.bus_name);
	fd = shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(h != MAP_FAILED);
	close(fd);
	h->layout_version = BUS_LAYOUT_VERSION + 1;
	h->magic = BUS_SEGMENT_MAGIC;
	munmap(h, 4096);

	/* busd names the segment and stops rather than lose its messages. */
	assert_true(test_busd_start(&rt->busd, config) < 0);
	assert_int_equal(shm_unlink(shm_name), 0);
	assert_ret(test_busd_start(&rt->busd, config), 0);
}

/* ---- busd's error log ------------------------------------------------ */

/* The lines of the log that contain needle. */
static int log_lines_with(const char *bus_name, const char *needle)
{
	struct bus_log_record records[32];
	int got = bus_log_read(bus_name, records, 32), found = 0;

	for (int i = 0; i < got; i++)
		found += strstr(records[i].text, needle) != NULL;
	return got < 0 ? got : found;
}

static void test_error_log_outlives_busd(void **state)
{
	struct rt *rt = *state;
	char path[PATH_MAX + BUS_NAME_MAX + 16];
	int status;

	/* A warning: the next busd adopts the queues without the file that
	 * says who may use them. */
	kill_busd(rt);
	snprintf(path, sizeof(path), "%s/%s.access", rt->busd.runtime_dir,
		 rt->busd.bus_name);
	assert_int_equal(unlink(path), 0);
	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_int_equal(log_lines_with(rt->busd.bus_name,
					"no stored owner, group and mode"),
			 2);

	/* Readable with no busd at all: what a crash left is there. */
	kill_busd(rt);
	assert_int_equal(log_lines_with(rt->busd.bus_name,
					"no stored owner, group and mode"),
			 2);
	/* The next busd keeps appending to the same log: the old lines are
	 * still there (its own start warns no more: the file is back). */
	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_int_equal(log_lines_with(rt->busd.bus_name,
					"no stored owner, group and mode"),
			 2);
	/* A clean stop takes it along. */
	kill(rt->busd.pid, SIGTERM);
	assert_int_equal(test_child_wait(rt->busd.pid, 20000, &status), 0);
	rt->busd.pid = 0;
	assert_ret(bus_log_read(rt->busd.bus_name, NULL, 0), -ENOENT);
	assert_ret(test_busd_start(&rt->busd, config), 0);
}

/* ---- a handle closed while busd is down ------------------------------ */

static void test_close_while_busd_down(void **state)
{
	struct rt *rt = *state;
	struct bus_queue_stats stats;
	bus_queue_t *consumer, *observer;
	bus_t *bus;

	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_CONSUMER, NULL, &consumer),
		   0);
	kill_busd(rt);
	/* Nobody to tell: libbus keeps the close for the next busd. */
	assert_ret(bus_queue_close(consumer), 0);
	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_OBSERVER, NULL, &observer),
		   0);
	assert_ret(bus_queue_stats(observer, &stats), 0);
	assert_int_equal(stats.consumers, 0);
	assert_ret(bus_queue_close(observer), 0);
	bus_disconnect(bus);
}

/* ---- a wildcard across a restart -------------------------------------- */

static void test_wildcard_registered_again_after_restart(void **state)
{
	struct rt *rt = *state;
	struct bus_topic_settings settings;
	struct bus_topic_stats stats;
	struct bus_message m;
	bus_topic_t *publisher, *late;
	uint64_t next_early = 0, next_other = 0;
	bus_queue_t *observer;
	bus_wildcard_t *w;
	const char *from;
	bus_t *bus, *other;

	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_subscribe_pattern(bus, "t.*", NULL, &w), 0);
	/* Created, reserved for the wildcard and published to before busd
	 * dies and before the wildcard has looked. */
	bus_topic_settings_default(&settings);
	settings.slots = 64;
	settings.max_message = 64;
	assert_ret(bus_topic_create(bus, "t.early", &settings), 0);
	assert_ret(bus_topic_open(bus, "t.early", BUS_PRODUCER, NULL,
				  &publisher),
		   0);
	for (uint64_t n = 0; n < FIRST; n++)
		assert_ret(bus_publish(publisher, &n, sizeof(n), SECOND), 0);
	kill_busd(rt);
	assert_ret(test_busd_start(&rt->busd, config), 0);

	/* Another client makes a topic before ours has spoken to the new
	 * busd: no slot is reserved for us there, so the wildcard reads it
	 * from the oldest message still in its ring. */
	assert_ret(bus_connect(rt->busd.bus_name, &other), 0);
	assert_ret(bus_topic_create(other, "t.other", &settings), 0);
	assert_ret(bus_topic_open(other, "t.other", BUS_PRODUCER, NULL, &late),
		   0);
	for (uint64_t n = 0; n < 3; n++)
		assert_ret(bus_publish(late, &n, sizeof(n), SECOND), 0);

	/* The wildcard takes the reservation the new busd adopted: one
	 * subscriber, every message; and the unreserved topic's too. */
	for (unsigned int i = 0; i < FIRST + 3; i++) {
		uint64_t got, *next;

		assert_ret(bus_wildcard_receive(w, &m, &from, NULL, SECOND),
			   0);
		next = !strcmp(from, "t.early") ? &next_early : &next_other;
		memcpy(&got, m.payload, sizeof(got));
		assert_int_equal(got, *next);
		(*next)++;
	}
	assert_int_equal(next_early, FIRST);
	assert_int_equal(next_other, 3);
	assert_ret(bus_topic_stats(publisher, &stats), 0);
	assert_int_equal(stats.subscribers, 1);
	assert_ret(bus_topic_close(publisher), 0);
	assert_ret(bus_topic_close(late), 0);
	bus_disconnect(other);

	/* Any request connects again and registers the pattern again. */
	assert_ret(bus_queue_open(bus, "jobs", BUS_OBSERVER, NULL, &observer),
		   0);
	assert_ret(bus_queue_close(observer), 0);
	assert_ret(bus_topic_create(bus, "t.new", &settings), 0);
	assert_ret(bus_topic_open(bus, "t.new", BUS_PRODUCER, NULL,
				  &publisher),
		   0);
	/* The new busd reserved the wildcard a slot: a whole ring waits
	 * for it before it has even looked. */
	assert_ret(bus_topic_stats(publisher, &stats), 0);
	assert_int_equal(stats.subscribers, 1);
	for (uint64_t n = 0; n < settings.slots; n++)
		assert_ret(bus_publish(publisher, &n, sizeof(n), SECOND), 0);
	for (uint64_t n = 0; n < settings.slots; n++) {
		uint64_t got;

		assert_ret(bus_wildcard_receive(w, &m, &from, NULL, SECOND),
			   0);
		assert_string_equal(from, "t.new");
		memcpy(&got, m.payload, sizeof(got));
		assert_int_equal(got, n);
	}
	assert_ret(bus_topic_close(publisher), 0);
	assert_ret(bus_wildcard_close(w), 0);
	bus_disconnect(bus);
}

/* ---- a bus whose busd is gone for good ------------------------------- */

static void test_remove_bus(void **state)
{
	struct rt *rt = *state;
	bus_queue_t *q;
	bus_t *bus;

	assert_ret(bus_remove(rt->busd.bus_name), -EBUSY);
	assert_ret(bus_remove("no/such"), -EINVAL);
	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_PRODUCER, NULL, &q), 0);
	send_numbers(q, 0, FIRST);
	assert_ret(bus_queue_close(q), 0);
	bus_disconnect(bus);
	kill_busd(rt);
	assert_true(test_shm_leftovers(rt->busd.bus_name, 0) > 0);

	/* Both queues and the announcement page; the page is no segment. */
	assert_ret(bus_remove(rt->busd.bus_name), 2);
	assert_int_equal(test_shm_leftovers(rt->busd.bus_name, 0), 0);
	assert_ret(bus_remove(rt->busd.bus_name), 0);
	/* A new busd starts from nothing: no message of the old one. */
	assert_ret(test_busd_start(&rt->busd, config), 0);
	assert_ret(bus_connect(rt->busd.bus_name, &bus), 0);
	assert_ret(bus_queue_open(bus, "jobs", BUS_CONSUMER, NULL, &q), 0);
	assert_ret(bus_receive_copy(q, NULL, 0, BUS_NOWAIT), -EAGAIN);
	assert_ret(bus_queue_close(q), 0);
	bus_disconnect(bus);
}

#define RT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, rt_setup, rt_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		RT_TEST(test_busd_killed_and_restarted_loses_nothing),
		RT_TEST(test_clean_stop_keeps_queues_with_messages),
		RT_TEST(test_other_layout_version_is_refused),
		RT_TEST(test_remove_bus),
		RT_TEST(test_close_while_busd_down),
		RT_TEST(test_error_log_outlives_busd),
		RT_TEST(test_wildcard_registered_again_after_restart),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
