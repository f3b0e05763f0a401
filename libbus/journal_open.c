/* SPDX-License-Identifier: MIT */
/* BUS_CONTROL_JOURNAL, the client's side (journal_open.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "journal_open.h"

static void copy_detail(bus_t *bus, char *detail, size_t detail_size)
{
	if (detail && detail_size)
		snprintf(detail, detail_size, "%s", bus_error_detail(bus));
}

int bus__journal_open(bus_t *bus, const char *name, int *dir_fd,
		      uint64_t *journal_position, char *detail,
		      size_t detail_size)
{
	struct bus_control_request request = { .op = BUS_CONTROL_JOURNAL };
	struct bus_control_reply reply;
	int fd = -1, ret;

	if (detail && detail_size)
		detail[0] = '\0';
	if (!bus || !dir_fd)
		return -EINVAL;
	*dir_fd = -1;
	if (!name || bus_name_check(name)) {
		ret = bus__client_fail(bus, -EINVAL,
				       "not a valid queue or topic name");
		copy_detail(bus, detail, detail_size);
		return ret;
	}
	snprintf(request.name, sizeof(request.name), "%s", name);
	ret = bus__client_request_fd(bus, &request, &reply, &fd);
	if (ret == 0 && fd < 0)
		ret = bus__client_fail(bus, -EPROTO,
				       "busd sent no journal directory");
	if (ret < 0) {
		copy_detail(bus, detail, detail_size);
		return ret;
	}
	*dir_fd = fd;
	if (journal_position)
		*journal_position = reply.segment_size;
	return 0;
}
