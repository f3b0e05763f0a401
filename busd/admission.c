/* SPDX-License-Identifier: MIT */
/* The connection limits: per-uid caps, the descriptor reserve, refusals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "admission.h"
#include "client.h"
#include "clock.h"
#include "control_socket.h"
#include "log.h"
#include "stats_lock.h"

/* What one more client takes beyond its socket, which is open and counted
 * by the time it is checked: its pidfd. */
#define BUSD_FDS_PER_CLIENT_MORE 1u

/* A refused peer gets its reply and EOF; more than this many packets
 * waiting in its socket means it is not a libbus client: stop reading. */
#define BUSD_REFUSAL_DRAIN_MAX 16

static const char *const busd_refusal_labels[BUSD_REFUSAL_COUNT] = {
	[BUSD_REFUSED_PER_USER] = "per_user",
	[BUSD_REFUSED_RESERVE] = "reserve",
	[BUSD_REFUSED_HELLO_TIMEOUT] = "hello_timeout",
};

const char *busd_refusal_label(enum busd_refusal reason)
{
	return reason < BUSD_REFUSAL_COUNT ? busd_refusal_labels[reason] : "?";
}

/* ---- set-up ------------------------------------------------------------- */

void busd_admission_init(struct busd_admission *admission,
			 const struct busd_limits *limits,
			 const gid_t *admin_group,
			 struct busd_stats_lock *lock)
{
	memset(admission, 0, sizeof(*admission));
	admission->limits = *limits;
	admission->admin_group = admin_group;
	admission->lock = lock;
	admission->fd_dir =
		open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (admission->fd_dir < 0 && limits->reserved_descriptors)
		busd_warning("cannot open /proc/self/fd (%s): the %u reserved "
			     "descriptors are not kept for admins",
			     strerror(errno), limits->reserved_descriptors);
}

void busd_admission_exit(struct busd_admission *admission)
{
	if (admission->fd_dir >= 0)
		close(admission->fd_dir);
	admission->fd_dir = -1;
	free(admission->users);
	admission->users = NULL;
	admission->user_count = 0;
	admission->user_capacity = 0;
}

/* ---- the users ---------------------------------------------------------- */

static struct busd_admission_user *
busd_admission_find(struct busd_admission *admission, uid_t uid)
{
	for (unsigned int i = 0; i < admission->user_count; i++)
		if (admission->users[i].uid == uid)
			return &admission->users[i];
	return NULL;
}

/* The entry of uid, made if need be; NULL without memory.  The caller
 * holds the metrics lock: the array may move. */
static struct busd_admission_user *
busd_admission_user(struct busd_admission *admission, uid_t uid)
{
	struct busd_admission_user *user = busd_admission_find(admission, uid);
	unsigned int capacity;

	if (user)
		return user;
	if (admission->user_count == admission->user_capacity) {
		capacity = admission->user_capacity
				   ? admission->user_capacity * 2
				   : 16;
		user = realloc(admission->users, capacity * sizeof(*user));
		if (!user)
			return NULL;
		admission->users = user;
		admission->user_capacity = capacity;
	}
	user = &admission->users[admission->user_count++];
	memset(user, 0, sizeof(*user));
	user->uid = uid;
	return user;
}

/* ---- the descriptor reserve --------------------------------------------- */

/* The descriptors busd holds, counted in /proc/self/fd; -errno. */
static int busd_admission_fds_open(struct busd_admission *admission)
{
	char buf[4096];
	long length;
	int count = 0;

	if (lseek(admission->fd_dir, 0, SEEK_SET) < 0)
		return -errno;
	while ((length = syscall(SYS_getdents64, admission->fd_dir, buf,
				 sizeof(buf))) > 0) {
		for (long at = 0; at < length;) {
			struct dirent64 *entry = (struct dirent64 *)(buf + at);

			if (entry->d_name[0] != '.')
				count++;
			at += entry->d_reclen;
		}
	}
	return length < 0 ? -errno : count;
}

/*
 * 0 while one more client leaves reserved_descriptors free below the soft
 * RLIMIT_NOFILE; else -ECONNREFUSED with the figures in detail.  The limit
 * is read each time, so that an operator's prlimit(1) counts at once.
 */
static int busd_admission_check_reserve(struct busd_admission *admission,
					char *detail, size_t detail_size)
{
	uint32_t reserve = admission->limits.reserved_descriptors;
	struct rlimit limit;
	int open_now;

	if (!reserve || admission->fd_dir < 0 ||
	    getrlimit(RLIMIT_NOFILE, &limit) ||
	    limit.rlim_cur == RLIM_INFINITY)
		return 0;
	open_now = busd_admission_fds_open(admission);
	if (open_now < 0)
		return 0; /* no count, no refusal: admins are not at stake */
	if ((uint64_t)open_now + BUSD_FDS_PER_CLIENT_MORE + reserve <=
	    (uint64_t)limit.rlim_cur)
		return 0;
	snprintf(detail, detail_size,
		 "busd holds %d of its %llu file "
		 "descriptors and keeps the last %u (reserved_descriptors) "
		 "for root and admin_group",
		 open_now, (unsigned long long)limit.rlim_cur, reserve);
	return -ECONNREFUSED;
}

/* ---- admitting --------------------------------------------------------- */

static int busd_admission_check_user(struct busd_admission *admission,
				     uid_t uid, char *detail,
				     size_t detail_size)
{
	uint32_t cap = admission->limits.max_connections_per_user;
	const struct busd_admission_user *user;

	user = busd_admission_find(admission, uid);
	if (!cap || !user || user->connections < cap)
		return 0;
	snprintf(detail, detail_size,
		 "too many connections from uid %u: it "
		 "holds %u, and busd's max_connections_per_user is %u",
		 (unsigned int)uid, user->connections, cap);
	return -EUSERS;
}

int busd_admission_admit(struct busd_admission *admission,
			 struct busd_client *client)
{
	const struct busd_credentials *who = &client->credentials;
	bool admin = busd_credentials_admin(who, *admission->admin_group);
	struct busd_admission_user *user;
	char detail[BUS_CONTROL_DETAIL_MAX];
	int ret = 0;

	/* Admins pass: the limits are there to keep a way in for them. */
	if (!admin)
		ret = busd_admission_check_user(admission, who->uid, detail,
						sizeof(detail));
	if (!admin && !ret)
		ret = busd_admission_check_reserve(admission, detail,
						   sizeof(detail));
	if (ret) {
		busd_admission_refuse(admission, client,
				      ret == -EUSERS ? BUSD_REFUSED_PER_USER
						     : BUSD_REFUSED_RESERVE,
				      ret, detail);
		return ret;
	}
	busd_stats_lock(admission->lock);
	user = busd_admission_user(admission, who->uid);
	if (user)
		user->connections++;
	busd_stats_unlock(admission->lock);
	if (!user)
		return -ENOMEM;
	client->admitted = true;
	return 0;
}

/* A uid with nothing to show is forgotten, so that the table holds the
 * uids connected now and those ever refused, not every uid ever seen. */
static bool busd_admission_unrefused(const struct busd_admission_user *user)
{
	for (int r = 0; r < BUSD_REFUSAL_COUNT; r++)
		if (user->refused[r])
			return false;
	return true;
}

void busd_admission_leave(struct busd_admission *admission,
			  struct busd_client *client)
{
	struct busd_admission_user *user;

	if (!client->admitted)
		return;
	client->admitted = false;
	busd_stats_lock(admission->lock);
	user = busd_admission_find(admission, client->credentials.uid);
	if (user && user->connections)
		user->connections--;
	if (user && !user->connections && busd_admission_unrefused(user))
		*user = admission->users[--admission->user_count];
	busd_stats_unlock(admission->lock);
}

/* ---- refusing ----------------------------------------------------------- */

/*
 * The first refusal of a reason is logged at once; later ones within the
 * interval are only counted, and the next line says how many there were.
 */
static void busd_admission_warn(struct busd_admission *admission,
				enum busd_refusal reason,
				const struct busd_client *client,
				const char *detail)
{
	struct busd_admission_warning *w = &admission->warnings[reason];
	uint64_t now = (uint64_t)bus__monotonic_ns();
	char more[96] = "";

	if (w->last_ns &&
	    now - w->last_ns < BUSD_ADMISSION_WARNING_INTERVAL_NS) {
		w->left_out++;
		return;
	}
	if (w->left_out)
		snprintf(more, sizeof(more),
			 " (and %llu more like it since "
			 "the last such line, not logged one by one)",
			 (unsigned long long)w->left_out);
	busd_warning("%s pid %d (uid %u): %s%s",
		     reason == BUSD_REFUSED_HELLO_TIMEOUT
			     ? "closed the connection of"
			     : "refused a connection from",
		     (int)client->identity.pid,
		     (unsigned int)client->credentials.uid, detail, more);
	/* 0 means "never": a clock that reads 0 counts as 1 ns. */
	w->last_ns = now ? now : 1;
	w->left_out = 0;
}

static void busd_admission_count(struct busd_admission *admission, uid_t uid,
				 enum busd_refusal reason)
{
	struct busd_admission_user *user;

	busd_stats_lock(admission->lock);
	user = busd_admission_user(admission, uid);
	if (user)
		user->refused[reason]++;
	busd_stats_unlock(admission->lock);
}

/*
 * Closing a Unix socket that still holds unread packets resets the
 * connection, and the peer's recv() then fails before it reads our reply.
 * After shutdown() nothing more can arrive, so a few reads empty it.
 */
static void busd_admission_drain(int socket_fd)
{
	char packet[sizeof(struct bus_control_request) + 1];

	shutdown(socket_fd, SHUT_RDWR);
	for (int i = 0; i < BUSD_REFUSAL_DRAIN_MAX; i++)
		if (recv(socket_fd, packet, sizeof(packet), MSG_DONTWAIT) <= 0)
			break;
}

void busd_admission_refuse(struct busd_admission *admission,
			   struct busd_client *client,
			   enum busd_refusal reason, int error,
			   const char *detail)
{
	struct bus_control_reply reply;

	memset(&reply, 0, sizeof(reply));
	reply.magic = BUS_CONTROL_MAGIC;
	/* The answer to the HELLO the client sends, or has sent, first. */
	reply.op = BUS_CONTROL_HELLO;
	reply.status = error;
	reply.busd_pid = (int32_t)getpid();
	snprintf(reply.detail, sizeof(reply.detail), "%s", detail);
	if (client->socket_fd >= 0) {
		/* A full socket loses the sentence, not the refusal. */
		busd_control_send(client->socket_fd, &reply, -1);
		busd_admission_drain(client->socket_fd);
	}
	busd_admission_count(admission, client->credentials.uid, reason);
	busd_admission_warn(admission, reason, client, detail);
}

/* ---- the metrics' copy ------------------------------------------------- */

int busd_admission_snapshot(const struct busd_admission *admission,
			    struct busd_admission_user **users,
			    unsigned int *count)
{
	size_t size = admission->user_count * sizeof(**users);

	*count = 0;
	*users = malloc(size ? size : 1);
	if (!*users)
		return -ENOMEM;
	if (size)
		memcpy(*users, admission->users, size);
	*count = admission->user_count;
	return 0;
}
