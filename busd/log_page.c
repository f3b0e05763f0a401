/* SPDX-License-Identifier: MIT */
/* Making, taking over and closing the error log page. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error_log.h"
#include "log.h"
#include "log_page.h"
#include "page_open.h"

int busd_error_log_open(const char *bus_name, struct bus_log_page **out)
{
	char name[NAME_MAX + 2];
	bool adopted;
	void *page;
	int ret;

	if (bus__log_name(name, sizeof(name), bus_name) < 0)
		return -ENAMETOOLONG;
	/* A dead busd's page keeps its lines: a crash can be read about. */
	ret = busd_page_open(name, sizeof(struct bus_log_page),
			     offsetof(struct bus_log_page, magic),
			     BUS_LOG_MAGIC, NULL, &page, &adopted);
	if (ret)
		return ret;
	*out = page;
	if (!adopted)
		/* A reader that sees the magic sees a zeroed page. */
		busd_page_publish(page, offsetof(struct bus_log_page, magic),
				  BUS_LOG_MAGIC);
	busd_log_attach(*out);
	return 0;
}

void busd_error_log_close(const char *bus_name, struct bus_log_page *page,
			  int unlink)
{
	char name[NAME_MAX + 2];

	if (!page)
		return;
	busd_log_attach(NULL);
	munmap(page, sizeof(struct bus_log_page));
	if (unlink && bus__log_name(name, sizeof(name), bus_name) >= 0)
		shm_unlink(name);
}
