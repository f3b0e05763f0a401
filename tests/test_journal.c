/* SPDX-License-Identifier: MIT */
/*
 * The journal (libbus/journal/): records written through io_uring read
 * back, many files, seeks, torn tails and corruption, an unusable
 * directory.  Real files in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"
#include "journal_test.h"

/* Reads the whole journal: messages must be first..; returns the count
 * and the acks seen in *acks. */
static uint64_t read_all(const char *path, uint64_t first, uint64_t *acks)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	char detail[512];
	uint64_t n = 0;
	int ret;

	assert_ret(bus_journal_reader_open(&r, path, detail, sizeof(detail)),
		   0);
	while ((ret = bus_journal_next(r, &e, detail, sizeof(detail))) == 1) {
		if (e.type == BUS_JOURNAL_RECORD_ACK) {
			if (acks)
				for (uint32_t i = 0; i < e.range_count; i++)
					*acks += e.ranges[i].count;
			continue;
		}
		assert_int_equal(e.type, BUS_JOURNAL_RECORD_MESSAGE);
		jt_check(&e.message, first + n);
		n++;
	}
	if (ret < 0)
		fail_msg("next: %d: %s", ret, detail);
	bus_journal_reader_close(r);
	return n;
}

/* Writes everything appended and waits until it is on disk (as promised
 * by the sync setting). */
static void wait_durable(struct bus_journal_writer *w, uint64_t next)
{
	uint64_t deadline = test_now_ns() + 10000000000ull;

	assert_ret(bus_journal_submit(w), 0);
	while (bus_journal_durable_sequence(w) < next &&
	       test_now_ns() < deadline) {
		assert_true(bus_journal_reap(w, 10) >= 0);
		assert_ret(bus_journal_submit(w), 0);
	}
	assert_int_equal(bus_journal_durable_sequence(w), next);
}

static void test_journal_round_trip_messages_and_acks(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_recovery rec;
	struct bus_journal_writer *w = jt_writer_open(f, &rec);
	struct bus_journal_range ranges[2] = { { 1, 10 }, { 20, 5 } };
	uint64_t acks = 0, count = test_scaled(20000, 1000);

	assert_int_equal(rec.records, 0);
	jt_append(w, 1, count / 2);
	assert_ret(bus_journal_append_acks(w, ranges, 2), 0);
	jt_append(w, 1 + count / 2, count - count / 2);
	assert_ret(bus_journal_writer_close(w), 0);

	assert_int_equal(read_all(f->dir, 1, &acks), count);
	assert_int_equal(acks, 15);

	/* Reopened: it knows where it was and goes on. */
	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.records, count + 1);
	assert_int_equal(rec.first_sequence, 1);
	assert_int_equal(rec.next_sequence, count + 1);
	assert_int_equal(rec.torn_records, 0);
	assert_int_equal(bus_journal_durable_sequence(w), count + 1);
	jt_append(w, count + 1, 100);
	/* Sequences only grow. */
	{
		struct jt_message t;

		jt_message(&t, 5);
		assert_ret(bus_journal_append_message(w, &t.m), -EINVAL);
	}
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 1, NULL), count + 100);
}

static void test_journal_durable_sequence_follows_syncs(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_figures fig;
	struct bus_journal_writer *w;
	uint64_t deadline, rounds = 0;

	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	w = jt_writer_open(f, NULL);
	assert_int_equal(bus_journal_durable_sequence(w), 0);
	assert_int_equal(bus_journal_sync_due_ms(w), -1);
	jt_append(w, 0, 10);
	/* Appended, not submitted: nothing is promised yet. */
	assert_int_equal(bus_journal_durable_sequence(w), 0);
	assert_int_equal(bus_journal_sync_due_ms(w), 0);
	assert_ret(bus_journal_submit(w), 0);
	deadline = test_now_ns() + 10000000000ull;
	while (bus_journal_durable_sequence(w) < 10 &&
	       test_now_ns() < deadline)
		assert_true(bus_journal_reap(w, 100) >= 0);
	assert_int_equal(bus_journal_durable_sequence(w), 10);
	bus_journal_writer_figures(w, &fig);
	assert_true(fig.syncs >= 1);
	assert_int_equal(fig.records_written, 10);
	assert_true(fig.bytes_written > 10 * 56);
	assert_ret(bus_journal_writer_close(w), 0);

	/* INTERVAL: a sync comes due after the interval. */
	f->options.sync = BUS_JOURNAL_SYNC_INTERVAL;
	f->options.sync_interval_ms = 5;
	w = jt_writer_open(f, NULL);
	assert_int_equal(bus_journal_durable_sequence(w), 10);
	jt_append(w, 10, 10);
	assert_int_equal(bus_journal_sync_due_ms(w), 0); /* to submit */
	assert_ret(bus_journal_submit(w), 0);
	/* As busd's loop: poll the event fd until the sync is due.  Each
	 * round waits for something (a completion, the due time), so a
	 * few rounds do it; a due time of 0 for nothing would spin. */
	deadline = test_now_ns() + 10000000000ull;
	while (bus_journal_durable_sequence(w) < 20 &&
	       test_now_ns() < deadline) {
		int due = bus_journal_sync_due_ms(w);
		struct pollfd p = { bus_journal_event_fd(w), POLLIN, 0 };

		assert_true(poll(&p, 1, due < 0 ? 1000 : due) >= 0);
		assert_true(bus_journal_reap(w, 0) >= 0);
		assert_ret(bus_journal_submit(w), 0);
		rounds++;
	}
	assert_int_equal(bus_journal_durable_sequence(w), 20);
	assert_true(rounds < 100);
	assert_int_equal(bus_journal_sync_due_ms(w), -1);
	assert_ret(bus_journal_writer_close(w), 0);
}

static void test_journal_many_files_and_trim(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	uint64_t count = 3000;
	int files, removed;

	f->options.segment_bytes = 8192;
	w = jt_writer_open(f, NULL);
	jt_append(w, 100, count);
	wait_durable(w, 100 + count);
	files = jt_files(f->dir);
	assert_true(files > 20);
	assert_int_equal(read_all(f->dir, 100, NULL), count);
	/* Files wholly below 1000 go; the one holding 1000 stays. */
	removed = bus_journal_trim(w, 1000);
	assert_true(removed > 0);
	assert_int_equal(jt_files(f->dir), files - removed);
	assert_ret(bus_journal_writer_close(w), 0);
	{
		struct bus_journal_reader *r;
		struct bus_journal_entry e;

		assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
		assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
		assert_true(e.message.sequence <= 1000);
		assert_true(e.message.sequence > 100);
		bus_journal_reader_close(r);
	}
	/* Reopened over many files: the next sequence is known. */
	{
		struct bus_journal_recovery rec;

		w = jt_writer_open(f, &rec);
		assert_int_equal(rec.next_sequence, 100 + count);
		assert_ret(bus_journal_writer_close(w), 0);
	}
}

static void test_journal_topic_retention_by_bytes(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;

	f->options.kind = BUS_JOURNAL_TOPIC;
	f->options.segment_bytes = 8192;
	f->options.retain_bytes = 32768;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 3000);
	assert_ret(bus_journal_writer_close(w), 0);
	/* About retain_bytes / segment_bytes files, plus the newest. */
	assert_true(jt_files(f->dir) <= 6);
	assert_true(jt_files(f->dir) >= 2);
}

static void test_journal_topic_retention_by_age(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct dirent *e;
	DIR *d;
	int files, old = 0;

	f->options.kind = BUS_JOURNAL_TOPIC;
	f->options.segment_bytes = 8192;
	f->options.retain_age_ms = 60000;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 1000);
	assert_ret(bus_journal_submit(w), 0);
	files = jt_files(f->dir);
	assert_true(files > 4);
	/* The three oldest files were last written an hour ago. */
	d = opendir(f->dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[600];
		struct timeval hour_ago[2];

		if (!strstr(e->d_name, ".journal") ||
		    strcmp(e->d_name, "00000000000000000100") > 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		gettimeofday(&hour_ago[0], NULL);
		hour_ago[0].tv_sec -= 3600;
		hour_ago[1] = hour_ago[0];
		assert_int_equal(utimes(path, hour_ago), 0);
		old++;
	}
	closedir(d);
	assert_true(old >= 1);
	assert_int_equal(bus_journal_trim(w, 0), old);
	assert_int_equal(jt_files(f->dir), files - old);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* A catch-up reader: at the end it says 0, then goes on with what the
 * writer adds, into the files it starts. */
static void test_journal_reader_follows_a_live_writer(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	uint64_t next = 1;

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	f->options.segment_bytes = 8192;
	w = jt_writer_open(f, NULL);
	jt_append(w, 1, 100);
	wait_durable(w, 101);
	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	for (int round = 0; round < 3; round++) {
		while (bus_journal_next(r, &e, NULL, 0) == 1)
			jt_check(&e.message, next++);
		assert_int_equal(next, 101 + 200 * round);
		assert_int_equal(bus_journal_next(r, &e, NULL, 0), 0);
		jt_append(w, next, 200);
		wait_durable(w, next + 200);
	}
	bus_journal_reader_close(r);
	assert_true(jt_files(f->dir) > 5);
	assert_ret(bus_journal_writer_close(w), 0);
}

static void seek_check(const char *dir, uint64_t sequence, uint64_t want)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;

	assert_ret(bus_journal_reader_open(&r, dir, NULL, 0), 0);
	assert_ret(bus_journal_seek_sequence(r, sequence), 0);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	jt_check(&e.message, want);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	jt_check(&e.message, want + 1);
	bus_journal_reader_close(r);

	/* By time: message s was published at jt_message's time of s. */
	{
		struct jt_message t;

		jt_message(&t, sequence);
		assert_ret(bus_journal_reader_open(&r, dir, NULL, 0), 0);
		assert_ret(bus_journal_seek_time(r, t.m.time_ns - 1), 0);
		assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
		jt_check(&e.message, want);
		bus_journal_reader_close(r);
	}
}

static void test_journal_seek_by_sequence_and_time(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	uint64_t count = test_scaled(60000, 20000);

	f->options.segment_bytes = 1 << 20;
	w = jt_writer_open(f, NULL);
	jt_append(w, 10, count);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_true(jt_files(f->dir) >= 3);
	seek_check(f->dir, 0, 10);
	seek_check(f->dir, 10, 10);
	seek_check(f->dir, 11, 11);
	seek_check(f->dir, 5000, 5000);
	seek_check(f->dir, count / 2 + 3, count / 2 + 3);
	seek_check(f->dir, count + 8, count + 8);
	/* Past the end: nothing. */
	{
		struct bus_journal_reader *r;
		struct bus_journal_entry e;

		assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
		assert_ret(bus_journal_seek_sequence(r, count + 10), 0);
		assert_int_equal(bus_journal_next(r, &e, NULL, 0), 0);
		bus_journal_reader_close(r);
	}
	/* Without the index files: the same, by scanning. */
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -f %s/*.index", f->dir);
		assert_int_equal(system(cmd), 0);
		seek_check(f->dir, count / 2 + 3, count / 2 + 3);
	}
}

static void newest_file(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char best[256] = "";

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".journal") &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	closedir(d);
	snprintf(out, size, "%s/%s", dir, best);
}

static off_t file_size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* The newest message in DIR's newest file before the offset its last good
 * sync mark names (what tests/journal_powercut.c leaves), + 1; 0: none. */
static uint64_t next_behind_last_mark(const char *dir)
{
	uint64_t synced = BUS__JOURNAL_FILE_HEADER_SIZE, next = 0;
	struct bus_journal_entry e;
	char path[4096];
	uint8_t *data;
	off_t size;
	int fd;

	newest_file(dir, path, sizeof(path));
	size = file_size_of(path);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, data, (size_t)size, 0), size);
	close(fd);
	/* Twice: the last mark, then the messages that end before it. */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t offset = BUS__JOURNAL_FILE_HEADER_SIZE;

		while (offset < (uint64_t)size) {
			long n = bus_journal_record_parse(
				data + offset, (size_t)size - offset, &e, NULL,
				0);

			if (n <= 0)
				break;
			if (pass == 0 &&
			    e.type == BUS_JOURNAL_RECORD_SYNC_MARK &&
			    e.synced_offset > synced &&
			    e.synced_offset <= offset)
				synced = e.synced_offset;
			offset += (uint64_t)n;
			if (pass == 1 &&
			    e.type == BUS_JOURNAL_RECORD_MESSAGE &&
			    offset <= synced)
				next = e.message.sequence + 1;
		}
	}
	free(data);
	return next;
}

/*
 * sync = always, one message at a time (a publisher confirming each): the
 * durable sequence never runs ahead of the newest file cut back to its
 * last sync mark, the power cut test_durable_faults.sh models, whichever
 * way the writer writes that mark (in a batch, alone when idle, or after
 * an fdatasync of its own thread: bus_journal_sync_here).
 */
static void test_journal_durable_behind_a_written_mark(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;

	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	/* Through io_uring, then written and synced in this thread. */
	for (int here = 0; here < 2; here++) {
		w = jt_writer_open(f, NULL);
		bus_journal_sync_here(w, here);
		for (uint64_t i = here * 20u; i < here * 20u + 20; i++) {
			uint64_t deadline = test_now_ns() + 10000000000ull;

			jt_append(w, i, 1);
			assert_ret(bus_journal_submit(w), 0);
			while (bus_journal_durable_sequence(w) < i + 1 &&
			       test_now_ns() < deadline) {
				assert_true(bus_journal_reap(w, 100) >= 0);
				assert_ret(bus_journal_submit(w), 0);
				/* At every step, not only at the end. */
				assert_true(bus_journal_durable_sequence(w) <=
					    next_behind_last_mark(f->dir));
			}
			assert_int_equal(bus_journal_durable_sequence(w),
					 i + 1);
			assert_int_equal(next_behind_last_mark(f->dir), i + 1);
		}
		assert_ret(bus_journal_writer_close(w), 0);
	}
	assert_int_equal(read_all(f->dir, 0, NULL), 40);
}

static void test_journal_torn_tail_cut_counted_appended_after(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_recovery rec;
	struct bus_journal_writer *w;
	char path[512];
	off_t size;

	f->options.segment_bytes = 64 << 10;
	w = jt_writer_open(f, NULL);
	jt_append(w, 1, 2000);
	assert_ret(bus_journal_writer_close(w), 0);

	/* Cut mid-record: the close's sync mark (24 bytes) goes and the
	 * last message loses 20 bytes. */
	newest_file(f->dir, path, sizeof(path));
	size = file_size_of(path);
	assert_int_equal(truncate(path, size - 24 - 20), 0);
	{
		struct bus_journal_reader *r;
		struct bus_journal_recovery rr;

		assert_int_equal(read_all(f->dir, 1, NULL), 1999);
		assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
		while (bus_journal_next(r, &(struct bus_journal_entry){ 0 },
					NULL, 0) == 1)
			;
		bus_journal_reader_recovery(r, &rr);
		assert_int_equal(rr.torn_records, 1);
		assert_int_equal(rr.files, jt_files(f->dir));
		assert_int_equal(rr.records, 1999);
		assert_int_equal(rr.next_sequence, 2000);
		bus_journal_reader_close(r);
	}
	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.torn_records, 1);
	assert_true(rec.torn_bytes > 0 && rec.torn_bytes < 200);
	assert_int_equal(rec.next_sequence, 2000);
	jt_append(w, 2000, 10);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 1, NULL), 2009);

	/* Garbage after the last record. */
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		char junk[300];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(i * 37 + 11);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
		close(fd);
	}
	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.torn_records, 1);
	assert_int_equal(rec.torn_bytes, 300);
	assert_int_equal(rec.next_sequence, 2010);
	jt_append(w, 2010, 1);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 1, NULL), 2010);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void test_journal_corruption_refused_with_file_and_offset(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	char path[512], want[600];
	int ret;

	f->options.segment_bytes = 64 << 10;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 3000);
	assert_ret(bus_journal_writer_close(w), 0);
	snprintf(path, sizeof(path), "%s/%020d.journal", f->dir, 0);
	/* A payload byte of a record in the middle of the oldest file. */
	flip_byte(path, 30000);

	ret = bus_journal_writer_open(&w, &f->options, NULL, f->detail,
				      sizeof(f->detail));
	assert_ret(ret, -EBADMSG);
	snprintf(want, sizeof(want), "%s: offset ", path);
	if (strncmp(f->detail, want, strlen(want)) != 0)
		fail_msg("detail '%s' does not name '%s'", f->detail, want);
	assert_non_null(strstr(f->detail, "CRC"));

	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	f->detail[0] = '\0';
	while ((ret = bus_journal_next(r, &e, f->detail, sizeof(f->detail))) ==
	       1)
		assert_true(e.offset < 30000);
	assert_ret(ret, -EBADMSG);
	assert_non_null(strstr(f->detail, path));
	bus_journal_reader_close(r);
}

static void test_journal_corruption_deep_in_newest_file(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	char path[512];
	uint64_t count = 80000; /* about 9 MiB: more than the torn window */

	f->options.segment_bytes = 64 << 20;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, count);
	assert_ret(bus_journal_writer_close(w), 0);
	newest_file(f->dir, path, sizeof(path));
	flip_byte(path, 1000000);
	assert_ret(bus_journal_writer_open(&w, &f->options, NULL, f->detail,
					   sizeof(f->detail)),
		   -EBADMSG);
	assert_non_null(strstr(f->detail, path));
}

static void test_journal_unusable_directory(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	char file[300], dir[400];
	int fd;

	/* A path through a regular file. */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/journal", file);
	f->options.directory = dir;
	assert_ret(bus_journal_writer_open(&w, &f->options, NULL, f->detail,
					   sizeof(f->detail)),
		   -ENOTDIR);
	assert_non_null(strstr(f->detail, file));

	/* A directory without write permission (root ignores modes). */
	if (geteuid() != 0) {
		snprintf(dir, sizeof(dir), "%s/ro", f->dir);
		assert_int_equal(mkdir(dir, 0500), 0);
		assert_ret(bus_journal_writer_open(&w, &f->options, NULL,
						   f->detail,
						   sizeof(f->detail)),
			   -EACCES);
		assert_non_null(strstr(f->detail, dir));
	}

	/* Bad options. */
	f->options.directory = f->dir;
	f->options.kind = 0;
	assert_ret(bus_journal_writer_open(&w, &f->options, NULL, NULL, 0),
		   -EINVAL);
}

static void test_journal_one_writer_per_directory(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w = jt_writer_open(f, NULL), *other;

	assert_ret(bus_journal_writer_open(&other, &f->options, NULL,
					   f->detail, sizeof(f->detail)),
		   -EBUSY);
	assert_ret(bus_journal_writer_close(w), 0);
}

static void test_journal_large_record(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w = jt_writer_open(f, NULL);
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	struct bus_journal_message m = { .sequence = 3 };
	size_t size = 3u << 20;
	char *payload = malloc(size);

	for (size_t i = 0; i < size; i++)
		payload[i] = (char)(i % 251);
	jt_append(w, 1, 2);
	m.payload = payload;
	m.payload_length = (uint32_t)size;
	assert_ret(bus_journal_append_message(w, &m), 0);
	jt_append(w, 4, 2);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	assert_int_equal(e.message.sequence, 3);
	assert_int_equal(e.message.payload_length, size);
	assert_memory_equal(e.message.payload, payload, size);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	jt_check(&e.message, 4);
	bus_journal_reader_close(r);
	free(payload);
}

static void test_journal_record_parse_refuses_garbage(void **state)
{
	uint64_t buf[32] = { 0 };
	struct bus_journal_entry e;
	char detail[128];

	assert_ret(bus_journal_record_parse(buf, 8, &e, detail,
					    sizeof(detail)),
		   -EAGAIN);
	assert_ret(bus_journal_record_parse(buf, sizeof(buf), &e, detail,
					    sizeof(detail)),
		   -EBADMSG);
	buf[0] = 64; /* length 64, CRC 0 */
	assert_ret(bus_journal_record_parse(buf, sizeof(buf), &e, detail,
					    sizeof(detail)),
		   -EBADMSG);
	assert_non_null(strstr(detail, "CRC"));
}

/* A message's expiry round-trips through a record; a record without one
 * has the bytes journals had before expiries existed. */
static void test_journal_expiry_kept(void **state)
{
	uint64_t with[16] = { 0 }, without[16] = { 0 };
	struct bus_journal_message m = {
		.sequence = 9,
		.time_ns = 1000,
		.flags = 1,
		.payload = "ttl",
		.payload_length = 3,
	};
	struct bus_journal_entry e;
	size_t plain, longer;
	char detail[128];

	(void)state;
	plain = bus__journal_encode_message(without, &m);
	m.expiry_ns = 123456789;
	longer = bus__journal_encode_message(with, &m);
	assert_int_equal(longer, plain + 8);
	assert_int_equal(bus__journal_message_size(&m), longer);
	assert_ret(bus_journal_record_parse(with, longer, &e, detail,
					    sizeof(detail)),
		   (long)longer);
	assert_int_equal(e.message.expiry_ns, 123456789);
	assert_int_equal(e.message.flags, 1); /* the record's flag hidden */
	assert_int_equal(e.message.payload_length, 3);
	assert_memory_equal(e.message.payload, "ttl", 3);
	assert_ret(bus_journal_record_parse(without, plain, &e, detail,
					    sizeof(detail)),
		   (long)plain);
	assert_int_equal(e.message.expiry_ns, 0);
	assert_int_equal(e.message.flags, 1);
	/* Without the flag the bytes are the old format: its fixed part,
	 * then the payload, at once. */
	assert_memory_equal((const char *)without + 16 + 40, "ttl", 3);
}

/* A GAP record: the writer's next and written sequences pass it, the
 * reader gives it back and a writer opened again continues after it, a
 * seek into it stops at it; bad ones are refused. */
static void test_journal_gap(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_gap gap = {
		.first = 10,
		.count = 3,
		.time_ns = 77,
		.reason = BUS_JOURNAL_GAP_CORRUPT,
	};
	struct bus_journal_recovery rec;
	struct bus_journal_writer *w = jt_writer_open(f, NULL);
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	uint64_t buf[8];
	char detail[256];

	jt_append(w, 0, 10);
	assert_ret(bus_journal_append_gap(w, &gap), 0);
	wait_durable(w, 13);
	assert_int_equal(bus_journal_written_sequence(w), 13);
	gap.first = 12; /* sequences only grow */
	assert_ret(bus_journal_append_gap(w, &gap), -EINVAL);
	jt_append(w, 13, 2);
	wait_durable(w, 15);
	assert_ret(bus_journal_writer_close(w), 0);

	assert_ret(bus_journal_reader_open(&r, f->dir, detail, sizeof(detail)),
		   0);
	assert_ret(bus_journal_seek_sequence(r, 11), 0);
	assert_ret(bus_journal_next(r, &e, detail, sizeof(detail)), 1);
	assert_int_equal(e.type, BUS_JOURNAL_RECORD_GAP);
	assert_int_equal(e.gap.first, 10);
	assert_int_equal(e.gap.count, 3);
	assert_int_equal(e.gap.time_ns, 77);
	assert_int_equal(e.gap.reason, BUS_JOURNAL_GAP_CORRUPT);
	assert_ret(bus_journal_next(r, &e, detail, sizeof(detail)), 1);
	assert_int_equal(e.message.sequence, 13);
	bus_journal_reader_close(r);

	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.next_sequence, 15);
	assert_int_equal(rec.first_sequence, 0);
	bus_journal_writer_close(w);
	/* Ends in a gap: the next sequence is past it. */
	jt_remove(f->dir);
	w = jt_writer_open(f, NULL);
	gap.first = 0;
	gap.count = 4;
	assert_ret(bus_journal_append_gap(w, &gap), 0);
	wait_durable(w, 4);
	bus_journal_writer_close(w);
	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.next_sequence, 4);
	jt_append(w, 4, 1);
	wait_durable(w, 5);
	gap.first = 5;
	gap.count = 0;
	assert_ret(bus_journal_append_gap(w, &gap), -EINVAL);
	bus_journal_writer_close(w);

	bus__journal_encode_gap(buf, &gap);
	assert_ret(bus_journal_record_parse(buf, BUS__JOURNAL_GAP_SIZE, &e,
					    detail, sizeof(detail)),
		   -EBADMSG);
	assert_non_null(strstr(detail, "gap record"));
	gap.first = UINT64_MAX;
	gap.count = 2;
	bus__journal_encode_gap(buf, &gap);
	assert_ret(bus_journal_record_parse(buf, BUS__JOURNAL_GAP_SIZE, &e,
					    detail, sizeof(detail)),
		   -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, jt_setup, jt_teardown)
		T(test_journal_round_trip_messages_and_acks),
		T(test_journal_durable_sequence_follows_syncs),
		T(test_journal_many_files_and_trim),
		T(test_journal_topic_retention_by_bytes),
		T(test_journal_topic_retention_by_age),
		T(test_journal_reader_follows_a_live_writer),
		T(test_journal_seek_by_sequence_and_time),
		T(test_journal_durable_behind_a_written_mark),
		T(test_journal_torn_tail_cut_counted_appended_after),
		T(test_journal_corruption_refused_with_file_and_offset),
		T(test_journal_corruption_deep_in_newest_file),
		T(test_journal_unusable_directory),
		T(test_journal_one_writer_per_directory),
		T(test_journal_large_record),
		T(test_journal_record_parse_refuses_garbage),
		T(test_journal_expiry_kept),
		T(test_journal_gap),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
