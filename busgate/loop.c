/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll set with the listening sockets, every client
 * socket and the waitset fd of every connection that subscribes.  Each
 * round handles the ready events, then flushes the output that the round
 * made (so that a burst of MESSAGE frames goes out in one send), retries
 * SENDs that wait for room, runs the heart-beat tick, and frees the
 * connections that closed (only then: the round's events may still name
 * them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

#define EVENTS_MAX 256
/* The heart-beat and time-out tick. */
#define TICK_NS 50000000LL
/* Out of descriptors, the listening sockets rest this long: a pending
 * connection would otherwise wake every epoll_wait and spin the loop. */
#define ACCEPT_REST_NS 100000000LL
/* Descriptors that are not connections': stdio, epoll, the listening
 * sockets, the bus connections of the identities, and some to spare. */
#define FD_MARGIN 32u

int64_t gate_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* HOST:PORT, [V6]:PORT: a listening socket, or -errno with a message. */
static int listen_on(const char *address, const char *what)
{
	char host[GATE_ADDRESS_MAX], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *found = NULL;
	int fd = -1, one = 1, ret;

	snprintf(host, sizeof(host), "%s", address);
	port = strrchr(host, ':');
	if (!port) {
		gate_log(0, "%s = '%s' is not HOST:PORT", what, address);
		return -EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
	}
	ret = getaddrinfo(host, port, &hints, &found);
	if (ret) {
		gate_log(0, "%s = '%s': %s", what, address, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(found->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, found->ai_addr, found->ai_addrlen) || listen(fd, 1024)) {
		ret = -errno;
		gate_log(0, "%s on %s: %s", what, address, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(found);
		return ret;
	}
	freeaddrinfo(found);
	return fd;
}

static void log_port(int fd, const char *what)
{
	struct sockaddr_storage sa;
	socklen_t length = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&sa, &length))
		return;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	/* Tests that ask for port 0 read the port from this line. */
	gate_log(0, "%s listening on %s port %d", what, host, port);
}

static int watch(struct gate *gate, int fd, struct gate_watch *w,
		 enum gate_watch_kind kind)
{
	struct epoll_event event = { .events = EPOLLIN, .data.ptr = w };

	w->kind = kind;
	w->owner = gate;
	return epoll_ctl(gate->epoll_fd, EPOLL_CTL_ADD, fd, &event) ? -errno
								    : 0;
}

/* A connection holds its socket and the fd of its waitset: take the soft
 * RLIMIT_NOFILE up to the hard one, and max_connections down to what fits,
 * so that accept(2) does not run out in the middle of serving. */
static void fit_connections_to_rlimit(struct gate_config *config)
{
	struct rlimit limit;
	unsigned long fit;

	if (getrlimit(RLIMIT_NOFILE, &limit))
		return;
	if (limit.rlim_cur < limit.rlim_max) {
		struct rlimit raised = { limit.rlim_max, limit.rlim_max };

		if (!setrlimit(RLIMIT_NOFILE, &raised))
			limit = raised;
	}
	if (limit.rlim_cur == RLIM_INFINITY)
		return;
	fit = limit.rlim_cur > 2 * FD_MARGIN
		      ? (unsigned long)(limit.rlim_cur - FD_MARGIN) / 2
		      : 1;
	if (fit >= config->max_connections)
		return;
	gate_log(0,
		 "max_connections lowered from %u to %lu: RLIMIT_NOFILE "
		 "is %llu, and a connection takes 2 descriptors",
		 config->max_connections, fit,
		 (unsigned long long)limit.rlim_cur);
	config->max_connections = (unsigned int)fit;
}

int gate_listen(struct gate *gate)
{
	struct gate_config *config = gate->config;
	int ret;

	fit_connections_to_rlimit(config);

	gate->tcp_fd = gate->ws_fd = -1;
	gate->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (gate->epoll_fd < 0)
		return -errno;
	if (config->listen[0] && strcmp(config->listen, "off")) {
		gate->tcp_fd = listen_on(config->listen, "listen");
		if (gate->tcp_fd < 0)
			return gate->tcp_fd;
		ret = watch(gate, gate->tcp_fd, &gate->tcp_watch,
			    WATCH_LISTEN_TCP);
		if (ret)
			return ret;
		log_port(gate->tcp_fd, "STOMP");
	}
	if (config->websocket[0] && strcmp(config->websocket, "off")) {
		gate->ws_fd = listen_on(config->websocket, "websocket");
		if (gate->ws_fd < 0)
			return gate->ws_fd;
		ret = watch(gate, gate->ws_fd, &gate->ws_watch,
			    WATCH_LISTEN_WS);
		if (ret)
			return ret;
		log_port(gate->ws_fd, "STOMP over WebSocket");
	}
	if (gate->tcp_fd < 0 && gate->ws_fd < 0) {
		gate_log(0, "listen and websocket are both off");
		return -EINVAL;
	}
	return 0;
}

void gate_socket_interest(struct gate_conn *conn)
{
	struct epoll_event event = { .data.ptr = &conn->socket_watch };

	if (conn->dead)
		return;
	if (conn->reading && !conn->stalled && !conn->input_paused)
		event.events |= EPOLLIN;
	if (conn->want_write)
		event.events |= EPOLLOUT;
	epoll_ctl(conn->gate->epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
}

static bool peer_of(const struct sockaddr_storage *sa, char *text, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	bool loopback = false;
	int port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
			   (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
			    in6->sin6_addr.s6_addr[12] == 127);
	}
	snprintf(text, size, "%s:%d", host, port);
	return loopback;
}

static void listening_interest(struct gate *gate, uint32_t events)
{
	struct epoll_event tcp = { .events = events,
				   .data.ptr = &gate->tcp_watch };
	struct epoll_event ws = { .events = events,
				  .data.ptr = &gate->ws_watch };

	if (gate->tcp_fd >= 0)
		epoll_ctl(gate->epoll_fd, EPOLL_CTL_MOD, gate->tcp_fd, &tcp);
	if (gate->ws_fd >= 0)
		epoll_ctl(gate->epoll_fd, EPOLL_CTL_MOD, gate->ws_fd, &ws);
}

static void rest_accepting(struct gate *gate, int error)
{
	if (!gate->accept_starved)
		gate_log(0,
			 "accept: %s: not accepting for %lld ms (%u "
			 "connections; see max_connections)",
			 strerror(error), ACCEPT_REST_NS / 1000000,
			 gate->conn_count);
	gate->accept_starved = true;
	gate->accept_resume_ns = gate_now_ns() + ACCEPT_REST_NS;
	listening_interest(gate, 0);
}

static void resume_accepting(struct gate *gate, int64_t now)
{
	if (!gate->accept_resume_ns || now < gate->accept_resume_ns)
		return;
	gate->accept_resume_ns = 0;
	listening_interest(gate, EPOLLIN);
}

static void on_accept(struct gate *gate, int listen_fd, bool websocket)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t length = sizeof(sa);
		struct epoll_event event = { .events = EPOLLIN };
		struct gate_conn *conn;
		char peer[64];
		int one = 1;
		bool loopback;
		int fd = accept4(listen_fd, (struct sockaddr *)&sa, &length,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				rest_accepting(gate, errno);
			else if (errno != EAGAIN && errno != EINTR &&
				 errno != ECONNABORTED)
				gate_log(0, "accept: %s", strerror(errno));
			return;
		}
		gate->accept_starved = false;
		if (gate->conn_count >= gate->config->max_connections) {
			/* A refusal costs nothing more than the close. */
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		loopback = peer_of(&sa, peer, sizeof(peer));
		conn = gate_conn_open(gate, fd, websocket, loopback, peer);
		if (!conn) {
			close(fd);
			continue;
		}
		event.data.ptr = &conn->socket_watch;
		if (epoll_ctl(gate->epoll_fd, EPOLL_CTL_ADD, fd, &event)) {
			gate_conn_close(conn);
			continue;
		}
		gate_log(1, "connection %llu from %s%s",
			 (unsigned long long)conn->id, peer,
			 websocket ? " (WebSocket)" : "");
	}
}

static void on_event(struct gate *gate, struct epoll_event *event)
{
	struct gate_watch *w = event->data.ptr;
	struct gate_conn *conn = w->owner;

	switch (w->kind) {
	case WATCH_LISTEN_TCP:
		on_accept(gate, gate->tcp_fd, false);
		break;
	case WATCH_LISTEN_WS:
		on_accept(gate, gate->ws_fd, true);
		break;
	case WATCH_SOCKET:
		if (conn->dead)
			break;
		if (event->events & (EPOLLERR | EPOLLHUP) &&
		    !(event->events & EPOLLIN)) {
			gate_conn_close(conn);
			break;
		}
		if (event->events & EPOLLOUT)
			gate_conn_on_writable(conn);
		if (event->events & EPOLLIN)
			gate_conn_on_readable(conn);
		break;
	case WATCH_WAITSET:
		if (!conn->dead)
			gate_waitset_ready(conn);
		break;
	}
}

static void flush_dirty(struct gate *gate)
{
	while (gate->dirty) {
		struct gate_conn *conn = gate->dirty;

		gate->dirty = conn->dirty_next;
		gate_conn_flush(conn);
	}
}

/* Retries parked SENDs, polls the waitsets that have no fd, and every
 * tick checks heart-beats and time-outs. */
static void background(struct gate *gate)
{
	int64_t now = gate_now_ns();
	bool tick = now >= gate->next_tick_ns;

	resume_accepting(gate, now);
	if (!gate->stalled_count && !gate->polled_count && !tick)
		return;
	if (tick)
		gate->next_tick_ns = now + TICK_NS;
	for (struct gate_conn *conn = gate->conns; conn; conn = conn->next) {
		if (conn->stalled)
			gate_conn_retry_stalled(conn);
		if (conn->waitset_polled && !conn->output_paused &&
		    !conn->dead)
			gate_deliver_all(conn);
		if (tick)
			gate_conn_tick(conn, now);
	}
}

static void reap(struct gate *gate)
{
	struct gate_conn *conn = gate->conns, *next;

	for (; conn; conn = next) {
		next = conn->next;
		if (conn->dead)
			gate_conn_free(conn);
	}
	gate->dead_count = 0;
}

static int timeout_ms(struct gate *gate)
{
	int64_t left;

	if (gate->stalled_count || gate->polled_count)
		return 1;
	left = gate->next_tick_ns - gate_now_ns();
	return left <= 0 ? 0 : (int)(left / 1000000) + 1;
}

int gate_run(struct gate *gate)
{
	struct epoll_event events[EVENTS_MAX];

	gate->next_tick_ns = gate_now_ns() + TICK_NS;
	while (!gate->stop) {
		int n = epoll_wait(gate->epoll_fd, events, EVENTS_MAX,
				   timeout_ms(gate));

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			on_event(gate, &events[i]);
		background(gate);
		flush_dirty(gate);
		if (gate->dead_count)
			reap(gate);
	}
	return 0;
}

void gate_shutdown(struct gate *gate)
{
	while (gate->conns) {
		gate_conn_close(gate->conns);
		gate_conn_free(gate->conns);
	}
	if (gate->tcp_fd >= 0)
		close(gate->tcp_fd);
	if (gate->ws_fd >= 0)
		close(gate->ws_fd);
	if (gate->epoll_fd >= 0)
		close(gate->epoll_fd);
}
