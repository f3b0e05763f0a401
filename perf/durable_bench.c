/* SPDX-License-Identifier: MIT */
/*
 * durable-bench: what durable = yes costs (perf/durable-run.sh runs it).
 *
 *   durable-bench stream BUS QUEUE COUNT
 *       a forked consumer takes and acks while this process sends COUNT
 *       64-byte messages as fast as the queue takes them; prints
 *       "msgs_per_s N" (first send to the consumer's last ack).
 *   durable-bench confirm BUS QUEUE COUNT
 *       COUNT times: send one 64-byte message and bus_flush() it (a
 *       forked consumer drains the queue afterwards: COUNT must fit in
 *       the queue); prints the confirm latency
 *       "p50_ns N p99_ns N min_ns N p999_ns N max_ns N".
 *   durable-bench floor-fsync DIR COUNT
 *       the same bytes as one journal record (64 + 56) appended to a file
 *       in DIR with pwrite and fdatasync, COUNT times: the bare cost of a
 *       confirm on this file system; prints the same five figures.
 *   durable-bench catch-up BUS TOPIC COUNT
 *       publishes COUNT 64-byte messages into a recorded topic nobody
 *       subscribes to, waits until busd has written them all, then times
 *       a subscription from the first of them (BUS_FROM_SEQUENCE) that
 *       receives all COUNT from the journal; prints "msgs_per_s N".
 *   durable-bench floor-read DIR
 *       reads every .journal file in DIR (a journal directory, just read by
 *       catch-up: in the page cache) with read(2) in 1 MiB pieces: the
 *       bare cost of getting those bytes; prints "bytes_per_s N bytes N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"

#define SIZE 64

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_percentiles(uint64_t *samples, uint64_t count)
{
	qsort(samples, count, sizeof(*samples), compare);
	/* p50 and p99 first: durable-run.sh reads them as fields 2 and 4. */
	printf("p50_ns %" PRIu64 " p99_ns %" PRIu64 " min_ns %" PRIu64
	       " p999_ns %" PRIu64 " max_ns %" PRIu64 "\n",
	       samples[count / 2], samples[count * 99 / 100], samples[0],
	       samples[count * 999 / 1000], samples[count - 1]);
}

static int open_queue(const char *bus_name, const char *queue,
		      enum bus_role role, bus_queue_t **q)
{
	bus_t *bus;
	int ret = bus_connect(bus_name, &bus);

	if (!ret)
		ret = bus_queue_open(bus, queue, role, NULL, q);
	if (ret)
		fprintf(stderr, "durable-bench: %s: %s\n", queue,
			bus_strerror(ret));
	return ret;
}

/* The consumer: takes and acks count messages (or until killed), then
 * writes the time of its last ack into the pipe. */
static pid_t start_consumer(const char *bus_name, const char *queue,
			    uint64_t count, int *done_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct bus_message m;
		bus_queue_t *q;
		uint64_t end;

		close(fds[0]);
		if (open_queue(bus_name, queue, BUS_CONSUMER, &q))
			_exit(1);
		for (uint64_t i = 0; i < count; i++) {
			if (bus_receive(q, &m, BUS_FOREVER))
				_exit(1);
			bus_ack(q, &m);
		}
		end = now_ns();
		if (write(fds[1], &end, sizeof(end)) != sizeof(end))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	*done_fd = fds[0];
	return pid;
}

static int stream(const char *bus_name, const char *queue, uint64_t count)
{
	char payload[SIZE] = { 0 };
	uint64_t start, end = 0;
	bus_queue_t *q;
	int done_fd, status;
	pid_t consumer;

	if (open_queue(bus_name, queue, BUS_PRODUCER, &q))
		return 1;
	consumer = start_consumer(bus_name, queue, count, &done_fd);
	if (consumer < 0)
		return 1;
	start = now_ns();
	for (uint64_t i = 0; i < count; i++) {
		memcpy(payload, &i, sizeof(i));
		if (bus_send(q, payload, SIZE, BUS_FOREVER))
			return 1;
	}
	if (read(done_fd, &end, sizeof(end)) != sizeof(end))
		return 1;
	waitpid(consumer, &status, 0);
	printf("msgs_per_s %.0f\n",
	       (double)count * 1e9 / (double)(end - start));
	return 0;
}

static int confirm(const char *bus_name, const char *queue, uint64_t count)
{
	char payload[SIZE] = { 0 };
	uint64_t *samples = calloc(count, sizeof(*samples));
	bus_queue_t *q;
	int done_fd, status, ret;
	pid_t consumer;

	if (!samples || open_queue(bus_name, queue, BUS_PRODUCER, &q))
		return 1;
	/* No consumer while we time: a message consumed and acked before
	 * busd wrote it is confirmed without a disk write (as in RabbitMQ),
	 * which would time the consumer, not the disk.  count must fit in
	 * the queue; it is drained afterwards. */
	for (uint64_t i = 0; i < count; i++) {
		uint64_t t0 = now_ns();

		if (bus_send(q, payload, SIZE, BUS_FOREVER))
			return 1;
		ret = bus_flush(q, -1);
		if (ret) {
			fprintf(stderr, "durable-bench: flush: %s\n",
				bus_strerror(ret));
			return 1;
		}
		samples[i] = now_ns() - t0;
	}
	consumer = start_consumer(bus_name, queue, count, &done_fd);
	if (consumer < 0)
		return 1;
	waitpid(consumer, &status, 0);
	print_percentiles(samples, count);
	return 0;
}

static int floor_fsync(const char *dir, uint64_t count)
{
	char path[4096], record[SIZE + 56] = { 0 };
	uint64_t *samples = calloc(count, sizeof(*samples));
	int fd;

	snprintf(path, sizeof(path), "%s/floor-fsync.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !samples)
		return 1;
	unlink(path);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t t0 = now_ns();

		if (pwrite(fd, record, sizeof(record),
			   (off_t)(i * sizeof(record))) != sizeof(record) ||
		    fdatasync(fd))
			return 1;
		samples[i] = now_ns() - t0;
	}
	close(fd);
	print_percentiles(samples, count);
	return 0;
}

/* Publishes count messages, returns the first one's sequence in *first. */
static int publish_all(bus_t *bus, const char *topic, uint64_t count,
		       uint64_t *first)
{
	char payload[SIZE] = { 0 };
	struct bus_topic_stats stats;
	bus_topic_t *t;
	int ret = bus_topic_open(bus, topic, BUS_PRODUCER, NULL, &t);

	if (ret == 0)
		ret = bus_topic_stats(t, &stats);
	*first = stats.tail;
	for (uint64_t i = 0; ret == 0 && i < count; i++) {
		memcpy(payload, &i, sizeof(i));
		ret = bus_publish(t, payload, SIZE, BUS_FOREVER);
	}
	/* Everything on disk before the clock starts: the catch-up reads
	 * files, it does not wait for the recorder. */
	while (ret == 0 && (ret = bus_topic_stats(t, &stats)) == 0 &&
	       stats.journal_lag)
		usleep(1000);
	if (ret)
		fprintf(stderr, "durable-bench: publish: %s\n",
			bus_strerror(ret));
	bus_topic_close(t);
	return ret;
}

static int catch_up(const char *bus_name, const char *topic, uint64_t count)
{
	struct bus_subscribe_options options = { .from = BUS_FROM_SEQUENCE };
	bus_subscription_t *s;
	uint64_t start, received = 0;
	char buf[SIZE];
	bus_t *bus;
	int ret = bus_connect(bus_name, &bus);

	if (ret == 0)
		ret = publish_all(bus, topic, count, &options.from_value);
	start = now_ns();
	if (ret == 0)
		ret = bus_subscribe(bus, topic, &options, &s);
	while (ret == 0 && received < count) {
		ret = bus_subscription_receive_copy(s, buf, sizeof(buf), NULL,
						    BUS_FOREVER);
		received += ret == SIZE;
		ret = ret < 0 ? ret : 0;
	}
	if (ret) {
		fprintf(stderr, "durable-bench: catch-up: %s\n",
			bus_strerror(ret));
		return 1;
	}
	printf("msgs_per_s %.0f\n",
	       (double)count * 1e9 / (double)(now_ns() - start));
	bus_unsubscribe(s);
	bus_disconnect(bus);
	return 0;
}

static int floor_read(const char *dir)
{
	static char buf[1 << 20];
	uint64_t start = now_ns(), bytes = 0;
	struct dirent *e;
	char path[4096];
	DIR *d = opendir(dir);

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		int fd;
		ssize_t n;

		size_t len = strlen(e->d_name);

		if (len < 8 || strcmp(e->d_name + len - 8, ".journal"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			bytes += (uint64_t)n;
		close(fd);
	}
	closedir(d);
	printf("bytes_per_s %.0f bytes %" PRIu64 "\n",
	       (double)bytes * 1e9 / (double)(now_ns() - start), bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "stream"))
		return stream(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "confirm"))
		return confirm(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "floor-fsync"))
		return floor_fsync(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "catch-up"))
		return catch_up(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "floor-read"))
		return floor_read(argv[2]);
	fprintf(stderr,
		"usage: durable-bench stream|confirm BUS QUEUE COUNT | "
		"catch-up BUS TOPIC COUNT | floor-fsync DIR COUNT | "
		"floor-read DIR\n");
	return 2;
}
