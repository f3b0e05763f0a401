/* SPDX-License-Identifier: MIT */
/*
 * The seeds of fuzz_requests: what real clients say to busd, in the
 * format of fuzz_request_format.h, each seed one conversation (open and
 * close queues and topics, create and delete, wildcards, purge, routes, a
 * peer that hangs up holding slots), and a few that break the protocol.
 * Each name is one the built-in configuration of fuzz_requests.c has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_request_format.h"

struct seed {
	uint8_t bytes[8192];
	size_t size;
};

/* A step's optional fields. */
struct seed_step {
	uint8_t selector;
	uint16_t length;	 /* FUZZ_ODD_LENGTH */
	uint32_t magic, version; /* FUZZ_RAW_HEADER */
	uint8_t op;
	uint8_t role;
	uint32_t attachment;
	uint32_t index;
	const char *name;
	uint8_t generation;
	const void *body; /* the request's union */
	size_t body_size;
	const struct bus_access *access;
};

static const char *request_seed_dir;

static void put(struct seed *s, const void *bytes, size_t size)
{
	if (s->size + size > sizeof(s->bytes)) {
		fprintf(stderr, "fuzz_make_seeds: a seed is too long\n");
		exit(1);
	}
	if (size)
		memcpy(s->bytes + s->size, bytes, size);
	s->size += size;
}

static void put_u8(struct seed *s, uint8_t v)
{
	put(s, &v, sizeof(v));
}

static void put_u16(struct seed *s, uint16_t v)
{
	put(s, &v, sizeof(v));
}

static void put_u32(struct seed *s, uint32_t v)
{
	put(s, &v, sizeof(v));
}

static void begin(struct seed *s, enum fuzz_peer_kind a, enum fuzz_peer_kind b,
		  enum fuzz_peer_kind c)
{
	s->size = 0;
	put_u8(s, a);
	put_u8(s, b);
	put_u8(s, c);
}

static void step(struct seed *s, const struct seed_step *t)
{
	size_t name_size = t->name ? strlen(t->name) : 0;

	put_u8(s, t->selector);
	if (t->selector & FUZZ_ODD_LENGTH)
		put_u16(s, t->length);
	if (t->selector & FUZZ_RAW_HEADER) {
		put_u32(s, t->magic);
		put_u32(s, t->version);
	}
	put_u8(s, t->op);
	put_u8(s, t->role);
	put_u32(s, t->attachment);
	put_u32(s, t->index);
	put_u8(s, (uint8_t)name_size);
	put(s, t->name, name_size);
	put_u8(s, t->generation);
	put_u16(s, (uint16_t)t->body_size);
	put(s, t->body, t->body_size);
	put_u8(s, t->access ? sizeof(*t->access) : 0);
	if (t->access)
		put(s, t->access, sizeof(*t->access));
}

/* A request of peer with only op, role and name set. */
static void ask(struct seed *s, uint8_t peer, uint8_t op, uint8_t role,
		const char *name)
{
	step(s,
	     &(struct seed_step){
		     .selector = peer, .op = op, .role = role, .name = name });
}

static void hello(struct seed *s, uint8_t peer)
{
	ask(s, peer, BUS_CONTROL_HELLO, 0, NULL);
}

static void hang_up(struct seed *s, uint8_t peer)
{
	put_u8(s, FUZZ_HANG_UP);
	put_u8(s, peer);
}

static void finish(const struct seed *s, const char *name)
{
	char path[4096];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", request_seed_dir, name);
	file = fopen(path, "wb");
	if (!file || fwrite(s->bytes, 1, s->size, file) != s->size ||
	    fclose(file)) {
		fprintf(stderr, "fuzz_make_seeds: cannot write %s\n", path);
		exit(1);
	}
}

/* ---- the seeds ---------------------------------------------------------- */

static void seed_list(struct seed *s)
{
	begin(s, FUZZ_PEER_STRANGER, FUZZ_PEER_ROOT, FUZZ_PEER_MEMBER);
	hello(s, 0);
	for (uint32_t i = 0; i < 7; i++)
		step(s, &(struct seed_step){ .op = BUS_CONTROL_LIST,
					     .index = i });
	ask(s, 0, BUS_CONTROL_ACCESS, 0, "private");
	ask(s, 0, BUS_CONTROL_ACCESS, 0, "news");
	finish(s, "list-access");
}

static void seed_queue_open(struct seed *s)
{
	begin(s, FUZZ_PEER_ROOT, FUZZ_PEER_OWNER, FUZZ_PEER_MEMBER);
	hello(s, 0);
	ask(s, 0, BUS_CONTROL_OPEN, BUS_PRODUCER, "work");
	ask(s, 0, BUS_CONTROL_OPEN, BUS_CONSUMER, "work");
	ask(s, 0, BUS_CONTROL_OPEN, BUS_OBSERVER, "work");
	step(s, &(struct seed_step){ .op = BUS_CONTROL_CLOSE,
				     .name = "work",
				     .attachment = 2,
				     .generation = FUZZ_GENERATION_CURRENT });
	hello(s, 1);
	ask(s, 1, BUS_CONTROL_OPEN, BUS_PRODUCER, "private");
	ask(s, 1, BUS_CONTROL_OPEN, BUS_CONSUMER, "private");
	hello(s, 2);
	ask(s, 2, BUS_CONTROL_OPEN, BUS_PRODUCER, "private");
	ask(s, 2, BUS_CONTROL_OPEN, BUS_CONSUMER, "pipe");
	ask(s, 2, BUS_CONTROL_OPEN, BUS_PRODUCER, "pipe");
	finish(s, "queue-open-close");
}

static void small_queue(struct bus_queue_settings *settings)
{
	bus_queue_settings_default(settings);
	settings->slots = 8;
	settings->max_message = 32;
	settings->max_unacked = 4;
	settings->max_producers = 2;
	settings->max_consumers = 2;
}

static void seed_create(struct seed *s)
{
	struct bus_access access = { BUS_ACCESS_OWNER | BUS_ACCESS_MODE,
				     FUZZ_OWNER_UID, 0, 0600 };
	struct bus_queue_settings settings;

	small_queue(&settings);
	begin(s, FUZZ_PEER_ADMIN, FUZZ_PEER_OWNER, FUZZ_PEER_STRANGER);
	hello(s, 0);
	hello(s, 1);
	hello(s, 2);
	step(s, &(struct seed_step){ .selector = 2,
				     .op = BUS_CONTROL_CREATE,
				     .name = "mine",
				     .body = &settings,
				     .body_size = sizeof(settings) });
	step(s, &(struct seed_step){ .op = BUS_CONTROL_CREATE,
				     .name = "mine",
				     .body = &settings,
				     .body_size = sizeof(settings),
				     .access = &access });
	ask(s, 1, BUS_CONTROL_OPEN, BUS_PRODUCER, "mine");
	ask(s, 0, BUS_CONTROL_DELETE, 0, "mine");
	step(s, &(struct seed_step){ .selector = 1,
				     .op = BUS_CONTROL_CLOSE,
				     .name = "mine",
				     .generation = FUZZ_GENERATION_LAST });
	settings.max_deliveries = 2;
	snprintf(settings.dead_letter, sizeof(settings.dead_letter), "%s",
		 "work.dead");
	step(s, &(struct seed_step){ .op = BUS_CONTROL_CREATE,
				     .name = "mine",
				     .body = &settings,
				     .body_size = sizeof(settings) });
	ask(s, 0, BUS_CONTROL_DELETE, 0, "work.dead");
	finish(s, "create-delete");
}

static void seed_topics(struct seed *s)
{
	struct bus_topic_settings settings;

	bus_topic_settings_default(&settings);
	settings.slots = 8;
	settings.max_message = 32;
	settings.max_subscribers = 2;
	settings.max_publishers = 2;
	settings.history = 2;
	begin(s, FUZZ_PEER_ROOT, FUZZ_PEER_MEMBER, FUZZ_PEER_STRANGER);
	hello(s, 0);
	hello(s, 1);
	step(s, &(struct seed_step){ .op = BUS_CONTROL_TOPIC_CREATE,
				     .name = "alerts",
				     .body = &settings,
				     .body_size = sizeof(settings) });
	ask(s, 0, BUS_CONTROL_TOPIC_OPEN, BUS_PRODUCER, "alerts");
	step(s, &(struct seed_step){ .selector = 1,
				     .op = BUS_CONTROL_TOPIC_OPEN,
				     .role = BUS_CONSUMER,
				     .index = 2,
				     .name = "news" });
	ask(s, 1, BUS_CONTROL_TOPIC_OPEN, BUS_PRODUCER, "news");
	step(s, &(struct seed_step){ .selector = 1,
				     .op = BUS_CONTROL_TOPIC_CLOSE,
				     .role = BUS_CONSUMER,
				     .name = "news",
				     .generation = FUZZ_GENERATION_CURRENT });
	ask(s, 0, BUS_CONTROL_DELETE, 0, "alerts");
	finish(s, "topics");
}

static void seed_wildcards(struct seed *s)
{
	struct bus_access readable = { BUS_ACCESS_MODE, 0, 0, 0664 };
	struct bus_topic_settings settings;

	bus_topic_settings_default(&settings);
	settings.slots = 8;
	settings.max_message = 32;
	settings.max_subscribers = 2;
	begin(s, FUZZ_PEER_MEMBER, FUZZ_PEER_ADMIN, FUZZ_PEER_ROOT);
	hello(s, 0);
	hello(s, 1);
	ask(s, 0, BUS_CONTROL_WILDCARD, 0, "prices.>");
	step(s, &(struct seed_step){ .selector = 1,
				     .op = BUS_CONTROL_TOPIC_CREATE,
				     .name = "prices.us",
				     .body = &settings,
				     .body_size = sizeof(settings),
				     .access = &readable });
	step(s, &(struct seed_step){ .op = BUS_CONTROL_TOPIC_OPEN,
				     .role = BUS_CONSUMER,
				     .attachment = 1,
				     .name = "prices.us" });
	ask(s, 0, BUS_CONTROL_WILDCARD, 0, "*.us");
	step(s, &(struct seed_step){ .op = BUS_CONTROL_WILDCARD_CLOSE,
				     .attachment = 2 });
	finish(s, "wildcards");
}

static void seed_purge_routes(struct seed *s)
{
	struct bus_route route = { .kind = BUS_ROUTE_RULE, .target_count = 1 };
	size_t route_size = offsetof(struct bus_route, targets[1]);

	snprintf(route.name, sizeof(route.name), "blues");
	snprintf(route.from, sizeof(route.from), "orders");
	snprintf(route.key, sizeof(route.key), "*.blue");
	snprintf(route.targets[0], sizeof(route.targets[0]), "work");
	begin(s, FUZZ_PEER_ADMIN, FUZZ_PEER_STRANGER, FUZZ_PEER_ROOT);
	hello(s, 0);
	hello(s, 1);
	hello(s, 2);
	ask(s, 0, BUS_CONTROL_PURGE, 0, "work");
	ask(s, 1, BUS_CONTROL_PURGE, 0, "work");
	ask(s, 2, BUS_CONTROL_OPEN, BUS_CONSUMER, "pipe");
	ask(s, 0, BUS_CONTROL_PURGE, 0, "pipe");
	step(s, &(struct seed_step){ .op = BUS_CONTROL_ROUTE_ADD,
				     .body = &route,
				     .body_size = route_size });
	step(s, &(struct seed_step){ .selector = 1,
				     .op = BUS_CONTROL_ROUTE_ADD,
				     .body = &route,
				     .body_size = route_size });
	step(s, &(struct seed_step){ .op = BUS_CONTROL_ROUTE_DELETE,
				     .index = BUS_ROUTE_RULE,
				     .name = "reds" });
	finish(s, "purge-routes");
}

static void seed_hang_up(struct seed *s)
{
	begin(s, FUZZ_PEER_ROOT, FUZZ_PEER_MEMBER, FUZZ_PEER_OWNER);
	hello(s, 0);
	ask(s, 0, BUS_CONTROL_OPEN, BUS_CONSUMER, "work");
	ask(s, 0, BUS_CONTROL_TOPIC_OPEN, BUS_PRODUCER, "news");
	ask(s, 0, BUS_CONTROL_WILDCARD, 0, "news");
	hang_up(s, 0);
	hello(s, 0);
	ask(s, 0, BUS_CONTROL_OPEN, BUS_CONSUMER, "work");
	finish(s, "hang-up");
}

static void seed_protocol(struct seed *s)
{
	begin(s, FUZZ_PEER_STRANGER, FUZZ_PEER_ROOT, FUZZ_PEER_ROOT);
	ask(s, 0, BUS_CONTROL_OPEN, BUS_CONSUMER, "work");
	hello(s, 0);
	hello(s, 0);
	step(s, &(struct seed_step){ .selector = FUZZ_ODD_LENGTH | 1,
				     .length = 40,
				     .op = BUS_CONTROL_HELLO });
	step(s, &(struct seed_step){ .selector = FUZZ_RAW_HEADER | 1,
				     .magic = BUS_CONTROL_MAGIC,
				     .version = BUS_CONTROL_VERSION - 1,
				     .op = BUS_CONTROL_HELLO });
	hello(s, 1);
	ask(s, 1, BUS_CONTROL_OPEN, 7, "work");
	ask(s, 2, 99, 0, NULL);
	finish(s, "protocol-errors");
}

void fuzz_write_request_seeds(const char *dir)
{
	static struct seed seed;

	request_seed_dir = dir;
	seed_list(&seed);
	seed_queue_open(&seed);
	seed_create(&seed);
	seed_topics(&seed);
	seed_wildcards(&seed);
	seed_purge_routes(&seed);
	seed_hang_up(&seed);
	seed_protocol(&seed);
}
