/* SPDX-License-Identifier: MIT */
/*
 * Catch-up subscriptions (bus_subscribe_options.from, a recorded topic):
 * the messages before the subscription are read from the topic's journal,
 * then the ring takes over.  Internal to the client library.
 *
 * The switch.  busd put the new subscription at ring position F (its
 * first_position: every position below F was committed or padded before
 * the join, every one from F on is protected by our position under block,
 * and is read from the ring).  A message's sequence is its ring position
 * (busd's recorder journals header.sequence), so the journal holds exactly
 * the messages below F that the ring no longer needs to give us: we
 * deliver journal messages with from_value <= sequence < F (or time >=
 * from_value), then read the ring from F.  No gap (every position below F
 * is recorded or was padded: publishers never reuse a cell the recorder
 * has not copied), no duplicate (the disk stops below F, the ring starts
 * at F).  The recorder may not have written every message below F yet
 * when we get there: the reader follows the newest file as it grows
 * (libbus/journal/reader.c), and a receive waits for it within its
 * timeout.
 *
 * When the disk is done: we have read every message below F (the last one
 * seen is F - 1, or a record at or past F appeared, which the ring
 * delivers), or every position between the last one and F is PADDED in
 * the ring (no message to record).  In time mode, before any message at or
 * after from_value was seen, a second reader looks for F - 1 or later on
 * disk, then the reader reads to the end once more.
 *
 * Under the overwrite policy nothing holds publishers back at F: when the
 * disk is done but F is not in the newer half of what the ring still
 * holds (from tail - slots, or a packed topic's overwritten line, up to
 * the tail), F moves on to the recorder's journal_position (everything
 * below it is on disk, the ring still holds it) and the disk is read on
 * to there: a late join, so that publishers lapping a catch-up lose it
 * nothing the journal has.  If the recorder has not passed F yet, the
 * catch-up waits for it first (publishers wait for it too).
 */
#ifndef BUS_TOPIC_CATCH_UP_H
#define BUS_TOPIC_CATCH_UP_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "topic.h"
#include "topic_ring.h"

struct bus;

/* How a failure's sentence reaches bus_error_detail(): the connection's
 * (client.c's bus__client_fail), passed in so that this file calls
 * nothing above it. */
typedef int (*bus__catch_up_fail_fn)(struct bus *bus, int error,
				     const char *text);

/*
 * Starts the catch-up of s, a subscription just made (s->next is F), from
 * enum bus_subscribe_from from at from_value, reading the journal
 * directory dir_fd (taken: closed by the catch-up, or here on failure).
 * When there is nothing on disk to read (from_value at or past F, F 0)
 * only the ring's skip is set.  0, or a negative errno with a sentence in
 * detail.
 */
int bus__catch_up_start(struct bus_subscription *s, int dir_fd, uint32_t from,
			uint64_t from_value, bus__catch_up_fail_fn fail,
			char *detail, size_t detail_size);

/*
 * The next message from the disk into d (dst: its payload copied there,
 * -EMSGSIZE when it holds more than size, and it stays next), as
 * bus__topic_read() gives one: 0.  1 when the disk is done: the catch-up
 * is gone (s->catch_up is NULL), *timeout_ns is what is left of the
 * caller's timeout for the ring.  Else -EAGAIN (BUS_NOWAIT), -ETIMEDOUT,
 * -ECANCELED, -EIDRM/-ENOTCONN (the topic closed), -EBADMSG (a corrupt
 * journal file: the file and offset in the detail; the next call goes on
 * at the next file, the messages passed over added to s->lost, as the
 * ring's -EBADMSG passes over a bad message), -EMSGSIZE for a
 * recorded message larger than the topic now allows (passed over).
 * Retention's gaps are added to s->lost, which the next delivery
 * reports.
 */
int bus__catch_up_read(struct bus_subscription *s, void *dst, size_t size,
		       struct bus__topic_delivery *d, int64_t *timeout_ns);

/* 1 when a receive would deliver from disk, end the catch-up or report
 * an error now; 0 while it waits for the recorder.  Reads ahead. */
int bus__catch_up_pending(struct bus_subscription *s);

/* 1 while s waits on the disk: no futex wakes it then, a waitset polls. */
int bus__catch_up_waiting(const struct bus_subscription *s);

/* The sentence of the catch-up's last failure, "" if none. */
const char *bus__catch_up_detail(const struct bus_subscription *s);

/* Ends the catch-up (unsubscribe); safe without one. */
void bus__catch_up_destroy(struct bus_subscription *s);

#endif /* BUS_TOPIC_CATCH_UP_H */
