/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between libbus and busd.  Internal: shared by the two
 * programs of one build, never installed.
 *
 * Transport: a SOCK_SEQPACKET Unix socket at RUNTIME_DIR/BUS.sock.  Every
 * request is one packet holding a struct bus_control_request; busd answers
 * each with one packet holding a struct bus_control_reply, in order.  A reply
 * to BUS_CONTROL_OPEN carries the segment's file descriptor as SCM_RIGHTS
 * ancillary data.  The first request on a connection must be HELLO.
 *
 * busd reads the peer's pid, uid and gid with SO_PEERCRED (never from the
 * request) and watches the pid with a pidfd: when the process exits or the
 * socket hangs up, every attachment of the connection is detached and its
 * leases are redelivered.  Those credentials (and the supplementary groups)
 * decide what the client may do: OPEN and TOPIC_OPEN check the name's mode
 * (r to consume, subscribe or observe; w to produce or publish), CREATE,
 * TOPIC_CREATE and DELETE need admin rights (busd/access.h); a refusal is
 * -EACCES with a sentence in detail.
 *
 * busd may refuse a connection at accept, before it reads anything
 * (busd/admission.h): it sends a HELLO reply with status -EUSERS or
 * -ECONNREFUSED and a sentence in detail, shuts the socket and closes it.
 * A connection that sends no HELLO within hello_timeout_ms gets the same
 * with -ETIMEDOUT.  The client's HELLO may then fail to send; the reply is
 * still there to read.
 */
#ifndef BUS_CONTROL_PROTOCOL_H
#define BUS_CONTROL_PROTOCOL_H

#include <stdint.h>

#include "bus/bus.h"
#include "bus/layout.h"

#define BUS_CONTROL_MAGIC 0x4c544342u /* "BCTL" */
#define BUS_CONTROL_VERSION \
	8u /* 2: owner, group and mode; 3: wildcards;
				  4: dead letters in queue settings;
				  5: busd's TSC rate at HELLO;
				  6: DELETE's flags, INFO;
				  7: JOURNAL, topic record settings;
				  8: ring_bytes in queue and topic settings */
#define BUS_CONTROL_DETAIL_MAX 160

enum bus_control_op {
	/* Register the client; attachment: 0, or the client_id it had
	 * before busd restarted, to keep its slots.  Reply: client_id. */
	BUS_CONTROL_HELLO = 1,
	/* name, role.  Reply: attachment index, segment size, fd. */
	BUS_CONTROL_OPEN = 2,
	/* name, attachment.  Detaches; leases are redelivered. */
	BUS_CONTROL_CLOSE = 3,
	/* name, settings. */
	BUS_CONTROL_CREATE = 4,
	/* name, index: enum bus_delete_flags (an older busd would ignore
	 * them and delete: hence version 6). */
	BUS_CONTROL_DELETE = 5,
	/* index.  Reply: name and kind of the index-th entry, or -ENOENT. */
	BUS_CONTROL_LIST = 6,
	/* name, topic_settings. */
	BUS_CONTROL_TOPIC_CREATE = 7,
	/* name, role (PRODUCER: a publisher slot, CONSUMER: a subscriber
	 * slot, OBSERVER: none), index: the history a subscriber asks for,
	 * attachment: 0, or a wildcard id (WILDCARD; never 0) whose
	 * reserved slot to take.  Reply: slot index, segment size,
	 * generation, fd; kind 1 when the slot was the reserved one. */
	BUS_CONTROL_TOPIC_OPEN = 8,
	/* name, role, attachment, generation.  Frees the slot. */
	BUS_CONTROL_TOPIC_CLOSE = 9,
	/* name.  Reply: access, the owner, group and mode of the queue or
	 * topic.  Anyone connected may ask, as anyone may stat(2) a file. */
	BUS_CONTROL_ACCESS = 10,
	/* name: a subject pattern; attachment: 0, or the id the wildcard
	 * had before busd restarted (kept if free).  Reply: attachment, the
	 * wildcard id.  From
	 * now on, busd reserves a subscriber slot for this wildcard in each
	 * matching topic it creates, before any publisher can open it, so
	 * that the wildcard misses none of the topic's messages. */
	BUS_CONTROL_WILDCARD = 11,
	/* attachment: a wildcard id.  Frees the slots still reserved. */
	BUS_CONTROL_WILDCARD_CLOSE = 12,
	/* name: a queue.  Needs admin rights, not the queue's mode.  Reply
	 * as OPEN as a consumer: a consumer slot and the fd, through which
	 * the client takes and acks every queued message (bus_queue_purge;
	 * leased messages stay with their consumers). */
	BUS_CONTROL_PURGE = 13,
	/* route: an entry for the route table.  Admin rights. */
	BUS_CONTROL_ROUTE_ADD = 14,
	/* name, index: enum bus_route_kind.  Admin rights. */
	BUS_CONTROL_ROUTE_DELETE = 15,
	/* Nothing.  Reply (struct bus_daemon_info, in fields of other
	 * requests, so that the reply keeps its size): busd_pid; name: the
	 * version; detail: the configuration file, "" for the built-in one;
	 * client_id: connections; attachment: queues; kind: topics;
	 * segment_size: the start, CLOCK_REALTIME ns; generation: the uptime
	 * in ns.  Anyone connected may ask. */
	BUS_CONTROL_INFO = 16,
	/* name: a recorded topic or a durable queue.  Needs read rights
	 * (r) on it.  Reply: the journal directory (DATA_DIR/NAME, opened
	 * O_RDONLY|O_DIRECTORY|O_CLOEXEC) as SCM_RIGHTS, as OPEN's fd;
	 * segment_size: the topic's journal_position when busd opened it.
	 * -EOPNOTSUPP (with a sentence) for a topic not recorded or a queue
	 * not durable, -ENOENT for an unknown name.  The client reads the
	 * files through /proc/self/fd/FD, with its own permissions on them
	 * (files are 0640, directories 0750: the owner and busd's group). */
	BUS_CONTROL_JOURNAL = 17,
};

struct bus_control_request {
	uint32_t magic;	  /* BUS_CONTROL_MAGIC */
	uint32_t version; /* BUS_CONTROL_VERSION */
	uint32_t op;	  /* enum bus_control_op */
	uint32_t role;	  /* OPEN, TOPIC_OPEN, TOPIC_CLOSE: enum bus_role */
	uint32_t
		attachment; /* CLOSE, TOPIC_CLOSE, TOPIC_OPEN, WILDCARD_CLOSE */
	uint32_t index;	    /* LIST; TOPIC_OPEN: history */
	uint64_t generation; /* CLOSE: as OPEN answered */
	union {
		struct bus_queue_settings settings;	  /* CREATE */
		struct bus_topic_settings topic_settings; /* TOPIC_CREATE */
		struct bus_route route;			  /* ROUTE_ADD */
	};
	/* CREATE, TOPIC_CREATE: owner, group and mode; fields whose bit is
	 * not in access.given (a zeroed struct: all) take busd's defaults. */
	struct bus_access access;
	char name[BUS_NAME_MAX + 1]; /* NUL-terminated */
};

struct bus_control_reply {
	uint32_t magic;	     /* BUS_CONTROL_MAGIC */
	uint32_t op;	     /* the request's op */
	int32_t status;	     /* 0 or a negative errno */
	uint32_t client_id;  /* HELLO */
	uint32_t attachment; /* OPEN */
	uint32_t kind;	     /* LIST: enum bus_segment_kind */
	/* A union, so that the reply keeps its size across versions and a
	 * client of another version still reads busd's refusal. */
	union {
		uint64_t segment_size; /* OPEN */
		/* HELLO: the TSC rate busd measured (clock.h), 0 when it
		 * has none; the client's handles start from it. */
		uint64_t tsc_rate;
	};
	/* OPEN: tells this queue from a later one of the same name, so a
	 * late CLOSE cannot free a slot of the new queue. */
	uint64_t generation;
	int32_t busd_pid; /* HELLO */
	uint32_t reserved;
	struct bus_access access;	     /* ACCESS */
	char name[BUS_NAME_MAX + 1];	     /* LIST */
	char detail[BUS_CONTROL_DETAIL_MAX]; /* a sentence on failure */
};

#endif /* BUS_CONTROL_PROTOCOL_H */
