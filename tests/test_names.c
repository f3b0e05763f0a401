/* SPDX-License-Identifier: MIT */
/* Names, paths and error sentences: pure functions, no shared memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "names.h"
#include "segment.h"
#include "test_common.h"

static void fill_name(char *buf, size_t length, char c)
{
	memset(buf, c, length);
	buf[length] = '\0';
}

static void test_names_check_accepts_valid(void **state)
{
	char longest[BUS_NAME_MAX + 1];

	assert_ret(bus_name_check("a"), 0);
	assert_ret(bus_name_check("orders"), 0);
	assert_ret(bus_name_check("Orders_2024-eu.west"), 0);
	assert_ret(bus_name_check("0123456789"), 0);
	assert_ret(bus_name_check("_-."), 0);
	fill_name(longest, BUS_NAME_MAX, 'x');
	assert_int_equal(strlen(longest), 63);
	assert_ret(bus_name_check(longest), 0);
}

static void test_names_check_refuses_invalid(void **state)
{
	char too_long[BUS_NAME_MAX + 2];
	static const char *const bad[] = {
		"",
		"a/b",
		"/",
		"a b",
		" ",
		"a\tb",
		"a:b",
		"a\\b",
		"a*",
		"a?",
		"caf\xc3\xa9",
		"\xe2\x82\xac",
		"na\xc3\xafve",
		"a\nb",
		"a,b",
		"a;b",
		"a@b",
		"a%b",
	};

	assert_ret(bus_name_check(NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bus_name_check(bad[i]) != -EINVAL)
			fail_msg("bus_name_check(\"%s\") accepted it", bad[i]);
	}
	fill_name(too_long, BUS_NAME_MAX + 1, 'x');
	assert_int_equal(strlen(too_long), 64);
	assert_ret(bus_name_check(too_long), -EINVAL);
}

/* Every errno that include/bus/bus.h and STYLE.md say libbus returns. */
static const int documented_errors[] = {
	EAGAIN,	  ENOBUFS, EMSGSIZE,	 ENOENT, EACCES,    EPROTO,  ETIMEDOUT,
	ENOTCONN, EINVAL,  EEXIST,	 EBUSY,	 ENOLCK,    EBADMSG, ECANCELED,
	EINTR,	  ENOSPC,  ENAMETOOLONG, EIDRM,	 ENOTEMPTY,
};

#define ERROR_COUNT (sizeof(documented_errors) / sizeof(documented_errors[0]))

static void test_names_strerror_gives_distinct_sentences(void **state)
{
	const char *texts[ERROR_COUNT];

	for (size_t i = 0; i < ERROR_COUNT; i++) {
		texts[i] = bus_strerror(-documented_errors[i]);
		assert_non_null(texts[i]);
		if (strlen(texts[i]) < 8)
			fail_msg("bus_strerror(-%s) = \"%s\" is too short",
				 strerrorname_np(documented_errors[i]),
				 texts[i]);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(texts[i], texts[j]))
				fail_msg("-%s and -%s share \"%s\"",
					 strerrorname_np(documented_errors[i]),
					 strerrorname_np(documented_errors[j]),
					 texts[i]);
		}
	}
}

static void test_names_strerror_never_null(void **state)
{
	static const int odd[] = { 0, -1, 1, -4095, -100000, 123456 };

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		const char *text = bus_strerror(odd[i]);

		assert_non_null(text);
		assert_true(strlen(text) > 0);
	}
}

static void test_names_shm_name(void **state)
{
	char buf[256];
	char longest[BUS_NAME_MAX + 1];
	char expected[256];

	assert_ret(bus__shm_name(buf, sizeof(buf), "default", "orders"),
		   (long)strlen("/shmbus.default:orders"));
	assert_string_equal(buf, "/shmbus.default:orders");

	fill_name(longest, BUS_NAME_MAX, 'q');
	snprintf(expected, sizeof(expected), "/shmbus.%s:%s", longest,
		 longest);
	assert_ret(bus__shm_name(buf, sizeof(buf), longest, longest),
		   (long)strlen(expected));
	assert_string_equal(buf, expected);

	/* Two buses never share a segment name. */
	char other[256];
	assert_true(bus__shm_name(buf, sizeof(buf), "a", "b.c") > 0);
	assert_true(bus__shm_name(other, sizeof(other), "a.b", "c") > 0);
	assert_string_not_equal(buf, other);

	assert_ret(bus__shm_name(buf, sizeof(buf), "bad/bus", "q"), -EINVAL);
	assert_ret(bus__shm_name(buf, sizeof(buf), "b", "bad:queue"), -EINVAL);
	assert_ret(bus__shm_name(buf, sizeof(buf), "b", ""), -EINVAL);
	assert_ret(bus__shm_name(buf, 8, "default", "orders"), -ENAMETOOLONG);
}

static void test_names_runtime_paths_follow_environment(void **state)
{
	char buf[512];

	assert_int_equal(setenv("BUS_RUNTIME_DIR", "/tmp/shmbus-test-dir", 1),
			 0);
	assert_ret(bus_runtime_dir(buf, sizeof(buf)),
		   (long)strlen("/tmp/shmbus-test-dir"));
	assert_string_equal(buf, "/tmp/shmbus-test-dir");
	assert_true(bus__socket_path(buf, sizeof(buf), "b1") > 0);
	assert_string_equal(buf, "/tmp/shmbus-test-dir/b1.sock");
	assert_true(bus__lock_path(buf, sizeof(buf), "b1") > 0);
	assert_string_equal(buf, "/tmp/shmbus-test-dir/b1.lock");
	assert_ret(bus__socket_path(buf, sizeof(buf), "no/such"), -EINVAL);
	assert_ret(bus_runtime_dir(buf, 4), -ENAMETOOLONG);
	unsetenv("BUS_RUNTIME_DIR");
	assert_true(bus_runtime_dir(buf, sizeof(buf)) > 0);
	assert_true(buf[0] == '/');
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_check_accepts_valid),
		cmocka_unit_test(test_names_check_refuses_invalid),
		cmocka_unit_test(test_names_strerror_gives_distinct_sentences),
		cmocka_unit_test(test_names_strerror_never_null),
		cmocka_unit_test(test_names_shm_name),
		cmocka_unit_test(test_names_runtime_paths_follow_environment),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL) ? 1 : 0;
}
