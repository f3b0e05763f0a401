/* SPDX-License-Identifier: MIT */
/* Address handles: publishing through routes.  Internal. */
#ifndef BUS_ROUTE_H
#define BUS_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "client.h"
#include "control_protocol.h"
#include "route_table.h"

struct bus;

/* A queue or topic a message may go to, opened on first use. */
struct bus__route_target {
	char name[BUS_NAME_MAX + 1];
	bus_queue_t *queue;
	bus_topic_t *topic;
	int open_error;		/* the last failure to open it, or 0 */
	int64_t retry_after_ns; /* no new try before then */
};

enum bus__address_loan {
	BUS__LOAN_NONE = 0,
	BUS__LOAN_DIRECT, /* in the one target's ring */
	BUS__LOAN_STAGED, /* in our buffer; the commit copies */
};

struct bus_address {
	struct bus *bus;
	const struct bus_route_table *table;
	struct bus_queue_options options;
	bool has_options;
	char name[BUS_NAME_MAX + 1];

	/* Our copy of the entries that apply to us, as of generation. */
	uint64_t generation;
	struct bus_route *routes;
	uint32_t route_count;
	uint32_t route_capacity;
	int fallback; /* index of the unroutable entry, or -1 */

	struct bus__route_target *targets;
	uint32_t target_count;
	uint32_t target_capacity;

	/* The open loan. */
	enum bus__address_loan loan;
	uint32_t direct;     /* target index */
	int64_t deadline_ns; /* absolute; -1: none; 0: no wait */
	char key[BUS_MESSAGE_KEY_MAX + 1];
	bool has_key;
	/* The targets chosen for key, while the generation holds: a
	 * publisher that repeats its key skips the checks and matching. */
	bool cached;
	bool cached_needs_headers;
	uint32_t cached_count;
	uint32_t cached_index[BUS_ADDRESS_TARGETS_MAX];
	/* A staged message laid out as a slot: header, room, payload. */
	uint64_t *stage;
	size_t stage_size;
	uint32_t stage_room;
	uint32_t stage_capacity;
};

/* Opens the target as a queue producer, else a topic publisher, unless
 * open already; a failure is answered again for a second, untried. */
int bus__target_open(struct bus *bus, const struct bus_queue_options *options,
		     struct bus__route_target *target);
void bus__target_close(struct bus__route_target *target);
uint32_t bus__target_room(const struct bus__route_target *target);
uint32_t bus__target_max_message(const struct bus__route_target *target);
int bus__target_loan(struct bus__route_target *target, struct bus_message *m,
		     int64_t timeout_ns);
/* A loan for a copy of length bytes (with room for key and headers when
 * extension): a packed queue reserves only that (queue_handle.h). */
int bus__target_loan_copy(struct bus__route_target *target,
			  struct bus_message *m, int64_t timeout_ns,
			  size_t length, bool extension);
int bus__target_commit(struct bus__route_target *target, struct bus_message *m,
		       uint32_t length);

#endif /* BUS_ROUTE_H */
