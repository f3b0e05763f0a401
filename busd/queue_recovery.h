/* SPDX-License-Identifier: MIT */
/* Taking a queue's attachment slot back after its client closed or died. */
#ifndef BUSD_QUEUE_RECOVERY_H
#define BUSD_QUEUE_RECOVERY_H

#include <stdint.h>

#include "segment.h"

/*
 * Frees attachment slot index after its client closed it or died: pads
 * over its uncommitted loans, turns the messages it held into redeliveries,
 * folds its figures into the retired ones, wakes sleepers.  Only busd calls
 * this (or a test or fuzzer that owns the segment), and only for a client
 * that can no longer act on the queue.  Returns the number of messages made
 * deliverable again.
 */
int busd_queue_slot_detach(const struct bus__queue_geometry *g,
			   uint32_t index);

#endif /* BUSD_QUEUE_RECOVERY_H */
