/* SPDX-License-Identifier: MIT */
/* Durable queues: opening and closing their journals (busd/durable.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "catalog.h"
#include "config.h"
#include "detail.h"
#include "durable.h"
#include "durable_config.h"
#include "journal_access.h"
#include "journal_thread.h"
#include "log.h"

/* mkdir -p, 0750 for what it makes. */
static int make_dirs(const char *path)
{
	char partial[PATH_MAX];
	size_t length = strlen(path);

	if (length >= sizeof(partial))
		return -ENAMETOOLONG;
	memcpy(partial, path, length + 1);
	for (char *p = partial + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(partial, 0750) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(partial, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The data directory exists, is a directory, and busd may write it. */
static int prepare_dir(struct busd_durable *d, char *detail,
		       size_t detail_size)
{
	struct stat st;
	int ret;

	if (d->dir_ready)
		return 0;
	ret = make_dirs(d->data_dir);
	if (!ret && (stat(d->data_dir, &st) || !S_ISDIR(st.st_mode)))
		ret = -ENOTDIR;
	if (!ret && faccessat(AT_FDCWD, d->data_dir, W_OK | X_OK, AT_EACCESS))
		ret = -errno;
	if (ret)
		return bus__detail(detail, detail_size, ret,
				   "cannot use data_dir %s for durable "
				   "queues: %s (set [bus] data_dir to a "
				   "directory busd's user may write)",
				   d->data_dir, strerror(-ret));
	d->dir_ready = true;
	return 0;
}

static bool any_durable(const struct busd_config *config)
{
	for (unsigned int i = 0; i < config->queue_count; i++)
		if (config->queues[i].settings.durable)
			return true;
	return false;
}

int busd_durable_start(struct busd_catalog *catalog,
		       const struct busd_config *config)
{
	struct busd_durable *d = calloc(1, sizeof(*d));
	char detail[PATH_MAX + 256];
	int ret;

	if (!d) {
		busd_refuse("out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->bus_name = catalog->bus_name;
	catalog->durable = d;
	if (config->bus.data_dir[0])
		ret = snprintf(d->data_dir, sizeof(d->data_dir), "%s",
			       config->bus.data_dir) >=
				      (int)sizeof(d->data_dir)
			      ? -ENAMETOOLONG
			      : 0;
	else
		ret = busd_durable_default_dir(catalog->bus_name, d->data_dir,
					       sizeof(d->data_dir));
	if (ret) {
		busd_refuse("no data directory for durable queues (%s): set "
			    "[bus] data_dir",
			    strerror(-ret));
		return ret;
	}
	if (!any_durable(config))
		return 0;
	ret = prepare_dir(d, detail, sizeof(detail));
	if (ret)
		busd_refuse("%s", detail);
	return ret;
}

static void queue_free(struct busd_durable_queue *dq)
{
	if (dq->writer)
		bus_journal_writer_close(dq->writer);
	if (dq->geometry.base)
		munmap(dq->geometry.base, dq->geometry.size);
	free(dq->held);
	free(dq->acks);
	free(dq->counts);
	free(dq->scratch);
	free(dq);
}

void busd_durable_stop(struct busd_catalog *catalog)
{
	struct busd_durable *d = catalog->durable;

	if (!d)
		return;
	busd_journal_thread_stop(d);
	/* All finished before any is freed: a queue's finish looks at its
	 * dead-letter queue's durable position. */
	for (unsigned int i = 0; i < d->count; i++)
		busd_journal_queue_finish(d->queues[i]);
	for (unsigned int i = 0; i < d->count; i++)
		queue_free(d->queues[i]);
	free(d->queues);
	pthread_mutex_destroy(&d->lock);
	free(d);
	catalog->durable = NULL;
}

/* Our own mapping of the queue's segment, for the thread. */
static int map_queue(struct busd_durable_queue *dq,
		     const struct busd_queue *queue, char *detail,
		     size_t detail_size)
{
	struct bus__queue_offsets o;
	void *base = mmap(NULL, queue->geometry.size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, queue->fd, 0);

	if (base == MAP_FAILED)
		return bus__detail(detail, detail_size, -errno,
				   "cannot map its segment: %s",
				   strerror(errno));
	bus__queue_offsets(&queue->geometry.settings, &o);
	bus__queue_geometry_fill(&dq->geometry, base, queue->geometry.size,
				 &queue->geometry.settings, &o);
	return 0;
}

static void set_options(struct busd_durable_queue *dq)
{
	const struct bus_queue_settings *s = &dq->geometry.settings;

	dq->options = (struct bus_journal_options){
		.directory = dq->directory,
		.name = dq->name,
		.kind = BUS_JOURNAL_QUEUE,
		.sync = (enum bus_journal_sync)s->sync,
		.sync_interval_ms = s->sync_interval_ms,
		.segment_bytes = (uint64_t)s->segment_kib << 10,
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
 * recovers the queue from the journal. */
static int open_journal(struct busd_durable_queue *dq, bool adopted,
			char *detail, size_t detail_size)
{
	struct bus_journal_line *line = &dq->geometry.control->journal;
	struct bus_journal_recovery recovered = { 0 };
	struct timespec start;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	ret = bus_journal_writer_open(&dq->writer, &dq->options, &recovered,
				      detail, detail_size);
	if (ret) {
		dq->writer = NULL;
		return ret;
	}
	if (recovered.torn_records)
		busd_warning(
			"queue '%s': its journal in %s ended in %llu torn "
			"record%s (%llu bytes, a write cut short): cut "
			"off",
			dq->name, dq->directory,
			(unsigned long long)recovered.torn_records,
			recovered.torn_records == 1 ? "" : "s",
			(unsigned long long)recovered.torn_bytes);
	ret = busd_durable_recover(dq, adopted, &recovered, detail,
				   detail_size);
	if (ret)
		return ret;
	/* Relaxed: figures; the thread has not seen the queue yet. */
	bus__store_relaxed(&line->torn_records, recovered.torn_records);
	bus__store_relaxed(&line->recovery_ns, elapsed_ns(&start));
	busd_info("queue '%s': journal %s: %s, %llu message%s held, in "
		  "%.1f ms",
		  dq->name, dq->directory,
		  adopted ? "adopted" : "rebuilt from it",
		  (unsigned long long)dq->held_count,
		  dq->held_count == 1 ? "" : "s",
		  (double)elapsed_ns(&start) / 1e6);
	return 0;
}

/* Under the thread's lock: each queue's dead-letter queue, if durable
 * and open (durable_ring.c holds acks back for it). */
static void link_dead_letters(struct busd_durable *d)
{
	for (unsigned int i = 0; i < d->count; i++) {
		const char *name = d->queues[i]->geometry.settings.dead_letter;

		d->queues[i]->dead_letter = NULL;
		for (unsigned int j = 0; name[0] && j < d->count; j++)
			if (j != i && !strcmp(d->queues[j]->name, name))
				d->queues[i]->dead_letter = d->queues[j];
	}
}

static int add_queue(struct busd_durable *d, struct busd_durable_queue *dq)
{
	int ret = 0;

	busd_journal_thread_lock(d);
	if (d->count == d->capacity) {
		unsigned int capacity = d->capacity ? d->capacity * 2 : 8;
		struct busd_durable_queue **queues =
			realloc(d->queues, capacity * sizeof(*queues));

		if (queues) {
			d->queues = queues;
			d->capacity = capacity;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret) {
		d->queues[d->count++] = dq;
		link_dead_letters(d);
	}
	busd_journal_thread_unlock(d);
	return ret ? ret : busd_journal_thread_start(d);
}

int busd_durable_open(struct busd_catalog *catalog, struct busd_queue *queue,
		      bool adopted, char *detail, size_t detail_size)
{
	struct busd_durable *d = catalog->durable;
	struct busd_durable_queue *dq;
	int ret;

	if (!queue->geometry.settings.durable)
		return 0;
	if (!d)
		return bus__detail(detail, detail_size, -EINVAL,
				   "durable queues need busd's data_dir");
	ret = prepare_dir(d, detail, detail_size);
	if (ret)
		return ret;
	dq = calloc(1, sizeof(*dq));
	if (!dq)
		return bus__detail(detail, detail_size, -ENOMEM,
				   "out of memory");
	snprintf(dq->name, sizeof(dq->name), "%s", queue->name);
	if (snprintf(dq->directory, sizeof(dq->directory), "%s/%s",
		     d->data_dir, queue->name) >= (int)sizeof(dq->directory)) {
		free(dq);
		return bus__detail(detail, detail_size, -ENAMETOOLONG,
				   "data_dir %s is too long", d->data_dir);
	}
	dq->held = calloc(queue->geometry.slots, sizeof(*dq->held));
	ret = dq->held ? map_queue(dq, queue, detail, detail_size)
		       : bus__detail(detail, detail_size, -ENOMEM,
				     "out of memory");
	dq->lazy = bus__queue_lazy(&queue->geometry.settings);
	dq->opened_ns = elapsed_ns(&(struct timespec){ 0, 0 });
	set_options(dq);
	dq->options.file_mode = busd_journal_file_mode(&queue->access);
	if (!ret)
		ret = open_journal(dq, adopted, detail, detail_size);
	if (!ret)
		busd_journal_share(dq->directory, dq->name, &queue->access);
	if (!ret)
		ret = add_queue(d, dq);
	if (ret) {
		queue_free(dq);
		return ret;
	}
	return 0;
}

void busd_durable_close(struct busd_catalog *catalog, const char *name,
			bool remove_files)
{
	struct busd_durable *d = catalog->durable;
	struct busd_durable_queue *dq = NULL;

	if (!d)
		return;
	busd_journal_thread_lock(d);
	for (unsigned int i = 0; i < d->count; i++) {
		if (strcmp(d->queues[i]->name, name))
			continue;
		dq = d->queues[i];
		d->queues[i] = d->queues[--d->count];
		break;
	}
	link_dead_letters(d);
	busd_journal_thread_unlock(d);
	if (!dq)
		return;
	/* Acks still waiting for its dead-letter queue are not written: a
	 * restart's adopt journals them again, a reboot brings the
	 * messages back (at least once, never lost). */
	if (dq->dead_letter)
		dq->ack_count = dq->ack_sealed = 0;
	dq->dead_letter = NULL;
	busd_journal_queue_finish(dq);
	if (remove_files)
		busd_journal_remove(dq->directory);
	queue_free(dq);
}
