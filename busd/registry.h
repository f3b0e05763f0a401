/* SPDX-License-Identifier: MIT */
/*
 * The queues and topics of the bus, by name, and who holds each slot.
 * Queues and topics share one namespace: a name is one or the other.
 *
 * The slot table is busd's own memory: what a client writes into the
 * segment never decides who owns a slot.  Slots [0, max_producers) are for
 * producers and [max_producers, max_producers + max_consumers) for
 * consumers; observers take none.
 */
#ifndef BUSD_REGISTRY_H
#define BUSD_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "bus/bus.h"
#include "segment.h"
#include "topic_segment.h"

/* Who a slot is lent to, as written into the segment's identity line. */
struct busd_identity {
	uint32_t client_id;
	pid_t pid;
	uid_t uid;
	uint64_t start_time; /* clock ticks after boot, /proc/PID/stat */
};

/* What busd keeps per queue between ticks of its dead-letter mover and
 * lease time-outs (dead_letter.c); freed with the queue. */
struct busd_queue_watch {
	uint64_t dead_seen; /* dead_pending at the last pass */
	bool dead_left;	    /* the last pass left DEAD cells: again */
	bool warned;	    /* said why once, until a pass moves all */
	struct busd_lease_sample *samples; /* ack_timeout_ms: per slot */
	/* The next look at the leases: each queue at its own pace, however
	 * fast another queue's timeout makes the loop tick. */
	uint64_t next_scan_ns;
};

struct busd_queue {
	char name[BUS_NAME_MAX + 1];
	int fd; /* the shared-memory object, handed to clients */
	/* Our mapping (base, size) and the sizes derived from settings. */
	struct bus__queue_geometry geometry;
	uint32_t *owners; /* client id per attachment slot, 0 when free */
	struct busd_access access; /* who may produce and consume */
	/* Dead letters and ack timeouts (dead_letter.c); NULL until used. */
	struct busd_queue_watch *watch;
};

struct busd_topic {
	char name[BUS_NAME_MAX + 1];
	int fd; /* the shared-memory object, handed to clients */
	struct bus__topic_geometry geometry;
	uint32_t *publishers;  /* client id per publisher slot, 0 when free */
	uint32_t *subscribers; /* client id per subscriber slot */
	/* Per subscriber slot: the id of the wildcard it is reserved for
	 * (busd/wildcards.h; ids start at 1) until its client takes it;
	 * 0 otherwise. */
	uint32_t *reserved;
	struct busd_access access; /* who may publish and subscribe */
};

struct busd_registry {
	struct busd_queue **queues; /* in creation order, for LIST */
	unsigned int count;
	unsigned int capacity;
	/* Topics, in creation order; LIST shows them after the queues. */
	struct busd_topic **topics;
	unsigned int topic_count;
	unsigned int topic_capacity;
};

/* A queue for a segment already mapped and validated; NULL without memory. */
struct busd_queue *busd_queue_new(const char *name, int fd,
				  const struct bus__queue_geometry *geometry);
void busd_queue_free(struct busd_queue *queue);

struct busd_queue *busd_registry_find(const struct busd_registry *registry,
				      const char *name);
/* The index-th queue, or NULL past the end. */
struct busd_queue *busd_registry_at(const struct busd_registry *registry,
				    uint32_t index);
int busd_registry_add(struct busd_registry *registry,
		      struct busd_queue *queue);
void busd_registry_remove(struct busd_registry *registry,
			  struct busd_queue *queue);
void busd_registry_free(struct busd_registry *registry);

/*
 * Lends a producer or consumer slot: writes the identity line, then the
 * role.  Returns the slot index, or -EBUSY when that role's range is full.
 */
int busd_queue_attach(struct busd_queue *queue, enum bus_role role,
		      const struct busd_identity *who);

bool busd_queue_owns(const struct busd_queue *queue, uint32_t index,
		     uint32_t client_id);

/*
 * Takes slot index back (busd_queue_slot_detach: loans padded, held messages
 * redelivered, figures folded).  Returns the number of messages made
 * deliverable again.
 */
int busd_queue_detach(struct busd_queue *queue, uint32_t index);

/* Every slot of one client; returns the messages made deliverable again. */
int busd_queue_detach_client(struct busd_queue *queue, uint32_t client_id,
			     unsigned int *slots);

/* ---- topics ----------------------------------------------------------- */

/* A topic for a segment already mapped and validated; NULL without memory. */
struct busd_topic *busd_topic_new(const char *name, int fd,
				  const struct bus__topic_geometry *geometry);
void busd_topic_free(struct busd_topic *topic);

struct busd_topic *
busd_registry_find_topic(const struct busd_registry *registry,
			 const char *name);
/* The index-th topic, or NULL past the end. */
struct busd_topic *busd_registry_topic_at(const struct busd_registry *registry,
					  uint32_t index);
int busd_registry_add_topic(struct busd_registry *registry,
			    struct busd_topic *topic);
void busd_registry_remove_topic(struct busd_registry *registry,
				struct busd_topic *topic);

/*
 * Lends a publisher (BUS_PRODUCER) or subscriber (BUS_CONSUMER) slot: the
 * identity line, then the role; a subscriber's position by the joining
 * protocol of libbus/core/topic_cell.h.  Returns the slot index, or -EBUSY when
 * that table is full.
 */
int busd_topic_attach(struct busd_topic *topic, enum bus_role role,
		      const struct busd_identity *who);

bool busd_topic_owns(const struct busd_topic *topic, enum bus_role role,
		     uint32_t index, uint32_t client_id);

/*
 * Takes a slot back: a publisher's open loans are padded, a subscriber no
 * longer holds publishers back.  Returns the loans padded.
 */
int busd_topic_detach(struct busd_topic *topic, enum bus_role role,
		      uint32_t index);

/*
 * A subscriber slot lent to who ahead of time, for its wildcard
 * wildcard_id, while the topic is new and nobody can publish yet: the
 * wildcard's subscription then starts at the topic's first message.
 * Returns the slot index, or -EBUSY.
 */
int busd_topic_reserve(struct busd_topic *topic,
		       const struct busd_identity *who, uint32_t wildcard_id);

/* Notes (or, with 0, clears) a reservation, in our table and in the
 * slot's identity line for a busd that adopts the topic. */
void busd_topic_mark_reserved(struct busd_topic *topic, uint32_t index,
			      uint32_t wildcard_id);

/* The slot reserved for that client's wildcard, now its own; -ENOENT. */
int busd_topic_claim(struct busd_topic *topic, uint32_t client_id,
		     uint32_t wildcard_id);

/* Every slot of one client; returns the loans padded. */
int busd_topic_detach_client(struct busd_topic *topic, uint32_t client_id,
			     unsigned int *slots);

#endif /* BUSD_REGISTRY_H */
