/* SPDX-License-Identifier: MIT */
/*
 * One connected process as busd keeps it, and the list of them all.
 *
 * The record is shared by the layers that serve a client: clients.c
 * (accept, watch, drop), hello_deadline.c, admission.c, the request
 * handlers and wildcards.c.  It lives below all of them so that none of
 * them has to include the file that calls it.
 */
#ifndef BUSD_CLIENT_H
#define BUSD_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/layout.h"
#include "control_protocol.h"
#include "loop.h"
#include "registry.h"

/* Patterns one client may register: a bound on busd's memory. */
#define BUSD_WILDCARDS_MAX 1024u

struct busd_wildcard {
	uint32_t id;
	char pattern[BUS_NAME_MAX + 1];
};

/* A client's wildcard subscriptions (wildcards.h). */
struct busd_wildcards {
	struct busd_wildcard *items;
	uint32_t count;
	uint32_t capacity;
	uint32_t last_id;
};

struct busd_client {
	struct busd_client *next;
	struct busd_client *prev;
	struct busd_identity identity; /* client_id is 0 until HELLO */
	/* What it may do: uid, gid and groups as of connect(). */
	struct busd_credentials credentials;
	int socket_fd;
	int pidfd;
	bool greeted;
	/* Counted against its uid's max_connections_per_user until it is
	 * released (admission.h). */
	bool admitted;
	/* On the list of busd/hello_deadline.h until it says HELLO. */
	bool awaiting_hello;
	uint64_t hello_deadline_ns; /* CLOCK_MONOTONIC */
	struct busd_client *hello_next;
	struct busd_client *hello_prev;
	/* A process that attached through a previous busd, watched only by
	 * its pidfd until it reconnects (busd_client_resume) or exits. */
	bool adopted;
	/* Dropped: its fds are closed and it waits only for its requests in
	 * the ring to complete before it is freed. */
	bool gone;
	struct busd_wildcards wildcards; /* its patterns (wildcards.h) */
	struct busd_op receive_op;
	struct busd_op exit_op;
	/* One byte more than a request: a packet that fills the spare byte
	 * is longer than any request of this protocol version. */
	union {
		struct bus_control_request request;
		uint8_t bytes[sizeof(struct bus_control_request) + 1];
	} in;
};

/* Every client, newest first. */
struct busd_client_list {
	struct busd_client *head;
	unsigned int count;
	uint32_t last_id;
};

void busd_client_list_link(struct busd_client_list *list,
			   struct busd_client *client);
void busd_client_list_unlink(struct busd_client_list *list,
			     struct busd_client *client);

/* An id no client of the list holds, never 0. */
uint32_t busd_client_list_new_id(struct busd_client_list *list);

/* The adopted client (a process of a previous busd) holding client_id. */
struct busd_client *busd_client_list_adopted(struct busd_client_list *list,
					     uint32_t client_id);

#endif /* BUSD_CLIENT_H */
