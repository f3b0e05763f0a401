/* SPDX-License-Identifier: MIT */
/*
 * The Shmbus-* headers a bridge puts on what it sends to NATS, and reads
 * back from what it takes in:
 *
 *   Shmbus-Origin        the bridge that first took the message off a bus
 *   Shmbus-Hops          how many bridges exported it so far (1 on the
 *                        first); with Origin, what keeps messages from
 *                        going round bridges forever
 *   Shmbus-Key           the bus message's routing key, when it has one
 *   Shmbus-Publish-Time  when it was committed on the first bus, in
 *                        nanoseconds since the epoch (CLOCK_REALTIME)
 *
 * Between two bridges a message crosses a bus, and there these travel as
 * the bus message's own user headers (an import writes Origin and Hops,
 * an export of that bus reads them), which is why import targets need
 * header_room.  The payload is never touched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define HEADER_ORIGIN "Shmbus-Origin"
#define HEADER_HOPS "Shmbus-Hops"
#define HEADER_KEY "Shmbus-Key"
#define HEADER_PUBLISH_TIME "Shmbus-Publish-Time"

static int parse_hops(const char *text, unsigned int *hops)
{
	char *end;
	unsigned long n;

	if (*text < '0' || *text > '9')
		return -EBADMSG;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || n > 1000000)
		return -EBADMSG;
	*hops = (unsigned int)n;
	return 0;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/*
 * The bus stamps CLOCK_MONOTONIC, which means nothing on another host: the
 * stamp is carried over to the wall clock by adding how far the wall clock
 * is ahead of the monotonic one.  Two clock reads, so a sender of many
 * messages reads it once per batch (the wall clock may be stepped between
 * batches, which the next read picks up).
 */
uint64_t bridge_realtime_offset_ns(void)
{
	uint64_t monotonic = clock_ns(CLOCK_MONOTONIC);

	return clock_ns(CLOCK_REALTIME) - monotonic;
}

/* Decimal digits of n into buf (at least 21 bytes), NUL-terminated; what
 * snprintf("%" PRIu64) writes, for a fraction of its cost. */
static const char *format_u64(uint64_t n, char *buf, size_t size)
{
	char *p = buf + size - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	return p;
}

/* Origin and hops a previous import left on the bus message, if any. */
static void trail_from_bus(const struct bus_message *message,
			   struct bridge_trail *trail)
{
	char hops[16];

	trail->origin[0] = '\0';
	trail->hops = 0;
	if (bus_message_header_get(message, HEADER_ORIGIN, trail->origin,
				   sizeof(trail->origin)) < 0)
		trail->origin[0] = '\0';
	if (bus_message_header_get(message, HEADER_HOPS, hops, sizeof(hops)) >
		    0 &&
	    parse_hops(hops, &trail->hops))
		trail->hops = 0;
}

/*
 * Sets the headers of a message going out; realtime_offset_ns is
 * bridge_realtime_offset_ns(), read by the caller.  0; -ELOOP when it has
 * crossed max_hops bridges already (drop it); -EIO when nats.c refused a
 * header.
 */
int bridge_headers_to_nats_at(const struct bridge *bridge,
			      const struct bus_message *message,
			      uint64_t realtime_offset_ns, natsMsg *out)
{
	struct bridge_trail trail;
	char key[BUS_MESSAGE_KEY_MAX + 1];
	char number[24];
	const char *origin;
	natsStatus s;

	trail_from_bus(message, &trail);
	origin = trail.origin[0] ? trail.origin : bridge->config.origin;
	if (trail.hops + 1 > bridge->config.max_hops)
		return -ELOOP;
	s = natsMsgHeader_Set(out, HEADER_ORIGIN, origin);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(out, HEADER_HOPS,
				      format_u64(trail.hops + 1u, number,
						 sizeof(number)));
	if (s == NATS_OK && bus_message_key(message, key, sizeof(key)) > 0)
		s = natsMsgHeader_Set(out, HEADER_KEY, key);
	if (s == NATS_OK && message->header->publish_time_ns)
		s = natsMsgHeader_Set(
			out, HEADER_PUBLISH_TIME,
			format_u64(message->header->publish_time_ns +
					   realtime_offset_ns,
				   number, sizeof(number)));
	return s == NATS_OK ? 0 : -EIO;
}

/* bridge_headers_to_nats_at() with the clocks read now: for one message. */
int bridge_headers_to_nats(const struct bridge *bridge,
			   const struct bus_message *message, natsMsg *out)
{
	return bridge_headers_to_nats_at(bridge, message,
					 bridge_realtime_offset_ns(), out);
}

/*
 * Reads origin and hops of a message coming in; a message from a plain
 * NATS publisher has neither (origin "", hops 0).  -EBADMSG when they are
 * there but malformed: somebody else's bug, dropped rather than trusted.
 */
int bridge_headers_from_nats(natsMsg *in, struct bridge_trail *trail)
{
	const char *value = NULL;

	trail->origin[0] = '\0';
	trail->hops = 0;
	if (natsMsgHeader_Get(in, HEADER_ORIGIN, &value) == NATS_OK && value) {
		if (!*value || strlen(value) > BRIDGE_ORIGIN_MAX)
			return -EBADMSG;
		snprintf(trail->origin, sizeof(trail->origin), "%s", value);
	}
	value = NULL;
	if (natsMsgHeader_Get(in, HEADER_HOPS, &value) == NATS_OK && value)
		return parse_hops(value, &trail->hops);
	return 0;
}

/* Our own message come back, or one that went round too many bridges. */
bool bridge_trail_refused(const struct bridge *bridge,
			  const struct bridge_trail *trail)
{
	return !strcmp(trail->origin, bridge->config.origin) ||
	       trail->hops > bridge->config.max_hops;
}

/*
 * Writes origin, hops and key onto a bus loan.  A key the bus refuses (a
 * NATS key need not be a bus subject) is left off; origin and hops must
 * fit, or the message could loop: -EMSGSIZE then.
 */
int bridge_headers_to_bus(natsMsg *in, const struct bridge_trail *trail,
			  struct bus_message *out)
{
	const char *key = NULL;
	char number[16];
	int ret;

	if (trail->origin[0]) {
		ret = bus_message_add_header(out, HEADER_ORIGIN,
					     trail->origin);
		if (ret < 0)
			return ret;
		snprintf(number, sizeof(number), "%u", trail->hops);
		ret = bus_message_add_header(out, HEADER_HOPS, number);
		if (ret < 0)
			return ret;
	}
	if (natsMsgHeader_Get(in, HEADER_KEY, &key) == NATS_OK && key)
		(void)bus_message_set_key(out, key);
	return 0;
}
