/* SPDX-License-Identifier: MIT */
/*
 * Request/reply through a real busd: a responder in another process
 * answers requests by correlation id; without a responder the requester
 * learns it at once; a reply that comes after the requester gave up is
 * dropped and the next request gets its own; replies through a topic that
 * several requesters could share.
 *
 * test_request_reply [CASE]   every case, or those matching CASE; exits 77
 * when there is no busd.  Time bounds are generous.
 */
#include <errno.h>
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
#include "test_common.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

static const char config[] =
	"[queue service]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue idle]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue replies]\nslots = 16\nmax_message = 64\n\n"
	"[topic reply-topic]\nslots = 16\nmax_message = 64\n"
	"slow_subscriber = overwrite\n";

static int rt_setup(void **state)
{
	return test_bus_setup(state, config);
}

/*
 * The responder: answers count requests with "re:" and the request, the
 * late-th one (1-based; 0: none) only after 400 ms.  Exit 0 when done.
 */
static void responder(const char *bus_name, int count, int late)
{
	bus_responder_t *responder;
	char reply[80];
	struct bus_message m;
	bus_queue_t *service;
	bus_t *bus;

	if (bus_connect(bus_name, &bus) ||
	    bus_queue_open(bus, "service", BUS_CONSUMER, NULL, &service) ||
	    bus_responder_open(bus, &responder))
		_exit(2);
	for (int i = 1; i <= count; i++) {
		if (bus_receive(service, &m, 10 * SECOND))
			_exit(3);
		if (i == late)
			usleep(400 * 1000);
		snprintf(reply, sizeof(reply), "re:%.*s", (int)m.length,
			 (const char *)m.payload);
		if (bus_reply(responder, &m, reply, strlen(reply), SECOND))
			_exit(4);
		if (bus_ack(service, &m))
			_exit(5);
	}
	bus_responder_close(responder);
	bus_disconnect(bus);
	_exit(0);
}

/* Waits (5 s at most) until the service has a consumer. */
static void wait_for_responder(bus_t *bus)
{
	struct bus_queue_stats stats = { 0 };
	bus_queue_t *observer;

	assert_ret(bus_queue_open(bus, "service", BUS_OBSERVER, NULL,
				  &observer),
		   0);
	for (int i = 0; i < 500; i++) {
		assert_ret(bus_queue_stats(observer, &stats), 0);
		if (stats.consumers)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(stats.consumers, 1);
	bus_queue_close(observer);
}

static pid_t start_responder(struct test_bus *rt, int count, int late)
{
	pid_t child = test_fork();

	assert_true(child >= 0);
	if (child == 0)
		responder(rt->busd.bus_name, count, late);
	wait_for_responder(rt->bus);
	return child;
}

static void expect_exit_0(pid_t child)
{
	int status = -1;

	assert_ret(test_child_wait(child, 20000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void ask(bus_requester_t *r, const char *question, int64_t timeout,
		int expected)
{
	char reply[64], want[64];
	int ret = bus_request(r, question, strlen(question), reply,
			      sizeof(reply), timeout);

	assert_ret(ret, expected < 0 ? expected : (long)strlen(question) + 3);
	if (expected < 0)
		return;
	snprintf(want, sizeof(want), "re:%s", question);
	assert_memory_equal(reply, want, strlen(want));
}

static void test_request_reply_across_processes(void **state)
{
	struct test_bus *rt = *state;
	pid_t child = start_responder(rt, 10, 0);
	bus_requester_t *r;
	char question[16];

	assert_ret(bus_requester_open(rt->bus, "service", "replies", &r), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(question, sizeof(question), "q%d", i);
		ask(r, question, 5 * SECOND, 0);
	}
	assert_ret(bus_requester_close(r), 0);
	expect_exit_0(child);
}

static void test_request_reply_no_responder_fails_at_once(void **state)
{
	struct test_bus *rt = *state;
	bus_requester_t *r;
	uint64_t start;
	char reply[8];

	assert_ret(bus_requester_open(rt->bus, "idle", "replies", &r), 0);
	start = test_now_ns();
	assert_ret(bus_request(r, "hello", 5, reply, sizeof(reply),
			       30 * SECOND),
		   -ENXIO);
	/* At once, not after the 30 s timeout (a generous bound). */
	assert_true(test_now_ns() - start < 10ull * SECOND);
	assert_non_null(strstr(bus_error_detail(rt->bus), "no responder"));
	assert_non_null(strstr(bus_strerror(-ENXIO), "no responder"));
	assert_ret(bus_requester_close(r), 0);
}

static void test_request_reply_timeout_and_late_reply(void **state)
{
	struct test_bus *rt = *state;
	pid_t child = start_responder(rt, 2, 1);
	bus_requester_t *r;

	assert_ret(bus_requester_open(rt->bus, "service", "replies", &r), 0);
	/* The responder sits on the first for 400 ms: we give up. */
	ask(r, "slow", 50 * MS, -ETIMEDOUT);
	/* Its late reply is in our queue first; we get our own. */
	ask(r, "fast", 10 * SECOND, 0);
	assert_ret(bus_requester_close(r), 0);
	expect_exit_0(child);
}

static void test_request_reply_reply_through_a_topic(void **state)
{
	struct test_bus *rt = *state;
	pid_t child = start_responder(rt, 3, 0);
	bus_requester_t *r;

	assert_ret(bus_requester_open(rt->bus, "service", "reply-topic", &r),
		   0);
	ask(r, "a", 5 * SECOND, 0);
	ask(r, "b", 5 * SECOND, 0);
	ask(r, "c", 5 * SECOND, 0);
	assert_ret(bus_requester_close(r), 0);
	expect_exit_0(child);
}

#define RT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, rt_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		RT_TEST(test_request_reply_across_processes),
		RT_TEST(test_request_reply_no_responder_fails_at_once),
		RT_TEST(test_request_reply_timeout_and_late_reply),
		RT_TEST(test_request_reply_reply_through_a_topic),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("request_reply", tests, NULL, NULL)
		       ? 1
		       : 0;
}
