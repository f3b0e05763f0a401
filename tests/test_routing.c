/* SPDX-License-Identifier: MIT */
/*
 * Routes through a real busd: key patterns (*, > and literal) to several
 * targets, fan-out to a queue and a topic at once, header matches, the
 * unroutable fallback and "no route", one target full while the others
 * take the message, a route added and deleted while a publisher in another
 * process runs, and the checks on what busctl or a program may add.
 *
 * test_routing [CASE]   runs every case, or those matching CASE (a cmocka
 * glob); exits 77 when there is no busd.  Time bounds are generous.
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
	"[queue red]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue blue]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue green]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue left]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[queue full]\nslots = 2\nmax_message = 64\nheader_room = 64\n"
	"overflow = reject\n\n"
	"[topic audit]\nslots = 16\nmax_message = 64\nheader_room = 64\n\n"
	"[route reds]\nfrom = orders\nkey = *.red\nto = red, audit\n\n"
	"[route europe]\nfrom = orders\nkey = eu.>\nto = green\n\n"
	"[route exact]\nfrom = orders\nkey = us.blue\nto = blue\n\n"
	"[route vip]\nfrom = orders\nkey = vip\nto = blue\n"
	"header = tier=gold\n\n"
	"[address orders]\nunroutable = left\n\n"
	"[route spill]\nfrom = spill\nto = full, green\n";

static int rt_setup(void **state)
{
	return test_bus_setup(state, config);
}

static bus_queue_t *consumer_of(bus_t *bus, const char *name)
{
	bus_queue_t *queue = NULL;

	assert_ret(bus_queue_open(bus, name, BUS_CONSUMER, NULL, &queue), 0);
	return queue;
}

/* Receives one message and checks its payload and key. */
static void expect_message(bus_queue_t *q, const char *text, const char *key)
{
	char buf[BUS_MESSAGE_KEY_MAX + 1];
	struct bus_message m;

	assert_ret(bus_receive(q, &m, 2 * SECOND), 0);
	assert_int_equal(m.length, strlen(text));
	assert_memory_equal(m.payload, text, m.length);
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), (long)strlen(key));
	assert_string_equal(buf, key);
	assert_ret(bus_ack(q, &m), 0);
}

static void expect_nothing(bus_queue_t *q)
{
	struct bus_message m;

	assert_ret(bus_receive(q, &m, BUS_NOWAIT), -EAGAIN);
}

static void send_key(bus_address_t *a, const char *key, const char *text,
		     int taken, struct bus_route_report *report)
{
	assert_ret(bus_address_send(a, key, text, strlen(text), BUS_NOWAIT,
				    report),
		   taken);
}

static int reported(const struct bus_route_report *r, const char *name)
{
	for (uint32_t i = 0; i < r->matched; i++)
		if (!strcmp(r->targets[i].name, name))
			return r->targets[i].status;
	return 1; /* not a target */
}

/* *, > and literal patterns; a queue and a topic take the same message. */
static void test_routing_patterns_reach_every_target(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *red = consumer_of(rt->bus, "red");
	bus_queue_t *blue = consumer_of(rt->bus, "blue");
	bus_queue_t *green = consumer_of(rt->bus, "green");
	struct bus_route_report report;
	bus_subscription_t *audit;
	struct bus_message m;
	bus_address_t *orders;
	char key[64];

	assert_ret(bus_subscribe(rt->bus, "audit", NULL, &audit), 0);
	assert_ret(bus_address_open(rt->bus, "orders", NULL, &orders), 0);

	/* *.red and eu.>: red, audit (a topic) and green. */
	send_key(orders, "eu.red", "one", 3, &report);
	assert_int_equal(report.matched, 3);
	assert_int_equal(report.taken, 3);
	assert_int_equal(reported(&report, "red"), 0);
	assert_int_equal(reported(&report, "audit"), 0);
	assert_int_equal(reported(&report, "green"), 0);
	/* The literal: blue alone, straight into its ring. */
	send_key(orders, "us.blue", "two", 1, &report);
	assert_int_equal(report.matched, 1);
	assert_string_equal(report.targets[0].name, "blue");
	/* '>' takes more than one token, '*' exactly one. */
	send_key(orders, "eu.fr.paris", "three", 1, NULL);
	send_key(orders, "us.red", "four", 2, NULL);

	expect_message(red, "one", "eu.red");
	expect_message(red, "four", "us.red");
	expect_nothing(red);
	expect_message(blue, "two", "us.blue");
	expect_nothing(blue);
	expect_message(green, "one", "eu.red");
	expect_message(green, "three", "eu.fr.paris");
	expect_nothing(green);
	for (int i = 0; i < 2; i++) {
		assert_ret(bus_subscription_receive(audit, &m, NULL,
						    2 * SECOND),
			   0);
		assert_ret(bus_message_key(&m, key, sizeof(key)), i ? 6 : 6);
		assert_string_equal(key, i ? "us.red" : "eu.red");
	}
	assert_ret(bus_address_close(orders), 0);
	assert_ret(bus_unsubscribe(audit), 0);
	bus_queue_close(red);
	bus_queue_close(blue);
	bus_queue_close(green);
}

/* A single target is loaned in place: the view is the target's slot. */
static void test_routing_single_target_loan_is_in_place(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *blue = consumer_of(rt->bus, "blue");
	struct bus_route_report report;
	bus_address_t *orders;
	struct bus_message m;

	assert_ret(bus_address_open(rt->bus, "orders", NULL, &orders), 0);
	assert_ret(bus_address_loan(orders, "us.blue", &m, BUS_NOWAIT), 0);
	/* A second loan on the same handle waits for the first. */
	{
		struct bus_message other;

		assert_ret(bus_address_loan(orders, "us.blue", &other,
					    BUS_NOWAIT),
			   -EBUSY);
	}
	assert_int_equal(m.capacity, 64);
	assert_ret(bus_message_add_header(&m, "id", "7"), 0);
	memcpy(m.payload, "zero-copy", 9);
	assert_ret(bus_address_commit(orders, &m, 9, &report), 1);
	assert_int_equal(report.taken, 1);
	expect_message(blue, "zero-copy", "us.blue");
	assert_ret(bus_address_close(orders), 0);
	bus_queue_close(blue);
}

/* Headers decide a route at commit; unmatched messages fall back. */
static void test_routing_unroutable_and_fallback(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *left = consumer_of(rt->bus, "left");
	bus_queue_t *blue = consumer_of(rt->bus, "blue");
	struct bus_route_report report;
	bus_address_t *orders, *nowhere;
	struct bus_message m;

	assert_ret(bus_address_open(rt->bus, "orders", NULL, &orders), 0);
	send_key(orders, "no.such.key", "lost?", 1, &report);
	assert_string_equal(report.targets[0].name, "left");
	send_key(orders, NULL, "no key", 1, NULL);
	/* vip without its header: the fallback; with it: blue. */
	send_key(orders, "vip", "plain vip", 1, &report);
	assert_string_equal(report.targets[0].name, "left");
	assert_ret(bus_address_loan(orders, "vip", &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_add_header(&m, "tier", "gold"), 0);
	memcpy(m.payload, "gold", 4);
	assert_ret(bus_address_commit(orders, &m, 4, &report), 1);
	assert_string_equal(report.targets[0].name, "blue");
	expect_message(left, "lost?", "no.such.key");
	expect_message(left, "no key", "");
	expect_message(left, "plain vip", "vip");
	expect_message(blue, "gold", "vip");

	/* An address with no route and no fallback: -ENOENT, said so. */
	assert_ret(bus_address_open(rt->bus, "nowhere", NULL, &nowhere), 0);
	assert_ret(bus_address_send(nowhere, "a", "x", 1, BUS_NOWAIT, NULL),
		   -ENOENT);
	assert_non_null(strstr(bus_error_detail(rt->bus), "no route"));
	assert_ret(bus_address_close(nowhere), 0);
	assert_ret(bus_address_close(orders), 0);
	bus_queue_close(left);
	bus_queue_close(blue);
}

/* One target full (reject): it alone refuses, the publisher is told. */
static void test_routing_one_target_full(void **state)
{
	struct test_bus *rt = *state;
	bus_queue_t *green = consumer_of(rt->bus, "green");
	struct bus_route_report report;
	bus_address_t *spill;

	assert_ret(bus_address_open(rt->bus, "spill", NULL, &spill), 0);
	send_key(spill, NULL, "a", 2, NULL);
	send_key(spill, NULL, "b", 2, NULL);
	send_key(spill, NULL, "c", 1, &report);
	assert_int_equal(report.matched, 2);
	assert_int_equal(report.taken, 1);
	assert_int_equal(reported(&report, "full"), -ENOBUFS);
	assert_int_equal(reported(&report, "green"), 0);
	expect_message(green, "a", "");
	expect_message(green, "b", "");
	expect_message(green, "c", "");
	assert_ret(bus_address_close(spill), 0);
	bus_queue_close(green);
}

/*
 * A child publishes to "live" in a loop; "no route" until the parent adds
 * one, which it must notice without reopening anything, then "no route"
 * again once the parent deletes it.  Exit 0 when it saw all three phases.
 */
static void live_publisher(const char *bus_name)
{
	int phase = 0, sent = 0, ret;
	bus_address_t *live;
	bus_t *bus;

	if (bus_connect(bus_name, &bus) ||
	    bus_address_open(bus, "live", NULL, &live))
		_exit(2);
	for (int i = 0; i < 2000 && phase < 2; i++) {
		ret = bus_address_send(live, "k.v", "tick", 4, BUS_NOWAIT,
				       NULL);
		if (ret == 1 && phase == 0)
			phase = 1;
		if (ret == 1)
			sent++;
		else if (ret == -ENOENT && phase == 1)
			phase = 2;
		else if (ret != -ENOENT && ret != -ENOBUFS)
			_exit(3);
		usleep(5000);
	}
	bus_address_close(live);
	bus_disconnect(bus);
	_exit(phase == 2 && sent > 0 ? 0 : 4);
}

static void test_routing_route_added_while_publisher_runs(void **state)
{
	struct test_bus *rt = *state;
	struct bus_route route = { .kind = BUS_ROUTE_RULE, .target_count = 1 };
	bus_queue_t *red = consumer_of(rt->bus, "red");
	struct bus_message m;
	int status = -1;
	pid_t child;

	child = test_fork();
	assert_true(child >= 0);
	if (child == 0)
		live_publisher(rt->busd.bus_name);
	usleep(100 * 1000);
	strcpy(route.name, "live-red");
	strcpy(route.from, "live");
	strcpy(route.key, "k.*");
	strcpy(route.targets[0], "red");
	assert_ret(bus_route_add(rt->bus, &route), 0);
	assert_ret(bus_route_add(rt->bus, &route), -EEXIST);
	/* The running publisher's messages arrive. */
	assert_ret(bus_receive(red, &m, 5 * SECOND), 0);
	assert_memory_equal(m.payload, "tick", 4);
	assert_ret(bus_ack(red, &m), 0);
	assert_ret(bus_route_delete(rt->bus, BUS_ROUTE_RULE, "live-red"), 0);
	assert_ret(test_child_wait(child, 20000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	bus_queue_close(red);
}

static void test_routing_table_checks_and_lists(void **state)
{
	struct test_bus *rt = *state;
	struct bus_route route = { .kind = BUS_ROUTE_RULE, .target_count = 1 };
	struct bus_route got;
	uint32_t n = 0;

	strcpy(route.name, "bad");
	strcpy(route.from, "orders");
	strcpy(route.targets[0], "red");
	strcpy(route.key, "a.>.b");
	assert_ret(bus_route_add(rt->bus, &route), -EINVAL);
	strcpy(route.key, "a.*");
	route.target_count = 0;
	assert_ret(bus_route_add(rt->bus, &route), -EINVAL);
	route.target_count = 1;
	strcpy(route.targets[0], "no/slash");
	assert_ret(bus_route_add(rt->bus, &route), -EINVAL);
	assert_ret(bus_route_delete(rt->bus, BUS_ROUTE_RULE, "nonesuch"),
		   -ENOENT);
	/* The config's routes, in order, and the address entry. */
	while (bus_route_get(rt->bus, n, &got) == 0)
		n++;
	assert_int_equal(n, 6);
	assert_ret(bus_route_get(rt->bus, 0, &got), 0);
	assert_string_equal(got.name, "reds");
	assert_string_equal(got.key, "*.red");
	assert_int_equal(got.target_count, 2);
	assert_string_equal(got.targets[1], "audit");
	assert_ret(bus_route_get(rt->bus, 4, &got), 0);
	assert_int_equal(got.kind, BUS_ROUTE_UNROUTABLE);
	assert_string_equal(got.targets[0], "left");
}

#define RT_TEST(name) \
	cmocka_unit_test_setup_teardown(name, rt_setup, test_bus_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		RT_TEST(test_routing_patterns_reach_every_target),
		RT_TEST(test_routing_single_target_loan_is_in_place),
		RT_TEST(test_routing_unroutable_and_fallback),
		RT_TEST(test_routing_one_target_full),
		RT_TEST(test_routing_route_added_while_publisher_runs),
		RT_TEST(test_routing_table_checks_and_lists),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("routing", tests, NULL, NULL) ? 1
									 : 0;
}
