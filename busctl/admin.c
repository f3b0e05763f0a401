/* SPDX-License-Identifier: MIT */
/*
 * busctl create NAME [--type spsc|mpmc] [--slots N] [--max-message BYTES]
 *                    [--overflow block|reject|drop-oldest] [--max-unacked N]
 *                    [--max-producers N] [--max-consumers N]
 *                    [--dead-letter QUEUE] [--max-deliveries N]
 *                    [--ack-timeout MS] [--ttl MS]
 * busctl create NAME --topic [--slots N] [--max-message BYTES]
 *                    [--slow-subscriber block|overwrite]
 *                    [--max-subscribers N] [--max-publishers N] [--history K]
 *                    [--record [--retain-bytes SIZE] [--retain-age AGE]]
 *   --durable (queue) or --record (topic) with [--sync none|interval|always]
 *   [--sync-interval-ms MS] [--segment-bytes SIZE]
 *   either kind also [--owner USER] [--group GROUP] [--mode MODE]
 *   [--header-room BYTES] (room for routing keys and headers, default 0)
 *   [--ring-bytes SIZE] (the arena of a packed spsc queue or single-
 *   publisher topic: payloads, keys and headers; default from slots)
 *   (a name or a number; MODE octal, like 0660; default busd's user and
 *   group and 0660), and [--if-not-exists] (an existing NAME is success)
 * busctl delete NAME [--if-empty] [--if-unused]
 *
 * Settings left out take the built-in defaults, adjusted as busd adjusts a
 * [queue NAME] section with those keys left out: an spsc queue gets one
 * producer and one consumer, and max_unacked is at most slots.  busd checks
 * the result and its error names the field.  A queue option given with
 * --topic, or a topic option without it, is a usage error.  delete removes
 * a queue or a topic.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "busctl.h"

enum {
	BUSCTL_OPT_TYPE = 256,
	BUSCTL_OPT_SLOTS,
	BUSCTL_OPT_MAX_MESSAGE,
	BUSCTL_OPT_OVERFLOW,
	BUSCTL_OPT_MAX_UNACKED,
	BUSCTL_OPT_MAX_PRODUCERS,
	BUSCTL_OPT_MAX_CONSUMERS,
	BUSCTL_OPT_TOPIC,
	BUSCTL_OPT_SLOW_SUBSCRIBER,
	BUSCTL_OPT_MAX_SUBSCRIBERS,
	BUSCTL_OPT_MAX_PUBLISHERS,
	BUSCTL_OPT_HISTORY,
	BUSCTL_OPT_OWNER,
	BUSCTL_OPT_GROUP,
	BUSCTL_OPT_MODE,
	BUSCTL_OPT_HEADER_ROOM,
	BUSCTL_OPT_DEAD_LETTER,
	BUSCTL_OPT_MAX_DELIVERIES,
	BUSCTL_OPT_ACK_TIMEOUT,
	BUSCTL_OPT_TTL,
	BUSCTL_OPT_IF_NOT_EXISTS,
	BUSCTL_OPT_DURABLE,
	BUSCTL_OPT_SYNC,
	BUSCTL_OPT_SYNC_INTERVAL,
	BUSCTL_OPT_SEGMENT_BYTES,
	BUSCTL_OPT_RECORD,
	BUSCTL_OPT_RETAIN_BYTES,
	BUSCTL_OPT_RETAIN_AGE,
	BUSCTL_OPT_RING_BYTES,
};

/* Options that make sense for one kind only. */
#define BUSCTL_QUEUE_ONLY                                        \
	((1u << (BUSCTL_OPT_TYPE - BUSCTL_OPT_TYPE)) |           \
	 (1u << (BUSCTL_OPT_OVERFLOW - BUSCTL_OPT_TYPE)) |       \
	 (1u << (BUSCTL_OPT_MAX_UNACKED - BUSCTL_OPT_TYPE)) |    \
	 (1u << (BUSCTL_OPT_MAX_PRODUCERS - BUSCTL_OPT_TYPE)) |  \
	 (1u << (BUSCTL_OPT_MAX_CONSUMERS - BUSCTL_OPT_TYPE)) |  \
	 (1u << (BUSCTL_OPT_DEAD_LETTER - BUSCTL_OPT_TYPE)) |    \
	 (1u << (BUSCTL_OPT_MAX_DELIVERIES - BUSCTL_OPT_TYPE)) | \
	 (1u << (BUSCTL_OPT_ACK_TIMEOUT - BUSCTL_OPT_TYPE)) |    \
	 (1u << (BUSCTL_OPT_TTL - BUSCTL_OPT_TYPE)) |            \
	 (1u << (BUSCTL_OPT_DURABLE - BUSCTL_OPT_TYPE)))
#define BUSCTL_TOPIC_ONLY                                         \
	((1u << (BUSCTL_OPT_SLOW_SUBSCRIBER - BUSCTL_OPT_TYPE)) | \
	 (1u << (BUSCTL_OPT_MAX_SUBSCRIBERS - BUSCTL_OPT_TYPE)) | \
	 (1u << (BUSCTL_OPT_MAX_PUBLISHERS - BUSCTL_OPT_TYPE)) |  \
	 (1u << (BUSCTL_OPT_HISTORY - BUSCTL_OPT_TYPE)) |         \
	 (1u << (BUSCTL_OPT_RECORD - BUSCTL_OPT_TYPE)) |          \
	 (1u << (BUSCTL_OPT_RETAIN_BYTES - BUSCTL_OPT_TYPE)) |    \
	 (1u << (BUSCTL_OPT_RETAIN_AGE - BUSCTL_OPT_TYPE)))

struct busctl_create_request {
	const char *name;
	struct bus_queue_settings settings;
	struct bus_topic_settings topic; /* with --topic */
	struct bus_access access;	 /* --owner, --group, --mode */
	unsigned int given; /* 1 << (option - BUSCTL_OPT_TYPE) for each */
};

static int busctl_create_given(const struct busctl_create_request *request,
			       int option)
{
	return (request->given >> (option - BUSCTL_OPT_TYPE)) & 1;
}

/* Octal permission bits, like chmod's: at most 0777. */
static int busctl_parse_mode(const char *text, uint32_t *mode)
{
	unsigned long value;
	char *end;

	if (!text[0] || strspn(text, "01234567") != strlen(text))
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 8);
	if (errno || *end || value > 0777)
		return -EINVAL;
	*mode = (uint32_t)value;
	return 0;
}

/* A user or group by number or by name, as on this host. */
static int busctl_parse_id(const char *text, int group, uint32_t *id)
{
	char buffer[4096];
	struct passwd user, *found_user = NULL;
	struct group entry, *found_group = NULL;

	if (!busctl_parse_u32(text, id))
		return *id == UINT32_MAX ? -EINVAL : 0;
	if (group &&
	    !getgrnam_r(text, &entry, buffer, sizeof(buffer), &found_group) &&
	    found_group) {
		*id = (uint32_t)found_group->gr_gid;
		return 0;
	}
	if (!group &&
	    !getpwnam_r(text, &user, buffer, sizeof(buffer), &found_user) &&
	    found_user) {
		*id = (uint32_t)found_user->pw_uid;
		return 0;
	}
	return -EINVAL;
}

/* --owner, --group and --mode: what they set and the bit that says so. */
static int busctl_create_access(struct bus_access *access, int option,
				const char *value)
{
	switch (option) {
	case BUSCTL_OPT_OWNER:
		access->given |= BUS_ACCESS_OWNER;
		return busctl_parse_id(value, 0, &access->owner);
	case BUSCTL_OPT_GROUP:
		access->given |= BUS_ACCESS_GROUP;
		return busctl_parse_id(value, 1, &access->group);
	case BUSCTL_OPT_MODE:
		access->given |= BUS_ACCESS_MODE;
		return busctl_parse_mode(value, &access->mode);
	}
	return -EINVAL;
}

/* --sync none|interval|always (busd's [queue] sync). */
static int busctl_parse_sync(const char *text, uint8_t *sync)
{
	if (!strcmp(text, "none"))
		*sync = BUS_SYNC_NONE;
	else if (!strcmp(text, "interval"))
		*sync = BUS_SYNC_INTERVAL;
	else if (!strcmp(text, "always"))
		*sync = BUS_SYNC_ALWAYS;
	else
		return -EINVAL;
	return 0;
}

static int busctl_parse_u16(const char *text, uint16_t *out)
{
	uint32_t n;

	if (busctl_parse_u32(text, &n) || n > UINT16_MAX)
		return -EINVAL;
	*out = (uint16_t)n;
	return 0;
}

/* A size in bytes; K, M or G may follow. */
static int busctl_parse_bytes(const char *text, uint64_t *bytes)
{
	char number[32];
	size_t length = strlen(text);
	unsigned int shift = 0;
	uint64_t n;

	if (!length || length >= sizeof(number))
		return -EINVAL;
	memcpy(number, text, length + 1);
	switch (number[length - 1]) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	}
	if (shift)
		number[length - 1] = '\0';
	if (busctl_parse_u64(number, &n) || n > (UINT64_MAX >> 31))
		return -EINVAL;
	*bytes = n << shift;
	return 0;
}

/* A size in bytes (K, M or G may follow) as whole KiB, rounded up. */
static int busctl_parse_kib(const char *text, uint32_t *kib)
{
	uint64_t n;

	if (busctl_parse_bytes(text, &n))
		return -EINVAL;
	n = (n + 1023) >> 10;
	if (n > UINT32_MAX)
		return -EINVAL;
	*kib = (uint32_t)n;
	return 0;
}

/* --retain-bytes SIZE: whole MiB, rounded up (busd's retain_bytes). */
static int busctl_parse_mib(const char *text, uint32_t *mib)
{
	uint32_t kib;

	if (busctl_parse_kib(text, &kib))
		return -EINVAL;
	*mib = (uint32_t)(((uint64_t)kib + 1023) >> 10);
	return 0;
}

/* --retain-age N[s|m|h|d], in seconds (busd's retain_age). */
static int busctl_parse_age(const char *text, uint32_t *seconds)
{
	static const struct {
		char suffix;
		uint32_t factor;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char number[32];
	size_t length = strlen(text);
	uint32_t factor = 1;
	uint64_t n;

	if (!length || length >= sizeof(number))
		return -EINVAL;
	memcpy(number, text, length + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (number[length - 1] != units[i].suffix)
			continue;
		factor = units[i].factor;
		number[length - 1] = '\0';
	}
	if (busctl_parse_u64(number, &n) || n > UINT32_MAX / factor)
		return -EINVAL;
	*seconds = (uint32_t)(n * factor);
	return 0;
}

/* --sync, --sync-interval-ms, --segment-bytes: for a durable queue or a
 * recorded topic, kept for either. */
static int busctl_create_journal_option(struct busctl_create_request *request,
					int option, const char *value)
{
	struct bus_queue_settings *s = &request->settings;
	struct bus_topic_settings *t = &request->topic;

	switch (option) {
	case BUSCTL_OPT_SYNC:
		if (busctl_parse_sync(value, &s->sync))
			return -EINVAL;
		t->sync = s->sync;
		return 0;
	case BUSCTL_OPT_SYNC_INTERVAL:
		if (busctl_parse_u16(value, &s->sync_interval_ms))
			return -EINVAL;
		t->sync_interval_ms = s->sync_interval_ms;
		return 0;
	case BUSCTL_OPT_SEGMENT_BYTES:
		if (busctl_parse_kib(value, &s->segment_kib))
			return -EINVAL;
		t->segment_kib = s->segment_kib;
		return 0;
	case BUSCTL_OPT_RECORD:
		t->record = 1;
		return 0;
	case BUSCTL_OPT_RETAIN_BYTES:
		return busctl_parse_mib(value, &t->retain_mib);
	case BUSCTL_OPT_RETAIN_AGE:
		return busctl_parse_age(value, &t->retain_age_s);
	}
	return -EINVAL;
}

/* Stores one numeric or named option.  0, or -EINVAL for a bad value. */
static int busctl_create_option(struct busctl_create_request *request,
				int option, const char *value)
{
	struct bus_queue_settings *s = &request->settings;
	struct bus_topic_settings *t = &request->topic;

	request->given |= 1u << (option - BUSCTL_OPT_TYPE);
	switch (option) {
	case BUSCTL_OPT_TYPE:
		return busctl_parse_queue_type(value, &s->type);
	case BUSCTL_OPT_SLOTS:
		/* Both kinds have it: kept for either. */
		if (busctl_parse_u32(value, &t->slots))
			return -EINVAL;
		s->slots = t->slots;
		return 0;
	case BUSCTL_OPT_MAX_MESSAGE:
		if (busctl_parse_u32(value, &t->max_message))
			return -EINVAL;
		s->max_message = t->max_message;
		return 0;
	case BUSCTL_OPT_TOPIC:
	case BUSCTL_OPT_IF_NOT_EXISTS:
		return 0;
	case BUSCTL_OPT_HEADER_ROOM:
		/* Both kinds have it: bytes for keys and headers. */
		if (busctl_parse_u32(value, &t->header_room))
			return -EINVAL;
		s->header_room = t->header_room;
		return 0;
	case BUSCTL_OPT_SLOW_SUBSCRIBER:
		return busctl_parse_slow_subscriber(value,
						    &t->slow_subscriber);
	case BUSCTL_OPT_MAX_SUBSCRIBERS:
		return busctl_parse_u32(value, &t->max_subscribers);
	case BUSCTL_OPT_MAX_PUBLISHERS:
		return busctl_parse_u32(value, &t->max_publishers);
	case BUSCTL_OPT_HISTORY:
		return busctl_parse_u32(value, &t->history);
	case BUSCTL_OPT_OVERFLOW:
		return busctl_parse_overflow(value, &s->overflow);
	case BUSCTL_OPT_MAX_UNACKED:
		return busctl_parse_u32(value, &s->max_unacked);
	case BUSCTL_OPT_MAX_PRODUCERS:
		return busctl_parse_u32(value, &s->max_producers);
	case BUSCTL_OPT_MAX_CONSUMERS:
		return busctl_parse_u32(value, &s->max_consumers);
	case BUSCTL_OPT_DEAD_LETTER:
		/* busd checks the name and that the queue exists. */
		if (strlen(value) > BUS_NAME_MAX)
			return -EINVAL;
		strcpy(s->dead_letter, value);
		return 0;
	case BUSCTL_OPT_MAX_DELIVERIES:
		return busctl_parse_u32(value, &s->max_deliveries);
	case BUSCTL_OPT_ACK_TIMEOUT:
		return busctl_parse_u32(value, &s->ack_timeout_ms);
	case BUSCTL_OPT_TTL:
		return busctl_parse_u32(value, &s->ttl_ms);
	case BUSCTL_OPT_DURABLE:
		s->durable = 1;
		return 0;
	case BUSCTL_OPT_SYNC:
	case BUSCTL_OPT_SYNC_INTERVAL:
	case BUSCTL_OPT_SEGMENT_BYTES:
	case BUSCTL_OPT_RECORD:
	case BUSCTL_OPT_RETAIN_BYTES:
	case BUSCTL_OPT_RETAIN_AGE:
		return busctl_create_journal_option(request, option, value);
	case BUSCTL_OPT_OWNER:
	case BUSCTL_OPT_GROUP:
	case BUSCTL_OPT_MODE:
		return busctl_create_access(&request->access, option, value);
	case BUSCTL_OPT_RING_BYTES: {
		/* Both kinds have it; busd says whether this one packs and
		 * what the arena may be (a multiple of 64, one loan...). */
		uint64_t bytes;

		if (busctl_parse_bytes(value, &bytes) || bytes > UINT32_MAX)
			return -EINVAL;
		s->ring_bytes = t->ring_bytes = (uint32_t)bytes;
		return 0;
	}
	}
	return -EINVAL;
}

static int busctl_create_parse(struct busctl_create_request *request, int argc,
			       char **argv)
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
		{ "topic", no_argument, NULL, BUSCTL_OPT_TOPIC },
		{ "slow-subscriber", required_argument, NULL,
		  BUSCTL_OPT_SLOW_SUBSCRIBER },
		{ "max-subscribers", required_argument, NULL,
		  BUSCTL_OPT_MAX_SUBSCRIBERS },
		{ "max-publishers", required_argument, NULL,
		  BUSCTL_OPT_MAX_PUBLISHERS },
		{ "history", required_argument, NULL, BUSCTL_OPT_HISTORY },
		{ "owner", required_argument, NULL, BUSCTL_OPT_OWNER },
		{ "group", required_argument, NULL, BUSCTL_OPT_GROUP },
		{ "mode", required_argument, NULL, BUSCTL_OPT_MODE },
		{ "header-room", required_argument, NULL,
		  BUSCTL_OPT_HEADER_ROOM },
		{ "dead-letter", required_argument, NULL,
		  BUSCTL_OPT_DEAD_LETTER },
		{ "max-deliveries", required_argument, NULL,
		  BUSCTL_OPT_MAX_DELIVERIES },
		{ "ack-timeout", required_argument, NULL,
		  BUSCTL_OPT_ACK_TIMEOUT },
		{ "ttl", required_argument, NULL, BUSCTL_OPT_TTL },
		{ "if-not-exists", no_argument, NULL,
		  BUSCTL_OPT_IF_NOT_EXISTS },
		{ "durable", no_argument, NULL, BUSCTL_OPT_DURABLE },
		{ "sync", required_argument, NULL, BUSCTL_OPT_SYNC },
		{ "sync-interval-ms", required_argument, NULL,
		  BUSCTL_OPT_SYNC_INTERVAL },
		{ "segment-bytes", required_argument, NULL,
		  BUSCTL_OPT_SEGMENT_BYTES },
		{ "record", no_argument, NULL, BUSCTL_OPT_RECORD },
		{ "retain-bytes", required_argument, NULL,
		  BUSCTL_OPT_RETAIN_BYTES },
		{ "retain-age", required_argument, NULL,
		  BUSCTL_OPT_RETAIN_AGE },
		{ "ring-bytes", required_argument, NULL,
		  BUSCTL_OPT_RING_BYTES },
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
	if (busctl_create_given(request, BUSCTL_OPT_TOPIC) &&
	    (request->given & BUSCTL_QUEUE_ONLY))
		return busctl_usage_error(
			"create: --type, --overflow, "
			"--max-unacked, --max-producers, "
			"--max-consumers, --dead-letter, "
			"--max-deliveries, --ack-timeout, "
			"--ttl and --durable are for queues, not "
			"with --topic");
	if (!busctl_create_given(request, BUSCTL_OPT_TOPIC) &&
	    (request->given & BUSCTL_TOPIC_ONLY))
		return busctl_usage_error(
			"create: --slow-subscriber, "
			"--max-subscribers, --max-publishers, "
			"--history, --record, --retain-bytes and "
			"--retain-age need --topic");
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
	bus_topic_settings_default(&request.topic);
	status = busctl_create_parse(&request, argc, argv);
	if (status >= 0)
		return status;
	busctl_create_adjust(&request);
	if (busctl_check_name("create", request.name))
		return BUSCTL_EXIT_ERROR;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	if (busctl_create_given(&request, BUSCTL_OPT_TOPIC))
		err = bus_topic_create_with_access(ctl->bus, request.name,
						   &request.topic,
						   &request.access);
	else
		err = bus_queue_create_with_access(ctl->bus, request.name,
						   &request.settings,
						   &request.access);
	/* Provisioning scripts run again and again. */
	if (err == -EEXIST &&
	    busctl_create_given(&request, BUSCTL_OPT_IF_NOT_EXISTS))
		return BUSCTL_EXIT_OK;
	if (err < 0)
		return busctl_fail(ctl, err, "create %s", request.name);
	return BUSCTL_EXIT_OK;
}

int busctl_delete(struct busctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "if-empty", no_argument, NULL, 'e' },
		{ "if-unused", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int flags = 0;
	const char *name;
	int err;
	int c;

	while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		if (c == 'e')
			flags |= BUS_DELETE_IF_EMPTY;
		else if (c == 'u')
			flags |= BUS_DELETE_IF_UNUSED;
		else
			return busctl_bad_option("delete", c, argv);
	}
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
	err = bus_delete(ctl->bus, name, flags);
	if (err < 0)
		return busctl_fail(ctl, err, "delete %s", name);
	return BUSCTL_EXIT_OK;
}

int busctl_remove_bus(struct busctl *ctl, int argc, char **argv)
{
	int c = getopt_long(argc, argv, ":", NULL, NULL);
	int removed;

	if (c != -1)
		return busctl_bad_option("remove-bus", c, argv);
	if (optind < argc)
		return busctl_usage_error("remove-bus: unexpected '%s'",
					  argv[optind]);
	removed = bus_remove(ctl->bus_name);
	if (removed == -EBUSY)
		return busctl_error(
			"remove-bus: a busd still serves bus '%s'; "
			"stop it first",
			ctl->bus_name);
	if (removed < 0)
		return busctl_error("remove-bus %s: %s", ctl->bus_name,
				    bus_strerror(removed));
	printf("removed bus '%s': %d segment%s\n", ctl->bus_name, removed,
	       removed == 1 ? "" : "s");
	return BUSCTL_EXIT_OK;
}
