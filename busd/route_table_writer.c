/* SPDX-License-Identifier: MIT */
/* The write side of the route table's seqlock (core/route_table.h). */
#include <string.h>

#include "atomics.h"
#include "route_table_writer.h"

static void write_words(bus__route_word *to, const void *from, size_t bytes)
{
	const uint8_t *in = from;
	uint64_t word;

	for (size_t i = 0; i < bytes / 8; i++) {
		memcpy(&word, in + 8 * i, 8);
		bus__store_relaxed(&to[i], word);
	}
}

void busd_route_table_write(struct bus_route_table *t,
			    const struct bus_route *entries, uint32_t count)
{
	uint64_t generation = bus__load_relaxed(&t->generation);

	/* Odd: a reader that sees it, or sees it afterwards, tries again.
	 * The release fence orders this store before the entries' stores;
	 * pairs with the reader's acquire fence before its second look. */
	bus__store_relaxed(&t->generation, generation + 1);
	bus__fence_release();
	for (uint32_t i = 0; i < count && i < BUS_ROUTES_MAX; i++)
		write_words(bus__route_entry_words(t, i), &entries[i],
			    sizeof(entries[i]));
	bus__store_relaxed(&t->count, count);
	/* Release: pairs with the reader's acquire load of an even
	 * generation; it sees every entry stored above. */
	bus__store_release(&t->generation, generation + 2);
}
