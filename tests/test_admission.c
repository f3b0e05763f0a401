/* SPDX-License-Identifier: MIT */
/*
 * busd's connection limits (busd/admission.h) against a user who opens
 * connections to the control socket and never says HELLO: the connections
 * over max_connections_per_user are refused with a reply that says why,
 * silent ones are closed after hello_timeout_ms, busd's descriptors stay
 * bounded, root and other users still get in, and the last
 * reserved_descriptors are kept for root and admin_group.  Refusals show
 * in busd's log (one line per reason per interval) and on the Prometheus
 * endpoint.
 *
 * The test runs as root (busd and the parent) and forks children that
 * become nobody (65534) or another uid.  Without root it exits 77.
 * Children report through their exit status and a line on stderr; the
 * parent and a child take turns through a pipe each way.
 *
 * test_admission [CASE]   runs every case, or those matching CASE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "control_protocol.h"
#include "test_common.h"

#ifndef BUS_TEST_BUSCTL_PATH
#define BUS_TEST_BUSCTL_PATH ""
#endif

#define NOBODY 65534u
#define STRANGER 65533u
#define ADMIN_GROUP 4243u

#define CAP 8
#define OVER_CAP 40
#define HELLO_TIMEOUT_MS 3000
#define CHILD_TIMEOUT_MS 30000
/* What busd may hold beyond its descriptors at rest while CAP silent
 * connections of nobody (a socket and a pidfd each) and a few of root's
 * come and go. */
#define FD_SLACK 8

static const char cap_config[] = "[bus]\n"
				 "max_connections_per_user = 8\n"
				 "hello_timeout_ms = 3000\n"
				 "metrics = 127.0.0.1:0\n";

static const char reserve_config[] = "[bus]\n"
				     "admin_group = 4243\n"
				     "max_connections_per_user = 0\n"
				     "hello_timeout_ms = 0\n"
				     "reserved_descriptors = 16\n";

struct admission_test {
	struct test_busd busd;
	char log_path[PATH_MAX];
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- set-up ------------------------------------------------------------- */

/* The children must reach the socket: mkdtemp() made the directory 0700. */
static int open_runtime_dir(struct test_busd *busd)
{
	return chmod(busd->runtime_dir, 0755) ? -errno : 0;
}

/* busd's stderr goes to a file, for its log lines and its metrics port. */
static int start_logged(struct admission_test *t, const char *config)
{
	int saved = dup(STDERR_FILENO), log_fd, ret;

	if (snprintf(t->log_path, sizeof(t->log_path), "%s/busd.log",
		     t->busd.runtime_dir) >= (int)sizeof(t->log_path))
		return -ENAMETOOLONG;
	log_fd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0644);
	if (saved < 0 || log_fd < 0)
		return -errno;
	fflush(stderr);
	dup2(log_fd, STDERR_FILENO);
	ret = test_busd_start(&t->busd, config);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(log_fd);
	return ret;
}

static int start(void **state, const char *config)
{
	struct admission_test *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -1;
	*state = t;
	ret = test_busd_prepare(&t->busd);
	if (!ret)
		ret = open_runtime_dir(&t->busd);
	if (!ret && snprintf(t->socket_path, sizeof(t->socket_path),
			     "%s/%s.sock", t->busd.runtime_dir,
			     t->busd.bus_name) >= (int)sizeof(t->socket_path))
		ret = -ENAMETOOLONG;
	if (!ret)
		ret = start_logged(t, config);
	if (ret) {
		fprintf(stderr, "set-up: %s\n", bus_strerror(ret));
		test_busd_cleanup(&t->busd);
		free(t);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int setup_cap(void **state)
{
	return start(state, cap_config);
}

static int setup_reserve(void **state)
{
	return start(state, reserve_config);
}

static int teardown(void **state)
{
	struct admission_test *t = *state;
	int ret;

	test_children_kill();
	ret = test_busd_stop(&t->busd);
	test_busd_cleanup(&t->busd);
	free(t);
	return ret ? -1 : 0;
}

/* ---- helpers ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2), noreturn)) static void
child_fail(const char *format, ...)
{
	va_list args;

	fprintf(stderr, "child %d (uid %u): ", (int)getpid(),
		(unsigned int)getuid());
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	_exit(1);
}

/* Setting the uid clears the parent-death signal: set it again. */
static void become(uid_t uid, const gid_t *groups, size_t count)
{
	if (setgroups(count, groups) || setgid(uid) || setuid(uid))
		child_fail("cannot become uid %u: %s", (unsigned int)uid,
			   strerror(errno));
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A connection that never says anything. */
static int silent_connect(const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&address, sizeof(address)))
		child_fail("connect %s: %s", path, strerror(errno));
	return fd;
}

/*
 * What busd sent on a silent connection within timeout_ms: 0 and the
 * reply, then EOF; -ETIMEDOUT when nothing came; another -errno.
 */
static int read_refusal(int fd, int timeout_ms,
			struct bus_control_reply *reply)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) == 0)
		return -ETIMEDOUT;
	n = recv(fd, reply, sizeof(*reply), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(*reply) || reply->magic != BUS_CONTROL_MAGIC)
		return -EPROTO;
	/* Then busd closes it. */
	if (poll(&p, 1, timeout_ms) == 0 || recv(fd, &p, 1, MSG_DONTWAIT))
		return -EISCONN;
	return 0;
}

static void expect_refusal(int fd, int timeout_ms, int status,
			   const char *words)
{
	struct bus_control_reply reply;
	int ret = read_refusal(fd, timeout_ms, &reply);

	if (ret)
		child_fail("no refusal on a silent connection: %s",
			   strerror(-ret));
	if (reply.op != BUS_CONTROL_HELLO || reply.status != status ||
	    !strstr(reply.detail, words))
		child_fail("refusal %d (%s), not %d (%s): %.*s", reply.status,
			   test_errno_name(reply.status), status, words,
			   (int)sizeof(reply.detail), reply.detail);
}

/* bus_connect() fails with error, and the detail says words. */
static void expect_connect_refused(const char *bus_name, int error,
				   const char *words)
{
	bus_t *bus = NULL;
	int ret = bus_connect(bus_name, &bus);

	if (ret != error || !strstr(bus_error_detail(NULL), words))
		child_fail("bus_connect: %d (%s: %s), not %d with '%s'", ret,
			   bus_strerror(ret), bus_error_detail(NULL), error,
			   words);
}

/* busctl ls as this user: it fails and says why, busd's words included. */
static void expect_busctl_refused(const char *bus_name, const char *words)
{
	char out[1024] = "";
	int pipe_fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (!BUS_TEST_BUSCTL_PATH[0])
		return;
	if (pipe(pipe_fds))
		child_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		dup2(pipe_fds[1], STDERR_FILENO);
		execl(BUS_TEST_BUSCTL_PATH, "busctl", "-b", bus_name, "ls",
		      (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	while ((n = read(pipe_fds[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	close(pipe_fds[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 ||
	    !strstr(out, "busd refused the connection") || !strstr(out, words))
		child_fail("busctl ls (status %#x) said: %s", status, out);
}

static void child_connects(const char *bus_name)
{
	bus_t *bus = NULL;
	int ret = bus_connect(bus_name, &bus);

	if (ret)
		child_fail("bus_connect: %s: %s", bus_strerror(ret),
			   bus_error_detail(NULL));
	bus_disconnect(bus);
}

/* Runs child_connects() as uid with groups; asserts it passed. */
static void connect_as(const char *bus_name, uid_t uid, const gid_t *groups,
		       size_t count)
{
	int status = 0;
	pid_t pid = test_fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		become(uid, groups, count);
		child_connects(bus_name);
		_exit(0);
	}
	assert_ret(test_child_wait(pid, CHILD_TIMEOUT_MS, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("uid %u could not connect (status %#x)",
			 (unsigned int)uid, status);
}

static int busd_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *entry;
	DIR *dir;
	int count = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

/* busd's count once a connection that just closed has left it. */
static int busd_fd_count_settled(pid_t pid)
{
	int count = busd_fd_count(pid), before;

	do {
		before = count;
		usleep(50000);
		count = busd_fd_count(pid);
	} while (count != before);
	return count;
}

/* The parent and a child take turns: one byte through a pipe. */
struct turns {
	int to_parent[2];
	int to_child[2];
};

static void turns_open(struct turns *turns)
{
	assert_int_equal(pipe(turns->to_parent), 0);
	assert_int_equal(pipe(turns->to_child), 0);
}

/* After fork: each side keeps its own ends, so that one's exit is the
 * other's EOF. */
static void turns_take_sides(struct turns *turns, bool child)
{
	close(child ? turns->to_parent[0] : turns->to_parent[1]);
	close(child ? turns->to_child[1] : turns->to_child[0]);
}

static void turns_close(struct turns *turns, bool child)
{
	close(child ? turns->to_parent[1] : turns->to_parent[0]);
	close(child ? turns->to_child[0] : turns->to_child[1]);
}

static void child_step(struct turns *turns)
{
	char c = 1;

	if (write(turns->to_parent[1], &c, 1) != 1)
		child_fail("the parent is gone");
}

static void child_await(struct turns *turns)
{
	char c;

	if (read(turns->to_child[0], &c, 1) != 1)
		child_fail("the parent is gone");
}

static void parent_step(struct turns *turns)
{
	char c = 1;

	assert_int_equal(write(turns->to_child[1], &c, 1), 1);
}

/* Waits for the child's turn; a child that failed instead fails the
 * test with its status. */
static void parent_await(struct turns *turns, pid_t child)
{
	int status = 0;
	char c;

	if (read(turns->to_parent[0], &c, 1) == 1)
		return;
	test_child_wait(child, CHILD_TIMEOUT_MS, &status);
	fail_msg("the child failed (status %#x)", status);
}

/* Lines of the log that hold text. */
static int log_lines(const char *path, const char *text)
{
	char line[1024];
	FILE *file = fopen(path, "r");
	int count = 0;

	if (!file)
		return -1;
	while (fgets(line, sizeof(line), file))
		if (strstr(line, text))
			count++;
	fclose(file);
	return count;
}

/* GET /metrics from the port busd logged; the body in page. */
static int scrape(const char *log_path, char *page, size_t size)
{
	static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
	static const char logged[] = "metrics at http://127.0.0.1:";
	struct sockaddr_in address = { .sin_family = AF_INET };
	char line[1024], *at;
	FILE *file = fopen(log_path, "r");
	unsigned int port = 0;
	size_t got = 0;
	ssize_t n;
	int fd;

	while (file && !port && fgets(line, sizeof(line), file))
		if ((at = strstr(line, logged)))
			port = (unsigned int)atoi(at + strlen(logged));
	if (file)
		fclose(file);
	if (!port)
		return -ENOENT;
	address.sin_port = htons((uint16_t)port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&address, sizeof(address)) ||
	    write(fd, get, sizeof(get) - 1) != (ssize_t)sizeof(get) - 1)
		return -errno;
	while (got < size - 1 &&
	       (n = read(fd, page + got, size - 1 - got)) > 0)
		got += (size_t)n;
	page[got] = '\0';
	close(fd);
	return 0;
}

/* ---- per-user cap and HELLO deadline ------------------------------------ */

/*
 * nobody opens CAP + OVER_CAP connections and says nothing: the ones over
 * the cap are refused at once, as are its bus_connect() and busctl, while
 * it holds CAP; the CAP are closed after the deadline.
 */
static void hog(const char *socket_path, const char *bus_name,
		struct turns *turns)
{
	int fds[CAP + OVER_CAP];
	uint64_t start = test_now_ns();

	for (int i = 0; i < CAP + OVER_CAP; i++)
		fds[i] = silent_connect(socket_path);
	for (int i = CAP; i < CAP + OVER_CAP; i++)
		expect_refusal(fds[i], 2000, -EUSERS,
			       "too many connections from uid 65534");
	expect_connect_refused(bus_name, -EUSERS,
			       "too many connections from uid 65534");
	expect_busctl_refused(bus_name, "too many connections from uid "
					"65534");
	child_step(turns);
	child_await(turns);
	for (int i = 0; i < CAP; i++)
		expect_refusal(fds[i], HELLO_TIMEOUT_MS + 5000, -ETIMEDOUT,
			       "hello_timeout_ms");
	if (test_now_ns() - start < (uint64_t)HELLO_TIMEOUT_MS * 900000u)
		child_fail("silent connections closed before the deadline");
	_exit(0);
}

static void test_admission_silent_user_cannot_lock_out_others(void **state)
{
	struct admission_test *t = *state;
	int status = 0, at_rest, held;
	struct turns turns;
	static char page[65536];
	char per_user[128];
	bus_t *root_bus[3] = { NULL };
	pid_t pid;

	at_rest = busd_fd_count_settled(t->busd.pid);
	assert_true(at_rest > 0);
	turns_open(&turns);
	pid = test_fork();
	assert_true(pid >= 0);
	turns_take_sides(&turns, pid == 0);
	if (pid == 0) {
		become(NOBODY, NULL, 0);
		hog(t->socket_path, t->busd.bus_name, &turns);
	}
	parent_await(&turns, pid);
	/* nobody holds its cap: root and another user still get in. */
	for (int i = 0; i < 3; i++)
		assert_ret(bus_connect(t->busd.bus_name, &root_bus[i]), 0);
	connect_as(t->busd.bus_name, STRANGER, NULL, 0);
	held = busd_fd_count(t->busd.pid);
	if (held > at_rest + 2 * CAP + 2 * 3 + FD_SLACK)
		fail_msg("busd holds %d descriptors (%d at rest)", held,
			 at_rest);
	for (int i = 0; i < 3; i++)
		bus_disconnect(root_bus[i]);
	parent_step(&turns);
	assert_ret(test_child_wait(pid, CHILD_TIMEOUT_MS, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the silent user's child failed (status %#x)",
			 status);
	/* Every silent connection is gone once its deadline passed. */
	for (int i = 0; i < 100 && busd_fd_count(t->busd.pid) > at_rest + 2;
	     i++)
		usleep(20000);
	assert_true(busd_fd_count(t->busd.pid) <= at_rest + 2);
	/* One line per reason, however many refusals. */
	assert_int_equal(log_lines(t->log_path, "max_connections_per_user "
						"is 8"),
			 1);
	assert_int_equal(log_lines(t->log_path, "hello_timeout_ms of"), 1);
	assert_ret(scrape(t->log_path, page, sizeof(page)), 0);
	/* OVER_CAP silent ones, bus_connect() and busctl's. */
	snprintf(per_user, sizeof(per_user),
		 "shmbus_connections_refused_total"
		 "{uid=\"65534\",reason=\"per_user\"} %d\n",
		 OVER_CAP + 1 + (BUS_TEST_BUSCTL_PATH[0] ? 1 : 0));
	if (!strstr(page, per_user) ||
	    !strstr(page, "shmbus_connections_refused_total{uid=\"65534\","
			  "reason=\"hello_timeout\"} 8\n"))
		fail_msg("the metrics lack the refusals:\n%s", page);
	turns_close(&turns, false);
}

/* ---- the descriptor reserve --------------------------------------------- */

/*
 * busd's limit leaves room for RESERVE_ROOM more connections of anyone but
 * admins (the count at rest may be off by a connection still closing).
 */
#define RESERVE 16
#define RESERVE_ROOM 4
#define RESERVE_TRIES (RESERVE_ROOM + RESERVE / 2 + 2)

/* Silent connections until busd keeps the rest for admins. */
static void reserve_hog(const char *socket_path, const char *bus_name,
			struct turns *turns)
{
	struct bus_control_reply reply;
	int admitted = 0, ret = -ETIMEDOUT;

	while (ret == -ETIMEDOUT && admitted < RESERVE_TRIES) {
		/* Admitted: busd says nothing to a silent one. */
		ret = read_refusal(silent_connect(socket_path), 200, &reply);
		admitted += ret == -ETIMEDOUT;
	}
	if (ret)
		child_fail("after %d connections: %s, no refusal", admitted,
			   strerror(-ret));
	if (reply.status != -ECONNREFUSED ||
	    !strstr(reply.detail, "reserved_descriptors"))
		child_fail("after %d connections: status %d: %.*s", admitted,
			   reply.status, (int)sizeof(reply.detail),
			   reply.detail);
	if (admitted < RESERVE_ROOM - 1)
		child_fail("only %d connections before the reserve", admitted);
	expect_connect_refused(bus_name, -ECONNREFUSED,
			       "reserved_descriptors");
	child_step(turns);
	child_await(turns);
	_exit(0);
}

static void stranger_refused(const char *bus_name)
{
	become(STRANGER, NULL, 0);
	expect_connect_refused(bus_name, -ECONNREFUSED,
			       "for root and "
			       "admin_group");
	_exit(0);
}

static void test_admission_reserve_kept_for_admins(void **state)
{
	static const gid_t admin[] = { ADMIN_GROUP };
	struct admission_test *t = *state;
	int status = 0, at_rest;
	bus_t *root_bus[5] = { NULL };
	struct rlimit limit;
	struct turns turns;
	pid_t pid, other;

	/* busd reads its limit at each connection: leave it RESERVE plus
	 * RESERVE_ROOM connections (two descriptors each) above now. */
	at_rest = busd_fd_count_settled(t->busd.pid);
	limit.rlim_cur = limit.rlim_max =
		(rlim_t)(at_rest + RESERVE + 2 * RESERVE_ROOM);
	assert_int_equal(prlimit(t->busd.pid, RLIMIT_NOFILE, &limit, NULL), 0);
	turns_open(&turns);
	pid = test_fork();
	assert_true(pid >= 0);
	turns_take_sides(&turns, pid == 0);
	if (pid == 0) {
		become(NOBODY, NULL, 0);
		reserve_hog(t->socket_path, t->busd.bus_name, &turns);
	}
	parent_await(&turns, pid);
	other = test_fork();
	assert_true(other >= 0);
	if (other == 0)
		stranger_refused(t->busd.bus_name);
	assert_ret(test_child_wait(other, CHILD_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Root and the admin group take from the reserve. */
	for (int i = 0; i < 5; i++)
		assert_ret(bus_connect(t->busd.bus_name, &root_bus[i]), 0);
	connect_as(t->busd.bus_name, STRANGER, admin, 1);
	for (int i = 0; i < 5; i++)
		bus_disconnect(root_bus[i]);
	parent_step(&turns);
	assert_ret(test_child_wait(pid, CHILD_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	turns_close(&turns, false);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_admission_silent_user_cannot_lock_out_others,
			setup_cap, teardown),
		cmocka_unit_test_setup_teardown(
			test_admission_reserve_kept_for_admins, setup_reserve,
			teardown),
	};

	if (test_busd_unavailable())
		return TEST_SKIP_EXIT;
	if (geteuid() != 0) {
		fprintf(stderr, "connection limit tests need root (they "
				"switch users): skipped\n");
		return TEST_SKIP_EXIT;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("admission", tests, NULL, NULL) ? 1
									   : 0;
}
