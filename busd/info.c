/* SPDX-License-Identifier: MIT */
/* INFO: busd describes itself to an operator (busctl info). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "busd.h"
#include "handlers.h"

static uint64_t busd_info_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

int busd_on_info(struct busd *busd, struct busd_client *client,
		 const struct bus_control_request *request,
		 struct busd_reply *reply)
{
	struct bus_control_reply *m = &reply->message;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(m->name, sizeof(m->name), "%s", BUSD_VERSION);
	/* The path as given to -c: relative to where busd was started. */
	snprintf(m->detail, sizeof(m->detail), "%s",
		 busd->config_path ? busd->config_path : "");
	m->busd_pid = (int32_t)getpid();
	m->client_id = busd->clients.count;
	m->attachment = busd->registry.count;
	m->kind = busd->registry.topic_count;
	m->segment_size = busd_info_ns(&busd->started_wall);
	m->generation = busd_info_ns(&now) - busd_info_ns(&busd->started);
	return 0;
}
