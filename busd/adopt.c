/* SPDX-License-Identifier: MIT */
/* Adopting the segments of a previous busd of this bus. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_store.h"
#include "adopt.h"
#include "durable.h"
#include "atomics.h"
#include "catalog.h"
#include "clients.h"
#include "log.h"
#include "stats.h"
#include "topic_record.h"
#include "topic_slots.h"

/* Where adopted segments go, and who watches the processes holding
 * their slots. */
struct busd_adoption {
	struct busd_catalog *catalog;
	struct busd_clients *clients;
};

#define BUSD_SHM_DIR "/dev/shm"

struct busd_found {
	char shm_name[NAME_MAX + 2]; /* "/shmbus.BUS:NAME" */
	const char *name;	     /* NAME, inside shm_name */
	int fd;
	void *base;
	size_t size;
};

static struct busd_identity busd_slot_identity(uint32_t client_id, int32_t pid,
					       uint32_t uid,
					       uint64_t start_time)
{
	struct busd_identity who = {
		.client_id = client_id,
		.pid = (pid_t)pid,
		.uid = (uid_t)uid,
		.start_time = start_time,
	};

	return who;
}

/* ---- slots -------------------------------------------------------------- */

static unsigned int busd_adopt_queue_slots(struct busd_adoption *adoption,
					   struct busd_queue *queue,
					   int *redelivered)
{
	const struct bus__queue_geometry *g = &queue->geometry;
	unsigned int kept = 0;

	for (uint32_t i = 0; i < g->attachment_count; i++) {
		struct bus_attachment *a = &g->attachments[i];
		/* Acquire: pairs with the release that lent the slot; the
		 * identity above it is complete. */
		uint32_t role = bus__load_acquire(&a->role);
		struct busd_identity who = busd_slot_identity(
			a->client_id, a->pid, a->uid, a->start_time);

		if (!role)
			continue;
		if (busd_client_adopt(adoption->clients, &who) == 0) {
			queue->owners[i] = who.client_id;
			kept++;
			continue;
		}
		*redelivered += busd_queue_detach(queue, i);
	}
	return kept;
}

static unsigned int busd_adopt_topic_slots(struct busd_adoption *adoption,
					   struct busd_topic *topic)
{
	const struct bus__topic_geometry *g = &topic->geometry;
	const struct bus_topic_settings *s = &g->settings;
	unsigned int kept = 0;

	for (uint32_t i = 0; i < s->max_publishers; i++) {
		struct bus_attachment *a = &g->publishers[i];
		struct busd_identity who;

		/* Acquire: as for queue slots; the identity is read after. */
		if (!bus__load_acquire(&a->role))
			continue;
		who = busd_slot_identity(a->client_id, a->pid, a->uid,
					 a->start_time);
		if (busd_client_adopt(adoption->clients, &who) == 0) {
			topic->publishers[i] = who.client_id;
			kept++;
		} else {
			busd_topic_publisher_detach(g, i);
		}
	}
	for (uint32_t i = 0; i < s->max_subscribers; i++) {
		struct bus_subscriber *sub = &g->subscribers[i];
		struct busd_identity who;

		/* Acquire: as for queue slots; the identity is read after. */
		if (!bus__load_acquire(&sub->role))
			continue;
		who = busd_slot_identity(sub->client_id, sub->pid, sub->uid,
					 sub->start_time);
		if (busd_client_adopt(adoption->clients, &who) == 0) {
			topic->subscribers[i] = who.client_id;
			/* Still reserved for one of its wildcards: it will
			 * ask for it under the same id (wildcards.h). */
			topic->reserved[i] = sub->reserved_for;
			kept++;
		} else {
			busd_topic_subscriber_detach(g, i);
		}
	}
	return kept;
}

/* ---- one segment -------------------------------------------------------- */

static void busd_found_access(struct busd_adoption *adoption, const char *name,
			      struct busd_access *access)
{
	if (busd_access_store_find(adoption->catalog->bus_name, name,
				   access) == 0)
		return;
	/* Lost with the runtime directory: the safest default. */
	busd_access_resolve(NULL, access, NULL, 0);
	busd_warning("no stored owner, group and mode for '%s': it gets "
		     "busd's defaults (%u, %u, %04o)",
		     name, (unsigned int)access->owner,
		     (unsigned int)access->group, (unsigned int)access->mode);
}

static int busd_adopt_queue(struct busd_adoption *adoption,
			    struct busd_found *f)
{
	struct bus__queue_geometry geometry;
	struct busd_queue *queue;
	char detail[256];
	unsigned int kept;
	int redelivered = 0;

	if (bus__queue_segment_validate(f->base, f->size, &geometry, detail,
					sizeof(detail))) {
		busd_warning("queue '%s': %s", f->name, detail);
		return -EPROTO;
	}
	queue = busd_queue_new(f->name, f->fd, &geometry);
	if (!queue || busd_registry_add(&adoption->catalog->registry, queue)) {
		busd_queue_free(queue);
		return -ENOMEM;
	}
	f->fd = -1; /* the queue's now */
	busd_found_access(adoption, f->name, &queue->access);
	kept = busd_adopt_queue_slots(adoption, queue, &redelivered);
	/* Its journal carries on (busd/durable.h). */
	if (busd_durable_open(adoption->catalog, queue, true, detail,
			      sizeof(detail))) {
		busd_refuse("durable queue '%s': %s", f->name, detail);
		return -EIO;
	}
	busd_info("adopted queue '%s': %llu message%s, %u live attachment%s "
		  "kept, %d message%s of dead ones made deliverable again",
		  f->name, (unsigned long long)bus__queue_messages(&geometry),
		  bus__queue_messages(&geometry) == 1 ? "" : "s", kept,
		  kept == 1 ? "" : "s", redelivered,
		  redelivered == 1 ? "" : "s");
	return 0;
}

static int busd_adopt_topic(struct busd_adoption *adoption,
			    struct busd_found *f)
{
	struct bus__topic_geometry geometry;
	struct busd_topic *topic;
	char detail[256];
	unsigned int kept;

	if (bus__topic_segment_validate(f->base, f->size, &geometry, detail,
					sizeof(detail))) {
		busd_warning("topic '%s': %s", f->name, detail);
		return -EPROTO;
	}
	topic = busd_topic_new(f->name, f->fd, &geometry);
	if (!topic ||
	    busd_registry_add_topic(&adoption->catalog->registry, topic)) {
		busd_topic_free(topic);
		return -ENOMEM;
	}
	f->fd = -1;
	busd_found_access(adoption, f->name, &topic->access);
	kept = busd_adopt_topic_slots(adoption, topic);
	/* Its recording resumes (busd/topic_record.h). */
	if (busd_topic_record_open(adoption->catalog, topic, true, detail,
				   sizeof(detail))) {
		busd_refuse("recorded topic '%s': %s", f->name, detail);
		return -EIO;
	}
	busd_info("adopted topic '%s': %u live attachment%s kept", f->name,
		  kept, kept == 1 ? "" : "s");
	return 0;
}

/* Maps what shm_open found; -ENOENT when it is none of ours to adopt. */
static int busd_found_map(struct busd_found *f)
{
	struct stat st;

	f->fd = shm_open(f->shm_name, O_RDWR | O_CLOEXEC, 0);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st))
		return -errno;
	/* Only segments we created: busd makes them 0600 and its own. */
	if (st.st_uid != geteuid()) {
		busd_warning("%s belongs to uid %u, not to busd's user: left "
			     "alone",
			     f->shm_name, (unsigned int)st.st_uid);
		return -ENOENT;
	}
	f->size = (size_t)st.st_size;
	if (f->size < sizeof(struct bus_segment_header))
		return -EBADMSG;
	f->base = mmap(NULL, f->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, f->fd, 0);
	if (f->base == MAP_FAILED) {
		f->base = NULL;
		return -errno;
	}
	return 0;
}

static int busd_adopt_found(struct busd_adoption *adoption,
			    struct busd_found *f)
{
	const struct bus_segment_header *h;
	int ret = busd_found_map(f);

	if (ret == -ENOENT)
		return 0;
	h = f->base;
	/* Acquire: pairs with the release that ended the creation. */
	if (ret == -EBADMSG ||
	    (!ret && bus__load_acquire(&h->magic) != BUS_SEGMENT_MAGIC)) {
		busd_warning("%s was never finished by the busd that made "
			     "it: removed",
			     f->shm_name);
		shm_unlink(f->shm_name);
		return 0;
	}
	if (ret) {
		busd_refuse("cannot open %s: %s", f->shm_name, strerror(-ret));
		return ret;
	}
	if (h->layout_version != BUS_LAYOUT_VERSION) {
		busd_refuse(
			"%s has layout version %u and this busd speaks %u: "
			"drain it with the busd that made it, or remove "
			"the bus with 'busctl remove-bus %s' (README, "
			"Upgrading)",
			f->shm_name, h->layout_version, BUS_LAYOUT_VERSION,
			adoption->catalog->bus_name);
		return -EPROTO;
	}
	if (bus__load_acquire(&h->state) != BUS_SEGMENT_OPEN) {
		/* Deleted or stopped by its busd, which died before it
		 * could unlink it: nothing to keep. */
		shm_unlink(f->shm_name);
		return 0;
	}
	ret = h->kind == BUS_SEGMENT_TOPIC ? busd_adopt_topic(adoption, f)
					   : busd_adopt_queue(adoption, f);
	if (ret == -EPROTO) {
		busd_refuse("%s is damaged (see above): it cannot be adopted; "
			    "remove the bus with 'busctl remove-bus %s'",
			    f->shm_name, adoption->catalog->bus_name);
		return ret;
	}
	if (ret)
		busd_refuse("cannot adopt %s: %s", f->shm_name,
			    strerror(-ret));
	return ret;
}

static void busd_found_release(struct busd_found *f)
{
	/* Adopted segments keep their mapping, owned by the registry. */
	if (f->fd >= 0) {
		if (f->base)
			munmap(f->base, f->size);
		close(f->fd);
	}
}

static int busd_adopt_all(struct busd_adoption *adoption)
{
	char prefix[BUS_NAME_MAX + 16];
	struct dirent *entry;
	size_t length;
	DIR *dir;
	int ret = 0;

	/* layout.h: "/shmbus.BUS:NAME"; ':' never occurs in a bus name, so
	 * the prefix cannot match another bus whose name starts with ours. */
	length = (size_t)snprintf(prefix, sizeof(prefix),
				  "shmbus.%s:", adoption->catalog->bus_name);
	dir = opendir(BUSD_SHM_DIR);
	if (!dir) {
		int error = errno;

		busd_refuse("cannot look for segments in %s: %s", BUSD_SHM_DIR,
			    strerror(error));
		return -error;
	}
	while (!ret && (entry = readdir(dir))) {
		struct busd_found f = { .fd = -1 };

		if (strncmp(entry->d_name, prefix, length) ||
		    bus_name_check(entry->d_name + length))
			continue;
		snprintf(f.shm_name, sizeof(f.shm_name), "/%s", entry->d_name);
		f.name = f.shm_name + 1 + length;
		ret = busd_adopt_found(adoption, &f);
		busd_found_release(&f);
	}
	closedir(dir);
	return ret;
}

int busd_adopt_segments(struct busd_catalog *catalog,
			struct busd_clients *clients)
{
	struct busd_adoption adoption = { catalog, clients };

	return busd_adopt_all(&adoption);
}
