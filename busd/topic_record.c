/* SPDX-License-Identifier: MIT */
/* Recorded topics: opening and closing their journals
 * (busd/topic_record.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "detail.h"
#include "files.h"
#include "journal_access.h"
#include "journal_thread.h"
#include "log.h"
#include "recorded_topic.h"
#include "registry.h"
#include "topic_record.h"
#include "topic_segment.h"

/* The data directory exists and busd may write it; made if missing. */
static int prepare_dir(struct busd_durable *d, char *detail,
		       size_t detail_size)
{
	char why[PATH_MAX + 64];
	int ret;

	if (d->dir_ready)
		return 0;
	ret = bus__journal_make_directory(d->data_dir, why, sizeof(why));
	if (!ret && faccessat(AT_FDCWD, d->data_dir, W_OK | X_OK, AT_EACCESS))
		ret = -errno;
	if (ret)
		return bus__detail(detail, detail_size, ret,
				   "cannot use data_dir %s for recorded "
				   "topics: %s (set [bus] data_dir to a "
				   "directory busd's user may write)",
				   d->data_dir, strerror(-ret));
	d->dir_ready = true;
	return 0;
}

int busd_topic_record_start(struct busd_catalog *catalog,
			    const struct busd_config *config)
{
	char detail[PATH_MAX + 256];
	bool any = false;
	int ret;

	for (unsigned int i = 0; i < config->topic_count; i++)
		any |= config->topics[i].settings.record != 0;
	if (!any || !catalog->durable)
		return 0;
	ret = prepare_dir(catalog->durable, detail, sizeof(detail));
	if (ret)
		busd_refuse("%s", detail);
	return ret;
}

static void topic_free(struct busd_recorded_topic *rt)
{
	if (rt->writer)
		bus_journal_writer_close(rt->writer);
	if (rt->geometry.base)
		munmap(rt->geometry.base, rt->geometry.size);
	free(rt);
}

void busd_topic_record_stop(struct busd_catalog *catalog)
{
	struct busd_durable *d = catalog->durable;
	struct busd_recorded_topic **topics;
	unsigned int count;

	if (!d)
		return;
	busd_journal_thread_lock(d);
	topics = d->topics;
	count = d->topic_count;
	d->topics = NULL;
	d->topic_count = d->topic_capacity = 0;
	busd_journal_thread_unlock(d);
	for (unsigned int i = 0; i < count; i++) {
		busd_topic_record_finish(topics[i]);
		topic_free(topics[i]);
	}
	free(topics);
}

/* Our own mapping of the topic's segment, for the thread. */
static int map_topic(struct busd_recorded_topic *rt,
		     const struct busd_topic *topic, char *detail,
		     size_t detail_size)
{
	struct bus__topic_offsets o;
	void *base = mmap(NULL, topic->geometry.size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, topic->fd, 0);

	if (base == MAP_FAILED)
		return bus__detail(detail, detail_size, -errno,
				   "cannot map its segment: %s",
				   strerror(errno));
	bus__topic_offsets(&topic->geometry.settings, &o);
	bus__topic_geometry_fill(&rt->geometry, base, topic->geometry.size,
				 &topic->geometry.settings, &o);
	return 0;
}

static void set_options(struct busd_recorded_topic *rt)
{
	const struct bus_topic_settings *s = &rt->geometry.settings;

	rt->options = (struct bus_journal_options){
		.directory = rt->directory,
		.name = rt->name,
		.kind = BUS_JOURNAL_TOPIC,
		.sync = (enum bus_journal_sync)s->sync,
		.sync_interval_ms = s->sync_interval_ms,
		.segment_bytes = (uint64_t)s->segment_kib << 10,
		.retain_bytes = (uint64_t)s->retain_mib << 20,
		.retain_age_ms = (uint64_t)s->retain_age_s * 1000u,
	};
}

static uint64_t elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - since->tv_sec) * 1000000000u +
	       (uint64_t)now.tv_nsec - (uint64_t)since->tv_nsec;
}

/* Opens the writer (which checks every file and cuts a torn tail) and
 * makes the ring agree with it. */
static int open_journal(struct busd_recorded_topic *rt, bool adopted,
			char *detail, size_t detail_size)
{
	struct bus_journal_line *line = &rt->geometry.control->journal;
	struct bus_journal_recovery recovered = { 0 };
	struct timespec start;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	ret = bus_journal_writer_open(&rt->writer, &rt->options, &recovered,
				      detail, detail_size);
	if (ret) {
		rt->writer = NULL;
		return ret;
	}
	if (recovered.torn_records)
		busd_warning("topic '%s': its journal in %s ended in %llu "
			     "torn record%s (%llu bytes, a write cut short): "
			     "cut off",
			     rt->name, rt->directory,
			     (unsigned long long)recovered.torn_records,
			     recovered.torn_records == 1 ? "" : "s",
			     (unsigned long long)recovered.torn_bytes);
	ret = busd_topic_record_recover(rt, adopted, &recovered, detail,
					detail_size);
	if (ret)
		return ret;
	/* Relaxed: figures; the thread has not seen the topic yet. */
	bus__store_relaxed(&line->torn_records, recovered.torn_records);
	bus__store_relaxed(&line->recovered, recovered.records);
	bus__store_relaxed(&line->recovery_ns, elapsed_ns(&start));
	busd_info("topic '%s': journal %s: %s at sequence %llu, in %.1f ms",
		  rt->name, rt->directory,
		  adopted ? "recording resumes" : "the ring starts",
		  (unsigned long long)rt->copied,
		  (double)elapsed_ns(&start) / 1e6);
	return 0;
}

static int add_topic(struct busd_durable *d, struct busd_recorded_topic *rt)
{
	int ret = 0;

	busd_journal_thread_lock(d);
	if (d->topic_count == d->topic_capacity) {
		unsigned int capacity =
			d->topic_capacity ? d->topic_capacity * 2 : 8;
		struct busd_recorded_topic **topics =
			realloc(d->topics, capacity * sizeof(*topics));

		if (topics) {
			d->topics = topics;
			d->topic_capacity = capacity;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret)
		d->topics[d->topic_count++] = rt;
	busd_journal_thread_unlock(d);
	return ret ? ret : busd_journal_thread_start(d);
}

int busd_topic_record_open(struct busd_catalog *catalog,
			   struct busd_topic *topic, bool adopted,
			   char *detail, size_t detail_size)
{
	struct busd_durable *d = catalog->durable;
	struct busd_recorded_topic *rt;
	int ret;

	if (!topic->geometry.settings.record)
		return 0;
	if (!d)
		return bus__detail(detail, detail_size, -EINVAL,
				   "recorded topics need busd's data_dir");
	ret = prepare_dir(d, detail, detail_size);
	if (ret)
		return ret;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return bus__detail(detail, detail_size, -ENOMEM,
				   "out of memory");
	snprintf(rt->name, sizeof(rt->name), "%s", topic->name);
	if (snprintf(rt->directory, sizeof(rt->directory), "%s/%s",
		     d->data_dir, topic->name) >= (int)sizeof(rt->directory)) {
		free(rt);
		return bus__detail(detail, detail_size, -ENAMETOOLONG,
				   "data_dir %s is too long", d->data_dir);
	}
	ret = map_topic(rt, topic, detail, detail_size);
	set_options(rt);
	rt->options.file_mode = busd_journal_file_mode(&topic->access);
	if (!ret)
		ret = open_journal(rt, adopted, detail, detail_size);
	if (!ret)
		busd_journal_share(rt->directory, rt->name, &topic->access);
	if (!ret)
		ret = add_topic(d, rt);
	if (ret) {
		topic_free(rt);
		return ret;
	}
	return 0;
}

void busd_topic_record_close(struct busd_catalog *catalog, const char *name,
			     bool remove_files)
{
	struct busd_durable *d = catalog->durable;
	struct busd_recorded_topic *rt = NULL;

	if (!d)
		return;
	busd_journal_thread_lock(d);
	for (unsigned int i = 0; i < d->topic_count; i++) {
		if (strcmp(d->topics[i]->name, name))
			continue;
		rt = d->topics[i];
		d->topics[i] = d->topics[--d->topic_count];
		break;
	}
	busd_journal_thread_unlock(d);
	if (!rt)
		return;
	busd_topic_record_finish(rt);
	if (remove_files)
		busd_journal_remove(rt->directory);
	topic_free(rt);
}
