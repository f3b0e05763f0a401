/* SPDX-License-Identifier: MIT */
/*
 * JOURNAL (libbus/core/control_protocol.h): busd opens DATA_DIR/NAME and
 * passes the descriptor, so that a client reads the journal where busd
 * keeps it without knowing busd's data_dir; it reads the files with its
 * own permissions, through /proc/self/fd/FD.  journal_position says how
 * far the journal went when busd opened it: a catch-up reads the disk up
 * to there, then the ring (which still holds every position from there
 * on, thanks to the publishers' gate).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "atomics.h"
#include "catalog.h"
#include "client.h"
#include "journal_request.h"
#include "journal_thread.h"
#include "registry.h"

__attribute__((format(printf, 3, 4))) static int
fail(struct busd_reply *reply, int error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(reply->message.detail, sizeof(reply->message.detail), format,
		  args);
	va_end(args);
	return error;
}

/* What the name is: its access, its journal line, whether it has a
 * journal.  -ENOENT or -EOPNOTSUPP with a sentence. */
struct journaled {
	const struct busd_access *access;
	_Atomic uint64_t *journal_position;
	const char *kind;
};

static int find(struct busd_handlers *handlers, const char *name,
		struct journaled *j, struct busd_reply *reply)
{
	const struct busd_registry *r = &handlers->catalog->registry;
	struct busd_queue *queue = busd_registry_find(r, name);
	struct busd_topic *topic = busd_registry_find_topic(r, name);

	if (topic) {
		*j = (struct journaled){
			&topic->access,
			&topic->geometry.control->journal_position, "topic"
		};
		if (!topic->geometry.settings.record)
			return fail(reply, -EOPNOTSUPP,
				    "topic '%s' is not recorded (record = "
				    "yes keeps its messages on disk)",
				    name);
		return 0;
	}
	if (queue) {
		*j = (struct journaled){
			&queue->access,
			&queue->geometry.control->journal_position, "queue"
		};
		if (!queue->geometry.settings.durable)
			return fail(reply, -EOPNOTSUPP,
				    "queue '%s' is not durable (durable = "
				    "yes keeps its messages on disk)",
				    name);
		return 0;
	}
	return fail(reply, -ENOENT, "no queue or topic named '%s' on bus '%s'",
		    name, handlers->catalog->bus_name);
}

int busd_on_journal(struct busd_handlers *handlers, struct busd_client *client,
		    const struct bus_control_request *request,
		    struct busd_reply *reply)
{
	const struct busd_durable *d = handlers->catalog->durable;
	char path[PATH_MAX];
	struct journaled j = { 0 };
	int ret, fd;

	if (bus_name_check(request->name))
		return fail(reply, -EINVAL, "'%s' is not a valid name",
			    request->name);
	ret = find(handlers, request->name, &j, reply);
	if (ret)
		return ret;
	if (busd_access_check(j.access, &client->credentials,
			      BUSD_ACCESS_READ))
		return fail(reply, -EACCES,
			    "user %u may not read the journal of %s '%s' "
			    "(owner %u, group %u, mode %04o)",
			    (unsigned int)client->credentials.uid, j.kind,
			    request->name, (unsigned int)j.access->owner,
			    (unsigned int)j.access->group,
			    (unsigned int)j.access->mode);
	if (!d || snprintf(path, sizeof(path), "%s/%s", d->data_dir,
			   request->name) >= (int)sizeof(path))
		return fail(reply, -ENAMETOOLONG, "busd has no data_dir");
	/* Acquire: pairs with the journal thread's release (seq_cst) store
	 * after its copy; the client reads the disk up to there. */
	reply->message.segment_size = bus__load_acquire(j.journal_position);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(reply, -errno, "cannot open the journal %s: %s",
			    path, strerror(errno));
	reply->fd = fd;
	reply->close_fd = true;
	return 0;
}
