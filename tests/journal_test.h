/* SPDX-License-Identifier: MIT */
/* Helpers of the journal tests (test_journal*.c).  After <cmocka.h>. */
#ifndef BUS_JOURNAL_TEST_H
#define BUS_JOURNAL_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "test_common.h"

/* Message i of a test stream: its payload says i, its key varies. */
struct jt_message {
	struct bus_journal_message m;
	char extension[16];
	char payload[96];
};

static inline void jt_message(struct jt_message *t, uint64_t sequence)
{
	int n;

	memset(t, 0, sizeof(*t));
	n = snprintf(t->payload, sizeof(t->payload), "message %llu %.*s",
		     (unsigned long long)sequence, (int)(sequence % 50),
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	t->extension[0] = (char)(sequence % 8); /* key length */
	memset(t->extension + 4, 'k', 8);
	t->m.sequence = sequence;
	t->m.time_ns = 1000000000ull * 1000 + sequence * 1000;
	t->m.correlation_id = sequence * 7;
	t->m.delivery_count = (uint32_t)(sequence % 3);
	t->m.flags = (uint32_t)(sequence & 1);
	t->m.extension = t->extension;
	t->m.extension_length = sequence % 4 ? 12 : 0;
	t->m.payload = t->payload;
	t->m.payload_length = (uint32_t)n;
}

static inline void jt_check(const struct bus_journal_message *got,
			    uint64_t sequence)
{
	struct jt_message want;

	jt_message(&want, sequence);
	assert_int_equal(got->sequence, sequence);
	assert_int_equal(got->time_ns, want.m.time_ns);
	assert_int_equal(got->correlation_id, want.m.correlation_id);
	assert_int_equal(got->delivery_count, want.m.delivery_count);
	assert_int_equal(got->flags, want.m.flags);
	assert_int_equal(got->extension_length, want.m.extension_length);
	assert_memory_equal(got->extension, want.extension,
			    want.m.extension_length);
	assert_int_equal(got->payload_length, want.m.payload_length);
	assert_memory_equal(got->payload, want.payload, want.m.payload_length);
}

static inline void jt_tmpdir(char *out, size_t size)
{
	snprintf(out, size, "%s/shmbus-journal-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(out));
}

/* rm -r of a test directory, one level of files and directories. */
static inline void jt_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path))
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			jt_remove(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

/* Appends messages first..first+count-1, retrying when every buffer is
 * in flight. */
static inline void jt_append(struct bus_journal_writer *w, uint64_t first,
			     uint64_t count)
{
	for (uint64_t s = first; s < first + count; s++) {
		struct jt_message t;
		int ret;

		jt_message(&t, s);
		while ((ret = bus_journal_append_message(w, &t.m)) == -EAGAIN)
			assert_true(bus_journal_reap(w, 100) >= 0);
		if (ret != 0)
			fail_msg("append of %llu: %d", (unsigned long long)s,
				 ret);
	}
}

/* Number of .journal files in dir. */
static inline int jt_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".journal") != NULL;
	closedir(d);
	return n;
}

/* A test's journal: a fresh directory and options (a queue, sync =
 * interval), removed at the end (cmocka set-up and tear-down). */
struct jt_fixture {
	char dir[256];
	char detail[512];
	struct bus_journal_options options;
};

static inline int jt_setup(void **state)
{
	struct jt_fixture *f = calloc(1, sizeof(*f));

	jt_tmpdir(f->dir, sizeof(f->dir));
	f->options = (struct bus_journal_options){
		.directory = f->dir,
		.name = "test",
		.kind = BUS_JOURNAL_QUEUE,
		.sync = BUS_JOURNAL_SYNC_INTERVAL,
	};
	*state = f;
	return 0;
}

static inline int jt_teardown(void **state)
{
	struct jt_fixture *f = *state;

	jt_remove(f->dir);
	free(f);
	return 0;
}

static inline struct bus_journal_writer *
jt_writer_open(struct jt_fixture *f, struct bus_journal_recovery *recovered)
{
	struct bus_journal_writer *w;
	int ret = bus_journal_writer_open(&w, &f->options, recovered,
					  f->detail, sizeof(f->detail));

	if (ret < 0)
		fail_msg("writer_open: %d: %s", ret, f->detail);
	return w;
}

#endif /* BUS_JOURNAL_TEST_H */
