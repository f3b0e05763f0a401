/* SPDX-License-Identifier: MIT */
/*
 * A recorded topic's or a durable queue's journal directory, as busd
 * hands it over (BUS_CONTROL_JOURNAL): what catch-up subscriptions and
 * replay by name read.  Internal to the client library.
 */
#ifndef BUS_JOURNAL_OPEN_H
#define BUS_JOURNAL_OPEN_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

/*
 * Asks busd for name's journal directory: 0, *dir_fd (O_RDONLY |
 * O_DIRECTORY, close-on-exec; the caller closes it; read the files
 * through /proc/self/fd/FD) and *journal_position (every position before
 * it was recorded when busd opened the directory).  Else a negative errno:
 * -ENOENT no such name, -EOPNOTSUPP a topic not recorded or a queue not
 * durable, -EACCES no read rights, -ENOTCONN; its sentence in detail
 * (when not NULL) and in bus_error_detail(bus).
 */
int bus__journal_open(bus_t *bus, const char *name, int *dir_fd,
		      uint64_t *journal_position, char *detail,
		      size_t detail_size);

#endif /* BUS_JOURNAL_OPEN_H */
