/* SPDX-License-Identifier: MIT */
/*
 * Proves that a program outside the shmbus tree compiles and links against
 * the installed headers and library.  It needs no busd: it checks names and
 * error sentences only.
 */
#include <errno.h>
#include <stdio.h>

#include <bus/bus.h>

static int expect(int got, int want, const char *what)
{
	if (got == want)
		return 0;
	fprintf(stderr, "consumer-example: %s: got %d, want %d\n", what, got,
		want);
	return 1;
}

int main(void)
{
	int failures = 0;

	failures += expect(bus_name_check("orders.eu-1"), 0, "good name");
	failures += expect(bus_name_check("no/slash"), -EINVAL, "bad name");
	failures += expect(bus_name_check(""), -EINVAL, "empty name");
	printf("shmbus %d.%d.%d: -ENOTCONN means \"%s\"\n", BUS_VERSION_MAJOR,
	       BUS_VERSION_MINOR, BUS_VERSION_PATCH, bus_strerror(-ENOTCONN));
	return failures ? 1 : 0;
}
