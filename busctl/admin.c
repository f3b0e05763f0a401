/* SPDX-License-Identifier: MIT */
/*
 * busctl create NAME [--type spsc|mpmc] [--slots N] [--max-message BYTES]
 *                    [--overflow block|reject|drop-oldest] [--max-unacked N]
 *                    [--max-producers N] [--max-consumers N]
 * busctl delete NAME
 *
 * Settings left out take the built-in defaults, adjusted as busd adjusts a
 * [queue NAME] section with those keys left out: an spsc queue gets one
 * producer and one consumer, and max_unacked is at most slots.  busd checks
 * the result and its error names the field.
 */
#include <errno.h>
#include <getopt.h>

#include "busctl.h"

enum {
	BUSCTL_OPT_TYPE = 256,
	BUSCTL_OPT_SLOTS,
	BUSCTL_OPT_MAX_MESSAGE,
	BUSCTL_OPT_OVERFLOW,
	BUSCTL_OPT_MAX_UNACKED,
	BUSCTL_OPT_MAX_PRODUCERS,
	BUSCTL_OPT_MAX_CONSUMERS,
};

struct busctl_create_request {
	const char *name;
	struct bus_queue_settings settings;
	unsigned int given; /* 1 << (option - BUSCTL_OPT_TYPE) for each */
};

static int busctl_create_given(const struct busctl_create_request *request,
			       int option)
{
	return (request->given >> (option - BUSCTL_OPT_TYPE)) & 1;
}

/* Stores one numeric or named option.  0, or -EINVAL for a bad value. */
static int busctl_create_option(struct busctl_create_request *request,
				int option, const char *value)
{
	struct bus_queue_settings *s = &request->settings;

	request->given |= 1u << (option - BUSCTL_OPT_TYPE);
	switch (option) {
	case BUSCTL_OPT_TYPE:
		return busctl_parse_queue_type(value, &s->type);
	case BUSCTL_OPT_SLOTS:
		return busctl_parse_u32(value, &s->slots);
	case BUSCTL_OPT_MAX_MESSAGE:
		return busctl_parse_u32(value, &s->max_message);
	case BUSCTL_OPT_OVERFLOW:
		return busctl_parse_overflow(value, &s->overflow);
	case BUSCTL_OPT_MAX_UNACKED:
		return busctl_parse_u32(value, &s->max_unacked);
	case BUSCTL_OPT_MAX_PRODUCERS:
		return busctl_parse_u32(value, &s->max_producers);
	case BUSCTL_OPT_MAX_CONSUMERS:
		return busctl_parse_u32(value, &s->max_consumers);
	}
	return -EINVAL;
}

static int busctl_create_parse(struct busctl_create_request *request,
			       int argc, char **argv)
{
	static const struct option options[] = {
		{ "type", required_argument, NULL, BUSCTL_OPT_TYPE },
		{ "slots", required_argument, NULL, BUSCTL_OPT_SLOTS },
		{ "max-message", required_argument, NULL,
		  BUSCTL_OPT_MAX_MESSAGE },
		{ "overflow", required_argument, NULL, BUSCTL_OPT_OVERFLOW },
		{ "max-unacked", required_argument, NULL,
		  BUSCTL_OPT_MAX_UNACKED },
		{ "max-producers", required_argument, NULL,
		  BUSCTL_OPT_MAX_PRODUCERS },
		{ "max-consumers", required_argument, NULL,
		  BUSCTL_OPT_MAX_CONSUMERS },
		{ NULL, 0, NULL, 0 },
	};
	int index = 0;
	int c;

	while ((c = getopt_long(argc, argv, ":", options, &index)) != -1) {
		if (c < BUSCTL_OPT_TYPE)
			return busctl_bad_option("create", c, argv);
		if (busctl_create_option(request, c, optarg))
			return busctl_usage_error("create: bad --%s '%s'",
						  options[index].name, optarg);
	}
	if (optind >= argc)
		return busctl_usage_error("create: missing NAME");
	request->name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("create: unexpected '%s'",
					  argv[optind]);
	return -1;
}

/* The defaults that depend on other settings, as busd's config has them. */
static void busctl_create_adjust(struct busctl_create_request *request)
{
	struct bus_queue_settings *s = &request->settings;

	if (s->type == BUS_QUEUE_SPSC) {
		if (!busctl_create_given(request, BUSCTL_OPT_MAX_PRODUCERS))
			s->max_producers = 1;
		if (!busctl_create_given(request, BUSCTL_OPT_MAX_CONSUMERS))
			s->max_consumers = 1;
	}
	if (!busctl_create_given(request, BUSCTL_OPT_MAX_UNACKED) &&
	    s->max_unacked > s->slots)
		s->max_unacked = s->slots;
}

int busctl_create(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_create_request request = { 0 };
	int status;
	int err;

	bus_queue_settings_default(&request.settings);
	status = busctl_create_parse(&request, argc, argv);
	if (status >= 0)
		return status;
	busctl_create_adjust(&request);
	if (busctl_check_name("create", request.name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_queue_create(ctl->bus, request.name, &request.settings);
	if (err < 0)
		return busctl_fail(ctl, err, "create %s", request.name);
	return BUSCTL_EXIT_OK;
}

int busctl_delete(struct busctl *ctl, int argc, char **argv)
{
	const char *name;
	int err;
	int c;

	c = getopt_long(argc, argv, ":", NULL, NULL);
	if (c != -1)
		return busctl_bad_option("delete", c, argv);
	if (optind >= argc)
		return busctl_usage_error("delete: missing NAME");
	name = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("delete: unexpected '%s'",
					  argv[optind]);
	if (busctl_check_name("delete", name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_queue_delete(ctl->bus, name);
	if (err < 0)
		return busctl_fail(ctl, err, "delete %s", name);
	return BUSCTL_EXIT_OK;
}
