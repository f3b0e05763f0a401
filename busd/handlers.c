/* SPDX-License-Identifier: MIT */
/* One handler per control request. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "client.h"
#include "clock.h"
#include "control_socket.h"
#include "dead_letter.h"
#include "durable.h"
#include "durable_store.h"
#include "delete_guard.h"
#include "handlers.h"
#include "hello_deadline.h"
#include "info.h"
#include "journal_request.h"
#include "log.h"
#include "queues.h"
#include "routes.h"
#include "segment.h"
#include "segment_lifecycle.h"
#include "stats_lock.h"
#include "topic_record.h"
#include "topics.h"
#include "wildcards.h"

static const busd_handler busd_handler_table[] = {
	[BUS_CONTROL_HELLO] = busd_on_hello,
	[BUS_CONTROL_OPEN] = busd_on_open,
	[BUS_CONTROL_CLOSE] = busd_on_close,
	[BUS_CONTROL_CREATE] = busd_on_create,
	[BUS_CONTROL_DELETE] = busd_on_delete,
	[BUS_CONTROL_LIST] = busd_on_list,
	[BUS_CONTROL_TOPIC_CREATE] = busd_on_topic_create,
	[BUS_CONTROL_TOPIC_OPEN] = busd_on_topic_open,
	[BUS_CONTROL_TOPIC_CLOSE] = busd_on_topic_close,
	[BUS_CONTROL_ACCESS] = busd_on_access,
	[BUS_CONTROL_WILDCARD] = busd_on_wildcard,
	[BUS_CONTROL_WILDCARD_CLOSE] = busd_on_wildcard_close,
	[BUS_CONTROL_PURGE] = busd_on_purge,
	[BUS_CONTROL_ROUTE_ADD] = busd_on_route_add,
	[BUS_CONTROL_ROUTE_DELETE] = busd_on_route_delete,
	[BUS_CONTROL_INFO] = busd_on_info,
	[BUS_CONTROL_JOURNAL] = busd_on_journal,
};

#define BUSD_HANDLER_COUNT \
	(sizeof(busd_handler_table) / sizeof(busd_handler_table[0]))

__attribute__((format(printf, 3, 4))) static int
busd_fail(struct busd_reply *reply, int error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(reply->message.detail, sizeof(reply->message.detail), format,
		  args);
	va_end(args);
	return error;
}

static const char *busd_role_name(uint32_t role)
{
	switch (role) {
	case BUS_PRODUCER:
		return "producer";
	case BUS_CONSUMER:
		return "consumer";
	case BUS_OBSERVER:
		return "observer";
	}
	return "unknown role";
}

static int busd_check_name(const struct bus_control_request *request,
			   struct busd_reply *reply)
{
	if (bus_name_check(request->name) == 0)
		return 0;
	return busd_fail(
		reply, -EINVAL,
		"'%s' is not a valid queue name: use 1 to %d letters, "
		"digits, '_', '-' or '.'",
		request->name, BUS_NAME_MAX);
}

/* Why no queue (topic false) or topic (true) is named name: the other
 * kind has the name, or nothing has.  -ENOENT, in the reply too. */
static int busd_not_found(const struct busd_handlers *handlers,
			  const char *name, bool topic,
			  struct busd_reply *reply)
{
	const struct busd_registry *r = &handlers->catalog->registry;
	const char *kind = topic ? "topic" : "queue";

	if (topic ? busd_registry_find(r, name) != NULL
		  : busd_registry_find_topic(r, name) != NULL)
		return busd_fail(reply, -ENOENT,
				 "'%s' on bus '%s' is a %s, not a %s", name,
				 handlers->catalog->bus_name,
				 topic ? "queue" : "topic", kind);
	return busd_fail(reply, -ENOENT, "no %s named '%s' on bus '%s'", kind,
			 name, handlers->catalog->bus_name);
}

/* The named queue, or NULL with a sentence in the reply (-ENOENT). */
static struct busd_queue *busd_find_queue(struct busd_handlers *handlers,
					  const struct bus_control_request *r,
					  struct busd_reply *reply)
{
	struct busd_queue *queue =
		busd_registry_find(&handlers->catalog->registry, r->name);

	if (!queue)
		busd_not_found(handlers, r->name, false, reply);
	return queue;
}

/* What a client needs to map the segment whose slot it was lent: a
 * queue's or a topic's, which share the header. */
static void busd_hand_over(int fd, size_t size,
			   const struct bus_segment_header *header,
			   struct busd_reply *reply)
{
	reply->message.segment_size = size;
	reply->message.generation = header->created_ns;
	reply->fd = fd;
}

/* ---- access ------------------------------------------------------------ */

/* What a role needs: w to put messages in, r to take them or look. */
static unsigned int busd_role_needs(uint32_t role)
{
	return role == BUS_PRODUCER ? BUSD_ACCESS_WRITE : BUSD_ACCESS_READ;
}

static bool busd_role_known(uint32_t role)
{
	return role == BUS_PRODUCER || role == BUS_CONSUMER ||
	       role == BUS_OBSERVER;
}

/*
 * 0 when the client may take role on a queue or topic; else -EACCES and a
 * sentence such as "user 1000 may not consume from queue 'orders' (owner
 * 0, group 0, mode 0660)".  An unknown role passes: the handler refuses it
 * with its own sentence.
 */
static int busd_check_access(const struct busd_client *client,
			     const struct busd_access *access, bool topic,
			     const char *name, uint32_t role,
			     struct busd_reply *reply)
{
	const char *kind = topic ? "topic" : "queue";
	const char *verb;

	if (!busd_role_known(role) ||
	    !busd_access_check(access, &client->credentials,
			       busd_role_needs(role)))
		return 0;
	if (role == BUS_PRODUCER)
		verb = topic ? "publish to" : "produce to";
	else if (role == BUS_CONSUMER)
		verb = topic ? "subscribe to" : "consume from";
	else
		verb = "observe";
	return busd_fail(reply, -EACCES,
			 "user %u may not %s %s '%s' (owner "
			 "%u, group %u, mode %04o)",
			 (unsigned int)client->credentials.uid, verb, kind,
			 name, (unsigned int)access->owner,
			 (unsigned int)access->group,
			 (unsigned int)access->mode);
}

/*
 * Creating and deleting (and, later, purging and routing) need admin
 * rights.  what and name complete "may not create queue 'x'".
 */
static int busd_require_admin(const struct busd_handlers *handlers,
			      const struct busd_client *client,
			      const char *what, const char *name,
			      struct busd_reply *reply)
{
	const struct busd_credentials *who = &client->credentials;

	if (busd_credentials_admin(who, *handlers->admin_group))
		return 0;
	busd_info("client %u (pid %d, uid %u) may not %s '%s'",
		  client->identity.client_id, (int)client->identity.pid,
		  (unsigned int)who->uid, what, name);
	if (*handlers->admin_group == BUSD_NO_GROUP)
		return busd_fail(reply, -EACCES,
				 "user %u may not %s '%s': "
				 "only root or uid %u (busd's user) may; see "
				 "admin_group",
				 (unsigned int)who->uid, what, name,
				 (unsigned int)geteuid());
	return busd_fail(reply, -EACCES,
			 "user %u may not %s '%s': only root, "
			 "uid %u (handlers) or group %u (admin_group) may",
			 (unsigned int)who->uid, what, name,
			 (unsigned int)geteuid(),
			 (unsigned int)*handlers->admin_group);
}

/* ---- the handlers ------------------------------------------------------- */

int busd_on_hello(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply)
{
	if (client->greeted)
		return busd_fail(reply, -EPROTO,
				 "this connection has already said HELLO");
	client->greeted = true;
	busd_hello_deadline_stop(handlers->hello_deadline, client);
	/* attachment: the id this process had before busd restarted. */
	if (!request->attachment ||
	    !handlers->resume(handlers->owner, client, request->attachment))
		client->identity.client_id =
			busd_client_list_new_id(handlers->clients);
	else
		busd_info("client %u (pid %d) is back after the restart",
			  client->identity.client_id,
			  (int)client->identity.pid);
	reply->message.client_id = client->identity.client_id;
	/* Measured once, at busd_start(); 0 without a usable TSC. */
	reply->message.tsc_rate = bus__clock_known_rate();
	reply->message.busd_pid = (int32_t)getpid();
	busd_debug("client %u is pid %d (uid %u, gid %u, %u more group%s)",
		   client->identity.client_id, (int)client->identity.pid,
		   (unsigned int)client->credentials.uid,
		   (unsigned int)client->credentials.gid,
		   client->credentials.group_count,
		   client->credentials.group_count == 1 ? "" : "s");
	return 0;
}

static int busd_attach(struct busd_handlers *handlers,
		       struct busd_client *client, struct busd_queue *queue,
		       uint32_t role, struct busd_reply *reply)
{
	const struct bus_queue_settings *s = &queue->geometry.settings;
	int index;

	if (role == BUS_OBSERVER) {
		reply->message.attachment = UINT32_MAX;
		return 0;
	}
	if (role != BUS_PRODUCER && role != BUS_CONSUMER)
		return busd_fail(reply, -EINVAL,
				 "role %u is not producer (%d), consumer (%d) "
				 "or observer (%d)",
				 role, BUS_PRODUCER, BUS_CONSUMER,
				 BUS_OBSERVER);
	index = busd_queue_attach(queue, (enum bus_role)role,
				  &client->identity);
	if (index == -EBUSY)
		return busd_fail(reply, -EBUSY,
				 "queue '%s' has no free %s slot "
				 "(max_%ss = %u)",
				 queue->name, busd_role_name(role),
				 busd_role_name(role),
				 role == BUS_PRODUCER ? s->max_producers
						      : s->max_consumers);
	reply->message.attachment = (uint32_t)index;
	return 0;
}

int busd_on_open(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply)
{
	struct busd_queue *queue;
	int ret = busd_check_name(request, reply);

	if (ret)
		return ret;
	queue = busd_find_queue(handlers, request, reply);
	if (!queue)
		return -ENOENT;
	ret = busd_check_access(client, &queue->access, false, queue->name,
				request->role, reply);
	if (ret)
		return ret;
	ret = busd_attach(handlers, client, queue, request->role, reply);
	if (ret)
		return ret;
	busd_hand_over(queue->fd, queue->geometry.size, queue->geometry.header,
		       reply);
	busd_debug("client %u opened '%s' as %s (slot %u)",
		   client->identity.client_id, queue->name,
		   busd_role_name(request->role), reply->message.attachment);
	return 0;
}

int busd_on_close(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply)
{
	struct busd_queue *queue;
	int ret = busd_check_name(request, reply);

	if (ret)
		return ret;
	/* A deleted (or deleted and re-created) queue forgot its slots
	 * already; observers hold none. */
	queue = busd_registry_find(&handlers->catalog->registry,
				   request->name);
	if (!queue || request->attachment == UINT32_MAX ||
	    request->generation != queue->geometry.header->created_ns)
		return 0;
	if (!busd_queue_owns(queue, request->attachment,
			     client->identity.client_id))
		return busd_fail(reply, -EINVAL,
				 "attachment %u of queue '%s' is not this "
				 "client's",
				 request->attachment, queue->name);
	ret = busd_queue_detach(queue, request->attachment);
	busd_debug("client %u closed slot %u of '%s'; %d message%s made "
		   "deliverable again",
		   client->identity.client_id, request->attachment,
		   queue->name, ret, ret == 1 ? "" : "s");
	return 0;
}

/* A durable queue created at run time comes back after a reboot only if
 * its settings are on disk (durable_store.h): a queue that cannot keep
 * them is not created. */
static int busd_on_create_keep(struct busd_handlers *handlers,
			       const char *name, struct busd_reply *reply)
{
	struct busd_queue *queue =
		busd_registry_find(&handlers->catalog->registry, name);
	int ret;

	if (!queue || !queue->geometry.settings.durable)
		return 0;
	ret = busd_durable_store_save(handlers->catalog, queue,
				      reply->message.detail,
				      sizeof(reply->message.detail));
	/* Not created after all; but its journal files stay: they may hold
	 * the messages of a queue of that name from before (a durable queue
	 * no longer in the config), which a later create takes up again. */
	if (ret) {
		busd_durable_close(handlers->catalog, name, false);
		busd_queue_delete(handlers->catalog, queue);
	}
	return ret;
}

int busd_on_create(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply)
{
	int ret = busd_check_name(request, reply);

	if (!ret)
		ret = busd_require_admin(handlers, client, "create queue",
					 request->name, reply);
	if (ret)
		return ret;
	if (busd_registry_find(&handlers->catalog->registry, request->name))
		return busd_fail(reply, -EEXIST,
				 "queue '%s' already exists on bus '%s'",
				 request->name, handlers->catalog->bus_name);
	if (busd_registry_find_topic(&handlers->catalog->registry,
				     request->name))
		return busd_fail(reply, -EEXIST,
				 "'%s' is already a topic on bus '%s'",
				 request->name, handlers->catalog->bus_name);
	ret = busd_dead_letter_check(&handlers->catalog->registry,
				     request->name, &request->settings,
				     reply->message.detail,
				     sizeof(reply->message.detail));
	if (ret)
		return ret;
	ret = busd_queue_create(handlers->catalog, request->name,
				&request->settings, &request->access,
				reply->message.detail,
				sizeof(reply->message.detail));
	if (!ret)
		ret = busd_on_create_keep(handlers, request->name, reply);
	if (!ret)
		busd_info("client %u (pid %d) created queue '%s'",
			  client->identity.client_id,
			  (int)client->identity.pid, request->name);
	return ret;
}

int busd_on_delete(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply)
{
	struct busd_queue *queue;
	struct busd_topic *topic;
	int ret = busd_check_name(request, reply);

	if (!ret)
		ret = busd_require_admin(handlers, client, "delete",
					 request->name, reply);
	if (ret)
		return ret;
	/* One namespace: DELETE removes whichever has the name. */
	topic = busd_registry_find_topic(&handlers->catalog->registry,
					 request->name);
	if (topic) {
		ret = busd_delete_guard_topic(topic, request->index,
					      reply->message.detail,
					      sizeof(reply->message.detail));
		if (ret)
			return ret;
		busd_segment_mark_deleted(topic->geometry.header);
		busd_info("client %u (pid %d) deleted topic '%s'",
			  client->identity.client_id,
			  (int)client->identity.pid, topic->name);
		/* Deleted for good: a recorded topic's journal goes too. */
		busd_topic_record_close(handlers->catalog, topic->name, true);
		busd_topic_delete(handlers->catalog, topic);
		return 0;
	}
	queue = busd_find_queue(handlers, request, reply);
	if (!queue)
		return -ENOENT;
	ret = busd_delete_guard_queue(queue, request->index,
				      reply->message.detail,
				      sizeof(reply->message.detail));
	if (ret)
		return ret;
	/* Its clients say "deleted", not "no busd" (-EIDRM). */
	busd_segment_mark_deleted(queue->geometry.header);
	busd_info("client %u (pid %d) deleted queue '%s'",
		  client->identity.client_id, (int)client->identity.pid,
		  queue->name);
	/* Deleted for good: a durable queue's journal goes too. */
	busd_durable_close(handlers->catalog, queue->name, true);
	busd_queue_delete(handlers->catalog, queue);
	return 0;
}

/*
 * PURGE: admin rights instead of the queue's r, then a consumer slot as
 * OPEN gives one.  busd never rewrites cells under live clients; the
 * purging client takes and acks each queued message as any consumer
 * would, so producers and consumers at work are safe, and leased messages
 * stay with the consumers that hold them.
 */
int busd_on_purge(struct busd_handlers *handlers, struct busd_client *client,
		  const struct bus_control_request *request,
		  struct busd_reply *reply)
{
	struct busd_queue *queue;
	int ret = busd_check_name(request, reply);

	if (!ret)
		ret = busd_require_admin(handlers, client, "purge",
					 request->name, reply);
	if (ret)
		return ret;
	queue = busd_find_queue(handlers, request, reply);
	if (!queue)
		return -ENOENT;
	ret = busd_attach(handlers, client, queue, BUS_CONSUMER, reply);
	if (ret == -EBUSY && queue->geometry.settings.type == BUS_QUEUE_SPSC)
		return busd_fail(reply, -EBUSY,
				 "queue '%s' is spsc and its "
				 "consumer is attached: stop it, then purge",
				 queue->name);
	if (ret)
		return ret;
	busd_hand_over(queue->fd, queue->geometry.size, queue->geometry.header,
		       reply);
	busd_info("client %u (pid %d) purges queue '%s'",
		  client->identity.client_id, (int)client->identity.pid,
		  queue->name);
	return 0;
}

int busd_on_list(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply)
{
	const struct busd_registry *r = &handlers->catalog->registry;
	const struct busd_queue *queue;
	const struct busd_topic *topic;

	/* Queues first, then topics, each in creation order. */
	queue = busd_registry_at(r, request->index);
	if (queue) {
		snprintf(reply->message.name, sizeof(reply->message.name),
			 "%s", queue->name);
		reply->message.kind = BUS_SEGMENT_QUEUE;
		return 0;
	}
	topic = request->index >= r->count
			? busd_registry_topic_at(r, request->index - r->count)
			: NULL;
	if (!topic)
		return busd_fail(reply, -ENOENT,
				 "bus '%s' has %u queues and %u topics; there "
				 "is no number %u",
				 handlers->catalog->bus_name, r->count,
				 r->topic_count, request->index);
	snprintf(reply->message.name, sizeof(reply->message.name), "%s",
		 topic->name);
	reply->message.kind = BUS_SEGMENT_TOPIC;
	return 0;
}

/* ---- topics ------------------------------------------------------------- */

/* The named topic, or NULL with a sentence in the reply (-ENOENT). */
static struct busd_topic *busd_find_topic(struct busd_handlers *handlers,
					  const struct bus_control_request *r,
					  struct busd_reply *reply)
{
	struct busd_topic *topic = busd_registry_find_topic(
		&handlers->catalog->registry, r->name);

	if (!topic)
		busd_not_found(handlers, r->name, true, reply);
	return topic;
}

/* A recorded topic created at run time comes back after a restart only
 * if its settings are on disk (durable_store.h), as a durable queue. */
static int busd_on_topic_create_keep(struct busd_handlers *handlers,
				     const char *name,
				     struct busd_reply *reply)
{
	struct busd_topic *topic =
		busd_registry_find_topic(&handlers->catalog->registry, name);
	int ret;

	if (!topic || !topic->geometry.settings.record)
		return 0;
	ret = busd_topic_store_save(handlers->catalog, topic,
				    reply->message.detail,
				    sizeof(reply->message.detail));
	/* Not created after all; its journal stays, as a queue's does. */
	if (ret) {
		busd_topic_record_close(handlers->catalog, name, false);
		busd_topic_delete(handlers->catalog, topic);
	}
	return ret;
}

int busd_on_topic_create(struct busd_handlers *handlers,
			 struct busd_client *client,
			 const struct bus_control_request *request,
			 struct busd_reply *reply)
{
	int ret = busd_check_name(request, reply);

	if (!ret)
		ret = busd_require_admin(handlers, client, "create topic",
					 request->name, reply);
	if (ret)
		return ret;
	ret = busd_topic_create(handlers->catalog, request->name,
				&request->topic_settings, &request->access,
				reply->message.detail,
				sizeof(reply->message.detail));
	if (!ret)
		ret = busd_on_topic_create_keep(handlers, request->name,
						reply);
	if (!ret)
		busd_info("client %u (pid %d) created topic '%s'",
			  client->identity.client_id,
			  (int)client->identity.pid, request->name);
	return ret;
}

static const char *busd_topic_role_name(uint32_t role)
{
	return role == BUS_PRODUCER ? "publisher" : "subscriber";
}

/* Lends a publisher or subscriber slot; observers take none. */
static int busd_topic_lend(struct busd_client *client,
			   struct busd_topic *topic,
			   const struct bus_control_request *request,
			   struct busd_reply *reply)
{
	const struct bus_topic_settings *s = &topic->geometry.settings;
	uint32_t role = request->role;
	int index;

	if (role == BUS_OBSERVER) {
		reply->message.attachment = UINT32_MAX;
		return 0;
	}
	if (role != BUS_PRODUCER && role != BUS_CONSUMER)
		return busd_fail(reply, -EINVAL,
				 "role %u is not publisher (%d), subscriber "
				 "(%d) or observer (%d)",
				 role, BUS_PRODUCER, BUS_CONSUMER,
				 BUS_OBSERVER);
	/* A slot reserved for one of its wildcards when the topic was
	 * created: the subscription starts at the first message. */
	if (role == BUS_CONSUMER && request->attachment) {
		index = busd_topic_claim(topic, client->identity.client_id,
					 request->attachment);
		if (index >= 0) {
			reply->message.attachment = (uint32_t)index;
			reply->message.kind = 1; /* a reserved slot */
			return 0;
		}
	}
	if (role == BUS_CONSUMER && request->index > s->history)
		return busd_fail(reply, -EINVAL,
				 "topic '%s' keeps a history of %u messages; "
				 "%u were asked for",
				 topic->name, s->history, request->index);
	index = busd_topic_attach(topic, (enum bus_role)role,
				  &client->identity);
	if (index == -EBUSY)
		return busd_fail(reply, -EBUSY,
				 "topic '%s' has no free %s slot (max_%ss = "
				 "%u)",
				 topic->name, busd_topic_role_name(role),
				 busd_topic_role_name(role),
				 role == BUS_PRODUCER ? s->max_publishers
						      : s->max_subscribers);
	if (index < 0)
		return busd_fail(reply, index, "cannot lend a slot of '%s'",
				 topic->name);
	reply->message.attachment = (uint32_t)index;
	return 0;
}

int busd_on_topic_open(struct busd_handlers *handlers,
		       struct busd_client *client,
		       const struct bus_control_request *request,
		       struct busd_reply *reply)
{
	struct busd_topic *topic;
	int ret = busd_check_name(request, reply);

	if (ret)
		return ret;
	topic = busd_find_topic(handlers, request, reply);
	if (!topic)
		return -ENOENT;
	ret = busd_check_access(client, &topic->access, true, topic->name,
				request->role, reply);
	if (ret)
		return ret;
	ret = busd_topic_lend(client, topic, request, reply);
	if (ret)
		return ret;
	busd_hand_over(topic->fd, topic->geometry.size, topic->geometry.header,
		       reply);
	busd_debug("client %u opened topic '%s' as %s (slot %u)",
		   client->identity.client_id, topic->name,
		   request->role == BUS_OBSERVER
			   ? "observer"
			   : busd_topic_role_name(request->role),
		   reply->message.attachment);
	return 0;
}

int busd_on_topic_close(struct busd_handlers *handlers,
			struct busd_client *client,
			const struct bus_control_request *request,
			struct busd_reply *reply)
{
	enum bus_role role = (enum bus_role)request->role;
	struct busd_topic *topic;
	int ret = busd_check_name(request, reply);

	if (ret)
		return ret;
	/* A deleted (or re-created) topic forgot its slots already;
	 * observers hold none. */
	topic = busd_registry_find_topic(&handlers->catalog->registry,
					 request->name);
	if (!topic || role == BUS_OBSERVER ||
	    request->generation != topic->geometry.header->created_ns)
		return 0;
	if (!busd_topic_owns(topic, role, request->attachment,
			     client->identity.client_id))
		return busd_fail(reply, -EINVAL,
				 "%s slot %u of topic '%s' is not this "
				 "client's",
				 busd_topic_role_name(role),
				 request->attachment, topic->name);
	ret = busd_topic_detach(topic, role, request->attachment);
	busd_debug("client %u closed %s slot %u of topic '%s'; %d loan%s "
		   "padded",
		   client->identity.client_id, busd_topic_role_name(role),
		   request->attachment, topic->name, ret, ret == 1 ? "" : "s");
	return 0;
}

/* ---- access ------------------------------------------------------------ */

int busd_on_access(struct busd_handlers *handlers, struct busd_client *client,
		   const struct bus_control_request *request,
		   struct busd_reply *reply)
{
	const struct busd_queue *queue;
	const struct busd_topic *topic;
	int ret = busd_check_name(request, reply);

	(void)client;
	if (ret)
		return ret;
	queue = busd_registry_find(&handlers->catalog->registry,
				   request->name);
	topic = busd_registry_find_topic(&handlers->catalog->registry,
					 request->name);
	if (queue)
		busd_access_export(&queue->access, &reply->message.access);
	else if (topic)
		busd_access_export(&topic->access, &reply->message.access);
	else
		return busd_fail(reply, -ENOENT,
				 "no queue or topic named '%s' "
				 "on bus '%s'",
				 request->name, handlers->catalog->bus_name);
	return 0;
}

/* ROUTE_ADD and ROUTE_DELETE: admin rights, then busd/routes.c. */
int busd_on_route_add(struct busd_handlers *handlers,
		      struct busd_client *client,
		      const struct bus_control_request *request,
		      struct busd_reply *reply)
{
	char name[BUS_NAME_MAX + 1];
	int ret;

	memcpy(name, request->route.name, BUS_NAME_MAX);
	name[BUS_NAME_MAX] = '\0';
	ret = busd_require_admin(handlers, client, "add route", name, reply);
	if (!ret)
		ret = busd_routes_add(handlers->routes, &request->route,
				      reply->message.detail,
				      sizeof(reply->message.detail));
	if (!ret)
		busd_info("client %u (pid %d) added route '%s'",
			  client->identity.client_id,
			  (int)client->identity.pid, name);
	return ret;
}

int busd_on_route_delete(struct busd_handlers *handlers,
			 struct busd_client *client,
			 const struct bus_control_request *request,
			 struct busd_reply *reply)
{
	int ret = busd_require_admin(handlers, client, "delete route",
				     request->name, reply);

	if (!ret)
		ret = busd_routes_delete(handlers->routes, request->index,
					 request->name, reply->message.detail,
					 sizeof(reply->message.detail));
	if (!ret)
		busd_info("client %u (pid %d) deleted route '%s'",
			  client->identity.client_id,
			  (int)client->identity.pid, request->name);
	return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

/* What every request must get right before its handler sees it. */
static int busd_check_request(const struct busd_client *client,
			      const struct bus_control_request *request,
			      size_t length, struct busd_reply *reply)
{
	if (length != sizeof(*request))
		return busd_fail(reply, -EPROTO,
				 "a request has %zu bytes in control protocol "
				 "version %u, not %zu",
				 sizeof(*request), BUS_CONTROL_VERSION,
				 length);
	if (request->magic != BUS_CONTROL_MAGIC)
		return busd_fail(reply, -EPROTO,
				 "the request lacks the control protocol's "
				 "magic number");
	if (request->version != BUS_CONTROL_VERSION)
		return busd_fail(
			reply, -EPROTO,
			"busd speaks control protocol version %u, the "
			"client version %u",
			BUS_CONTROL_VERSION, request->version);
	if (request->op >= BUSD_HANDLER_COUNT ||
	    !busd_handler_table[request->op])
		return busd_fail(reply, -EINVAL, "unknown request %u",
				 request->op);
	if (!client->greeted && request->op != BUS_CONTROL_HELLO)
		return busd_fail(reply, -EPROTO,
				 "the first request on a connection must be "
				 "HELLO");
	if (!memchr(request->name, '\0', sizeof(request->name)))
		return busd_fail(reply, -EINVAL,
				 "the name in the request is not "
				 "NUL-terminated");
	return 0;
}

int busd_handle_request(struct busd_handlers *handlers,
			struct busd_client *client, size_t length)
{
	const struct bus_control_request *request = &client->in.request;
	struct busd_reply reply;
	int status;

	memset(&reply, 0, sizeof(reply));
	reply.fd = -1;
	reply.message.magic = BUS_CONTROL_MAGIC;
	if (length >= offsetof(struct bus_control_request, op) + 4)
		reply.message.op = request->op;
	status = busd_check_request(client, request, length, &reply);
	/* Handlers are where queues and topics come and go after start:
	 * the metrics thread must not walk the registry meanwhile. */
	busd_stats_lock(handlers->lock);
	if (!status)
		status = busd_handler_table[request->op](handlers, client,
							 request, &reply);
	busd_stats_unlock(handlers->lock);
	reply.message.status = status;
	if (status)
		busd_debug("client %u (pid %d): request %u failed: %s",
			   client->identity.client_id,
			   (int)client->identity.pid, reply.message.op,
			   reply.message.detail);
	status =
		busd_control_send(client->socket_fd, &reply.message, reply.fd);
	if (reply.close_fd)
		close(reply.fd);
	return status;
}
