/* SPDX-License-Identifier: MIT */
/* Appending a line to the error log page: the write side of its seqlock. */
#include <string.h>

#include "atomics.h"
#include "log_page_writer.h"

#define WORDS (sizeof(struct bus_log_packed) / 8)

void busd_log_append(struct bus_log_page *page, uint64_t realtime_ns,
		     uint32_t level, const char *text)
{
	/* Relaxed: we are the only writer of lines. */
	uint64_t line = bus__load_relaxed(&page->lines);
	struct bus_log_entry *e = &page->entries[line % BUS_LOG_ENTRIES];
	struct bus_log_packed packed = { .realtime_ns = realtime_ns,
					 .level = level };
	uint64_t words[WORDS];

	packed.length = (uint32_t)strnlen(text, BUS_LOG_TEXT_MAX);
	/* Cut whole UTF-8 characters only: never leave a lead byte whose
	 * continuation bytes were cut off. */
	if (text[packed.length] != '\0')
		while (packed.length &&
		       ((unsigned char)text[packed.length] & 0xc0) == 0x80)
			packed.length--;
	memcpy(packed.text, text, packed.length);
	memcpy(words, &packed, sizeof(words));
	/* Odd first; the release fence orders it before the words, so a
	 * reader that sees a new word sees the odd sequence after it
	 * (pairs with the reader's acquire fence). */
	bus__store_relaxed(&e->sequence, 2 * line + 1);
	bus__fence_release();
	for (size_t i = 0; i < WORDS; i++)
		bus__store_relaxed(&e->words[i], words[i]);
	/* Release: the words before the even sequence (pairs with the
	 * reader's acquire load of it). */
	bus__store_release(&e->sequence, 2 * (line + 1));
	/* Release: a reader that sees the count sees the entry. */
	bus__store_release(&page->lines, line + 1);
}
