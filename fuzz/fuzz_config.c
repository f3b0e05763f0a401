/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config: the input as busd's configuration file.
 *
 * busd_config_read() takes a path, so the input goes into a memfd that is
 * opened again through /proc/self/fd: the parser runs exactly as busd runs
 * it, file reading included.  Besides the sanitizers, one property is
 * checked: a file the parser accepts describes only queues that busd can
 * create, with valid, distinct names and settings that libbus accepts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus/bus.h"
#include "config.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd = -1;
static char input_path[64];

static void fuzz_bug(const char *what, const char *name)
{
	fprintf(stderr, "fuzz_config: %s (queue '%s')\n", what, name);
	abort();
}

static int input_open(void)
{
	input_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (input_fd < 0)
		return -errno;
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	return 0;
}

static int input_write(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (ftruncate(input_fd, 0))
		return -errno;
	while (done < size) {
		ssize_t n = pwrite(input_fd, data + done, size - done,
				   (off_t)done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static void check_accepted(const struct busd_config *config)
{
	char detail[256];

	for (unsigned int i = 0; i < config->queue_count; i++) {
		const struct busd_queue_config *q = &config->queues[i];

		if (bus_name_check(q->name))
			fuzz_bug("an accepted queue has an invalid name",
				 q->name);
		if (bus__queue_settings_check(&q->settings, detail,
					      sizeof(detail)))
			fuzz_bug("an accepted queue has invalid settings",
				 q->name);
		for (unsigned int j = 0; j < i; j++) {
			if (!strcmp(config->queues[j].name, q->name))
				fuzz_bug("a queue is accepted twice", q->name);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct busd_config config;

	if (input_fd < 0 && input_open())
		abort();
	if (input_write(data, size))
		abort();
	if (busd_config_read(&config, input_path) == 0) {
		check_accepted(&config);
		busd_config_free(&config);
	}
	return 0;
}
