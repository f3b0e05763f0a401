/* SPDX-License-Identifier: MIT */
/*
 * Dead letters and ack timeouts in busd: checking a queue's dead_letter
 * key, and the periodic work in the loop that moves DEAD messages to their
 * dead-letter queue and takes back leases held past ack_timeout_ms (the
 * cell protocol is in busd/queue_dead_letter.c).
 *
 * The loop runs busd_dead_letter_tick() every busd_dead_letter_interval()
 * while some queue has a dead_letter or an ack_timeout_ms; otherwise busd
 * arms no timer at all.  The first tick settles what a previous busd left
 * half done (busd_dead_letter_recover()).
 */
#ifndef BUSD_DEAD_LETTER_H
#define BUSD_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

#include "bus/layout.h"

struct busd_registry;
struct busd_queue;

/*
 * 0 when the settings' dead_letter names an existing mpmc queue other
 * than name itself, that can hold every message of the queue (max_message
 * and header_room at least as large), or is empty.  -ENOENT ("dead-letter
 * queue 'X' does not exist") or -EINVAL, with the sentence in detail.
 */
int busd_dead_letter_check(const struct busd_registry *registry,
			   const char *name,
			   const struct bus_queue_settings *settings,
			   char *detail, size_t detail_size);

/* Nanoseconds between ticks; 0 when no queue needs any. */
uint64_t busd_dead_letter_interval(const struct busd_registry *registry);

/* One round over every queue with a dead_letter or an ack_timeout_ms. */
void busd_dead_letter_tick(struct busd_registry *registry);

/*
 * Settles what a busd that died in the middle of a move or a take-back
 * left in the adopted queues.  busd_start() calls it right after adopting,
 * before anything may judge a queue empty (a half-moved message is in no
 * queue's count); the first tick calls it if nobody did.
 */
void busd_dead_letter_recover(struct busd_registry *registry);

#endif /* BUSD_DEAD_LETTER_H */
