/* SPDX-License-Identifier: MIT */
/* A private busd and tracked child processes for multi-process tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "busd_harness.h"

#ifndef BUS_TEST_BUSD_PATH
#error "BUS_TEST_BUSD_PATH must name the built busd"
#endif

#define MAX_CHILDREN 64
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

static pid_t children[MAX_CHILDREN];
static unsigned int bus_counter;

const char *test_busd_path(void)
{
	return BUS_TEST_BUSD_PATH;
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

int test_busd_prepare(struct test_busd *busd)
{
	const char *tmp = getenv("TMPDIR");

	memset(busd, 0, sizeof(*busd));
	snprintf(busd->runtime_dir, sizeof(busd->runtime_dir),
		 "%s/shmbus-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(busd->runtime_dir)) {
		busd->runtime_dir[0] = '\0';
		return -errno;
	}
	if (setenv("BUS_RUNTIME_DIR", busd->runtime_dir, 1))
		return -errno;
	snprintf(busd->bus_name, sizeof(busd->bus_name), "test-%d-%u",
		 (int)getpid(), bus_counter++);
	return 0;
}

static int write_config(struct test_busd *busd, const char *config)
{
	FILE *file;

	if (snprintf(busd->config_path, sizeof(busd->config_path),
		     "%s/%s.conf", busd->runtime_dir,
		     busd->bus_name) >= (int)sizeof(busd->config_path))
		return -ENAMETOOLONG;
	file = fopen(busd->config_path, "w");
	if (!file)
		return -errno;
	fputs(config, file);
	if (fclose(file))
		return -errno;
	return 0;
}

static void exec_busd(struct test_busd *busd, pid_t parent)
{
	/* busd must not outlive a test that crashes: SIGTERM lets it unlink
	 * its segments. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	/* -d: a test's stop leaves nothing, messages or not, unless the
	 * test is about what a clean stop keeps. */
	const char *discard = busd->keep_on_stop ? "-f" : "-d";

	if (busd->config_path[0])
		execl(BUS_TEST_BUSD_PATH, "busd", "-f", discard, "-b",
		      busd->bus_name, "-c", busd->config_path, (char *)NULL);
	else
		execl(BUS_TEST_BUSD_PATH, "busd", "-f", discard, "-b",
		      busd->bus_name, (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", BUS_TEST_BUSD_PATH, strerror(errno));
	_exit(127);
}

/* 0 once a client connects, -ECHILD if busd exited, -ETIMEDOUT. */
static int wait_ready(struct test_busd *busd)
{
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int status;
		bus_t *bus;

		if (waitpid(busd->pid, &status, WNOHANG) == busd->pid) {
			fprintf(stderr,
				"busd exited during start-up (status "
				"%#x)\n",
				status);
			busd->pid = 0;
			return -ECHILD;
		}
		if (bus_connect(busd->bus_name, &bus) == 0) {
			bus_disconnect(bus);
			return 0;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "busd did not accept a client within %d ms\n",
		START_TIMEOUT_MS);
	return -ETIMEDOUT;
}

int test_busd_start(struct test_busd *busd, const char *config)
{
	pid_t parent = getpid();
	int ret;

	busd->config_path[0] = '\0';
	if (config) {
		ret = write_config(busd, config);
		if (ret)
			return ret;
	}
	fflush(stdout);
	fflush(stderr);
	busd->pid = fork();
	if (busd->pid < 0) {
		busd->pid = 0;
		return -errno;
	}
	if (busd->pid == 0)
		exec_busd(busd, parent);
	ret = wait_ready(busd);
	if (ret)
		test_busd_stop(busd);
	return ret;
}

int test_shm_leftovers(const char *bus_name, int remove)
{
	char prefix[BUS_NAME_MAX + 16];
	struct dirent *entry;
	DIR *dir = opendir("/dev/shm");
	int count = 0;

	if (!dir)
		return 0;
	snprintf(prefix, sizeof(prefix), "shmbus.%s:", bus_name);
	while ((entry = readdir(dir))) {
		size_t length = strlen(prefix);

		/* The segments "shmbus.BUS:NAME", the announcement page
		 * "shmbus.BUS" (the prefix without its colon) and the route
		 * table "shmbus.BUS%routes". */
		if (strncmp(entry->d_name, prefix, length) &&
		    (strncmp(entry->d_name, prefix, length - 1) ||
		     (entry->d_name[length - 1] != '\0' &&
		      entry->d_name[length - 1] != '%')))
			continue;
		count++;
		if (remove)
			unlinkat(dirfd(dir), entry->d_name, 0);
	}
	closedir(dir);
	return count;
}

/* Reaps busd, killing it if it ignores SIGTERM.  Returns its status. */
static int reap_busd(struct test_busd *busd, int *status)
{
	int ret = test_child_wait(busd->pid, STOP_TIMEOUT_MS, status);

	if (ret == -ETIMEDOUT) {
		fprintf(stderr, "busd ignored SIGTERM for %d ms: killed\n",
			STOP_TIMEOUT_MS);
		kill(busd->pid, SIGKILL);
		waitpid(busd->pid, status, 0);
	}
	busd->pid = 0;
	return ret;
}

int test_busd_stop(struct test_busd *busd)
{
	int status = 0, ret, leftovers;

	if (!busd->pid)
		return 0;
	kill(busd->pid, SIGTERM);
	ret = reap_busd(busd, &status);
	if (!ret && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "busd stopped with status %#x, not exit 0\n",
			status);
		ret = -ECHILD;
	}
	leftovers = test_shm_leftovers(busd->bus_name, 1);
	if (leftovers) {
		fprintf(stderr,
			"busd left %d segments of bus %s in /dev/shm\n",
			leftovers, busd->bus_name);
		if (!ret)
			ret = -EEXIST;
	}
	return ret;
}

static void remove_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (!strcmp(entry->d_name, ".") ||
		    !strcmp(entry->d_name, ".."))
			continue;
		/* Only files live here (socket, lock, config). */
		unlinkat(dirfd(dir), entry->d_name, 0);
	}
	closedir(dir);
	rmdir(path);
}

void test_busd_cleanup(struct test_busd *busd)
{
	test_children_kill();
	test_busd_stop(busd);
	if (busd->bus_name[0])
		test_shm_leftovers(busd->bus_name, 1);
	if (busd->runtime_dir[0])
		remove_tree(busd->runtime_dir);
	busd->runtime_dir[0] = '\0';
}

static void forget_child(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

pid_t test_fork(void)
{
	pid_t parent = getpid();
	pid_t pid;
	int i;

	for (i = 0; i < MAX_CHILDREN && children[i]; i++)
		;
	if (i == MAX_CHILDREN)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* A child that outlives a crashed test would spin forever. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		return 0;
	}
	if (pid > 0)
		children[i] = pid;
	return pid;
}

static int64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int test_child_wait(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		pid_t ret = waitpid(pid, status, WNOHANG);

		if (ret == pid) {
			forget_child(pid);
			return 0;
		}
		if (ret < 0 && errno != EINTR) {
			forget_child(pid);
			return -ECHILD;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
}

void test_children_kill(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (!children[i])
			continue;
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
		children[i] = 0;
	}
}

bool test_busd_unavailable(void)
{
	struct stat st;

	if (access(test_busd_path(), X_OK)) {
		fprintf(stderr, "no busd at %s: skipped\n", test_busd_path());
		return true;
	}
	if (stat("/dev/shm", &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "no /dev/shm: skipped\n");
		return true;
	}
	return false;
}
