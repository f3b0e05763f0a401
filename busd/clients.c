/* SPDX-License-Identifier: MIT */
/* Connected clients: credentials, liveness, and cleaning up after them. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "admission.h"
#include "catalog.h"
#include "clients.h"
#include "handlers.h"
#include "hello_deadline.h"
#include "log.h"
#include "topics.h"
#include "wildcards.h"

/* Linux 6.5 hands out a pidfd of the peer; older headers lack the name. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* ---- the peer process --------------------------------------------------- */

static int busd_client_credentials(struct busd_client *client)
{
	struct ucred cred;
	socklen_t length = sizeof(cred);

	if (getsockopt(client->socket_fd, SOL_SOCKET, SO_PEERCRED, &cred,
		       &length))
		return -errno;
	client->identity.pid = cred.pid;
	client->identity.uid = cred.uid;
	client->credentials.uid = cred.uid;
	client->credentials.gid = cred.gid;
	return 0;
}

/*
 * SO_PEERPIDFD names the very process that connected.  Without it, the pid
 * from SO_PEERCRED could in principle have been reused by the time
 * pidfd_open() runs; that only matters while another process still holds
 * the socket, since a dead peer's socket hangs up and is dropped anyway.
 */
static int busd_client_open_pidfd(struct busd_client *client)
{
	int peer_pidfd = -1;
	socklen_t length = sizeof(peer_pidfd);
	long fd;

	if (getsockopt(client->socket_fd, SOL_SOCKET, SO_PEERPIDFD,
		       &peer_pidfd, &length) == 0 &&
	    peer_pidfd >= 0) {
		client->pidfd = peer_pidfd;
		return 0;
	}
	fd = syscall(SYS_pidfd_open, client->identity.pid, 0);
	if (fd < 0)
		return -errno;
	client->pidfd = (int)fd;
	return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks. */
static int busd_process_start_time(pid_t pid, uint64_t *start_time)
{
	char path[64], text[1024], *field;
	ssize_t length;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	length = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (length <= 0)
		return length ? -errno : -EINVAL;
	text[length] = '\0';
	/* Field 2 is the command name in parentheses, which may itself hold
	 * spaces and ')'; every field after the last ')' is a number. */
	field = strrchr(text, ')');
	for (int i = 2; field && i < 22; i++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	if (!field)
		return -EINVAL;
	*start_time = strtoull(field, NULL, 10);
	return 0;
}

/*
 * Without its supplementary groups a client may do less, never more: a
 * failure here is logged and the client goes on with its primary group.
 */
static void busd_client_read_groups(struct busd_client *client)
{
	int ret = busd_credentials_read_groups(
		&client->credentials, client->socket_fd, client->identity.pid);

	if (ret)
		busd_debug("cannot read the groups of pid %d: %s; only its "
			   "primary group %u counts",
			   (int)client->identity.pid, strerror(-ret),
			   (unsigned int)client->credentials.gid);
}

/* Who connected: enough to admit or refuse it (admission.h). */
static int busd_client_identify(struct busd_client *client)
{
	int ret = busd_client_credentials(client);

	if (!ret)
		busd_client_read_groups(client);
	return ret;
}

/* Only an admitted client gets a pidfd: a refusal costs busd nothing. */
static int busd_client_watch_process(struct busd_client *client)
{
	int ret = busd_client_open_pidfd(client);

	if (!ret)
		ret = busd_process_start_time(client->identity.pid,
					      &client->identity.start_time);
	return ret;
}

/* ---- requests in the ring ----------------------------------------------- */

static int busd_client_arm_receive(struct busd_clients *clients,
				   struct busd_client *client)
{
	return busd_loop_receive(clients->loop, &client->receive_op,
				 client->socket_fd, client->in.bytes,
				 sizeof(client->in.bytes));
}

static int busd_client_arm(struct busd_clients *clients,
			   struct busd_client *client)
{
	int ret = busd_client_arm_receive(clients, client);

	if (!ret)
		ret = busd_loop_poll(clients->loop, &client->exit_op,
				     client->pidfd);
	return ret;
}

static void busd_client_close_fds(struct busd_client *client)
{
	if (client->socket_fd >= 0)
		close(client->socket_fd);
	if (client->pidfd >= 0)
		close(client->pidfd);
	client->socket_fd = -1;
	client->pidfd = -1;
}

/*
 * Frees a dropped client once nothing in the ring refers to it, and only
 * then closes its fds: a request still queued (not yet submitted) names
 * its fd by number, and a number closed earlier could be reused by the
 * next accept, so that the dead client's receive would read the new
 * client's first request and drop it.
 */
static void busd_client_release(struct busd_clients *clients,
				struct busd_client *client)
{
	if (client->receive_op.in_flight || client->exit_op.in_flight)
		return;
	busd_client_close_fds(client);
	busd_admission_leave(clients->admission, client);
	busd_client_list_unlink(&clients->list, client);
	busd_credentials_free(&client->credentials);
	busd_wildcards_free(&client->wildcards);
	free(client);
}

static struct busd_client *busd_client_new(int socket_fd)
{
	struct busd_client *client = calloc(1, sizeof(*client));

	if (!client)
		return NULL;
	client->socket_fd = socket_fd;
	client->pidfd = -1;
	client->receive_op.kind = BUSD_OP_RECEIVE;
	client->receive_op.client = client;
	client->exit_op.kind = BUSD_OP_EXIT;
	client->exit_op.client = client;
	return client;
}

void busd_client_accept(struct busd_clients *clients, int socket_fd)
{
	struct busd_client *client = busd_client_new(socket_fd);
	int ret;

	if (!client) {
		busd_warning("out of memory for a new client");
		close(socket_fd);
		return;
	}
	busd_client_list_link(&clients->list, client);
	ret = busd_client_identify(client);
	if (!ret && busd_admission_admit(clients->admission, client)) {
		busd_client_drop(clients, client, "was refused");
		return;
	}
	if (!ret)
		ret = busd_client_watch_process(client);
	if (ret) {
		/* ESRCH: it connected and died before we looked. */
		busd_debug("cannot identify a new client (pid %d): %s",
			   (int)client->identity.pid, strerror(-ret));
		busd_client_drop(clients, client, "could not be identified");
		return;
	}
	busd_debug("pid %d (uid %u) connected", (int)client->identity.pid,
		   (unsigned int)client->identity.uid);
	if (busd_client_arm(clients, client)) {
		busd_client_drop(clients, client, "could not be watched");
		return;
	}
	busd_hello_deadline_start(clients->hello_deadline, client);
}

/* ---- completions -------------------------------------------------------- */

void busd_client_on_receive(struct busd_clients *clients,
			    struct busd_client *client, int result)
{
	if (client->gone) {
		busd_client_release(clients, client);
		return;
	}
	/* 0 is a hang-up (an empty packet is no request either). */
	if (result <= 0) {
		busd_client_drop(clients, client,
				 result == 0 ? "hung up" : "lost its socket");
		return;
	}
	if (busd_handle_request(clients->handlers, client, (size_t)result)) {
		busd_client_drop(clients, client, "could not be answered");
		return;
	}
	if (busd_client_arm_receive(clients, client))
		busd_client_drop(clients, client, "could not be watched");
}

void busd_client_on_exit(struct busd_clients *clients,
			 struct busd_client *client, int result)
{
	if (client->gone) {
		busd_client_release(clients, client);
		return;
	}
	if (result < 0)
		busd_warning("cannot watch pid %d: %s",
			     (int)client->identity.pid, strerror(-result));
	busd_client_drop(clients, client, "exited");
}

/* ---- dropping ----------------------------------------------------------- */

/* Every slot of the client in every queue; the count of redeliveries. */
static int busd_client_detach_all(struct busd_clients *clients,
				  struct busd_client *client,
				  unsigned int *slots)
{
	struct busd_queue *queue;
	int redelivered = 0;

	/* Slot owners are client ids; 0 marks a free slot, and a client
	 * that never said HELLO has id 0 and holds nothing. */
	if (!client->identity.client_id)
		return 0;
	for (uint32_t i = 0;
	     (queue = busd_registry_at(&clients->catalog->registry, i)); i++)
		redelivered += busd_queue_detach_client(
			queue, client->identity.client_id, slots);
	/* Topic loans padded are not counted: nothing is redelivered. */
	busd_topics_detach_client(clients->catalog, client->identity.client_id,
				  slots);
	return redelivered;
}

static void busd_client_log_drop(const struct busd_client *client,
				 const char *why, unsigned int slots,
				 int redelivered)
{
	const struct busd_identity *who = &client->identity;

	if (!slots) {
		busd_debug("client %u (pid %d) %s", who->client_id,
			   (int)who->pid, why);
		return;
	}
	busd_info("client %u (pid %d) %s holding %u attachment%s; %d "
		  "message%s made deliverable again",
		  who->client_id, (int)who->pid, why, slots,
		  slots == 1 ? "" : "s", redelivered,
		  redelivered == 1 ? "" : "s");
}

void busd_client_drop(struct busd_clients *clients, struct busd_client *client,
		      const char *why)
{
	unsigned int slots = 0;
	int redelivered;

	if (client->gone)
		return;
	client->gone = true;
	busd_hello_deadline_stop(clients->hello_deadline, client);
	redelivered = busd_client_detach_all(clients, client, &slots);
	busd_client_log_drop(client, why, slots, redelivered);
	/*
	 * The peer sees the end of the connection now, and a receive still
	 * pending completes with 0 even if its cancel could not be queued;
	 * the fds are closed when the last completion frees the client.
	 */
	if (client->socket_fd >= 0)
		shutdown(client->socket_fd, SHUT_RDWR);
	busd_loop_cancel(clients->loop, &client->receive_op);
	busd_loop_cancel(clients->loop, &client->exit_op);
	busd_client_release(clients, client);
}

/* A pidfd of who's process, if it is still the process that attached. */
static int busd_open_same_process(const struct busd_identity *who)
{
	uint64_t start_time;
	long fd;

	if (who->pid <= 0)
		return -ESRCH;
	fd = syscall(SYS_pidfd_open, who->pid, 0);
	if (fd < 0)
		return -errno;
	/* Read after the pidfd is open: it names the process whose start
	 * time we check, even if the pid is reused a moment later. */
	if (busd_process_start_time(who->pid, &start_time) ||
	    start_time != who->start_time) {
		close((int)fd);
		return -ESRCH;
	}
	return (int)fd;
}

int busd_client_adopt(struct busd_clients *clients,
		      const struct busd_identity *who)
{
	struct busd_client *client;
	int pidfd;

	if (!who->client_id)
		return -ESRCH;
	client = busd_client_list_adopted(&clients->list, who->client_id);
	/* One id, two processes: a slot line that a peer scribbled on (any
	 * client may write the segment).  It is not the id's owner's. */
	if (client)
		return client->identity.pid == who->pid &&
				       client->identity.start_time ==
					       who->start_time
			       ? 0
			       : -ESRCH;
	pidfd = busd_open_same_process(who);
	if (pidfd < 0)
		return pidfd;
	client = busd_client_new(-1);
	if (!client) {
		close(pidfd);
		return -ENOMEM;
	}
	client->identity = *who;
	client->pidfd = pidfd;
	client->greeted = true;
	client->adopted = true;
	/* New clients get ids above every adopted one. */
	if (clients->list.last_id < who->client_id)
		clients->list.last_id = who->client_id;
	busd_client_list_link(&clients->list, client);
	if (busd_loop_poll(clients->loop, &client->exit_op, pidfd)) {
		busd_client_drop(clients, client, "could not be watched");
		return -ESRCH;
	}
	return 0;
}

/* handlers->resume (handler_context.h). */
static bool busd_client_resume(void *owner, struct busd_client *client,
			       uint32_t client_id)
{
	struct busd_clients *clients = owner;
	struct busd_client *old =
		busd_client_list_adopted(&clients->list, client_id);

	if (!old || old->identity.pid != client->identity.pid ||
	    old->identity.start_time != client->identity.start_time)
		return false;
	/* The connection takes over the slots; nothing is detached. */
	client->identity.client_id = client_id;
	old->gone = true;
	busd_loop_cancel(clients->loop, &old->exit_op);
	busd_client_release(clients, old);
	return true;
}

void busd_clients_drop_all(struct busd_clients *clients)
{
	struct busd_client *client = clients->list.head, *next;

	for (; client; client = next) {
		next = client->next;
		busd_client_drop(clients, client, "disconnected: busd stops");
	}
}

/* deadline->drop (hello_deadline.h). */
static void busd_client_drop_silent(void *owner, struct busd_client *client,
				    const char *why)
{
	busd_client_drop(owner, client, why);
}

void busd_clients_init(struct busd_clients *clients, struct busd_loop *loop,
		       struct busd_catalog *catalog,
		       struct busd_admission *admission,
		       struct busd_hello_deadline *deadline,
		       struct busd_handlers *handlers)
{
	memset(&clients->list, 0, sizeof(clients->list));
	clients->loop = loop;
	clients->catalog = catalog;
	clients->admission = admission;
	clients->hello_deadline = deadline;
	clients->handlers = handlers;
	deadline->drop = busd_client_drop_silent;
	deadline->owner = clients;
	handlers->resume = busd_client_resume;
	handlers->owner = clients;
}
