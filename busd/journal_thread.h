/* SPDX-License-Identifier: MIT */
/*
 * The journal thread and the list of durable queues it serves
 * (busd/journal_thread.c); internal to busd/durable_*.c.
 */
#ifndef BUSD_JOURNAL_THREAD_H
#define BUSD_JOURNAL_THREAD_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "durable_queue.h"

struct busd_recorded_topic;

struct busd_durable {
	char data_dir[PATH_MAX];
	const char *bus_name;
	bool dir_ready; /* made and checked */
	pthread_t thread;
	pthread_mutex_t lock; /* guards what follows */
	bool running;
	bool stop;
	/* Raised to wake the thread: a queue came or went, or stop. */
	_Atomic uint32_t wake_word;
	struct busd_durable_queue **queues;
	unsigned int count;
	unsigned int capacity;
	/* Recorded topics (busd/topic_record.h), served by the same
	 * thread. */
	struct busd_recorded_topic **topics;
	unsigned int topic_count;
	unsigned int topic_capacity;
};

int busd_journal_thread_start(struct busd_durable *d);
void busd_journal_thread_stop(struct busd_durable *d);
void busd_journal_thread_lock(struct busd_durable *d);
void busd_journal_thread_unlock(struct busd_durable *d);

/* Writes what is left of a queue's journal and closes it (the thread no
 * longer sees the queue). */
void busd_journal_queue_finish(struct busd_durable_queue *dq);

#endif /* BUSD_JOURNAL_THREAD_H */
