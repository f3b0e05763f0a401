/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41, reflected
 * 0x82F63B78) of journal records.
 *
 * Why our own: Debian 12 ships no C library for CRC-32C (zlib's crc32 is
 * the other polynomial; google's crc32c is not packaged there; the
 * kernel's through AF_ALG costs a system call per record).  The CPU does
 * it in hardware: SSE4.2's crc32 instruction, 8 bytes a cycle or so,
 * picked at run time; elsewhere a table, a byte at a time.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "crc32c.h"

#define POLY 0x82F63B78u

static uint32_t table[256];
static int have_sse42;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* Once per process: pthread_once orders these stores before every
 * caller's reads. */
static void table_make(void)
{
#if defined(__x86_64__)
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--)
		crc = table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t word;

		memcpy(&word, p, 8);
		c = _mm_crc32_u64(c, word);
	}
	crc = (uint32_t)c;
	while (n--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}

#endif

uint32_t bus__journal_crc32c(uint32_t crc, const void *data, size_t size)
{
	pthread_once(&table_once, table_make);
	crc = ~crc;
#if defined(__x86_64__)
	if (have_sse42)
		return ~crc_sse42(crc, data, size);
#endif
	return ~crc_table(crc, data, size);
}
