/* SPDX-License-Identifier: MIT */
/*
 * What fuzz_requests checks after every request, whatever the request.
 * The access rules are written out again here (busd/access.h) rather than
 * called, so that a mistake in busd's own checks shows up as a segment
 * handed to the wrong peer.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "fuzz_requests.h"

/* The largest errno Linux has; a status below its negative is garbage. */
#define FUZZ_ERRNO_MAX 4095

static bool peer_is_admin(enum fuzz_peer_kind kind)
{
	const struct fuzz_peer_identity *id = &fuzz_peer_identities[kind];

	return id->uid == 0 || id->uid == geteuid() ||
	       id->gid == FUZZ_ADMIN_GID || id->group == FUZZ_ADMIN_GID;
}

/* The first class that matches decides: owner, then group, then others. */
static bool peer_may(const struct busd_access *access,
		     enum fuzz_peer_kind kind, unsigned int want)
{
	const struct fuzz_peer_identity *id = &fuzz_peer_identities[kind];
	unsigned int shift = 0;

	if (id->uid == 0)
		return true;
	if (id->uid == access->owner)
		shift = 6;
	else if (id->gid == access->group ||
		 (id->group && id->group == access->group))
		shift = 3;
	return ((access->mode >> shift) & want) == want;
}

static bool needs_admin(uint32_t op)
{
	return op == BUS_CONTROL_CREATE || op == BUS_CONTROL_DELETE ||
	       op == BUS_CONTROL_TOPIC_CREATE || op == BUS_CONTROL_PURGE ||
	       op == BUS_CONTROL_ROUTE_ADD || op == BUS_CONTROL_ROUTE_DELETE;
}

static bool hands_segment(uint32_t op)
{
	return op == BUS_CONTROL_OPEN || op == BUS_CONTROL_TOPIC_OPEN ||
	       op == BUS_CONTROL_PURGE;
}

/* ---- the reply ---------------------------------------------------------- */

static int fd_of(struct msghdr *msg)
{
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg);
	int fd = -1;

	if (!cmsg)
		return -1;
	if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(msg, cmsg))
		fuzz_fail("a reply came with more than one fd");
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	return fd;
}

/* The one reply busd sent; the fd it carried, or -1. */
static int receive_reply(int socket_fd, struct bus_control_reply *reply)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { reply, sizeof(*reply) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	char more;
	ssize_t n;

	n = recvmsg(socket_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(*reply) || (msg.msg_flags & MSG_TRUNC))
		fuzz_fail("a request got no reply, or one of the wrong size");
	if (msg.msg_flags & MSG_CTRUNC)
		fuzz_fail("a reply came with more than one fd");
	if (recv(socket_fd, &more, 1, MSG_DONTWAIT | MSG_PEEK) >= 0 ||
	    errno != EAGAIN)
		fuzz_fail("a request got more than one reply");
	return fd_of(&msg);
}

/* ---- a segment handed over ---------------------------------------------- */

struct fuzz_named {
	int fd;
	const struct busd_access *access;
	uint64_t generation;
	size_t size;
};

static bool find_named(const struct busd *busd, const char *name, bool topic,
		       struct fuzz_named *out)
{
	const struct busd_queue *q;
	const struct busd_topic *t;

	if (topic) {
		t = busd_registry_find_topic(&busd->catalog.registry, name);
		if (t)
			*out = (struct fuzz_named){
				t->fd, &t->access,
				t->geometry.header->created_ns,
				t->geometry.size
			};
		return t != NULL;
	}
	q = busd_registry_find(&busd->catalog.registry, name);
	if (q)
		*out = (struct fuzz_named){ q->fd, &q->access,
					    q->geometry.header->created_ns,
					    q->geometry.size };
	return q != NULL;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		fuzz_fail("cannot fstat a segment");
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
	       sa.st_size >= 0 && (uint64_t)sb.st_size == (uint64_t)sa.st_size;
}

static void check_handed(const struct busd *busd, struct fuzz_peer *peer,
			 const struct bus_control_request *request,
			 const struct bus_control_reply *reply, int fd)
{
	bool topic = request->op == BUS_CONTROL_TOPIC_OPEN;
	unsigned int want = request->role == BUS_PRODUCER ? BUSD_ACCESS_WRITE
							  : BUSD_ACCESS_READ;
	struct fuzz_named named;
	struct stat st;

	if (!find_named(busd, request->name, topic, &named) ||
	    !same_file(fd, named.fd))
		fuzz_fail("busd handed over another segment than the named");
	if (fstat(fd, &st) || reply->segment_size != named.size ||
	    reply->segment_size > (uint64_t)st.st_size)
		fuzz_fail(
			"the segment size in the reply is not the segment's");
	if (reply->generation != named.generation)
		fuzz_fail("the generation in the reply is not the segment's");
	if (request->op == BUS_CONTROL_PURGE
		    ? !peer_is_admin(peer->kind)
		    : !peer_may(named.access, peer->kind, want))
		fuzz_fail(
			"busd handed a segment to a peer its access refuses");
	peer->last_generation = reply->generation;
}

/* JOURNAL: a directory, of a recorded topic or durable queue the peer may
 * read. */
static void check_journal(const struct busd *busd,
			  const struct fuzz_peer *peer,
			  const struct bus_control_request *request, int fd)
{
	struct fuzz_named named;
	struct stat st;

	if (fstat(fd, &st) || !S_ISDIR(st.st_mode))
		fuzz_fail("JOURNAL handed over something not a directory");
	if (!find_named(busd, request->name, true, &named) &&
	    !find_named(busd, request->name, false, &named))
		fuzz_fail("JOURNAL granted for a name busd does not serve");
	else if (!peer_may(named.access, peer->kind, BUSD_ACCESS_READ))
		fuzz_fail("busd handed a journal to a peer its access "
			  "refuses");
}

/* ---- replies ------------------------------------------------------------ */

static void check_granted(const struct busd *busd, struct fuzz_peer *peer,
			  const struct bus_control_request *request,
			  size_t length, const struct bus_control_reply *reply,
			  int fd)
{
	uint32_t op = request->op;

	if (length != sizeof(*request))
		fuzz_fail("busd granted a packet of the wrong length");
	if (op == BUS_CONTROL_HELLO && (peer->greeted || !reply->client_id))
		fuzz_fail("a HELLO was granted twice, or without a client id");
	if (op != BUS_CONTROL_HELLO && !peer->greeted)
		fuzz_fail("busd granted a request before HELLO");
	peer->greeted = true;
	if (needs_admin(op) && !peer_is_admin(peer->kind))
		fuzz_fail("busd granted an admin request to a peer that is no "
			  "admin");
	if ((hands_segment(op) || op == BUS_CONTROL_JOURNAL) != (fd >= 0))
		fuzz_fail("an fd is missing from a reply, or is one too many");
	if (fd >= 0 && op == BUS_CONTROL_JOURNAL)
		check_journal(busd, peer, request, fd);
	else if (fd >= 0)
		check_handed(busd, peer, request, reply, fd);
	if (op == BUS_CONTROL_LIST &&
	    (!memchr(reply->name, '\0', sizeof(reply->name)) ||
	     bus_name_check(reply->name)))
		fuzz_fail("LIST answered with an invalid name");
}

void fuzz_check_reply(const struct busd *busd, struct fuzz_peer *peer,
		      const struct bus_control_request *request, size_t length)
{
	struct bus_control_reply reply;
	int fd = receive_reply(peer->fd, &reply);
	/* busd echoes the op only of a packet long enough to hold one. */
	uint32_t op = length >= offsetof(struct bus_control_request, op) +
					      sizeof(request->op)
			      ? request->op
			      : 0;

	if (reply.magic != BUS_CONTROL_MAGIC || reply.op != op)
		fuzz_fail("the reply does not answer the request");
	if (reply.status > 0 || reply.status < -FUZZ_ERRNO_MAX)
		fuzz_fail("the reply's status is neither 0 nor a negative "
			  "errno");
	if (!memchr(reply.detail, '\0', sizeof(reply.detail)))
		fuzz_fail("the reply's detail is not NUL-terminated");
	if (reply.status && !reply.detail[0])
		fuzz_fail("a refusal came without a sentence in its detail");
	if (reply.status && fd >= 0)
		fuzz_fail("a refusal came with an fd");
	if (!reply.status)
		check_granted(busd, peer, request, length, &reply, fd);
	if (fd >= 0)
		close(fd);
}

/* ---- slots -------------------------------------------------------------- */

static bool connected(const struct busd *busd, uint32_t client_id)
{
	for (const struct busd_client *c = busd->clients.list.head; c;
	     c = c->next)
		if (!c->gone && c->identity.client_id == client_id)
			return true;
	return false;
}

static void check_table(const struct busd *busd, const uint32_t *owners,
			uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		if (owners[i] && !connected(busd, owners[i]))
			fuzz_fail("a slot is still lent to a client that is "
				  "gone");
}

static void check_ids(const struct busd *busd)
{
	for (const struct busd_client *c = busd->clients.list.head; c;
	     c = c->next)
		for (const struct busd_client *d = c->next; d; d = d->next)
			if (!c->gone && !d->gone && c->identity.client_id &&
			    c->identity.client_id == d->identity.client_id)
				fuzz_fail("two connected clients have one id");
}

void fuzz_check_slots(const struct busd *busd)
{
	const struct busd_registry *r = &busd->catalog.registry;

	for (unsigned int i = 0; i < r->count; i++)
		check_table(busd, r->queues[i]->owners,
			    r->queues[i]->geometry.attachment_count);
	for (unsigned int i = 0; i < r->topic_count; i++) {
		const struct busd_topic *t = r->topics[i];

		check_table(busd, t->publishers,
			    t->geometry.settings.max_publishers);
		check_table(busd, t->subscribers,
			    t->geometry.settings.max_subscribers);
	}
	check_ids(busd);
}
