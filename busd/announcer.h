/* SPDX-License-Identifier: MIT */
/* The announcement page of the bus (libbus/core/announce.h). */
#ifndef BUSD_ANNOUNCER_H
#define BUSD_ANNOUNCER_H

#include "announce.h"

/* Creates and maps "/shmbus.BUS" (mode 0644); 0 or a negative errno. */
int busd_announce_open(const char *bus_name, struct bus_announce **out);

/* Tells wildcard subscribers that the names changed: a topic was created,
 * or a queue or topic deleted (bus_list indices moved). */
void busd_announce_change(struct bus_announce *page);

/* Unmaps and unlinks the page; nothing for NULL (not ours). */
void busd_announce_close(const char *bus_name, struct bus_announce *page);

#endif /* BUSD_ANNOUNCER_H */
