/* SPDX-License-Identifier: MIT */
/*
 * Access control through a real busd (busd/access.h): each queue's and
 * topic's owner, group and mode, admin rights for creating and deleting,
 * the control socket's own mode, and the configuration errors of the new
 * keys.
 *
 * The test runs as root (busd and the parent) and forks children that drop
 * to an unprivileged uid and gid before they connect, so busd sees them as
 * other users.  Without root it exits 77.  Children report through their
 * exit status and a line on stderr.
 *
 * test_access [CASE]   runs every case, or those matching CASE (a glob).
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "bus_test_util.h"
#include "test_common.h"

/* The unprivileged user the children become, and one that owns nothing. */
#define NOBODY 65534u
#define STRANGER 65533u
/* Supplementary groups that only some children get. */
#define TEAM_GROUP 4242u
#define ADMIN_GROUP 4243u
#define SOCKET_GROUP 4244u

#define CHILD_TIMEOUT_MS 30000

static const char config[] =
	"[bus]\n"
	"admin_group = 4243\n"
	"\n"
	"[queue secret]\n"
	"owner = root\n"
	"group = root\n"
	"mode = 0600\n"
	"\n"
	"[queue open]\n"
	"mode = 0666\n"
	"\n"
	"; readable by the group 65534, writable by nobody but root\n"
	"[queue readers]\n"
	"group = 65534\n"
	"mode = 0640\n"
	"\n"
	"; for members of a supplementary group only\n"
	"[queue team]\n"
	"group = 4242\n"
	"mode = 060\n"
	"\n"
	"[topic news]\n"
	"mode = 0644\n"
	"\n"
	"[topic private]\n"
	"owner = 0\n"
	"mode = 0600\n";

static const char socket_config[] = "[bus]\n"
				    "socket_mode = 0660\n"
				    "socket_group = 4244\n"
				    "\n"
				    "[queue open]\n"
				    "mode = 0666\n";

struct access_test {
	struct test_busd busd;
	bus_t *bus;
};

/* ---- set-up ------------------------------------------------------------- */

/*
 * The children must reach the socket: every directory above it searchable
 * by others.  mkdtemp() made the runtime directory 0700.
 */
static int open_runtime_dir(struct test_busd *busd)
{
	char path[PATH_MAX], *slash;
	struct stat st;

	if (chmod(busd->runtime_dir, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s", busd->runtime_dir);
	while ((slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		if (stat(path, &st))
			return -errno;
		if (!(st.st_mode & S_IXOTH)) {
			fprintf(stderr,
				"%s is not searchable by other users: "
				"set TMPDIR elsewhere\n",
				path);
			return -EACCES;
		}
	}
	return 0;
}

static int start(void **state, const char *text)
{
	struct access_test *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -1;
	*state = t;
	ret = test_busd_prepare(&t->busd);
	if (!ret)
		ret = open_runtime_dir(&t->busd);
	if (!ret)
		ret = test_busd_start(&t->busd, text);
	if (!ret)
		ret = bus_connect(t->busd.bus_name, &t->bus);
	if (ret) {
		fprintf(stderr, "set-up: %s\n", bus_strerror(ret));
		bus_disconnect(t->bus);
		test_busd_cleanup(&t->busd);
		free(t);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	return start(state, config);
}

static int setup_socket(void **state)
{
	return start(state, socket_config);
}

static int teardown(void **state)
{
	struct access_test *t = *state;
	int ret;

	test_children_kill();
	bus_disconnect(t->bus);
	ret = test_busd_stop(&t->busd);
	test_busd_cleanup(&t->busd);
	free(t);
	return ret ? -1 : 0;
}

/* ---- children ----------------------------------------------------------- */

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
static void drop_privileges(uid_t uid, gid_t gid, const gid_t *groups,
			    size_t count)
{
	if (setgroups(count, groups) || setgid(gid) || setuid(uid))
		child_fail("cannot become uid %u: %s", (unsigned int)uid,
			   strerror(errno));
	if (getuid() != uid || geteuid() != uid || getegid() != gid)
		child_fail("still uid %u", (unsigned int)geteuid());
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

struct child_job {
	const char *bus_name;
	uid_t uid;
	gid_t gid;
	gid_t groups[4];
	size_t group_count;
};

/* Runs body(bus_name) as another user in a child; asserts it exits 0. */
static void run_as(const struct child_job *job,
		   void (*body)(const char *bus_name))
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		drop_privileges(job->uid, job->gid, job->groups,
				job->group_count);
		body(job->bus_name);
		_exit(0);
	}
	assert_ret(test_child_wait(pid, CHILD_TIMEOUT_MS, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child as uid %u failed (status %#x)",
			 (unsigned int)job->uid, status);
}

static bus_t *child_connect(const char *bus_name)
{
	bus_t *bus = NULL;
	int ret = bus_connect(bus_name, &bus);

	if (ret)
		child_fail("bus_connect: %s", bus_strerror(ret));
	return bus;
}

static const char *role_name(enum bus_role role)
{
	return role == BUS_PRODUCER   ? "producer"
	       : role == BUS_CONSUMER ? "consumer"
				      : "observer";
}

/* An -EACCES must come with busd's sentence naming the name. */
static void expect_refused(bus_t *bus, int ret, const char *what,
			   const char *name)
{
	const char *detail = bus_error_detail(bus);

	if (ret != -EACCES)
		child_fail("%s %s: %s (%s), expected EACCES", what, name,
			   test_errno_name(ret), detail);
	if (!strstr(detail, "may not") || !strstr(detail, name))
		child_fail("%s %s: the detail '%s' does not say who may not "
			   "do what",
			   what, name, detail);
}

static bus_queue_t *expect_open(bus_t *bus, const char *name,
				enum bus_role role, int expected)
{
	bus_queue_t *queue = NULL;
	int ret = bus_queue_open(bus, name, role, NULL, &queue);

	if (expected == -EACCES) {
		expect_refused(bus, ret, role_name(role), name);
		return NULL;
	}
	if (ret != expected)
		child_fail("open %s as %s: %s (%s), expected %s", name,
			   role_name(role), test_errno_name(ret),
			   bus_error_detail(bus), test_errno_name(expected));
	return queue;
}

/* One message through the queue: both roles really work. */
static void expect_round_trip(bus_t *bus, const char *name)
{
	bus_queue_t *producer = expect_open(bus, name, BUS_PRODUCER, 0);
	bus_queue_t *consumer = expect_open(bus, name, BUS_CONSUMER, 0);
	char buf[16];
	int ret;

	ret = bus_send(producer, "hello", 5, BUS_NOWAIT);
	if (ret)
		child_fail("send to %s: %s", name, bus_strerror(ret));
	ret = bus_receive_copy(consumer, buf, sizeof(buf), BUS_NOWAIT);
	if (ret != 5 || memcmp(buf, "hello", 5))
		child_fail("receive from %s: %s", name, test_errno_name(ret));
	bus_queue_close(producer);
	bus_queue_close(consumer);
}

static void expect_no_admin(bus_t *bus)
{
	expect_refused(bus, bus_queue_create(bus, "made", NULL), "create",
		       "made");
	expect_refused(bus, bus_topic_create(bus, "made", NULL),
		       "create topic", "made");
	expect_refused(bus, bus_queue_delete(bus, "open"), "delete", "open");
	expect_refused(bus, bus_topic_delete(bus, "news"), "delete", "news");
}

/* ---- what the children do ----------------------------------------------- */

/* uid and gid 65534, no supplementary groups. */
static void nobody_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);
	struct bus_access access;
	bus_subscription_t *subscription = NULL;
	bus_topic_t *topic = NULL;

	expect_open(bus, "secret", BUS_CONSUMER, -EACCES);
	expect_open(bus, "secret", BUS_PRODUCER, -EACCES);
	expect_open(bus, "secret", BUS_OBSERVER, -EACCES);
	expect_round_trip(bus, "open");
	bus_queue_close(expect_open(bus, "open", BUS_OBSERVER, 0));
	expect_open(bus, "team", BUS_CONSUMER, -EACCES);
	expect_open(bus, "team", BUS_PRODUCER, -EACCES);
	expect_no_admin(bus);

	/* Topics: news is 0644, private 0600 and root's. */
	if (bus_subscribe(bus, "news", NULL, &subscription))
		child_fail("subscribe to news: %s", bus_error_detail(bus));
	bus_unsubscribe(subscription);
	expect_refused(bus,
		       bus_topic_open(bus, "news", BUS_PRODUCER, NULL, &topic),
		       "publish", "news");
	expect_refused(bus, bus_subscribe(bus, "private", NULL, &subscription),
		       "subscribe", "private");
	expect_refused(bus,
		       bus_topic_open(bus, "private", BUS_OBSERVER, NULL,
				      &topic),
		       "observe", "private");

	/* Anyone may see who may. */
	if (bus_access_get(bus, "secret", &access))
		child_fail("bus_access_get: %s", bus_error_detail(bus));
	if (access.owner != 0 || access.group != 0 || access.mode != 0600)
		child_fail("secret has owner %u, group %u, mode %04o",
			   access.owner, access.group, access.mode);
	bus_disconnect(bus);
}

/* In group 65534: may read 'readers', not write it. */
static void reader_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);

	bus_queue_close(expect_open(bus, "readers", BUS_CONSUMER, 0));
	bus_queue_close(expect_open(bus, "readers", BUS_OBSERVER, 0));
	expect_open(bus, "readers", BUS_PRODUCER, -EACCES);
	bus_disconnect(bus);
}

/* With the supplementary group 4242: 'team' is open to it. */
static void team_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);

	expect_round_trip(bus, "team");
	expect_open(bus, "secret", BUS_CONSUMER, -EACCES);
	bus_disconnect(bus);
}

/* With the supplementary group 4243, busd's admin_group. */
static void admin_body(const char *bus_name)
{
	const struct bus_access bad = { .given = BUS_ACCESS_MODE,
					.mode = 01777 };
	bus_t *bus = child_connect(bus_name);
	struct bus_access access;
	int ret;

	ret = bus_queue_create(bus, "made", NULL);
	if (ret)
		child_fail("create made: %s", bus_error_detail(bus));
	/* The defaults are busd's user and group (root here), 0660. */
	if (bus_access_get(bus, "made", &access) || access.owner != 0 ||
	    access.group != 0 || access.mode != 0660)
		child_fail("made has owner %u, group %u, mode %04o",
			   access.owner, access.group, access.mode);
	expect_open(bus, "made", BUS_CONSUMER, -EACCES);
	if (bus_queue_delete(bus, "made"))
		child_fail("delete made: %s", bus_error_detail(bus));
	if (bus_topic_create(bus, "made.topic", NULL) ||
	    bus_topic_delete(bus, "made.topic"))
		child_fail("topic made.topic: %s", bus_error_detail(bus));
	ret = bus_queue_create_with_access(bus, "bad", NULL, &bad);
	if (ret != -EINVAL || !strstr(bus_error_detail(bus), "0777"))
		child_fail("mode 01777: %s (%s)", test_errno_name(ret),
			   bus_error_detail(bus));
	bus_disconnect(bus);
}

/* Owns 'mine' (created by root for uid 65534 with mode 0600). */
static void owner_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);

	expect_round_trip(bus, "mine");
	bus_disconnect(bus);
}

/* Neither owner nor in the group of 'mine'. */
static void stranger_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);

	expect_open(bus, "mine", BUS_CONSUMER, -EACCES);
	expect_open(bus, "mine", BUS_PRODUCER, -EACCES);
	bus_disconnect(bus);
}

/* Not in socket_group: may not even connect. */
static void outsider_body(const char *bus_name)
{
	bus_t *bus = NULL;
	int ret = bus_connect(bus_name, &bus);

	if (ret != -EACCES)
		child_fail("connect: %s, expected EACCES",
			   test_errno_name(ret));
}

/* In socket_group: connects and uses the open queue. */
static void insider_body(const char *bus_name)
{
	bus_t *bus = child_connect(bus_name);

	expect_round_trip(bus, "open");
	bus_disconnect(bus);
}

/* ---- the cases ---------------------------------------------------------- */

static struct child_job job(const struct access_test *t, uid_t uid, gid_t gid)
{
	return (struct child_job){ .bus_name = t->busd.bus_name,
				   .uid = uid,
				   .gid = gid };
}

static void test_access_unprivileged_user_is_refused(void **state)
{
	struct access_test *t = *state;
	struct child_job nobody = job(t, NOBODY, NOBODY);

	run_as(&nobody, nobody_body);
}

static void test_access_group_may_read_but_not_write(void **state)
{
	struct access_test *t = *state;
	struct child_job reader = job(t, NOBODY, NOBODY);

	run_as(&reader, reader_body);
}

static void test_access_supplementary_group_counts(void **state)
{
	struct access_test *t = *state;
	struct child_job member = job(t, NOBODY, NOBODY);

	member.groups[0] = TEAM_GROUP;
	member.group_count = 1;
	run_as(&member, team_body);
}

static void test_access_admin_group_creates_and_deletes(void **state)
{
	struct access_test *t = *state;
	struct child_job admin = job(t, NOBODY, NOBODY);

	admin.groups[0] = ADMIN_GROUP;
	admin.group_count = 1;
	run_as(&admin, admin_body);
	assert_ret(bus_queue_open(t->bus, "made", BUS_OBSERVER, NULL,
				  &(bus_queue_t *){ NULL }),
		   -ENOENT);
}

static void test_access_root_does_everything(void **state)
{
	struct access_test *t = *state;
	const struct bus_access mine = {
		.given = BUS_ACCESS_OWNER | BUS_ACCESS_GROUP | BUS_ACCESS_MODE,
		.owner = NOBODY,
		.group = NOBODY,
		.mode = 0600,
	};
	struct child_job owner = job(t, NOBODY, NOBODY);
	struct child_job stranger = job(t, STRANGER, STRANGER);
	struct bus_access seen;
	bus_queue_t *producer, *consumer;
	char buf[8];

	assert_ret(bus_queue_open(t->bus, "secret", BUS_PRODUCER, NULL,
				  &producer),
		   0);
	assert_ret(bus_queue_open(t->bus, "secret", BUS_CONSUMER, NULL,
				  &consumer),
		   0);
	assert_ret(bus_send(producer, "root", 4, BUS_NOWAIT), 0);
	assert_ret(bus_receive_copy(consumer, buf, sizeof(buf), BUS_NOWAIT),
		   4);
	bus_queue_close(producer);
	bus_queue_close(consumer);

	/* Created at run time for another user: root still gets in. */
	assert_ret(bus_queue_create_with_access(t->bus, "mine", NULL, &mine),
		   0);
	assert_ret(bus_access_get(t->bus, "mine", &seen), 0);
	assert_int_equal(seen.owner, NOBODY);
	assert_int_equal(seen.group, NOBODY);
	assert_int_equal(seen.mode, 0600);
	run_as(&owner, owner_body);
	run_as(&stranger, stranger_body);
	assert_ret(bus_queue_open(t->bus, "mine", BUS_CONSUMER, NULL,
				  &consumer),
		   0);
	bus_queue_close(consumer);
	assert_ret(bus_queue_delete(t->bus, "mine"), 0);
	assert_ret(bus_access_get(t->bus, "mine", &seen), -ENOENT);
}

static void test_access_socket_mode_and_group(void **state)
{
	struct access_test *t = *state;
	struct child_job outsider = job(t, NOBODY, NOBODY);
	struct child_job insider = job(t, NOBODY, NOBODY);
	char path[PATH_MAX + BUS_NAME_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.sock", t->busd.runtime_dir,
		 t->busd.bus_name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, SOCKET_GROUP);
	run_as(&outsider, outsider_body);
	insider.groups[0] = SOCKET_GROUP;
	insider.group_count = 1;
	run_as(&insider, insider_body);
}

/* ---- configuration errors ------------------------------------------------ */

struct bad_config {
	const char *text;
	int line;
	const char *says;
};

static const struct bad_config bad_configs[] = {
	{ "[queue q]\nmode = 0999\n", 2,
	  "mode must be octal permission bits up to 0777, like 0660, not "
	  "'0999'" },
	{ "[queue q]\nmode = abc\n", 2, "not 'abc'" },
	{ "[topic t]\nmode = 01777\n", 2, "not '01777'" },
	{ "[queue q]\nowner = no-such-user-shmbus\n", 2,
	  "owner 'no-such-user-shmbus' is no user on this system" },
	{ "[queue q]\ngroup = no-such-group-shmbus\n", 2,
	  "group 'no-such-group-shmbus' is no group on this system" },
	{ "[queue q]\nmode = 0600\nmode = 0660\n", 3,
	  "'mode' is set twice in [queue q]" },
	{ "[bus]\nadmin_group = no-such-group-shmbus\n", 2,
	  "admin_group 'no-such-group-shmbus' is no group" },
	{ "[bus]\n\nsocket_mode = rw\n", 3, "socket_mode must be octal" },
	{ "[bus]\nsocket_owner = root\n", 2,
	  "unknown key 'socket_owner' in [bus]" },
};

/* Runs busd -c path with stderr into a file; its exit status. */
static int run_busd_with(const char *bus_name, const char *path,
			 const char *log_path)
{
	int status = 0;
	pid_t pid;

	fflush(stderr);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen(log_path, "w", stderr))
			_exit(127);
		execl(test_busd_path(), "busd", "-f", "-b", bus_name, "-c",
		      path, (char *)NULL);
		_exit(127);
	}
	assert_ret(test_child_wait(pid, CHILD_TIMEOUT_MS, &status), 0);
	return status;
}

static void check_bad_config(const struct test_busd *busd,
			     const struct bad_config *bad)
{
	char path[PATH_MAX + 16], log_path[PATH_MAX + 16];
	char text[1024], expected[PATH_MAX + 32];
	FILE *file;
	size_t length;
	int status;

	snprintf(path, sizeof(path), "%s/bad.conf", busd->runtime_dir);
	snprintf(log_path, sizeof(log_path), "%s/bad.log", busd->runtime_dir);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs(bad->text, file);
	fclose(file);
	status = run_busd_with(busd->bus_name, path, log_path);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	file = fopen(log_path, "r");
	assert_non_null(file);
	length = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[length] = '\0';
	snprintf(expected, sizeof(expected), "%s:%d: ", path, bad->line);
	if (!strstr(text, expected) || !strstr(text, bad->says))
		fail_msg("busd said '%s'; expected '%s' and '%s'", text,
			 expected, bad->says);
}

static void test_access_config_errors_name_file_and_line(void **state)
{
	struct test_busd busd;

	(void)state;
	assert_ret(test_busd_prepare(&busd), 0);
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]);
	     i++)
		check_bad_config(&busd, &bad_configs[i]);
	test_busd_cleanup(&busd);
}

/* ---- main --------------------------------------------------------------- */

#define ACCESS_TEST(name) \
	cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		ACCESS_TEST(test_access_unprivileged_user_is_refused),
		ACCESS_TEST(test_access_group_may_read_but_not_write),
		ACCESS_TEST(test_access_supplementary_group_counts),
		ACCESS_TEST(test_access_admin_group_creates_and_deletes),
		ACCESS_TEST(test_access_root_does_everything),
		cmocka_unit_test_setup_teardown(
			test_access_socket_mode_and_group, setup_socket,
			teardown),
		cmocka_unit_test(test_access_config_errors_name_file_and_line),
	};

	if (access(test_busd_path(), X_OK)) {
		fprintf(stderr, "no busd at %s: skipped\n", test_busd_path());
		return TEST_SKIP_EXIT;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "access control tests need root (they switch "
				"users): skipped\n");
		return TEST_SKIP_EXIT;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("access", tests, NULL, NULL) ? 1
									: 0;
}
