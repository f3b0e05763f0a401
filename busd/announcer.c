/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

#include "announcer.h"
#include "atomics.h"
#include "futex.h"
#include "page_open.h"

int busd_announce_open(const char *bus_name, struct bus_announce **out)
{
	char name[NAME_MAX + 2];
	bool adopted;
	void *page;
	int ret;

	ret = bus__announce_name(name, sizeof(name), bus_name);
	if (ret < 0)
		return ret;
	/* A dead busd's page: its wildcard clients may still watch it. */
	ret = busd_page_open(name, BUS_ANNOUNCE_SIZE,
			     offsetof(struct bus_announce, magic),
			     BUS_ANNOUNCE_MAGIC, NULL, &page, &adopted);
	if (ret)
		return ret;
	*out = page;
	if (adopted)
		/* Raised, so that its clients list again. */
		busd_announce_change(*out);
	else
		/* A client that sees the magic sees a zeroed page. */
		busd_page_publish(page, offsetof(struct bus_announce, magic),
				  BUS_ANNOUNCE_MAGIC);
	return 0;
}

void busd_announce_change(struct bus_announce *page)
{
	if (!page)
		return;
	/* seq_cst: the topic is in the registry (bus_list answers it)
	 * before the raise; a waiter that registered and then saw the old
	 * value sleeps on it and is woken here.  busd is off the hot path:
	 * it always wakes. */
	bus__fetch_add_seq_cst(&page->topics_generation, 1);
	bus__futex_wake_all(&page->topics_generation);
}

void busd_announce_close(const char *bus_name, struct bus_announce *page)
{
	char name[NAME_MAX + 2];

	/* None when we never got the lock: the page is another busd's. */
	if (!page)
		return;
	/* Wake wildcard sleepers: they find their topics closed. */
	busd_announce_change(page);
	munmap(page, BUS_ANNOUNCE_SIZE);
	if (bus__announce_name(name, sizeof(name), bus_name) >= 0)
		shm_unlink(name);
}
