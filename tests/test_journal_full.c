/* SPDX-License-Identifier: MIT */
/*
 * The journal on a full file system: a 1 MiB tmpfs mounted for the test
 * (root only; skipped otherwise).  The writer must report -ENOSPC, its
 * durable sequence must never cover what did not land, and what it said
 * was durable must read back intact.  Then the same tmpfs read-only: a
 * clear start-up error naming the directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal_test.h"

static char mount_dir[256];

static int mount_small(void **state)
{
	jt_tmpdir(mount_dir, sizeof(mount_dir));
	if (mount("tmpfs", mount_dir, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "skip: cannot mount a tmpfs at %s: %s\n",
			mount_dir, strerror(errno));
		rmdir(mount_dir);
		return -1;
	}
	return 0;
}

static void unmount_small(void)
{
	/* A closed io_uring may hold its files a moment longer. */
	for (int i = 0; i < 200 && umount(mount_dir) != 0 && errno == EBUSY;
	     i++)
		usleep(10000);
	if (umount(mount_dir) != 0 && errno != EINVAL)
		fprintf(stderr, "umount %s: %s\n", mount_dir, strerror(errno));
	rmdir(mount_dir);
}

/* Appends until the file system is full; the durable sequence seen. */
static uint64_t fill(struct bus_journal_writer *w, int *error)
{
	uint64_t durable = 0, s = 0;
	int ret = 0;

	for (s = 0; s < 1000000 && ret == 0; s++) {
		struct jt_message t;

		jt_message(&t, s);
		while ((ret = bus_journal_append_message(w, &t.m)) == -EAGAIN)
			if ((ret = bus_journal_reap(w, 100)) < 0)
				break;
		if (ret == 0 && s % 16 == 15)
			ret = bus_journal_submit(w);
		if (ret == 0 && (ret = bus_journal_reap(w, 0)) > 0)
			ret = 0;
		/* Never behind, never past what was appended. */
		assert_true(bus_journal_durable_sequence(w) >= durable);
		durable = bus_journal_durable_sequence(w);
		assert_true(durable <= s + 1);
	}
	while (ret == 0) {
		ret = bus_journal_submit(w);
		if (ret == 0)
			ret = bus_journal_reap(w, 100);
		if (ret > 0)
			ret = 0;
		if (ret == 0 && bus_journal_durable_sequence(w) == s)
			break;
	}
	*error = ret;
	return bus_journal_durable_sequence(w);
}

static void test_journal_full_file_system(void **state)
{
	char dir[300], detail[512];
	struct bus_journal_options options = {
		.directory = dir,
		.name = "full",
		.kind = BUS_JOURNAL_QUEUE,
		.sync = BUS_JOURNAL_SYNC_ALWAYS,
		.segment_bytes = 256 << 10,
	};
	struct bus_journal_writer *w;
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	uint64_t durable, n = 0;
	int error, ret;

	snprintf(dir, sizeof(dir), "%s/journal", mount_dir);
	assert_ret(bus_journal_writer_open(&w, &options, NULL, detail,
					   sizeof(detail)),
		   0);
	durable = fill(w, &error);
	assert_ret(error, -ENOSPC);
	assert_true(durable > 1000); /* most of a megabyte made it */
	/* Later calls say so too, rather than accept more. */
	{
		struct jt_message t;

		jt_message(&t, 1000000);
		assert_ret(bus_journal_append_message(w, &t.m), -ENOSPC);
	}
	assert_ret(bus_journal_writer_close(w), -ENOSPC);

	/* What was durable reads back, in order, intact. */
	assert_ret(bus_journal_reader_open(&r, dir, detail, sizeof(detail)),
		   0);
	while ((ret = bus_journal_next(r, &e, detail, sizeof(detail))) == 1) {
		assert_int_equal(e.type, BUS_JOURNAL_RECORD_MESSAGE);
		jt_check(&e.message, n);
		n++;
	}
	if (ret < 0)
		fail_msg("next: %d: %s", ret, detail);
	assert_true(n >= durable);
	bus_journal_reader_close(r);

	/* Reopened, the journal goes on from where it ends. */
	{
		struct bus_journal_recovery rec;

		assert_ret(bus_journal_writer_open(&w, &options, &rec, detail,
						   sizeof(detail)),
			   0);
		assert_int_equal(rec.next_sequence, n);
		bus_journal_writer_close(w);
	}
}

/* A read-only file system: root ignores file modes, not this. */
static void test_journal_read_only_file_system(void **state)
{
	char dir[300], detail[512] = "";
	struct bus_journal_options options = {
		.directory = dir,
		.name = "ro",
		.kind = BUS_JOURNAL_TOPIC,
	};
	struct bus_journal_writer *w;

	snprintf(dir, sizeof(dir), "%s/ro", mount_dir);
	assert_int_equal(mkdir(dir, 0750), 0);
	assert_int_equal(mount("tmpfs", mount_dir, "tmpfs",
			       MS_REMOUNT | MS_RDONLY, "size=1m"),
			 0);
	assert_ret(bus_journal_writer_open(&w, &options, NULL, detail,
					   sizeof(detail)),
		   -EROFS);
	assert_non_null(strstr(detail, dir));
	assert_int_equal(
		mount("tmpfs", mount_dir, "tmpfs", MS_REMOUNT, "size=1m"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_full_file_system),
		cmocka_unit_test(test_journal_read_only_file_system),
	};
	int ret;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: mounting a small tmpfs needs root\n");
		return TEST_SKIP_EXIT;
	}
	if (mount_small(NULL) != 0)
		return TEST_SKIP_EXIT;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unmount_small();
	return ret;
}
