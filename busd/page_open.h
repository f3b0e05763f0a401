/* SPDX-License-Identifier: MIT */
/*
 * busd's own pages in shared memory (the announcement page, the route
 * table, the error log): a dead busd's page is taken over if it is whole,
 * since its clients may still map it; otherwise a new one is made.
 */
#ifndef BUSD_PAGE_OPEN_H
#define BUSD_PAGE_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Opens page name of size bytes, read-write.  We hold the bus's lock: a
 * page already there is a dead busd's, adopted (*adopted = true) when it
 * is ours, size bytes long, holds magic at magic_offset and, if whole is
 * not NULL, whole() says yes.  Otherwise it is unlinked and a zeroed page
 * made, readable by all (0644), which the caller fills and then
 * publishes with busd_page_publish().  0 and *out, or a negative errno
 * with nothing left behind.
 */
int busd_page_open(const char *name, size_t size, size_t magic_offset,
		   uint64_t magic, bool (*whole)(const void *page), void **out,
		   bool *adopted);

/* Writes a new page's magic, last, with release: pairs with the acquire
 * load of the magic by every reader (libbus/page_map.c) and by the next
 * busd (above); who sees the magic sees what was written before it. */
void busd_page_publish(void *page, size_t magic_offset, uint64_t magic);

#endif /* BUSD_PAGE_OPEN_H */
