/* SPDX-License-Identifier: MIT */
/*
 * busd's readiness notification (busd/notify.h): with NOTIFY_SOCKET in its
 * environment, as systemd runs a Type=notify service, busd sends READY=1
 * (and its pid) once clients can connect, and STOPPING=1 when SIGTERM
 * starts a clean stop.  The test plays systemd: it binds a datagram
 * socket, points NOTIFY_SOCKET at it and starts a real busd.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"

/* Generous: busd starts in milliseconds, a loaded CI machine is slow. */
#define NOTIFY_WAIT_MS 10000

struct notify_fixture {
	struct test_busd busd;
	int socket_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int notify_setup(void **state)
{
	struct notify_fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	assert_non_null(f);
	f->socket_fd = -1;
	assert_int_equal(test_busd_prepare(&f->busd), 0);
	assert_true((size_t)snprintf(f->path, sizeof(f->path), "%s/notify",
				     f->busd.runtime_dir) < sizeof(f->path));
	memcpy(address.sun_path, f->path, sizeof(f->path));
	f->socket_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->socket_fd >= 0);
	assert_int_equal(bind(f->socket_fd, (struct sockaddr *)&address,
			      sizeof(address)),
			 0);
	*state = f;
	return 0;
}

static int notify_teardown(void **state)
{
	struct notify_fixture *f = *state;

	unsetenv("NOTIFY_SOCKET");
	test_busd_cleanup(&f->busd);
	if (f->socket_fd >= 0)
		close(f->socket_fd);
	unlink(f->path);
	free(f);
	return 0;
}

/* The next datagram, NUL-terminated; fails the test after the wait. */
static void notify_receive(struct notify_fixture *f, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = f->socket_fd, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, NOTIFY_WAIT_MS), 1);
	n = recv(f->socket_fd, buf, size - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
}

/* True when text has line as one of its lines. */
static bool notify_has_line(const char *text, const char *line)
{
	size_t length = strlen(line);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, line, length) &&
		    (p[length] == '\n' || p[length] == '\0'))
			return true;
	return false;
}

static void test_notify_ready_then_stopping(void **state)
{
	struct notify_fixture *f = *state;
	char message[1024], pid_line[64];
	bus_t *bus;

	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	assert_int_equal(test_busd_start(&f->busd, NULL), 0);
	notify_receive(f, message, sizeof(message));
	assert_true(notify_has_line(message, "READY=1"));
	snprintf(pid_line, sizeof(pid_line), "MAINPID=%d", (int)f->busd.pid);
	assert_true(notify_has_line(message, pid_line));
	/* Ready means ready: a client connects at once. */
	assert_int_equal(bus_connect(f->busd.bus_name, &bus), 0);
	bus_disconnect(bus);
	assert_int_equal(test_busd_stop(&f->busd), 0);
	notify_receive(f, message, sizeof(message));
	assert_true(notify_has_line(message, "STOPPING=1"));
}

/* Not under systemd: nothing is sent, and busd runs and stops as ever. */
static void test_notify_without_socket_is_harmless(void **state)
{
	struct notify_fixture *f = *state;
	struct pollfd pfd = { .fd = f->socket_fd, .events = POLLIN };
	bus_t *bus;

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(test_busd_start(&f->busd, NULL), 0);
	assert_int_equal(bus_connect(f->busd.bus_name, &bus), 0);
	bus_disconnect(bus);
	assert_int_equal(test_busd_stop(&f->busd), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_notify_ready_then_stopping, notify_setup,
			notify_teardown),
		cmocka_unit_test_setup_teardown(
			test_notify_without_socket_is_harmless, notify_setup,
			notify_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
