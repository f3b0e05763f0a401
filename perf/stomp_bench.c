/* SPDX-License-Identifier: MIT */
/*
 * stomp-bench: a STOMP round trip and a STOMP stream against any STOMP
 * server (busgate, or RabbitMQ's STOMP plugin for the baseline), with
 * plain blocking sockets, so that the client costs the same for both.
 *
 *   stomp-bench rt     HOST PORT [COUNT] [SIZE] [LOGIN PASSCODE]
 *   stomp-bench stream HOST PORT [COUNT] [SIZE] [LOGIN PASSCODE]
 *   stomp-bench floor  - - [COUNT] [SIZE]
 *
 * rt: one connection subscribes to a queue (ack auto) and sends to it,
 * waiting for each MESSAGE before the next SEND; every round trip is
 * timed (CLOCK_MONOTONIC).  stream: a forked producer sends COUNT
 * messages on its own connection as fast as the server takes them while
 * the consumer counts them; msgs/s is COUNT over the time from the first
 * SEND to the last MESSAGE.  Both check every body.  floor: the round
 * trip's floor, SIZE + 100 bytes echoed over loopback TCP by a forked
 * process (no STOMP, no bus).  Prints one line:
 *   rt N min_ns p50_ns p99_ns p999_ns max_ns
 *   stream N seconds msgs_per_s
 */
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	char *buf;
	size_t start, end, size;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "stomp-bench: %s\n", what);
	exit(1);
}

static void send_all(struct client *c, const char *data, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send failed");
		}
		data += w;
		n -= (size_t)w;
	}
}

/* The next frame (heart-beat EOLs skipped): its start and length. */
static char *next_frame(struct client *c, size_t *length)
{
	for (;;) {
		while (c->start < c->end &&
		       (c->buf[c->start] == '\n' || c->buf[c->start] == '\r'))
			c->start++;
		if (c->start < c->end) {
			char *body = memmem(c->buf + c->start,
					    c->end - c->start, "\n\n", 2);
			char *nul = NULL;

			if (body) {
				char *cl = memmem(c->buf + c->start,
						  (size_t)(body - c->buf) -
							  c->start,
						  "\ncontent-length:", 16);

				if (cl) {
					size_t n = strtoul(cl + 16, NULL, 10);

					if ((size_t)(body + 2 - c->buf) + n <
					    c->end)
						nul = body + 2 + n;
				} else {
					nul = memchr(
						body + 2, '\0',
						c->end - (size_t)(body + 2 -
								  c->buf));
				}
			}
			if (nul) {
				char *frame = c->buf + c->start;

				*length = (size_t)(nul - frame);
				c->start = (size_t)(nul - c->buf) + 1;
				return frame;
			}
		}
		if (c->start == c->end)
			c->start = c->end = 0;
		if (c->size - c->end < 65536) {
			memmove(c->buf, c->buf + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
			if (c->size - c->end < 65536) {
				c->size *= 2;
				c->buf = realloc(c->buf, c->size);
				if (!c->buf)
					die("out of memory");
			}
		}
		ssize_t r = recv(c->fd, c->buf + c->end, c->size - c->end, 0);

		if (r <= 0)
			die("the server closed the connection");
		c->end += (size_t)r;
	}
}

static void expect(struct client *c, const char *command)
{
	size_t n;
	char *frame = next_frame(c, &n);

	if (strncmp(frame, command, strlen(command))) {
		fprintf(stderr, "stomp-bench: expected %s, got: %.*s\n",
			command, (int)(n > 400 ? 400 : n), frame);
		exit(1);
	}
}

static struct client *open_client(const char *host, const char *port,
				  const char *login, const char *passcode)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct client *c = calloc(1, sizeof(*c));
	char frame[512];
	int one = 1, n;

	if (!c || getaddrinfo(host, port, &hints, &ai))
		die("cannot resolve the server");
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen))
		die("cannot connect to the server");
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->size = 1 << 20;
	c->buf = malloc(c->size);
	n = snprintf(frame, sizeof(frame),
		     "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n"
		     "%s%s%s%s%s%s\n",
		     login ? "login:" : "", login ? login : "",
		     login ? "\n" : "", passcode ? "passcode:" : "",
		     passcode ? passcode : "", passcode ? "\n" : "");
	send_all(c, frame, (size_t)n + 1);
	expect(c, "CONNECTED");
	return c;
}

static size_t send_frame(char *out, const char *queue, const char *body,
			 size_t size)
{
	int n = sprintf(out,
			"SEND\ndestination:/queue/%s\n"
			"content-length:%zu\n\n",
			queue, size);

	memcpy(out + n, body, size);
	out[(size_t)n + size] = '\0';
	return (size_t)n + size + 1;
}

static void subscribe(struct client *c, const char *queue)
{
	char frame[256];
	int n = snprintf(frame, sizeof(frame),
			 "SUBSCRIBE\nid:0\ndestination:/queue/%s\nack:auto\n"
			 "receipt:sub\n\n",
			 queue);

	send_all(c, frame, (size_t)n + 1);
	expect(c, "RECEIPT");
}

/* The body of a MESSAGE frame must be the one sent. */
static void check_body(const char *frame, size_t n, const char *body,
		       size_t size)
{
	const char *b = memmem(frame, n, "\n\n", 2);

	if (strncmp(frame, "MESSAGE", 7) || !b ||
	    (size_t)(frame + n - (b + 2)) != size ||
	    memcmp(b + 2, body, size)) {
		fprintf(stderr, "stomp-bench: unexpected frame: %.*s\n",
			(int)(n > 300 ? 300 : n), frame);
		exit(1);
	}
}

static int compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void round_trips(struct client *c, uint64_t count, size_t size)
{
	char *body = malloc(size), *out = malloc(size + 256);
	int64_t *samples = malloc(count * sizeof(*samples));
	char queue[64];
	uint64_t warm = count / 10 + 10;

	snprintf(queue, sizeof(queue), "bench-rt-%d", getpid());
	subscribe(c, queue);
	for (uint64_t i = 0; i < count + warm; i++) {
		size_t n, length;
		int64_t t0;
		char *frame;

		memset(body, 'a' + (int)(i % 26), size);
		n = send_frame(out, queue, body, size);
		t0 = now_ns();
		send_all(c, out, n);
		frame = next_frame(c, &length);
		if (i >= warm)
			samples[i - warm] = now_ns() - t0;
		check_body(frame, length, body, size);
	}
	qsort(samples, count, sizeof(*samples), compare);
	printf("rt %llu %lld %lld %lld %lld %lld\n", (unsigned long long)count,
	       (long long)samples[0], (long long)samples[count / 2],
	       (long long)samples[count * 99 / 100],
	       (long long)samples[count * 999 / 1000],
	       (long long)samples[count - 1]);
}

static void stream(const char *host, const char *port, const char *login,
		   const char *passcode, uint64_t count, size_t size)
{
	struct client *consumer = open_client(host, port, login, passcode);
	char *body = malloc(size), *out = malloc(64 * (size + 256));
	char queue[64];
	int64_t start, end;
	pid_t producer;
	int status;

	snprintf(queue, sizeof(queue), "bench-stream-%d", getpid());
	subscribe(consumer, queue);
	memset(body, 's', size);
	start = now_ns();
	producer = fork();
	if (producer == 0) {
		struct client *c = open_client(host, port, login, passcode);
		size_t n = 0;

		/* 64 frames per send(2), as a buffering client would. */
		for (uint64_t i = 0; i < count; i++) {
			n += send_frame(out + n, queue, body, size);
			if ((i + 1) % 64 == 0 || i + 1 == count) {
				send_all(c, out, n);
				n = 0;
			}
		}
		send_all(c, "DISCONNECT\nreceipt:bye\n\n", 25);
		expect(c, "RECEIPT");
		_exit(0);
	}
	for (uint64_t i = 0; i < count; i++) {
		size_t length;
		char *frame = next_frame(consumer, &length);

		check_body(frame, length, body, size);
	}
	end = now_ns();
	if (waitpid(producer, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		die("the producer failed");
	printf("stream %llu %.3f %.0f\n", (unsigned long long)count,
	       (double)(end - start) / 1e9,
	       (double)count * 1e9 / (double)(end - start));
}

/* The floor of a round trip: the same bytes a SEND and its MESSAGE take,
 * echoed by a forked process over loopback TCP with no STOMP and no bus. */
static void echo_floor(uint64_t count, size_t size)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr =
					    htonl(INADDR_LOOPBACK) };
	socklen_t length = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	size_t frame = size + 100;
	char *buf = calloc(1, frame);
	int64_t *samples = malloc(count * sizeof(*samples));
	uint64_t warm = count / 10 + 10;
	struct client c = { 0 };
	pid_t echo;

	if (listener < 0 || bind(listener, (void *)&addr, sizeof(addr)) ||
	    listen(listener, 1) ||
	    getsockname(listener, (void *)&addr, &length))
		die("cannot listen for the echo floor");
	echo = fork();
	if (echo == 0) {
		int fd = accept(listener, NULL, NULL);
		ssize_t n;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((n = recv(fd, buf, frame, 0)) > 0)
			send(fd, buf, (size_t)n, MSG_NOSIGNAL);
		_exit(0);
	}
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c.fd, (void *)&addr, sizeof(addr)))
		die("cannot connect to the echo floor");
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (uint64_t i = 0; i < count + warm; i++) {
		int64_t t0 = now_ns();
		size_t got = 0;

		send_all(&c, buf, frame);
		while (got < frame) {
			ssize_t n = recv(c.fd, buf, frame - got, 0);

			if (n <= 0)
				die("the echo floor closed");
			got += (size_t)n;
		}
		if (i >= warm)
			samples[i - warm] = now_ns() - t0;
	}
	close(c.fd);
	waitpid(echo, NULL, 0);
	qsort(samples, count, sizeof(*samples), compare);
	printf("rt %llu %lld %lld %lld %lld %lld\n", (unsigned long long)count,
	       (long long)samples[0], (long long)samples[count / 2],
	       (long long)samples[count * 99 / 100],
	       (long long)samples[count * 999 / 1000],
	       (long long)samples[count - 1]);
}

int main(int argc, char **argv)
{
	uint64_t count;
	size_t size;
	const char *login, *passcode;

	if (argc < 4) {
		fprintf(stderr, "usage: stomp-bench rt|stream|floor HOST "
				"PORT [COUNT] [SIZE] [LOGIN PASSCODE]\n");
		return 2;
	}
	count = argc > 4 ? strtoull(argv[4], NULL, 10) : 10000;
	size = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
	login = argc > 7 ? argv[6] : NULL;
	passcode = argc > 7 ? argv[7] : NULL;
	if (!count || !size || size > 1 << 20)
		die("COUNT and SIZE must be positive (SIZE up to 1 MiB)");
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "floor"))
		echo_floor(count, size);
	else if (!strcmp(argv[1], "rt"))
		round_trips(open_client(argv[2], argv[3], login, passcode),
			    count, size);
	else if (!strcmp(argv[1], "stream"))
		stream(argv[2], argv[3], login, passcode, count, size);
	else
		die("the first argument is rt, stream or floor");
	return 0;
}
