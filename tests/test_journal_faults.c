/* SPDX-License-Identifier: MIT */
/*
 * The journal's faults and corner cases (review of issue 21's journal):
 * corruption near the end of the newest file told from a tear by the sync
 * marks, what reopening promises, rolls with no new message, trim keeping
 * out-of-order acks, live readers across trims and rolls, seeks by time at
 * file boundaries, zeroed headers, record fields.  Real files in a
 * temporary directory; bytes flipped and files cut as a crash leaves them.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"
#include "journal_test.h"

/* Submits and reaps until every message before next is durable. */
static void flush_to(struct bus_journal_writer *w, uint64_t next)
{
	assert_ret(bus_journal_submit(w), 0);
	while (bus_journal_durable_sequence(w) < next)
		assert_true(bus_journal_reap(w, 100) >= 0);
}

static void file_path(const char *dir, uint64_t first, char *out, size_t size)
{
	snprintf(out, size, "%s/%020llu.journal", dir,
		 (unsigned long long)first);
}

static off_t size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
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

static void write_at(const char *path, const void *data, size_t size, off_t at)
{
	int fd = open(path, O_RDWR | O_CREAT, 0640);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, size, at), (ssize_t)size);
	close(fd);
}

/* Messages, acks and the newest sequence read back; -errno on error. */
struct tally {
	uint64_t messages, acks, last;
	int error;
};

static struct tally read_all(const char *dir, uint64_t acked)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	struct tally t = { 0 };
	char detail[512];
	int ret;

	assert_ret(bus_journal_reader_open(&r, dir, detail, sizeof(detail)),
		   0);
	while ((ret = bus_journal_next(r, &e, detail, sizeof(detail))) == 1) {
		if (e.type == BUS_JOURNAL_RECORD_ACK) {
			for (uint32_t i = 0; i < e.range_count; i++)
				if (e.ranges[i].first <= acked &&
				    acked < e.ranges[i].first +
						    e.ranges[i].count)
					t.acks++;
			continue;
		}
		assert_int_equal(e.type, BUS_JOURNAL_RECORD_MESSAGE);
		t.messages++;
		t.last = e.message.sequence;
	}
	t.error = ret;
	bus_journal_reader_close(r);
	return t;
}

/* Finding 1: a flipped byte far before the end of the newest file of a
 * sync = always journal is corruption, not a tear to cut. */
static void test_faults_corruption_near_end_refused(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_recovery rec;
	struct tally t;
	char path[512];
	off_t size;

	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	w = jt_writer_open(f, NULL);
	for (uint64_t s = 0; s < 20000; s += 100) {
		jt_append(w, s, 100);
		flush_to(w, s + 100);
	}
	assert_ret(bus_journal_writer_close(w), 0);
	file_path(f->dir, 0, path, sizeof(path));
	size = size_of(path);
	flip_byte(path, 2000);
	assert_ret(bus_journal_writer_open(&w, &f->options, &rec, f->detail,
					   sizeof(f->detail)),
		   -EBADMSG);
	if (!strstr(f->detail, path) || !strstr(f->detail, ": offset "))
		fail_msg("detail '%s' does not name the file and offset",
			 f->detail);
	assert_int_equal(size_of(path), size); /* nothing cut */
	t = read_all(f->dir, 0);
	assert_ret(t.error, -EBADMSG);

	/* A real tear is still cut: the close's sync mark and the one that
	 * vouched for the last flush's sync (24 bytes each, writer_state.h)
	 * gone, the last message half there. */
	flip_byte(path, 2000);
	assert_int_equal(
		truncate(path, size - 2 * BUS__JOURNAL_MARK_SIZE - 20), 0);
	w = jt_writer_open(f, &rec);
	assert_int_equal(rec.torn_records, 1);
	assert_int_equal(rec.next_sequence, 19999);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 1: a zero-filled tail (pages that never landed) is a tear. */
static void test_faults_zeroed_tail_is_a_tear(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_recovery rec;
	char path[512], zeros[4096] = { 0 };
	off_t size;

	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 1000);
	flush_to(w, 1000);
	jt_append(w, 1000, 100);
	assert_ret(bus_journal_writer_close(w), 0);
	file_path(f->dir, 0, path, sizeof(path));
	size = size_of(path);
	write_at(path, zeros, sizeof(zeros), size - 1000);
	w = jt_writer_open(f, &rec);
	assert_true(rec.torn_records >= 1);
	assert_true(rec.next_sequence < 1100 && rec.next_sequence > 1000);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 2: reopening a journal written with sync = none fdatasyncs it
 * before it calls anything durable. */
static void test_faults_reopen_syncs_before_durable(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_figures fig;

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 1000);
	assert_ret(bus_journal_writer_close(w), 0);
	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	w = jt_writer_open(f, NULL);
	bus_journal_writer_figures(w, &fig);
	assert_true(fig.syncs >= 1);
	assert_int_equal(bus_journal_durable_sequence(w), 1000);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 3: sync = none promises nothing across a power cut, so a hole
 * far before good records in the newest file is a tear, not a journal
 * refused for good. */
static void test_faults_power_cut_hole_without_marks_is_a_tear(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_recovery rec;
	char path[512];

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 60000); /* about 6 MiB, one file */
	assert_ret(bus_journal_writer_close(w), 0);
	file_path(f->dir, 0, path, sizeof(path));
	assert_true(size_of(path) > (5 << 20));
	flip_byte(path, 2000);
	w = jt_writer_open(f, &rec);
	assert_true(rec.torn_records > 1);
	assert_true(rec.next_sequence > 0 && rec.next_sequence < 100);
	jt_append(w, rec.next_sequence, 10);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 0).messages, rec.next_sequence + 10);
}

/* Finding 4: a full file with no new message since it began (acks only)
 * does not roll to a name taken. */
static void test_faults_roll_without_new_message(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_range ack = { 0, 1 };
	struct tally t;

	f->options.segment_bytes = 4096;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 1);
	for (int i = 0; i < 1000; i++)
		assert_ret(bus_journal_append_acks(w, &ack, 1), 0);
	/* Message 1 in a full file named 1, then on. */
	jt_append(w, 1, 100);
	for (int i = 0; i < 300; i++)
		assert_ret(bus_journal_append_acks(w, &ack, 1), 0);
	jt_append(w, 101, 1);
	assert_ret(bus_journal_writer_close(w), 0);
	t = read_all(f->dir, 0);
	assert_ret(t.error, 0);
	assert_int_equal(t.messages, 102);
	assert_int_equal(t.acks, 1300);
	w = jt_writer_open(f, NULL);
	jt_append(w, 102, 1);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 7: an ack for a message the journal had not written yet sits
 * in an old file; trimming that file keeps the ack. */
static void test_faults_trim_keeps_later_acks(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_range early = { 100, 1 }, rest = { 0, 100 };
	char path[512];

	f->options.segment_bytes = 4096;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 10);
	assert_ret(bus_journal_append_acks(w, &early, 1), 0);
	jt_append(w, 10, 190);
	assert_ret(bus_journal_append_acks(w, &rest, 1), 0);
	flush_to(w, 200);
	file_path(f->dir, 0, path, sizeof(path));
	assert_true(bus_journal_trim(w, 100) >= 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 100).acks, 1);
}

/* Finding 5: a live reader goes on after a trim deleted the files before
 * the one it reads. */
static void test_faults_live_reader_across_trims(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_reader *r = NULL;
	struct bus_journal_entry e;
	uint64_t expect = 0;
	int ret;

	f->options.kind = BUS_JOURNAL_TOPIC;
	f->options.sync = BUS_JOURNAL_SYNC_ALWAYS;
	f->options.segment_bytes = 8192;
	f->options.retain_bytes = 20000;
	w = jt_writer_open(f, NULL);
	for (uint64_t s = 0; s < 600; s += 20) {
		jt_append(w, s, 20);
		flush_to(w, s + 20);
		if (!r)
			assert_ret(bus_journal_reader_open(&r, f->dir,
							   f->detail,
							   sizeof(f->detail)),
				   0);
		while ((ret = bus_journal_next(r, &e, f->detail,
					       sizeof(f->detail))) == 1)
			if (e.type == BUS_JOURNAL_RECORD_MESSAGE)
				assert_int_equal(e.message.sequence, expect++);
		if (ret < 0)
			fail_msg("next: %d: %s", ret, f->detail);
	}
	assert_int_equal(expect, 600);
	assert_true(jt_files(f->dir) < 10);
	bus_journal_reader_close(r);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 6: a tailer that saw a record half written, then a newer file,
 * reads the record again before it calls it corrupt. */
static void test_faults_tailer_rereads_before_corruption(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	uint8_t *record, *half, header[BUS__JOURNAL_FILE_HEADER_SIZE];
	uint64_t at = 0;
	char path[512], next[512];
	size_t length;
	int ret;

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 11);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	while (bus_journal_next(r, &e, NULL, 0) == 1)
		at = e.offset;
	bus_journal_reader_close(r);
	file_path(f->dir, 0, path, sizeof(path));
	length = (size_t)(size_of(path) - (off_t)at);
	record = malloc(length);
	half = malloc(length);
	{
		int fd = open(path, O_RDONLY);

		assert_int_equal(pread(fd, record, length, (off_t)at),
				 (ssize_t)length);
		close(fd);
	}
	/* Message 10 as a write in progress leaves it: its middle not yet
	 * there. */
	memcpy(half, record, length);
	memset(half + 20, 0, length - 28);
	write_at(path, half, length, (off_t)at);
	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 0);
	/* The write completes, the writer rolls to file 11. */
	write_at(path, record, length, (off_t)at);
	bus__journal_header_encode(header, BUS_JOURNAL_QUEUE, "test", 11, 0);
	file_path(f->dir, 11, next, sizeof(next));
	write_at(next, header, sizeof(header), 0);
	ret = bus_journal_next(r, &e, f->detail, sizeof(f->detail));
	if (ret != 1)
		fail_msg("next: %d: %s", ret, f->detail);
	jt_check(&e.message, 10);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 0);
	bus_journal_reader_close(r);
	free(record);
	free(half);
}

/* Finding 8: messages of the time sought at the end of the file before
 * the one whose first message has it. */
static void test_faults_seek_time_at_file_boundary(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_reader *r;
	struct bus_journal_entry e;

	f->options.segment_bytes = 4096;
	w = jt_writer_open(f, NULL);
	for (uint64_t s = 0; s < 200; s++) {
		struct jt_message t;

		jt_message(&t, s);
		t.m.time_ns = s < 100 ? s : 1000;
		assert_ret(bus_journal_append_message(w, &t.m), 0);
	}
	assert_ret(bus_journal_writer_close(w), 0);
	assert_true(jt_files(f->dir) >= 4);
	assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
	assert_ret(bus_journal_seek_time(r, 1000), 0);
	assert_int_equal(bus_journal_next(r, &e, NULL, 0), 1);
	assert_int_equal(e.message.sequence, 100);
	bus_journal_reader_close(r);
}

/* Finding 9: sync = none still syncs a file it rolls away from (a power
 * cut must not leave a torn file that is not the newest). */
static void test_faults_roll_syncs_with_sync_none(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_figures fig;

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	f->options.segment_bytes = 4096;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 200);
	bus_journal_writer_figures(w, &fig);
	assert_true(jt_files(f->dir) >= 4);
	assert_true(fig.syncs >= (uint64_t)jt_files(f->dir) - 1);
	assert_ret(bus_journal_writer_close(w), 0);
}

/* Finding 9: the newest file's header zeros (its pages never landed) is
 * a tear, not corruption. */
static void test_faults_zeroed_header_of_newest_is_a_tear(void **state)
{
	struct jt_fixture *f = *state;
	struct bus_journal_writer *w;
	struct bus_journal_recovery rec;
	char path[512] = "", zeros[BUS__JOURNAL_FILE_HEADER_SIZE] = { 0 };
	uint64_t newest = 0;

	f->options.sync = BUS_JOURNAL_SYNC_NONE;
	f->options.segment_bytes = 4096;
	w = jt_writer_open(f, NULL);
	jt_append(w, 0, 200);
	assert_ret(bus_journal_writer_close(w), 0);
	{
		struct bus_journal_reader *r;
		struct bus_journal_entry e;

		/* The newest file's first message names it. */
		assert_ret(bus_journal_reader_open(&r, f->dir, NULL, 0), 0);
		while (bus_journal_next(r, &e, NULL, 0) == 1)
			if (strcmp(e.file, path) != 0) {
				snprintf(path, sizeof(path), "%s", e.file);
				newest = e.message.sequence;
			}
		bus_journal_reader_close(r);
	}
	write_at(path, zeros, sizeof(zeros), 0);
	w = jt_writer_open(f, &rec);
	assert_true(rec.torn_bytes > 0);
	assert_int_equal(rec.next_sequence, newest);
	jt_append(w, newest, 5);
	assert_ret(bus_journal_writer_close(w), 0);
	assert_int_equal(read_all(f->dir, 0).messages, newest + 5);
}

/* Finding 11: a record whose reserved field is not 0 is not a record. */
static void test_faults_record_reserved_checked(void **state)
{
	uint64_t buf[64];
	struct jt_message t;
	struct bus_journal_entry e;
	char detail[128];
	uint8_t *p = (uint8_t *)buf;
	size_t n;
	uint32_t crc = 0, one = 1;

	(void)state;
	jt_message(&t, 7);
	n = bus__journal_encode_message(buf, &t.m);
	assert_true(bus_journal_record_parse(buf, n, &e, detail,
					     sizeof(detail)) > 0);
	memcpy(p + 12, &one, 4);
	memcpy(p + 4, &crc, 4);
	crc = htole32(bus__journal_crc32c(0, p, n));
	memcpy(p + 4, &crc, 4);
	assert_ret(bus_journal_record_parse(buf, n, &e, detail,
					    sizeof(detail)),
		   -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, jt_setup, jt_teardown)
		T(test_faults_corruption_near_end_refused),
		T(test_faults_zeroed_tail_is_a_tear),
		T(test_faults_reopen_syncs_before_durable),
		T(test_faults_power_cut_hole_without_marks_is_a_tear),
		T(test_faults_roll_without_new_message),
		T(test_faults_trim_keeps_later_acks),
		T(test_faults_live_reader_across_trims),
		T(test_faults_tailer_rereads_before_corruption),
		T(test_faults_seek_time_at_file_boundary),
		T(test_faults_roll_syncs_with_sync_none),
		T(test_faults_zeroed_header_of_newest_is_a_tear),
		T(test_faults_record_reserved_checked),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
