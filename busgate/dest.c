/* SPDX-License-Identifier: MIT */
/*
 * Destinations, with RabbitMQ's names so that clients and their manuals
 * work unchanged:
 *
 *   /queue/NAME          a bus queue (made on first use with auto_create)
 *   /topic/PATTERN       a bus topic; * and > (or #) subscribe to many
 *   /exchange/ADDR/KEY   SEND through the bus's routes of ADDR with KEY
 *   /temp-queue/NAME     a queue of this connection alone, for replies:
 *                        reply-to: /temp-queue/NAME on a SEND makes it and
 *                        subscribes the connection to it; it is deleted
 *                        when the connection ends
 *
 * SUBSCRIBE opens one bus handle per subscription, so that the bus does
 * the bookkeeping of unacked messages: closing the handle (UNSUBSCRIBE, a
 * DISCONNECT, a dead client) hands them back for redelivery.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "gate.h"

static int copy_name(char *out, size_t size, const char *in, size_t n)
{
	if (!n || n >= size)
		return -EINVAL;
	memcpy(out, in, n);
	out[n] = '\0';
	return 0;
}

/* A topic pattern with # (AMQP's "zero or more") read as the bus's >. */
static int topic_pattern(const char *in, struct dest *d)
{
	size_t n = strlen(in);

	if (copy_name(d->name, sizeof(d->name), in, n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (d->name[i] == '#' && (i == 0 || d->name[i - 1] == '.') &&
		    (i + 1 == n || d->name[i + 1] == '.'))
			d->name[i] = '>';
	if (bus_pattern_check(d->name))
		return -EINVAL;
	d->wildcard = bus_pattern_is_wildcard(d->name) == 1;
	return d->wildcard || !bus_name_check(d->name) ? 0 : -EINVAL;
}

int gate_dest_parse(struct gate_conn *conn, const char *s, struct dest *d,
		    const char **why)
{
	memset(d, 0, sizeof(*d));
	if (!strncmp(s, "/queue/", 7)) {
		d->kind = DEST_QUEUE;
		if (copy_name(d->name, sizeof(d->name), s + 7,
			      strlen(s + 7)) ||
		    bus_name_check(d->name))
			goto bad_name;
	} else if (!strncmp(s, "/topic/", 7)) {
		d->kind = DEST_TOPIC;
		if (topic_pattern(s + 7, d)) {
			*why = "a topic is dot-separated tokens of letters, "
			       "digits, '_' and '-', with * for one token and "
			       "> or # for the rest";
			return -EINVAL;
		}
	} else if (!strncmp(s, "/exchange/", 10)) {
		const char *slash = strchr(s + 10, '/');
		size_t n = slash ? (size_t)(slash - s - 10) : strlen(s + 10);

		d->kind = DEST_EXCHANGE;
		if (copy_name(d->name, sizeof(d->name), s + 10, n) ||
		    bus_name_check(d->name))
			goto bad_name;
		if (slash && slash[1] &&
		    copy_name(d->key, sizeof(d->key), slash + 1,
			      strlen(slash + 1))) {
			*why = "the routing key is longer than 255 bytes";
			return -EINVAL;
		}
	} else if (!strncmp(s, "/temp-queue/", 12)) {
		int n;

		d->kind = DEST_TEMP;
		if (!s[12] || strchr(s + 12, '.') || bus_name_check(s + 12))
			goto bad_name;
		n = snprintf(d->name, sizeof(d->name), "%s%s",
			     conn->temp_prefix, s + 12);
		if (n < 0 || (size_t)n >= sizeof(d->name)) {
			*why = "the temp-queue name is too long";
			return -EINVAL;
		}
	} else {
		*why = "destinations are /queue/NAME, /topic/PATTERN, "
		       "/exchange/ADDRESS/KEY and /temp-queue/NAME";
		return -EINVAL;
	}
	return 0;
bad_name:
	*why = "a bus name is 1 to 63 letters, digits, '_', '-' and '.'";
	return -EINVAL;
}

/* ---- making queues and topics ------------------------------------------- */

int gate_queue_make(struct gate_conn *conn, const char *name)
{
	struct gate_config *config = conn->gate->config;
	struct bus_queue_settings settings;
	int ret;

	bus_queue_settings_default(&settings);
	settings.slots = config->queue_slots;
	settings.max_message = config->max_message;
	settings.header_room = config->header_room;
	/* A consumer cannot hold more than the ring has. */
	if (settings.max_unacked > settings.slots)
		settings.max_unacked = settings.slots;
	ret = bus_queue_create(conn->bus, name, &settings);
	return ret == -EEXIST ? 0 : ret;
}

int gate_topic_make(struct gate_conn *conn, const char *name)
{
	struct gate_config *config = conn->gate->config;
	struct bus_topic_settings settings;
	int ret;

	bus_topic_settings_default(&settings);
	settings.slots = config->topic_slots;
	settings.max_message = config->max_message;
	settings.header_room = config->header_room;
	ret = bus_topic_create(conn->bus, name, &settings);
	return ret == -EEXIST ? 0 : ret;
}

int gate_queue_open(struct gate_conn *conn, const char *name,
		    enum bus_role role, bool make, bus_queue_t **out)
{
	int ret = bus_queue_open(conn->bus, name, role, NULL, out);

	if (ret == -ENOENT && make) {
		ret = gate_queue_make(conn, name);
		if (!ret)
			ret = bus_queue_open(conn->bus, name, role, NULL, out);
	}
	return ret;
}

/* The sentence for a failed bus call, with libbus's detail. */
void gate_fail_bus(struct gate_conn *conn, struct stomp_frame *frame,
		   const char *what, int error)
{
	char detail[512];
	const char *extra = bus_error_detail(conn->bus);

	snprintf(detail, sizeof(detail), "%s: %s%s%s", what,
		 bus_strerror(error), *extra ? " (" : "", extra);
	if (*extra)
		strncat(detail, ")", sizeof(detail) - strlen(detail) - 1);
	gate_conn_fail(conn, frame,
		       error == -EACCES	  ? "access refused"
		       : error == -ENOENT ? "no such destination"
					  : "the bus refused",
		       detail);
}
