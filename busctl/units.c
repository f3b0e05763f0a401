/* SPDX-License-Identifier: MIT */
/*
 * Human units for the tables: a latency of 7516192767 ns reads as
 * "7.52 s".  Three significant digits are what an operator compares at a
 * glance; JSON keeps the exact integer nanoseconds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "busctl.h"

static const struct {
	const char *unit;
	double ns;
} busctl_duration_units[] = {
	{ "µs", 1e3 },
	{ "ms", 1e6 },
	{ "s", 1e9 },
};

/* value in [1, 1000): 3 significant digits, "7.52", "75.2", "752". */
static void busctl_three_digits(char *out, size_t size, double value,
				const char *unit)
{
	int decimals = value < 9.995 ? 2 : value < 99.95 ? 1 : 0;

	snprintf(out, size, "%.*f %s", decimals, value, unit);
}

const char *busctl_format_ns(char *out, size_t size, uint64_t ns)
{
	size_t last = sizeof(busctl_duration_units) /
			      sizeof(busctl_duration_units[0]) -
		      1;
	size_t i;

	if (ns < 1000) {
		snprintf(out, size, "%" PRIu64 " ns", ns);
		return out;
	}
	/* 999.6 µs rounds to "1000 µs": show it as "1.00 ms" instead. */
	for (i = 0; i < last; i++)
		if ((double)ns / busctl_duration_units[i].ns < 999.5)
			break;
	busctl_three_digits(out, size,
			    (double)ns / busctl_duration_units[i].ns,
			    busctl_duration_units[i].unit);
	return out;
}

const char *busctl_format_count(char *out, size_t size, double value)
{
	static const char *const suffixes[] = { "", "k", "M", "G", "T" };
	size_t i = 0;

	while (value >= 9999.5 &&
	       i + 1 < sizeof(suffixes) / sizeof(*suffixes)) {
		value /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(out, size,
			 value == (double)(uint64_t)value ? "%.0f" : "%.1f",
			 value);
	else
		snprintf(out, size, "%.*f%s",
			 value < 9.995	 ? 2
			 : value < 99.95 ? 1
					 : 0,
			 value, suffixes[i]);
	return out;
}

void busctl_print_ns_column(uint64_t ns, char *buf, size_t size)
{
	const char *text = busctl_format_ns(buf, size, ns);
	/* printf pads bytes, not columns: "µ" is two bytes, one column. */
	int extra = strstr(text, "µ") ? 1 : 0;

	printf(" %*s", 10 + extra, text);
}
