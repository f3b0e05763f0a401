/* SPDX-License-Identifier: MIT */
/*
 * bus_subscribe(): a subscription from now is the connection's
 * (client.c); one from a sequence or a time also opens the recorded
 * topic's journal through busd (journal_open.c) and starts its catch-up
 * (topic_catch_up.c).  Its own file so that client.c, which the catch-up's
 * receive path reaches through topic.c, calls neither.
 */
#include <errno.h>
#include <stdio.h>

#include "bus/bus.h"
#include "client.h"
#include "journal_open.h"
#include "topic.h"
#include "topic_catch_up.h"

#define DETAIL_MAX 768

static int catch_up(bus_t *bus, const char *name,
		    const struct bus_subscribe_options *options,
		    bus_subscription_t **out)
{
	char detail[DETAIL_MAX];
	struct bus_subscription *s;
	uint64_t journal_position;
	int dir_fd = -1;
	int ret;

	detail[0] = '\0';
	if (options->from != BUS_FROM_SEQUENCE &&
	    options->from != BUS_FROM_TIME) {
		snprintf(detail, sizeof(detail),
			 "unknown 'from' %u: BUS_FROM_NOW, BUS_FROM_SEQUENCE "
			 "or BUS_FROM_TIME",
			 options->from);
		return bus__client_fail(bus, -EINVAL, detail);
	}
	if (options->history)
		return bus__client_fail(bus, -EINVAL,
					"history and 'from' exclude each "
					"other: 'from' starts on disk");
	if (bus_pattern_is_wildcard(name))
		return bus__client_fail(bus, -EINVAL,
					"a pattern's subscription starts now: "
					"'from' is for one recorded topic");
	ret = bus__client_subscribe(bus, name, options, &s);
	if (ret < 0)
		return ret;
	if (!s->geometry.settings.record) {
		snprintf(detail, sizeof(detail),
			 "topic '%s' is not recorded (record = yes): it has "
			 "no journal to start from",
			 name);
		bus_unsubscribe(s);
		return bus__client_fail(bus, -EOPNOTSUPP, detail);
	}
	/* After the join: every message below s->next (F) is in the
	 * journal or on its way there (topic_catch_up.h). */
	ret = bus__journal_open(bus, name, &dir_fd, &journal_position, detail,
				sizeof(detail));
	if (ret == 0)
		ret = bus__catch_up_start(s, dir_fd, options->from,
					  options->from_value,
					  bus__client_fail, detail,
					  sizeof(detail));
	if (ret < 0) {
		bus_unsubscribe(s);
		/* journal_open.c set the connection's sentence already
		 * when it gave none here. */
		return detail[0] ? bus__client_fail(bus, ret, detail) : ret;
	}
	*out = s;
	return 0;
}

int bus_subscribe(bus_t *bus, const char *name,
		  const struct bus_subscribe_options *options,
		  bus_subscription_t **out)
{
	if (!options || options->from == BUS_FROM_NOW)
		return bus__client_subscribe(bus, name, options, out);
	if (!bus || !out || !name)
		return -EINVAL;
	return catch_up(bus, name, options, out);
}
