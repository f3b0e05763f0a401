/* SPDX-License-Identifier: MIT */
/*
 * Mapping one of busd's pages read-only: the route table (route.c), the
 * announcement page (wildcard.c), the error log (error_log.c).  Internal.
 */
#ifndef BUS_PAGE_MAP_H
#define BUS_PAGE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Maps the shared-memory object name, size bytes, read-only, and checks
 * that the 64-bit word at magic_offset holds magic (acquire: pairs with
 * busd's release store of it, written last; what the page holds is
 * complete).  With exact_size, the object must be size bytes long.
 * 0 and *out (unmap it with munmap(*out, size)); -errno of shm_open() or
 * mmap() (-ENOENT: no such page); -EPROTO for a wrong magic or size.
 */
int bus__page_map(const char *name, size_t size, size_t magic_offset,
		  uint64_t magic, bool exact_size, const void **out);

#endif /* BUS_PAGE_MAP_H */
