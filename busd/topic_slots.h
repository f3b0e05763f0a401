/* SPDX-License-Identifier: MIT */
/* Lending a topic's publisher and subscriber slots, and taking them back. */
#ifndef BUSD_TOPIC_SLOTS_H
#define BUSD_TOPIC_SLOTS_H

#include <stdint.h>

#include "topic_segment.h"

/* Who takes a slot, as busd writes it into the identity line. */
struct busd_topic_identity {
	uint32_t client_id;
	int32_t pid;
	uint32_t uid;
	uint64_t start_time;
};

/*
 * Lends publisher slot index (free, as busd's own table says): identity,
 * cleared figures, then the role with release.
 */
void busd_topic_publisher_start(const struct bus__topic_geometry *g,
				uint32_t index,
				const struct busd_topic_identity *who);

/*
 * Lends subscriber slot index: sets its position so that no publisher
 * passes it (the joining protocol of topic_cell.h) and its first position
 * (the oldest loan still being written when it joined), then returns.
 */
void busd_topic_subscriber_start(const struct bus__topic_geometry *g,
				 uint32_t index,
				 const struct busd_topic_identity *who);

/*
 * Takes a publisher slot back after its client closed it or died: pads its
 * open loans, folds its figures into the retired ones, uncounts it if it
 * died asleep, wakes everybody.  Only busd (or a test owning the segment)
 * calls these, and only for a client that can no longer act on the slot.
 * Returns the number of loans padded, or -EINVAL.
 */
int busd_topic_publisher_detach(const struct bus__topic_geometry *g,
				uint32_t index);

/*
 * Takes a subscriber slot back: publishers stop waiting for it (and are
 * woken), its figures are folded in.  0 or -EINVAL.
 */
int busd_topic_subscriber_detach(const struct bus__topic_geometry *g,
				 uint32_t index);

#endif /* BUSD_TOPIC_SLOTS_H */
