/* SPDX-License-Identifier: MIT */
/*
 * The client side of test_topic_record.sh's JOURNAL checks, through the
 * library's internal bus__journal_open() (libbus/journal_open.h):
 *
 *   journal_request_client BUS NAME
 *       asks busd for NAME's journal directory; on success prints
 *       "position N" (journal_position) and then the name of every
 *       .journal file in it, read through /proc/self/fd/FD, sorted; on
 *       failure prints "error ERRNO-NAME: DETAIL" and exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "journal_open.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(int dir_fd)
{
	char path[64], *names[4096];
	size_t count = 0;
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dir_fd);
	dir = opendir(path);
	if (!dir) {
		perror(path);
		return 1;
	}
	while ((e = readdir(dir)) && count < 4096) {
		size_t n = strlen(e->d_name);

		if (n > 8 && !strcmp(e->d_name + n - 8, ".journal"))
			names[count++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, count, sizeof(names[0]), by_name);
	for (size_t i = 0; i < count; i++) {
		printf("%s\n", names[i]);
		free(names[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char detail[256];
	uint64_t position = 0;
	bus_t *bus;
	int fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BUS NAME\n", argv[0]);
		return 2;
	}
	ret = bus_connect(argv[1], &bus);
	if (ret < 0) {
		fprintf(stderr, "connect: %s\n", bus_strerror(ret));
		return 2;
	}
	ret = bus__journal_open(bus, argv[2], &fd, &position, detail,
				sizeof(detail));
	if (ret < 0) {
		printf("error %s: %s\n",
		       ret == -EOPNOTSUPP ? "EOPNOTSUPP"
		       : ret == -ENOENT	  ? "ENOENT"
		       : ret == -EACCES	  ? "EACCES"
					  : "OTHER",
		       detail);
		bus_disconnect(bus);
		return 1;
	}
	printf("position %" PRIu64 "\n", position);
	ret = list(fd);
	close(fd);
	bus_disconnect(bus);
	return ret;
}
