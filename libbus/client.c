/* SPDX-License-Identifier: MIT */
/*
 * The connection to busd: registering, opening and closing queues, and the
 * administrative requests.  Never on the data path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus/bus.h"
#include "client.h"
#include "clock.h"
#include "control_protocol.h"
#include "names.h"
#include "queue.h"
#include "queue_handle.h"
#include "topic.h"
#include "topic_handle.h"

struct bus {
	int fd;
	pthread_mutex_t lock; /* one request at a time; the handle list */
	uint32_t client_id;
	struct bus_queue *queues;
	struct bus_topic *topics;
	struct bus_subscription *subscriptions;
	struct bus__client_pattern *patterns; /* wildcards' (client.h) */
	/* Closes busd never saw (it was down): sent again once a restarted
	 * busd has given our slots back, so none stays held for nothing. */
	struct bus_control_request *unsent_closes;
	uint32_t unsent_count;
	/* The socket we connected to: a reconnect goes back there only. */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* The ids busd saw at connect (SO_PEERCRED): a reconnect under other
	 * ids would hand the handles to another user (busgate connects as
	 * each login's user, then goes back to root). */
	uid_t euid;
	gid_t egid;
	char name[BUS_NAME_MAX + 1];
	char detail[BUS_CONTROL_DETAIL_MAX + 256];
};

static int fail(struct bus *bus, int error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(bus->detail, sizeof(bus->detail), format, args);
	va_end(args);
	return error;
}

/*
 * A failed bus_connect() frees its connection, and its detail with it (why
 * busd refused, say): the calling thread keeps a copy for
 * bus_error_detail(NULL).
 */
static _Thread_local char connect_detail[BUS_CONTROL_DETAIL_MAX + 256];

const char *bus_error_detail(const bus_t *bus)
{
	return bus ? bus->detail : connect_detail;
}

const char *bus_name(const bus_t *bus)
{
	return bus->name;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, BUS_NAME_MAX + 1, "%s", src);
}

/* 0 with bus->fd connected to path, or the positive errno of the try. */
static int connect_path(struct bus *bus, const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int error;

	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	bus->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (bus->fd < 0)
		return errno;
	if (!connect(bus->fd, (struct sockaddr *)&address, sizeof(address)))
		return 0;
	error = errno;
	close(bus->fd);
	bus->fd = -1;
	return error;
}

/* A socket we may not write: busd runs, but its socket_mode and
 * socket_group keep this user out. */
static int fail_access(struct bus *bus, const char *path)
{
	return fail(bus, -EACCES,
		    "user %u may not connect to bus '%s' (%s: "
		    "see busd's socket_mode and socket_group)",
		    (unsigned int)geteuid(), bus->name, path);
}

/*
 * The system bus is tried only where no runtime directory was named: a
 * program (or test) that set BUS_RUNTIME_DIR means that bus and no other,
 * unless it names the system's directory too (BUS_SYSTEM_RUNTIME_DIR).
 */
static bool system_bus_allowed(void)
{
	return !getenv("BUS_RUNTIME_DIR") || getenv("BUS_SYSTEM_RUNTIME_DIR");
}

static int connected_to(struct bus *bus, const char *path)
{
	snprintf(bus->socket_path, sizeof(bus->socket_path), "%s", path);
	bus->euid = geteuid();
	bus->egid = getegid();
	return 0;
}

/*
 * Our own runtime directory first (a busd of this user, or of the test),
 * then the system bus's, so that an unprivileged program reaches a root
 * busd without being told where it is.  A failure names every path tried:
 * "no busd" is otherwise hard to tell from "looking in the wrong place".
 */
static int connect_socket(struct bus *bus)
{
	char own[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char system[sizeof(own)];
	int own_error, system_error, length;

	length = bus__socket_path(own, sizeof(own), bus->name);
	if (length < 0)
		return fail(bus, length,
			    "the control socket path for bus '%s' is too long "
			    "(check BUS_RUNTIME_DIR)",
			    bus->name);
	own_error = connect_path(bus, own);
	if (!own_error)
		return connected_to(bus, own);
	if (own_error == EACCES)
		return fail_access(bus, own);
	if (!system_bus_allowed() ||
	    bus__system_socket_path(system, sizeof(system), bus->name) < 0 ||
	    !strcmp(system, own))
		return fail(bus, -ENOTCONN, "no busd serves bus '%s' (%s: %s)",
			    bus->name, own, strerror(own_error));
	system_error = connect_path(bus, system);
	if (!system_error)
		return connected_to(bus, system);
	if (system_error == EACCES)
		return fail_access(bus, system);
	return fail(bus, -ENOTCONN,
		    "no busd serves bus '%s' (tried %s: %s; "
		    "then the system bus's %s: %s)",
		    bus->name, own, strerror(own_error), system,
		    strerror(system_error));
}

static int send_request(struct bus *bus, struct bus_control_request *request)
{
	ssize_t n;

	request->magic = BUS_CONTROL_MAGIC;
	request->version = BUS_CONTROL_VERSION;
	do {
		n = send(bus->fd, request, sizeof(*request), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*request))
		return fail(bus, -ENOTCONN, "busd of bus '%s' went away",
			    bus->name);
	return 0;
}

/* Receives one reply and, if it carries one, a file descriptor; flags:
 * MSG_DONTWAIT or 0. */
static int receive_reply(struct bus *bus, struct bus_control_reply *reply,
			 int *fd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { reply, sizeof(*reply) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	ssize_t n;

	do {
		n = recvmsg(bus->fd, &msg, MSG_CMSG_CLOEXEC | flags);
	} while (n < 0 && errno == EINTR);
	/* A failed recvmsg leaves msg_controllen as we set it: the control
	 * buffer holds nothing to read. */
	if (n < 0)
		return fail(bus, -ENOTCONN, "busd of bus '%s' went away",
			    bus->name);
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg;
	     cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int))) {
			int passed;

			memcpy(&passed, CMSG_DATA(cmsg), sizeof(int));
			/* One nobody asked for is closed, not leaked. */
			if (fd)
				*fd = passed;
			else
				close(passed);
		}
	}
	if (n != (ssize_t)sizeof(*reply))
		return fail(bus, -ENOTCONN, "busd of bus '%s' went away",
			    bus->name);
	if (reply->magic != BUS_CONTROL_MAGIC)
		return fail(bus, -EPROTO, "busd sent a malformed reply");
	return 0;
}

/*
 * Sends the request and receives its reply; the caller holds the lock.
 * *sent says whether busd may have seen the request.
 */
static int exchange(struct bus *bus, struct bus_control_request *request,
		    struct bus_control_reply *reply, int *fd, bool *sent)
{
	int rc = bus->fd < 0 ? fail(bus, -ENOTCONN, "not connected")
			     : send_request(bus, request);

	*sent = rc == 0;
	if (rc == 0)
		return receive_reply(bus, reply, fd, 0);
	/*
	 * busd refuses a connection (too many from this user, too few file
	 * descriptors left) by answering the HELLO before it comes, and
	 * shuts the socket: our send fails, and the refusal waits to be
	 * read.  Without one, busd went away, as send_request() said.
	 */
	if (bus->fd >= 0 && receive_reply(bus, reply, fd, MSG_DONTWAIT) == 0)
		return 0;
	if (bus->fd >= 0)
		fail(bus, -ENOTCONN, "busd of bus '%s' went away", bus->name);
	return rc;
}

/* The caller holds the lock.  Those busd did not get (it died again)
 * stay for the next one. */
static void send_unsent_closes(struct bus *bus)
{
	uint32_t done = 0;

	if (!bus->unsent_count)
		return;
	while (done < bus->unsent_count) {
		struct bus_control_reply reply;
		bool sent;

		if (exchange(bus, &bus->unsent_closes[done], &reply, NULL,
			     &sent) == -ENOTCONN &&
		    !sent)
			break;
		done++;
	}
	memmove(bus->unsent_closes, bus->unsent_closes + done,
		(bus->unsent_count - done) * sizeof(*bus->unsent_closes));
	bus->unsent_count -= done;
	if (!bus->unsent_count) {
		free(bus->unsent_closes);
		bus->unsent_closes = NULL;
	}
}

/* Keeps a close for the next busd; dropped past a bound (then the slot
 * waits for our exit, as it would have anyway). */
static void keep_unsent_close(struct bus *bus,
			      struct bus_control_request *request)
{
	void *grown;

	pthread_mutex_lock(&bus->lock);
	/* Another thread may have connected again meanwhile, and sent the
	 * closes kept so far: then this one goes now. */
	if (bus->fd >= 0) {
		struct bus_control_reply reply;
		bool sent;
		int rc = exchange(bus, request, &reply, NULL, &sent);

		if (rc != -ENOTCONN || sent) {
			pthread_mutex_unlock(&bus->lock);
			return;
		}
	}
	if (bus->unsent_count < 1024) {
		grown = realloc(bus->unsent_closes,
				(bus->unsent_count + 1) * sizeof(*request));
		if (grown) {
			bus->unsent_closes = grown;
			bus->unsent_closes[bus->unsent_count++] = *request;
		}
	}
	pthread_mutex_unlock(&bus->lock);
}

/*
 * The new busd knows none of our patterns: register them again, under the
 * same ids, so that it reserves slots for them in the topics it creates
 * from now on and we find those it adopted still reserved.  One it
 * refuses keeps id 0 and lives on without reservations.
 */
static void reregister_wildcards(struct bus *bus)
{
	for (struct bus__client_pattern *w = bus->patterns; w; w = w->next) {
		struct bus_control_request request = {
			.op = BUS_CONTROL_WILDCARD,
			.attachment = w->id,
		};
		struct bus_control_reply reply;

		bool sent;

		copy_name(request.name, w->pattern);
		/* One store: the handle's own thread may be reading it. */
		w->id = exchange(bus, &request, &reply, NULL, &sent) == 0 &&
					reply.status == 0
				? reply.attachment
				: 0;
	}
}

/*
 * Connects to a busd that restarted and says HELLO with our old id: it
 * adopted our slots and gives them back (busd/adopt.h), so the handles we
 * hold stay ours.  The caller holds the lock.
 */
static int reconnect(struct bus *bus)
{
	struct bus_control_request hello = { .op = BUS_CONTROL_HELLO,
					     .attachment = bus->client_id };
	struct bus_control_reply reply;
	bool sent;
	int rc;

	if (bus->fd >= 0)
		close(bus->fd);
	bus->fd = -1;
	if (geteuid() != bus->euid || getegid() != bus->egid)
		return fail(bus, -ENOTCONN,
			    "busd of bus '%s' restarted, and "
			    "this process's ids are not the ones it connected "
			    "with (uid %u, gid %u): connect again",
			    bus->name, (unsigned int)bus->euid,
			    (unsigned int)bus->egid);
	/* The same busd's socket only: another bus of the same name (the
	 * system's, say) must not take our handles over. */
	rc = connect_path(bus, bus->socket_path);
	if (rc)
		rc = fail(bus, rc == EACCES ? -EACCES : -ENOTCONN,
			  "no busd serves bus '%s' now (%s: %s)", bus->name,
			  bus->socket_path, strerror(rc));
	if (rc == 0)
		rc = exchange(bus, &hello, &reply, NULL, &sent);
	if (rc == 0 && reply.status < 0)
		rc = fail(bus, reply.status, "%.*s", (int)sizeof(reply.detail),
			  reply.detail);
	if (rc == 0)
		bus->client_id = reply.client_id;
	if (rc == 0) {
		send_unsent_closes(bus);
		reregister_wildcards(bus);
	}
	return rc;
}

/*
 * One request, one reply.  Returns the reply's status; on failure the
 * detail is busd's sentence.  *fd gets a passed descriptor or -1.  When
 * busd has gone, it connects again first (a restarted busd).
 */
static int transact(struct bus *bus, struct bus_control_request *request,
		    struct bus_control_reply *reply, int *fd)
{
	int local_fd = -1;
	bool sent;
	int rc;

	if (!fd)
		fd = &local_fd;
	*fd = -1;
	pthread_mutex_lock(&bus->lock);
	rc = exchange(bus, request, reply, fd, &sent);
	/*
	 * busd went away: a restarted one may be there.  Only a request it
	 * never saw is sent again; one it may have carried out (an open
	 * lends a slot, a create makes a queue) fails, and the next call
	 * connects again.
	 */
	if (rc == -ENOTCONN && request->op != BUS_CONTROL_HELLO) {
		if (!sent && reconnect(bus) == 0)
			rc = exchange(bus, request, reply, fd, &sent);
		else if (sent) {
			close(bus->fd);
			bus->fd = -1;
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (rc == 0 && reply->op != request->op)
		rc = fail(bus, -EPROTO, "busd answered another request");
	if (rc == 0 && reply->status < 0) {
		rc = fail(bus, reply->status, "%.*s",
			  (int)sizeof(reply->detail), reply->detail);
	}
	if (rc < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (local_fd >= 0)
		close(local_fd);
	return rc;
}

/* A request that gives something back to busd: if busd is down, it is
 * kept and sent to the next one (unsent_closes). */
static void release(struct bus *bus, struct bus_control_request *request)
{
	struct bus_control_reply reply;

	if (transact(bus, request, &reply, NULL) == -ENOTCONN)
		keep_unsent_close(bus, request);
}

int bus__client_request(struct bus *bus, struct bus_control_request *request,
			struct bus_control_reply *reply)
{
	return transact(bus, request, reply, NULL);
}

int bus__client_request_fd(struct bus *bus,
			   struct bus_control_request *request,
			   struct bus_control_reply *reply, int *fd)
{
	return transact(bus, request, reply, fd);
}

int bus__client_fail(struct bus *bus, int error, const char *text)
{
	return fail(bus, error, "%s", text);
}

static int hello(struct bus *bus)
{
	struct bus_control_request request = { .op = BUS_CONTROL_HELLO };
	struct bus_control_reply reply;
	int rc = transact(bus, &request, &reply, NULL);

	if (rc == 0) {
		bus->client_id = reply.client_id;
		bus__clock_adopt_rate(reply.tsc_rate);
	}
	return rc;
}

int bus_connect(const char *name, bus_t **out)
{
	struct bus *bus;
	int rc;

	connect_detail[0] = '\0';
	if (!out)
		return -EINVAL;
	if (!name)
		name = getenv("BUS_NAME");
	if (!name || !*name)
		name = "default";
	if (bus_name_check(name)) {
		snprintf(connect_detail, sizeof(connect_detail),
			 "'%.*s' is "
			 "not a valid bus name",
			 BUS_NAME_MAX, name);
		return -EINVAL;
	}
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->fd = -1;
	pthread_mutex_init(&bus->lock, NULL);
	snprintf(bus->name, sizeof(bus->name), "%s", name);
	rc = connect_socket(bus);
	if (rc == 0)
		rc = hello(bus);
	if (rc < 0) {
		snprintf(connect_detail, sizeof(connect_detail), "%s",
			 bus->detail);
		bus_disconnect(bus);
		return rc;
	}
	*out = bus;
	return 0;
}

void bus_disconnect(bus_t *bus)
{
	if (!bus)
		return;
	/* Wildcard handles first: they own subscriptions of their own. */
	while (bus->patterns)
		bus->patterns->close(bus->patterns);
	while (bus->queues)
		bus_queue_close(bus->queues);
	while (bus->topics)
		bus_topic_close(bus->topics);
	while (bus->subscriptions)
		bus_unsubscribe(bus->subscriptions);
	if (bus->fd >= 0)
		close(bus->fd);
	free(bus->unsent_closes);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

void bus__client_track_pattern(struct bus *bus,
			       struct bus__client_pattern *pattern)
{
	pthread_mutex_lock(&bus->lock);
	pattern->next = bus->patterns;
	bus->patterns = pattern;
	pthread_mutex_unlock(&bus->lock);
}

void bus__client_untrack_pattern(struct bus *bus,
				 struct bus__client_pattern *pattern)
{
	pthread_mutex_lock(&bus->lock);
	for (struct bus__client_pattern **p = &bus->patterns; *p;
	     p = &(*p)->next) {
		if (*p == pattern) {
			*p = pattern->next;
			break;
		}
	}
	pthread_mutex_unlock(&bus->lock);
}

int bus_queue_create_with_access(bus_t *bus, const char *name,
				 const struct bus_queue_settings *settings,
				 const struct bus_access *access)
{
	struct bus_control_request request = { .op = BUS_CONTROL_CREATE };
	struct bus_control_reply reply;

	if (!bus || bus_name_check(name))
		return bus ? fail(bus, -EINVAL, "bad queue name") : -EINVAL;
	if (settings)
		request.settings = *settings;
	else
		bus_queue_settings_default(&request.settings);
	if (access)
		request.access = *access;
	copy_name(request.name, name);
	return transact(bus, &request, &reply, NULL);
}

int bus_queue_create(bus_t *bus, const char *name,
		     const struct bus_queue_settings *settings)
{
	return bus_queue_create_with_access(bus, name, settings, NULL);
}

int bus_delete(bus_t *bus, const char *name, unsigned int flags)
{
	struct bus_control_request request = { .op = BUS_CONTROL_DELETE,
					       .index = flags };
	struct bus_control_reply reply;

	if (!bus || bus_name_check(name))
		return bus ? fail(bus, -EINVAL, "bad queue name") : -EINVAL;
	if (flags &
	    ~(unsigned int)(BUS_DELETE_IF_EMPTY | BUS_DELETE_IF_UNUSED))
		return fail(bus, -EINVAL, "unknown delete flags 0x%x", flags);
	copy_name(request.name, name);
	return transact(bus, &request, &reply, NULL);
}

int bus_daemon_info(bus_t *bus, struct bus_daemon_info *info)
{
	struct bus_control_request request = { .op = BUS_CONTROL_INFO };
	struct bus_control_reply reply;
	int rc;

	if (!bus || !info)
		return -EINVAL;
	rc = transact(bus, &request, &reply, NULL);
	if (rc < 0)
		return rc;
	memset(info, 0, sizeof(*info));
	snprintf(info->version, sizeof(info->version), "%.*s",
		 (int)sizeof(reply.name), reply.name);
	snprintf(info->config_path, sizeof(info->config_path), "%.*s",
		 (int)sizeof(reply.detail), reply.detail);
	info->pid = reply.busd_pid;
	info->clients = reply.client_id;
	info->queues = reply.attachment;
	info->topics = reply.kind;
	info->started_ns = reply.segment_size;
	info->uptime_ns = reply.generation;
	return 0;
}

int bus_queue_delete(bus_t *bus, const char *name)
{
	return bus_delete(bus, name, 0);
}

int bus_access_get(bus_t *bus, const char *name, struct bus_access *access)
{
	struct bus_control_request request = { .op = BUS_CONTROL_ACCESS };
	struct bus_control_reply reply;
	int rc;

	if (!bus || !access)
		return -EINVAL;
	if (bus_name_check(name))
		return fail(bus, -EINVAL, "'%s' is not a valid name",
			    name ? name : "(null)");
	copy_name(request.name, name);
	rc = transact(bus, &request, &reply, NULL);
	if (rc == 0)
		*access = reply.access;
	return rc;
}

int bus_list(bus_t *bus, uint32_t index, char *name, uint32_t *kind)
{
	struct bus_control_request request = { .op = BUS_CONTROL_LIST,
					       .index = index };
	struct bus_control_reply reply;
	int rc;

	if (!bus || !name)
		return -EINVAL;
	rc = transact(bus, &request, &reply, NULL);
	if (rc < 0)
		return rc;
	snprintf(name, BUS_NAME_MAX + 1, "%.*s", BUS_NAME_MAX, reply.name);
	if (kind)
		*kind = reply.kind;
	return 0;
}

/* Maps a segment fd busd handed us, checks it, and makes the handle. */
static int map_queue(struct bus *bus, const char *name, int fd,
		     enum bus_role role, const struct bus_control_reply *reply,
		     const struct bus_queue_options *options,
		     struct bus_queue **out)
{
	int prot = role == BUS_OBSERVER ? PROT_READ : PROT_READ | PROT_WRITE;
	struct bus__queue_geometry geometry;
	struct stat st;
	void *base;
	int rc;

	if (fstat(fd, &st))
		return fail(bus, -errno, "fstat of queue '%s': %s", name,
			    strerror(errno));
	/* MAP_POPULATE: fault every page in now, not on the fast path. */
	base = mmap(NULL, (size_t)st.st_size, prot, MAP_SHARED | MAP_POPULATE,
		    fd, 0);
	if (base == MAP_FAILED)
		return fail(bus, -errno, "mmap of queue '%s': %s", name,
			    strerror(errno));
	rc = bus__queue_segment_validate(base, (size_t)st.st_size, &geometry,
					 bus->detail, sizeof(bus->detail));
	if (rc == 0 && strncmp(geometry.header->name, name, BUS_NAME_MAX))
		rc = fail(bus, -EPROTO, "busd handed over the wrong segment");
	if (rc == 0)
		rc = bus__queue_handle_create(&geometry, role,
					      reply->attachment,
					      bus->client_id, options, out);
	if (rc < 0)
		munmap(base, (size_t)st.st_size);
	return rc;
}

static void close_attachment(struct bus *bus, const char *name,
			     uint32_t attachment, uint64_t generation)
{
	struct bus_control_request request = { .op = BUS_CONTROL_CLOSE,
					       .attachment = attachment,
					       .generation = generation };

	copy_name(request.name, name);
	release(bus, &request);
}

int bus_queue_open(bus_t *bus, const char *name, enum bus_role role,
		   const struct bus_queue_options *options, bus_queue_t **out)
{
	return bus__queue_open_op(bus, name, BUS_CONTROL_OPEN, role, options,
				  out);
}

int bus__queue_open_op(struct bus *bus, const char *name, uint32_t op,
		       enum bus_role role,
		       const struct bus_queue_options *options,
		       struct bus_queue **out)
{
	struct bus_control_request request = { .op = op, .role = role };
	struct bus_control_reply reply;
	struct bus_queue *q = NULL;
	int fd = -1;
	int rc;

	if (!bus || !out)
		return -EINVAL;
	if (bus_name_check(name))
		return fail(bus, -EINVAL, "'%s' is not a valid queue name",
			    name ? name : "(null)");
	if (role != BUS_PRODUCER && role != BUS_CONSUMER &&
	    role != BUS_OBSERVER)
		return fail(bus, -EINVAL, "unknown role %d", (int)role);
	copy_name(request.name, name);
	rc = transact(bus, &request, &reply, &fd);
	if (rc < 0)
		return rc;
	if (fd < 0)
		rc = fail(bus, -EPROTO, "busd sent no segment for '%s'", name);
	else
		rc = map_queue(bus, name, fd, role, &reply, options, &q);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		if (role != BUS_OBSERVER)
			close_attachment(bus, name, reply.attachment,
					 reply.generation);
		return rc;
	}
	q->bus = bus;
	q->generation = reply.generation;
	copy_name(q->name, name);
	pthread_mutex_lock(&bus->lock);
	q->next = bus->queues;
	bus->queues = q;
	pthread_mutex_unlock(&bus->lock);
	*out = q;
	return 0;
}

static void unlink_handle(struct bus *bus, struct bus_queue *q)
{
	pthread_mutex_lock(&bus->lock);
	for (struct bus_queue **p = &bus->queues; *p; p = &(*p)->next) {
		if (*p == q) {
			*p = q->next;
			break;
		}
	}
	pthread_mutex_unlock(&bus->lock);
}

int bus_queue_close(bus_queue_t *q)
{
	if (!q)
		return -EINVAL;
	if (q->bus) {
		unlink_handle(q->bus, q);
		/* busd pads our loans and redelivers what we held. */
		if (q->role != BUS_OBSERVER)
			close_attachment(q->bus, q->name, q->attachment_index,
					 q->generation);
		munmap(q->geometry.base, q->geometry.size);
	} else if (q->role != BUS_OBSERVER && q->local_detach) {
		/* A local handle (tests): the caller owns the mapping. */
		q->local_detach(&q->geometry, q->attachment_index);
	}
	bus__queue_handle_destroy(q);
	return 0;
}

/* ---- topics --------------------------------------------------------------- */

int bus_topic_create_with_access(bus_t *bus, const char *name,
				 const struct bus_topic_settings *settings,
				 const struct bus_access *access)
{
	struct bus_control_request request = {
		.op = BUS_CONTROL_TOPIC_CREATE
	};
	struct bus_control_reply reply;

	if (!bus || bus_name_check(name))
		return bus ? fail(bus, -EINVAL, "bad topic name") : -EINVAL;
	if (settings)
		request.topic_settings = *settings;
	else
		bus_topic_settings_default(&request.topic_settings);
	if (access)
		request.access = *access;
	copy_name(request.name, name);
	return transact(bus, &request, &reply, NULL);
}

int bus_topic_create(bus_t *bus, const char *name,
		     const struct bus_topic_settings *settings)
{
	return bus_topic_create_with_access(bus, name, settings, NULL);
}

/* busd's DELETE removes a queue or a topic by name. */
int bus_topic_delete(bus_t *bus, const char *name)
{
	return bus_queue_delete(bus, name);
}

/* Asks busd for a slot of the topic and its segment. */
static int open_topic_slot(struct bus *bus, const char *name, uint32_t role,
			   uint32_t history, uint32_t wildcard_id,
			   struct bus_control_reply *reply, int *fd)
{
	struct bus_control_request request = { .op = BUS_CONTROL_TOPIC_OPEN,
					       .role = role,
					       .index = history,
					       .attachment = wildcard_id };

	*fd = -1;
	if (bus_name_check(name))
		return fail(bus, -EINVAL, "'%s' is not a valid topic name",
			    name ? name : "(null)");
	copy_name(request.name, name);
	return transact(bus, &request, reply, fd);
}

static void close_topic_slot(struct bus *bus, const char *name, uint32_t role,
			     uint32_t index, uint64_t generation)
{
	struct bus_control_request request = { .op = BUS_CONTROL_TOPIC_CLOSE,
					       .role = role,
					       .attachment = index,
					       .generation = generation };

	if (role == BUS_OBSERVER)
		return;
	copy_name(request.name, name);
	release(bus, &request);
}

/* Maps a topic segment busd handed us and checks it. */
static int map_topic(struct bus *bus, const char *name, int fd, int prot,
		     struct bus__topic_geometry *geometry)
{
	struct stat st;
	void *base;
	int ret;

	if (fd < 0)
		return fail(bus, -EPROTO, "busd sent no segment for '%s'",
			    name);
	if (fstat(fd, &st))
		return fail(bus, -errno, "fstat of topic '%s': %s", name,
			    strerror(errno));
	/* MAP_POPULATE: fault every page in now, not on the fast path. */
	base = mmap(NULL, (size_t)st.st_size, prot, MAP_SHARED | MAP_POPULATE,
		    fd, 0);
	if (base == MAP_FAILED)
		return fail(bus, -errno, "mmap of topic '%s': %s", name,
			    strerror(errno));
	ret = bus__topic_segment_validate(base, (size_t)st.st_size, geometry,
					  bus->detail, sizeof(bus->detail));
	if (ret == 0 && strncmp(geometry->header->name, name, BUS_NAME_MAX))
		ret = fail(bus, -EPROTO, "busd handed over the wrong segment");
	if (ret < 0)
		munmap(base, (size_t)st.st_size);
	return ret;
}

int bus_topic_open(bus_t *bus, const char *name, enum bus_role role,
		   const struct bus_queue_options *options, bus_topic_t **out)
{
	int prot = role == BUS_OBSERVER ? PROT_READ : PROT_READ | PROT_WRITE;
	struct bus__topic_geometry geometry;
	struct bus_control_reply reply;
	struct bus_topic *t = NULL;
	int fd = -1;
	int ret;

	if (!bus || !out)
		return -EINVAL;
	if (role != BUS_PRODUCER && role != BUS_OBSERVER)
		return fail(bus, -EINVAL,
			    "a topic is opened as a publisher "
			    "(BUS_PRODUCER) or an observer; subscribe with "
			    "bus_subscribe()");
	ret = open_topic_slot(bus, name, role, 0, 0, &reply, &fd);
	if (ret < 0)
		return ret;
	ret = map_topic(bus, name, fd, prot, &geometry);
	if (fd >= 0)
		close(fd);
	if (ret == 0) {
		ret = bus__topic_handle_create(&geometry, role,
					       reply.attachment,
					       bus->client_id, options, &t);
		if (ret < 0)
			munmap(geometry.base, geometry.size);
	}
	if (ret < 0) {
		close_topic_slot(bus, name, role, reply.attachment,
				 reply.generation);
		return ret;
	}
	t->bus = bus;
	t->generation = reply.generation;
	copy_name(t->name, name);
	pthread_mutex_lock(&bus->lock);
	t->next = bus->topics;
	bus->topics = t;
	pthread_mutex_unlock(&bus->lock);
	*out = t;
	return 0;
}

int bus_topic_close(bus_topic_t *t)
{
	struct bus *bus;

	if (!t)
		return -EINVAL;
	bus = t->bus;
	if (bus) {
		pthread_mutex_lock(&bus->lock);
		for (struct bus_topic **p = &bus->topics; *p;
		     p = &(*p)->next) {
			if (*p == t) {
				*p = t->next;
				break;
			}
		}
		pthread_mutex_unlock(&bus->lock);
		/* busd pads the loans we did not commit. */
		close_topic_slot(bus, t->name, t->role, t->index,
				 t->generation);
		munmap(t->geometry.base, t->geometry.size);
	} else if (t->role == BUS_PRODUCER && t->local_detach) {
		/* A local handle (tests): the caller owns the mapping. */
		t->local_detach(&t->geometry, t->index);
	}
	bus__topic_handle_destroy(t);
	return 0;
}

static int subscribe(struct bus *bus, const char *name,
		     const struct bus_subscribe_options *options,
		     uint32_t wildcard_id, struct bus_subscription **out)
{
	uint32_t history = options ? options->history : 0;
	struct bus__topic_geometry geometry;
	struct bus_control_reply reply;
	struct bus_subscription *s = NULL;
	int fd = -1;
	int ret;

	if (!bus || !out)
		return -EINVAL;
	ret = open_topic_slot(bus, name, BUS_CONSUMER, history, wildcard_id,
			      &reply, &fd);
	if (ret < 0)
		return ret;
	ret = map_topic(bus, name, fd, PROT_READ | PROT_WRITE, &geometry);
	if (fd >= 0)
		close(fd);
	if (ret == 0) {
		ret = bus__subscription_create(&geometry, reply.attachment,
					       bus->client_id, options, &s);
		if (ret < 0) {
			munmap(geometry.base, geometry.size);
			fail(bus, ret,
			     "cannot set up the subscription to "
			     "'%s'",
			     name);
		}
	}
	if (ret < 0) {
		close_topic_slot(bus, name, BUS_CONSUMER, reply.attachment,
				 reply.generation);
		return ret;
	}
	s->bus = bus;
	s->generation = reply.generation;
	/* kind: 1 when busd handed over a slot it reserved (TOPIC_OPEN). */
	s->from_reservation = wildcard_id && reply.kind == 1;
	copy_name(s->name, name);
	pthread_mutex_lock(&bus->lock);
	s->next_handle = bus->subscriptions;
	bus->subscriptions = s;
	pthread_mutex_unlock(&bus->lock);
	*out = s;
	return 0;
}

int bus__client_subscribe(struct bus *bus, const char *name,
			  const struct bus_subscribe_options *options,
			  struct bus_subscription **out)
{
	return subscribe(bus, name, options, 0, out);
}

int bus__client_subscribe_wildcard(struct bus *bus, const char *name,
				   const struct bus_subscribe_options *options,
				   uint32_t id, struct bus_subscription **out)
{
	return subscribe(bus, name, options, id, out);
}

int bus__client_wildcard_register(struct bus *bus, const char *pattern,
				  uint32_t *id)
{
	struct bus_control_request request = { .op = BUS_CONTROL_WILDCARD };
	struct bus_control_reply reply;
	int ret;

	copy_name(request.name, pattern);
	ret = transact(bus, &request, &reply, NULL);
	if (ret == 0)
		*id = reply.attachment;
	return ret;
}

void bus__client_wildcard_unregister(struct bus *bus, uint32_t id)
{
	struct bus_control_request request = {
		.op = BUS_CONTROL_WILDCARD_CLOSE,
		.attachment = id,
	};

	release(bus, &request);
}

int bus_unsubscribe(bus_subscription_t *s)
{
	struct bus *bus;

	if (!s)
		return -EINVAL;
	bus = s->bus;
	if (bus) {
		pthread_mutex_lock(&bus->lock);
		for (struct bus_subscription **p = &bus->subscriptions; *p;
		     p = &(*p)->next_handle) {
			if (*p == s) {
				*p = s->next_handle;
				break;
			}
		}
		pthread_mutex_unlock(&bus->lock);
		/* busd frees the slot: publishers stop waiting for us. */
		close_topic_slot(bus, s->name, BUS_CONSUMER, s->index,
				 s->generation);
		munmap(s->geometry.base, s->geometry.size);
	} else if (s->local_detach) {
		s->local_detach(&s->geometry, s->index);
	}
	bus__subscription_destroy(s);
	return 0;
}
