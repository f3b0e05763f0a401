/* SPDX-License-Identifier: MIT */
/* CRC-32C of journal records and file headers (crc32c.c says why ours). */
#ifndef BUS_JOURNAL_CRC32C_H
#define BUS_JOURNAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t bus__journal_crc32c(uint32_t crc, const void *data, size_t size);

#endif /* BUS_JOURNAL_CRC32C_H */
