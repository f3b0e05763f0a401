/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking operations on the cells of a topic (protocol in
 * topic_cell.h).  Each returns at once; waiting is wait.c's business.
 *
 * Sharing modes: bus__topic_claim_single keeps the tail in the handle and
 * may only be used by the one publisher of a topic with max_publishers = 1;
 * bus__topic_claim_multi is lock-free among any number of publishers.
 * A subscription is used by one thread; any number of subscriptions read
 * the ring at once without writing it.
 */
#ifndef BUS_TOPIC_RING_H
#define BUS_TOPIC_RING_H

#include <stddef.h>
#include <stdint.h>

#include "topic.h"

/*
 * Claims the cell of the next position for writing (state WRITING): 0 and
 * *position, or -ENOBUFS when the ring is full (block policy: the slowest
 * subscriber is a whole ring behind; either policy: the previous lap's
 * message in that cell is still being written).
 */
int bus__topic_claim_single(struct bus_topic *t, uint64_t *position);
int bus__topic_claim_multi(struct bus_topic *t, uint64_t *position);

/* Writes a message header into a claimed cell (relaxed 8-byte stores: a
 * lapped reader may be copying the cell). */
void bus__topic_write_header(struct bus_cell *cell,
			     const struct bus_message_header *header);

/* Copies length bytes into a claimed cell's payload as relaxed 8-byte
 * stores (overwrite policy, where readers may copy concurrently). */
void bus__topic_write_payload(void *payload, const void *data,
			      uint32_t length);

/*
 * Makes a claimed cell READY (seq_cst: the wake-up check that follows
 * needs no fence of its own), then wakes sleeping subscribers, and
 * publishers waiting for this cell, if a sleepers count says so.
 */
void bus__topic_publish(struct bus_topic *t, uint64_t position);

/* Pads a claim we will not commit (PADDED) and wakes subscribers. */
void bus__topic_abandon(struct bus_topic *t, uint64_t position);

/* Where a read put the message. */
struct bus__topic_delivery {
	const struct bus_message_header *header;
	const void *payload;
	uint32_t length;
	/* Packed in-place views: bytes of key and headers after the
	 * payload (struct bus_message.room); 0 otherwise. */
	uint32_t room;
	uint64_t position;
	int in_place; /* block policy: a view of the cell, held */
};

/*
 * Reads the next message.  With dst, the payload is copied there (-EMSGSIZE
 * when it holds more than size bytes; it stays next); without, it is viewed
 * in place when the block policy protects it, else copied into the
 * subscription's buffer.  0, -EAGAIN when there is nothing yet, -EBADMSG
 * for a corrupt header (skipped).  Losses found on the way are added to
 * s->lost.  A message viewed in place keeps our position on it until
 * bus__subscription_publish_position().
 */
int bus__topic_read(struct bus_subscription *s, void *dst, size_t size,
		    struct bus__topic_delivery *d);

/*
 * 1 when bus__topic_read() would find something to do (a message, a
 * padded position, a lap to report), 0 when it would say -EAGAIN; changes
 * nothing.  For waiting on many handles at once (waitsets).
 */
int bus__subscription_pending(const struct bus_subscription *s);

/*
 * Publishes s->next as our position (the block policy's release of what we
 * read) and wakes publishers that wait for it, if any sleep.
 */
void bus__subscription_publish_position(struct bus_subscription *s);

/*
 * Copies the newest committed message into buf without subscribing: its
 * length, -EAGAIN when nothing was published yet, -EMSGSIZE if it does not
 * fit.  hdr (may be NULL) gets its header.
 */
int bus__topic_read_last(const struct bus__topic_geometry *g, void *buf,
			 size_t size, struct bus_message_header *hdr);

#endif /* BUS_TOPIC_RING_H */
