/* SPDX-License-Identifier: MIT */
/*
 * busd's configuration: the queues a bus starts with.
 *
 *   [bus]                  bus-wide settings (none yet)
 *   [queue NAME]           one queue; keys: type, slots, max_message,
 *                          overflow, max_unacked, max_producers,
 *                          max_consumers, header_room
 *   [topic NAME]           one topic; keys: slots, max_message,
 *                          slow_subscriber, max_subscribers,
 *                          max_publishers, history
 *
 * Queues and topics share one namespace: a name is one or the other.
 * Keys left out take bus_queue_settings_default(); an spsc queue defaults
 * to one producer and one consumer.  Every error names the file, the line
 * and the problem.
 */
#ifndef BUSD_CONFIG_H
#define BUSD_CONFIG_H

#include "bus/layout.h"

struct busd_queue_config {
	char name[BUS_NAME_MAX + 1];
	struct bus_queue_settings settings;
	int line;	       /* of its [queue NAME] line; 0 if built in */
	unsigned int given;    /* keys set by the file, one bit each */
};

struct busd_topic_config {
	char name[BUS_NAME_MAX + 1];
	struct bus_topic_settings settings;
	int line;	    /* of its [topic NAME] line */
	unsigned int given; /* keys set by the file, one bit each */
};

struct busd_config {
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
