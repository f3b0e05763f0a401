/* SPDX-License-Identifier: MIT */
/* Reading busd's error log in shared memory (core/error_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "error_log.h"
#include "page_map.h"

#define WORDS (sizeof(struct bus_log_packed) / 8)

/* Copies entry e if it holds line; 0, or -EAGAIN when it was rewritten. */
static int copy_entry(const struct bus_log_entry *e, uint64_t line,
		      struct bus_log_record *out)
{
	struct bus_log_packed packed;
	uint64_t words[WORDS];
	/* Acquire: pairs with the writer's release of the even value. */
	uint64_t before = bus__load_acquire(&e->sequence);

	if (before != 2 * (line + 1))
		return -EAGAIN;
	for (size_t i = 0; i < WORDS; i++)
		words[i] = bus__load_relaxed(&e->words[i]);
	/* Acquire fence: pairs with the writer's release fence after its
	 * odd store; if a word above was a newer line's, we see it odd. */
	bus__fence_acquire();
	if (bus__load_relaxed(&e->sequence) != before)
		return -EAGAIN;
	memcpy(&packed, words, sizeof(packed));
	out->line = line + 1;
	out->realtime_ns = packed.realtime_ns;
	out->level = packed.level;
	/* The length came from shared memory: bounded before use. */
	if (packed.length > BUS_LOG_TEXT_MAX)
		packed.length = BUS_LOG_TEXT_MAX;
	memcpy(out->text, packed.text, packed.length);
	out->text[packed.length] = '\0';
	return 0;
}

static int map_log(const char *bus_name, const struct bus_log_page **out)
{
	char name[NAME_MAX + 2];
	const void *base;
	int ret;

	if (bus_name_check(bus_name) ||
	    bus__log_name(name, sizeof(name), bus_name) < 0)
		return -EINVAL;
	ret = bus__page_map(name, sizeof(struct bus_log_page),
			    offsetof(struct bus_log_page, magic),
			    BUS_LOG_MAGIC, true, &base);
	if (!ret)
		*out = base;
	return ret;
}

int bus_log_read(const char *bus_name, struct bus_log_record *records,
		 uint32_t count)
{
	const struct bus_log_page *page;
	uint64_t lines, first;
	uint32_t got = 0;
	int ret;

	if (!bus_name || (!records && count))
		return -EINVAL;
	ret = map_log(bus_name, &page);
	if (ret)
		return ret;
	/* Acquire: pairs with the release of the count in append. */
	lines = bus__load_acquire(&page->lines);
	if (count > BUS_LOG_ENTRIES)
		count = BUS_LOG_ENTRIES;
	first = lines > count ? lines - count : 0;
	for (uint64_t line = first; line < lines; line++) {
		const struct bus_log_entry *e =
			&page->entries[line % BUS_LOG_ENTRIES];

		/* Rewritten meanwhile by a newer line: that one is later in
		 * the log than what we were asked for; skip it. */
		if (copy_entry(e, line, &records[got]) == 0)
			got++;
	}
	munmap((void *)page, sizeof(struct bus_log_page));
	return (int)got;
}
