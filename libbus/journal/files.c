/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

#define DIGITS 20

int bus__journal_path(char *out, size_t size, const char *directory,
		      uint64_t first_sequence, const char *ext)
{
	int n = snprintf(out, size, "%s/%0*" PRIu64 ".%s", directory, DIGITS,
			 first_sequence, ext);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int make_one(const char *path)
{
	struct stat st;

	if (mkdir(path, 0750) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int bus__journal_make_directory(const char *directory, char *detail,
				size_t detail_size)
{
	char path[BUS__JOURNAL_PATH_MAX];
	size_t n = strlen(directory);
	int ret = 0;

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, directory, n + 1);
	/* Each parent in turn, then the directory itself. */
	for (char *p = path + 1; *p && ret == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ret = make_one(path);
		*p = '/';
	}
	if (ret == 0)
		ret = make_one(path);
	if (ret == 0 && access(directory, R_OK | W_OK | X_OK) != 0)
		ret = -errno;
	if (ret < 0 && detail && detail_size)
		snprintf(detail, detail_size, "%s: %s", directory,
			 strerror(-ret));
	return ret;
}

int bus__journal_name_parse(const char *name, uint64_t *first_sequence)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + DIGITS, ".journal") != 0)
		return 0;
	*first_sequence = v;
	return 1;
}

static int ascending(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int bus__journal_list(const char *directory, uint64_t **firsts, size_t *count)
{
	DIR *d = opendir(directory);
	struct dirent *e;
	uint64_t *list = NULL, first;
	size_t n = 0, cap = 0;

	*firsts = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!bus__journal_name_parse(e->d_name, &first))
			continue;
		if (n == cap) {
			uint64_t *grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(d);
				return -ENOMEM;
			}
			list = grown;
		}
		list[n++] = first;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), ascending);
	*firsts = list;
	*count = n;
	return 0;
}

int bus__journal_sync_directory(const char *directory)
{
	int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		ret = -errno;
	close(fd);
	return ret;
}
