/* SPDX-License-Identifier: MIT */
/* The multi-process tests' fixture (bus_test_util.h). */
#include <stdio.h>
#include <stdlib.h>

#include "bus_test_util.h"

int test_bus_start(struct test_bus *t, const char *config)
{
	int ret = test_busd_prepare(&t->busd);

	if (!ret)
		ret = test_busd_start(&t->busd, config);
	if (!ret)
		ret = bus_connect(t->busd.bus_name, &t->bus);
	if (ret) {
		/* cmocka skips the tear-down of a failed set-up. */
		fprintf(stderr, "set-up: %s\n", bus_strerror(ret));
		bus_disconnect(t->bus);
		t->bus = NULL;
		test_busd_cleanup(&t->busd);
		return -1;
	}
	return 0;
}

int test_bus_stop(struct test_bus *t)
{
	int ret;

	test_children_kill();
	bus_disconnect(t->bus);
	t->bus = NULL;
	ret = test_busd_stop(&t->busd);
	test_busd_cleanup(&t->busd);
	return ret ? -1 : 0;
}

int test_bus_setup(void **state, const char *config)
{
	struct test_bus *t = calloc(1, sizeof(*t));

	*state = t;
	if (!t)
		return -1;
	if (test_bus_start(t, config)) {
		free(t);
		*state = NULL;
		return -1;
	}
	return 0;
}

int test_bus_teardown(void **state)
{
	struct test_bus *t = *state;
	int ret = test_bus_stop(t);

	free(t);
	return ret;
}
