/* SPDX-License-Identifier: MIT */
/* Where a bus's segments, socket, lock and log page are found. */
#ifndef BUS_NAMES_H
#define BUS_NAMES_H

#include <stddef.h>

/* "/shmbus.BUS:NAME" into buf; -ENAMETOOLONG or -EINVAL for bad names. */
int bus__shm_name(char *buf, size_t size, const char *bus_name,
		  const char *name);

/* RUNTIME_DIR/BUS.sock and RUNTIME_DIR/BUS.lock. */
int bus__socket_path(char *buf, size_t size, const char *bus_name);
int bus__lock_path(char *buf, size_t size, const char *bus_name);

/* Where a root busd (the system bus) listens: /run/shmbus. */
#define BUS_SYSTEM_RUNTIME_DIR "/run/shmbus"

/*
 * The system bus's socket, where clients look when their own runtime
 * directory has no busd: $BUS_SYSTEM_RUNTIME_DIR/BUS.sock if that is set
 * (tests), else /run/shmbus/BUS.sock.  Returns the length, -EINVAL or
 * -ENAMETOOLONG.
 */
int bus__system_socket_path(char *buf, size_t size, const char *bus_name);

#endif /* BUS_NAMES_H */
