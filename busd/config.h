/* SPDX-License-Identifier: MIT */
/*
 * busd's configuration: the queues a bus starts with.
 *
 *   [bus]                  bus-wide settings: admin_group, socket_mode,
 *                          socket_group, metrics, dashboard, log_level,
 *                          log_file, data_dir, and the connection
 *                          limits of
 *                          busd/admission.h:
 *                          max_connections_per_user, hello_timeout_ms,
 *                          reserved_descriptors
 *   [queue NAME]           one queue; keys: type, slots, max_message,
 *                          overflow, max_unacked, max_producers,
 *                          max_consumers, header_room, max_deliveries,
 *                          dead_letter, ack_timeout_ms, durable, sync,
 *                          sync_interval_ms, segment_bytes,
 *                          ring_bytes, owner, group, mode
 *   [topic NAME]           one topic; keys: slots, max_message,
 *                          slow_subscriber, max_subscribers,
 *                          max_publishers, history, header_room,
 *                          ring_bytes, owner, group, mode
 *
 * ring_bytes: the arena of a packed segment (an spsc queue, a topic with
 * max_publishers = 1; include/bus/layout.h "Packed messages"): 0 or left
 * out for the default, else a multiple of 64 that holds at least one
 * message of max_message with header_room bytes of key and headers (512
 * when header_room is 0).  Refused for mpmc queues and topics with
 * several publishers, whose cells are fixed.
 *   [route NAME]           one route: from, key, to, header
 *   [address NAME]         an address: unroutable
 *
 * owner and group are a name or a number, mode is octal (0660); see
 * busd/access.h for what they allow.
 *
 * Queues and topics share one namespace: a name is one or the other.
 * Keys left out take bus_queue_settings_default(); an spsc queue defaults
 * to one producer and one consumer.  Every error names the file, the line
 * and the problem.
 */
#ifndef BUSD_CONFIG_H
#define BUSD_CONFIG_H

#include <sys/types.h>

#include "bus/bus.h"
#include "bus/layout.h"
#include "admission.h"
#include "metrics.h"
#include "route_config.h"

struct busd_queue_config {
	char name[BUS_NAME_MAX + 1];
	struct bus_queue_settings settings;
	struct bus_access access; /* the keys given; the rest: defaults */
	int line;		  /* of its [queue NAME] line; 0 if built in */
	unsigned int given;	  /* keys set by the file, one bit each */
	int dead_letter_line;	  /* of its dead_letter key; 0 if none */
};

struct busd_topic_config {
	char name[BUS_NAME_MAX + 1];
	struct bus_topic_settings settings;
	struct bus_access access;
	int line;	    /* of its [topic NAME] line */
	unsigned int given; /* keys set by the file, one bit each */
};

/* [bus]: who administers the bus and who may reach its socket. */
struct busd_bus_config {
	gid_t admin_group;  /* (gid_t)-1: none (the default) */
	mode_t socket_mode; /* default 0666: the queues' modes guard data */
	gid_t socket_group; /* (gid_t)-1: busd's own (the default) */
	/* metrics = ADDRESS:PORT, the Prometheus endpoint; off when its
	 * length is 0 (the default). */
	struct busd_metrics_address metrics;
	/* dashboard = ADDRESS:PORT, the dashboard's own listener
	 * (dashboard.h); off when its length is 0 (the default). */
	struct busd_metrics_address dashboard;
	int log_level; /* log_level = error|warning|info|debug; -1: not set */
	char log_file[1024]; /* log_file = PATH; "": stderr (the default) */
	/* data_dir = PATH: durable queues' journals (busd/durable.h); "":
	 * the default. */
	char data_dir[1024];
	struct busd_limits limits; /* who may hold connections */
	unsigned int given;	   /* keys set by the file, one bit each */
};

struct busd_config {
	struct busd_bus_config bus;
	struct busd_route_config *routes;
	unsigned int route_count;
	unsigned int route_capacity;
	struct busd_queue_config *queues;
	unsigned int queue_count;
	unsigned int queue_capacity;
	struct busd_topic_config *topics;
	unsigned int topic_count;
	unsigned int topic_capacity;
};

/* The built-in configuration: one mpmc queue named "default". */
int busd_config_default(struct busd_config *config);

/*
 * Reads an ini file into an empty config.  Prints each error it finds
 * ("busd: FILE:LINE: problem") and returns -EINVAL if there was any,
 * -ENOENT or another errno if the file cannot be read, -ENOMEM.
 */
int busd_config_read(struct busd_config *config, const char *path);

void busd_config_free(struct busd_config *config);

#endif /* BUSD_CONFIG_H */
