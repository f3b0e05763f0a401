/* SPDX-License-Identifier: MIT */
/*
 * bus_journal_trim: old files deleted (writer_files.c chooses and deletes),
 * after the acks they hold for sequences not below the trim are appended
 * again to the newest file and fdatasync'd (writer.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "reader.h"
#include "writer.h"
#include "writer_files.h"

/* The ack ranges of the file at path clipped to >= below, added to
 * *ranges (*count of them, *size allocated). */
static int acks_from(const char *path, uint64_t below,
		     struct bus_journal_range **ranges, uint32_t *count,
		     uint32_t *size)
{
	struct bus_journal_reader *r;
	struct bus_journal_entry e;
	int ret;

	ret = bus_journal_reader_open(&r, path, NULL, 0);
	if (ret < 0)
		return ret;
	while ((ret = bus_journal_next(r, &e, NULL, 0)) == 1) {
		if (e.type != BUS_JOURNAL_RECORD_ACK)
			continue;
		for (uint32_t k = 0; k < e.range_count; k++) {
			uint64_t first = e.ranges[k].first;
			uint64_t end = first + e.ranges[k].count;

			if (end <= below || end < first)
				continue;
			if (first < below)
				first = below;
			if (*count == *size) {
				uint32_t grown_size = *size ? *size * 2 : 16;
				struct bus_journal_range *grown = realloc(
					*ranges, grown_size * sizeof(*grown));

				if (!grown) {
					ret = -ENOMEM;
					goto out;
				}
				*ranges = grown;
				*size = grown_size;
			}
			(*ranges)[(*count)++] =
				(struct bus_journal_range){ first,
							    end - first };
		}
	}
out:
	bus_journal_reader_close(r);
	return ret;
}

/*
 * A queue's file holds acks of sequences the journal had not written yet
 * when they came (the consumer was ahead of the writer): those >= below
 * are appended to the newest file and fdatasync'd before the files that
 * held them go, else a reboot would bring their messages back unacked.
 */
static int carry_acks(struct bus_journal_writer *w, const uint64_t *firsts,
		      size_t n, uint64_t below)
{
	char path[BUS__JOURNAL_PATH_MAX];
	struct bus_journal_range *ranges = NULL;
	uint32_t count = 0, size = 0;
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = bus__journal_path(path, sizeof(path), w->directory,
					firsts[i], "journal");
		if (ret == 0)
			ret = acks_from(path, below, &ranges, &count, &size);
	}
	if (ret == 0 && count) {
		while ((ret = bus_journal_append_acks(w, ranges, count)) ==
		       -EAGAIN)
			bus_journal_reap(w, 100);
		if (ret == 0)
			ret = bus__journal_writer_flush(w);
		if (ret == 0)
			ret = bus__journal_writer_mark_now(w);
	}
	free(ranges);
	return ret;
}

int bus_journal_trim(struct bus_journal_writer *w, uint64_t below)
{
	uint64_t *firsts;
	size_t n;
	int ret;

	if (!w)
		return -EINVAL;
	if (w->trimming)
		return 0;
	ret = bus__journal_trim_choose(w, below, &firsts, &n);
	if (ret == 0 && n && w->options.kind == BUS_JOURNAL_QUEUE) {
		w->trimming = 1;
		ret = carry_acks(w, firsts, n, below);
		w->trimming = 0;
	}
	if (ret == 0)
		ret = bus__journal_trim_delete(w, firsts, n);
	free(firsts);
	return ret;
}
