/* SPDX-License-Identifier: MIT */
/* NATS-style subject matching: bus_subject_match and bus_pattern_check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus.h"

struct match_case {
	const char *pattern;
	const char *name;
	int match;
};

static const struct match_case matches[] = {
	/* Literals. */
	{ "a", "a", 1 },
	{ "a", "b", 0 },
	{ "a.b", "a.b", 1 },
	{ "a.b", "a.bc", 0 },
	{ "a.bc", "a.b", 0 },
	{ "a.b", "a", 0 },
	{ "a", "a.b", 0 },
	{ "prices.eu", "prices.eu", 1 },
	/* '*': exactly one token. */
	{ "*", "a", 1 },
	{ "*", "a.b", 0 },
	{ "a.*", "a.b", 1 },
	{ "a.*", "a", 0 },
	{ "a.*", "a.b.c", 0 },
	{ "*.b", "a.b", 1 },
	{ "*.b", "a.c", 0 },
	{ "a.*.c", "a.x.c", 1 },
	{ "a.*.c", "a.x.y.c", 0 },
	{ "*.*", "a.b", 1 },
	{ "*.*", "a", 0 },
	{ "*.*", "a.b.c", 0 },
	/* '>': one or more trailing tokens. */
	{ ">", "a", 1 },
	{ ">", "a.b.c", 1 },
	{ "a.>", "a.b", 1 },
	{ "a.>", "a.b.c.d", 1 },
	{ "a.>", "a", 0 },
	{ "a.>", "b.c", 0 },
	{ "a.*.>", "a.b.c", 1 },
	{ "a.*.>", "a.b", 0 },
	{ "*.>", "a.b", 1 },
	{ "*.>", "a", 0 },
	/* Empty tokens in the name never match. */
	{ "a.*", "a.", 0 },
	{ "*", "", 0 },
	{ "a.>", "a..b", 0 },
	{ "a.>", "a.b.", 0 },
	{ "*.b", ".b", 0 },
	{ ">", ".", 0 },
	/* Invalid patterns match nothing. */
	{ "a.>.b", "a.x.b", 0 },
	{ "a..b", "a..b", 0 },
	{ "a*", "a*", 0 },
	{ "", "", 0 },
};

static void test_subject_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const struct match_case *c = &matches[i];
		int got = bus_subject_match(c->pattern, c->name);

		if (got != c->match)
			fail_msg("bus_subject_match(\"%s\", \"%s\") = %d, "
				 "want %d",
				 c->pattern, c->name, got, c->match);
	}
}

struct check_case {
	const char *pattern;
	int valid;
};

static const struct check_case checks[] = {
	{ "a", 1 },    { "a.b.c", 1 }, { "*", 1 },     { ">", 1 },
	{ "a.*", 1 },  { "a.>", 1 },   { "*.*.>", 1 }, { "a.*.b", 1 },
	{ "", 0 },     { ".", 0 },     { ".a", 0 },    { "a.", 0 },
	{ "a..b", 0 }, { ">.a", 0 },   { "a.>.b", 0 }, { ">.>", 0 },
	{ "a*", 0 },   { "*a", 0 },    { "a.b>", 0 },  { "a.**", 0 },
	{ "a.>>", 0 },
};

static void test_subject_pattern_check(void **state)
{
	char longest[BUS_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check_case *c = &checks[i];
		int got = bus_pattern_check(c->pattern);

		if (got != (c->valid ? 0 : -EINVAL))
			fail_msg("bus_pattern_check(\"%s\") = %d", c->pattern,
				 got);
	}
	assert_int_equal(bus_pattern_check(NULL), -EINVAL);
	memset(longest, 'a', sizeof(longest));
	longest[BUS_NAME_MAX] = '\0';
	assert_int_equal(bus_pattern_check(longest), 0);
	longest[BUS_NAME_MAX] = 'a';
	longest[BUS_NAME_MAX + 1] = '\0';
	assert_int_equal(bus_pattern_check(longest), -EINVAL);

	assert_int_equal(bus_pattern_is_wildcard("a.*"), 1);
	assert_int_equal(bus_pattern_is_wildcard("a.>"), 1);
	assert_int_equal(bus_pattern_is_wildcard("a.b"), 0);
	assert_int_equal(bus_subject_match("a", NULL), 0);
	assert_int_equal(bus_subject_match(NULL, "a"), 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_match_table),
		cmocka_unit_test(test_subject_pattern_check),
	};

	return cmocka_run_group_tests_name("subject", tests, NULL, NULL);
}
