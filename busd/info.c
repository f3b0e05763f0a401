/* SPDX-License-Identifier: MIT */
/* INFO: busd describes itself to an operator (busctl info). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "client.h"
#include "info.h"

static uint64_t busd_info_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

int busd_on_info(struct busd_handlers *handlers, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply)
{
	struct bus_control_reply *m = &reply->message;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(m->name, sizeof(m->name), "%s", BUSD_VERSION);
	/* The path as given to -c: relative to where busd was started. */
	snprintf(m->detail, sizeof(m->detail), "%s",
		 handlers->config_path ? handlers->config_path : "");
	m->busd_pid = (int32_t)getpid();
	m->client_id = handlers->clients->count;
	m->attachment = handlers->catalog->registry.count;
	m->kind = handlers->catalog->registry.topic_count;
	m->segment_size = busd_info_ns(&handlers->started_wall);
	m->generation = busd_info_ns(&now) - busd_info_ns(&handlers->started);
	return 0;
}
