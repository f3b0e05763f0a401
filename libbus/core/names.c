/* SPDX-License-Identifier: MIT */
/* Names of buses, queues and topics, and the paths derived from them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "error_log.h"
#include "names.h"

static int bus__name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int bus_name_check(const char *name)
{
	size_t length;

	if (!name)
		return -EINVAL;
	length = strnlen(name, BUS_NAME_MAX + 1);
	if (length == 0 || length > BUS_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < length; i++) {
		if (!bus__name_char_ok(name[i]))
			return -EINVAL;
	}
	return 0;
}

static int bus__format(char *buf, size_t size, const char *format,
		       const char *a, const char *b)
{
	int length = snprintf(buf, size, format, a, b);

	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return length;
}

int bus_runtime_dir(char *buf, size_t size)
{
	const char *dir = getenv("BUS_RUNTIME_DIR");
	char uid[32];

	if (dir && *dir)
		return bus__format(buf, size, "%s%s", dir, "");
	if (geteuid() == 0)
		return bus__format(buf, size, "%s%s", BUS_SYSTEM_RUNTIME_DIR,
				   "");
	dir = getenv("XDG_RUNTIME_DIR");
	if (dir && *dir)
		return bus__format(buf, size, "%s%s", dir, "/shmbus");
	snprintf(uid, sizeof(uid), "%u", (unsigned int)geteuid());
	return bus__format(buf, size, "/tmp/shmbus-%s%s", uid, "");
}

int bus__shm_name(char *buf, size_t size, const char *bus_name,
		  const char *name)
{
	/* ':' is not allowed in names, so BUS:NAME can never collide. */
	if (bus_name_check(bus_name) || bus_name_check(name))
		return -EINVAL;
	return bus__format(buf, size, "/shmbus.%s:%s", bus_name, name);
}

static int bus__runtime_path(char *buf, size_t size, const char *bus_name,
			     const char *suffix)
{
	char dir[4096];
	int length;

	if (bus_name_check(bus_name))
		return -EINVAL;
	length = bus_runtime_dir(dir, sizeof(dir));
	if (length < 0)
		return length;
	length = snprintf(buf, size, "%s/%s%s", dir, bus_name, suffix);
	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return length;
}

int bus__socket_path(char *buf, size_t size, const char *bus_name)
{
	return bus__runtime_path(buf, size, bus_name, ".sock");
}

int bus__system_socket_path(char *buf, size_t size, const char *bus_name)
{
	const char *dir = getenv("BUS_SYSTEM_RUNTIME_DIR");
	int length;

	if (bus_name_check(bus_name))
		return -EINVAL;
	if (!dir || !*dir)
		dir = BUS_SYSTEM_RUNTIME_DIR;
	length = snprintf(buf, size, "%s/%s.sock", dir, bus_name);
	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return length;
}

int bus__lock_path(char *buf, size_t size, const char *bus_name)
{
	return bus__runtime_path(buf, size, bus_name, ".lock");
}

int bus__log_name(char *buf, size_t size, const char *bus_name)
{
	int length = snprintf(buf, size, "/shmbus.%s%%log", bus_name);

	return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : length;
}
