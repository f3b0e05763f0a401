/* SPDX-License-Identifier: MIT */
/*
 * A subscriber that joins a topic while another process holds a loan gets
 * the loan's message once it is committed, and under `block` no publisher
 * overwrites it first (libbus/core/topic_cell.h, "Joining").  Each case runs a
 * private busd; the loan is held by a child process that commits, or is
 * killed, when the parent says so.  The parent publishes and subscribes
 * through its own connection.
 *
 * test_topic_join [CASE]   runs every case, or those matching CASE (a
 * cmocka glob); exits 77 when busd cannot run here.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "bus_test_util.h"
#include "test_common.h"

#define MS (1000ll * 1000)
#define SECOND (1000 * MS)

static const char config[] = "[topic join.eight]\n"
			     "slots = 8\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic join.four]\n"
			     "slots = 4\n"
			     "max_message = 64\n"
			     "\n"
			     "[topic join.history]\n"
			     "slots = 16\n"
			     "max_message = 64\n"
			     "history = 4\n"
			     "\n"
			     "[topic join.lossy]\n"
			     "slots = 8\n"
			     "max_message = 64\n"
			     "slow_subscriber = overwrite\n";

/* What the parent tells the loan holder, and what it says back. */
enum holder_order { HOLD, COMMIT, STOP };

struct holder_board {
	_Atomic int order;
	_Atomic int loaned;    /* the loan is open */
	_Atomic int committed; /* it was committed */
	char error[256];
};

struct join_case {
	struct test_bus tb;
	struct holder_board *board;
	pid_t holder;
};

static int join_setup(void **state)
{
	struct join_case *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->board = mmap(NULL, sizeof(*c->board), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->board == MAP_FAILED || test_bus_start(&c->tb, config)) {
		if (c->board != MAP_FAILED)
			munmap(c->board, sizeof(*c->board));
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int join_teardown(void **state)
{
	struct join_case *c = *state;
	int ret = test_bus_stop(&c->tb); /* kills the holder if still there */

	munmap(c->board, sizeof(*c->board));
	free(c);
	return ret;
}

static void holder_fail(struct holder_board *board, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(board->error, sizeof(board->error), format, args);
	va_end(args);
	fprintf(stderr, "loan holder: %s\n", board->error);
	_exit(1);
}

/* The child: loans one slot of topic, writes text into it and waits. */
static void holder_child(struct holder_board *board, const char *bus_name,
			 const char *topic, const char *text)
{
	struct bus_message loan;
	bus_topic_t *publisher;
	bus_t *bus;
	int ret;

	ret = bus_connect(bus_name, &bus);
	if (ret == 0)
		ret = bus_topic_open(bus, topic, BUS_PRODUCER, NULL,
				     &publisher);
	if (ret == 0)
		ret = bus_topic_loan(publisher, &loan, 5 * SECOND);
	if (ret)
		holder_fail(board, "loan on %s: %s", topic, bus_strerror(ret));
	memcpy(loan.payload, text, strlen(text));
	atomic_store(&board->loaned, 1);
	while (atomic_load(&board->order) == HOLD)
		usleep(1000);
	if (atomic_load(&board->order) == COMMIT) {
		ret = bus_topic_commit(publisher, &loan,
				       (uint32_t)strlen(text));
		if (ret)
			holder_fail(board, "commit: %s", bus_strerror(ret));
		atomic_store(&board->committed, 1);
	}
	while (atomic_load(&board->order) != STOP)
		usleep(1000);
	bus_topic_close(publisher);
	bus_disconnect(bus);
	_exit(0);
}

/* Starts the holder and waits until its loan is open. */
static void hold_loan(struct join_case *c, const char *topic, const char *text)
{
	uint64_t deadline = test_now_ns() + 10 * SECOND;

	atomic_store(&c->board->order, HOLD);
	c->holder = test_fork();
	assert_true(c->holder >= 0);
	if (c->holder == 0)
		holder_child(c->board, c->tb.busd.bus_name, topic, text);
	while (!atomic_load(&c->board->loaned)) {
		int status;

		if (test_child_wait(c->holder, 0, &status) == 0)
			fail_msg("loan holder ended: %s", c->board->error);
		assert_true(test_now_ns() < deadline);
		usleep(1000);
	}
}

static void commit_loan(struct join_case *c)
{
	uint64_t deadline = test_now_ns() + 10 * SECOND;

	atomic_store(&c->board->order, COMMIT);
	while (!atomic_load(&c->board->committed)) {
		if (test_now_ns() > deadline)
			fail_msg("the loan was not committed: %s",
				 c->board->error);
		usleep(1000);
	}
}

static void release_holder(struct join_case *c)
{
	int status;

	atomic_store(&c->board->order, STOP);
	assert_ret(test_child_wait(c->holder, 10 * 1000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void publish_text(bus_topic_t *publisher, const char *text)
{
	assert_ret(bus_publish(publisher, text, strlen(text), BUS_NOWAIT), 0);
}

/* The next message is text, with no loss reported before it. */
static void expect_text(bus_subscription_t *s, const char *text)
{
	char buf[64];
	uint64_t lost = 0;
	int length = bus_subscription_receive_copy(s, buf, sizeof(buf), &lost,
						   5 * SECOND);

	if (length < 0)
		fail_msg("waiting for '%s': %s", text, bus_strerror(length));
	if ((size_t)length != strlen(text) || memcmp(buf, text, length))
		fail_msg("expected '%s', got '%.*s'", text, length, buf);
	assert_int_equal(lost, 0);
}

static void expect_nothing(bus_subscription_t *s)
{
	char buf[64];

	assert_ret(bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						 BUS_NOWAIT),
		   -EAGAIN);
}

/*
 * The reported sequence: A loans (position 0) and holds it, B publishes
 * B1 (position 1), S subscribes, A commits, B publishes B2.  S gets A1,
 * committed after it joined, and B1 with it (the topic's order is the
 * loans'), then B2.
 */
static void test_join_during_loan_gets_the_loan(void **state)
{
	struct join_case *c = *state;
	bus_topic_t *b;
	bus_subscription_t *s;

	assert_ret(bus_topic_open(c->tb.bus, "join.eight", BUS_PRODUCER, NULL,
				  &b),
		   0);
	hold_loan(c, "join.eight", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe(c->tb.bus, "join.eight", NULL, &s), 0);
	/* A1 is not committed yet: nothing may pass it. */
	expect_nothing(s);
	commit_loan(c);
	publish_text(b, "B2");
	expect_text(s, "A1");
	expect_text(s, "B1");
	expect_text(s, "B2");
	expect_nothing(s);
	release_holder(c);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(b), 0);
}

/*
 * Block, 4 slots: S1 reads along from the start; S2 joins during A's loan.
 * After A commits, B may not reuse A1's cell (position 4) before S2 read
 * A1, and S2 loses nothing.
 */
static void test_block_keeps_the_loan_for_the_joiner(void **state)
{
	struct join_case *c = *state;
	bus_subscription_t *s1, *s2;
	bus_topic_t *b;

	assert_ret(bus_topic_open(c->tb.bus, "join.four", BUS_PRODUCER, NULL,
				  &b),
		   0);
	assert_ret(bus_subscribe(c->tb.bus, "join.four", NULL, &s1), 0);
	hold_loan(c, "join.four", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe(c->tb.bus, "join.four", NULL, &s2), 0);
	commit_loan(c);
	expect_text(s1, "A1");
	expect_text(s1, "B1");
	publish_text(b, "B2");
	publish_text(b, "B3");
	/* Position 4 reuses A1's cell, which S2 has yet to read. */
	assert_ret(bus_publish(b, "B4", 2, BUS_NOWAIT), -ENOBUFS);
	expect_text(s2, "A1");
	publish_text(b, "B4");
	expect_text(s2, "B1");
	expect_text(s2, "B2");
	expect_text(s2, "B3");
	expect_text(s2, "B4");
	expect_nothing(s2);
	expect_text(s1, "B2");
	expect_text(s1, "B3");
	expect_text(s1, "B4");
	struct bus_subscriber_stats stats;
	assert_ret(bus_subscription_stats(s2, &stats), 0);
	assert_int_equal(stats.lost, 0);
	release_holder(c);
	assert_ret(bus_unsubscribe(s1), 0);
	assert_ret(bus_unsubscribe(s2), 0);
	assert_ret(bus_topic_close(b), 0);
}

/* The same through a wildcard subscription, which joins the same way. */
static void test_wildcard_join_during_loan(void **state)
{
	struct join_case *c = *state;
	const char *from = NULL;
	bus_wildcard_t *w;
	struct bus_message m;
	bus_topic_t *b;
	const char *want[] = { "A1", "B1", "B2" };

	assert_ret(bus_topic_open(c->tb.bus, "join.eight", BUS_PRODUCER, NULL,
				  &b),
		   0);
	hold_loan(c, "join.eight", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe_pattern(c->tb.bus, "join.*", NULL, &w), 0);
	commit_loan(c);
	publish_text(b, "B2");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t lost = 0;

		assert_ret(bus_wildcard_receive(w, &m, &from, &lost,
						5 * SECOND),
			   0);
		assert_int_equal(m.length, 2);
		assert_memory_equal(m.payload, want[i], 2);
		assert_string_equal(from, "join.eight");
		assert_int_equal(lost, 0);
	}
	assert_ret(bus_wildcard_receive(w, &m, &from, NULL, BUS_NOWAIT),
		   -EAGAIN);
	release_holder(c);
	assert_ret(bus_wildcard_close(w), 0);
	assert_ret(bus_topic_close(b), 0);
}

/* History counts back from the oldest open loan. */
static void test_history_join_during_loan(void **state)
{
	struct join_case *c = *state;
	struct bus_subscribe_options options = { .history = 2 };
	bus_subscription_t *s;
	bus_topic_t *b;

	assert_ret(bus_topic_open(c->tb.bus, "join.history", BUS_PRODUCER,
				  NULL, &b),
		   0);
	publish_text(b, "H1");
	publish_text(b, "H2");
	publish_text(b, "H3");
	hold_loan(c, "join.history", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe(c->tb.bus, "join.history", &options, &s), 0);
	expect_text(s, "H2");
	expect_text(s, "H3");
	expect_nothing(s);
	commit_loan(c);
	publish_text(b, "B2");
	expect_text(s, "A1");
	expect_text(s, "B1");
	expect_text(s, "B2");
	release_holder(c);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(b), 0);
}

/* A holder killed with the loan open: busd pads it, the joiner steps over
 * it, and no publisher stays held by it. */
static void test_join_then_holder_killed(void **state)
{
	struct join_case *c = *state;
	bus_subscription_t *s;
	bus_topic_t *b;
	int status;

	assert_ret(bus_topic_open(c->tb.bus, "join.four", BUS_PRODUCER, NULL,
				  &b),
		   0);
	hold_loan(c, "join.four", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe(c->tb.bus, "join.four", NULL, &s), 0);
	assert_int_equal(kill(c->holder, SIGKILL), 0);
	assert_ret(test_child_wait(c->holder, 10 * 1000, &status), 0);
	expect_text(s, "B1");
	publish_text(b, "B2");
	publish_text(b, "B3");
	expect_text(s, "B2");
	expect_text(s, "B3");
	/* The padded position 0 no longer holds position 4 back. */
	publish_text(b, "B4");
	expect_text(s, "B4");
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(b), 0);
}

/* Under overwrite the joiner gets the loan too, when nobody laps it. */
static void test_overwrite_join_during_loan(void **state)
{
	struct join_case *c = *state;
	bus_subscription_t *s;
	bus_topic_t *b;

	assert_ret(bus_topic_open(c->tb.bus, "join.lossy", BUS_PRODUCER, NULL,
				  &b),
		   0);
	hold_loan(c, "join.lossy", "A1");
	publish_text(b, "B1");
	assert_ret(bus_subscribe(c->tb.bus, "join.lossy", NULL, &s), 0);
	commit_loan(c);
	publish_text(b, "B2");
	expect_text(s, "A1");
	expect_text(s, "B1");
	expect_text(s, "B2");
	release_holder(c);
	assert_ret(bus_unsubscribe(s), 0);
	assert_ret(bus_topic_close(b), 0);
}

#define JOIN_TEST(name) \
	cmocka_unit_test_setup_teardown(name, join_setup, join_teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		JOIN_TEST(test_join_during_loan_gets_the_loan),
		JOIN_TEST(test_block_keeps_the_loan_for_the_joiner),
		JOIN_TEST(test_wildcard_join_during_loan),
		JOIN_TEST(test_history_join_during_loan),
		JOIN_TEST(test_join_then_holder_killed),
		JOIN_TEST(test_overwrite_join_during_loan),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("topic_join", tests, NULL, NULL)
		       ? 1
		       : 0;
}
