/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the segment code of queues and topics. */
#ifndef BUS_DETAIL_H
#define BUS_DETAIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes a sentence into detail (if given) and returns error, so that a
 * check can fail in one line: return bus__detail(d, n, -EINVAL, "...").
 */
__attribute__((format(printf, 4, 5))) int bus__detail(char *detail,
						      size_t detail_size,
						      int error,
						      const char *format, ...);

static inline uint64_t bus__round_up(uint64_t value, uint64_t to)
{
	return (value + to - 1) / to * to;
}

/* High-water marks combine by max(), not by sum. */
static inline uint64_t bus__max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline int bus__is_power_of_two(uint32_t value)
{
	return value && !(value & (value - 1));
}

#endif /* BUS_DETAIL_H */
