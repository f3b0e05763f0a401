/* SPDX-License-Identifier: MIT */
/*
 * [import NAME] from = PREFIX.>, to = topic TOPIC-PREFIX.>: each NATS
 * subject goes to a bus topic of its own.  The tokens that from's '>'
 * matched follow TOPIC-PREFIX: with from = shmbus.*.prices.> and to =
 * topic mirror.>, shmbus.hostA.prices.eu.fx goes to the bus topic
 * mirror.eu.fx.
 *
 * The topics must exist (busd's config, or busctl create): a bridge does
 * not make topics with settings of its own choosing.  A subject whose
 * topic is missing, or has too little header_room, counts as failed and
 * is logged once per topic (a subject that makes no bus name: once per
 * rule); a missing topic is looked for again at most once a second, so
 * one made later is used from then on, and one deleted (-EIDRM) is closed
 * and looked for again the same way.  The table holds TOPICS_MAX topics;
 * when it is full, the missing ones are dropped to make room.
 *
 * The table and its handles belong to the rule's thread, which closes
 * them as it ends; rules.c frees the table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define TOPICS_SLOTS 2048u /* a power of two, at most half used */
#define TOPICS_MAX (TOPICS_SLOTS / 2)
#define RETRY_NS 1000000000u

struct import_topic {
	char name[BUS_NAME_MAX + 1]; /* "" : a free slot */
	bus_topic_t *topic; /* NULL: missing, retried after retry_ns */
	uint64_t retry_ns;
	bool logged;
};

struct import_topics {
	unsigned int used;
	unsigned int missing; /* entries without a handle */
	bool full_logged;
	bool bad_name_logged;
	struct import_topic slots[TOPICS_SLOTS];
};

static uint64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* FNV-1a: names are short, and the table is private to one thread. */
static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

/* Skips n dot-separated tokens of subject; NULL when it has no more
 * tokens after them. */
static const char *skip_tokens(const char *subject, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		subject = strchr(subject, '.');
		if (!subject)
			return NULL;
		subject++;
	}
	return *subject ? subject : NULL;
}

int bridge_import_topic_name(const char *from, const char *prefix,
			     const char *subject, char *out, size_t size)
{
	unsigned int fixed = 0;
	const char *tail;
	int length;

	/* from ends in '>' (config.c): count the tokens before it. */
	for (const char *c = from; *c; c++)
		fixed += *c == '.';
	tail = skip_tokens(subject, fixed);
	if (!tail)
		return -EINVAL;
	length = prefix[0] ? snprintf(out, size, "%s.%s", prefix, tail)
			   : snprintf(out, size, "%s", tail);
	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return bus_name_check(out);
}

/* Opens the topic of entry; logs a failure once for the entry. */
static void open_entry(struct bridge_rule *rule, struct import_topics *t,
		       struct import_topic *e)
{
	int ret = bus_topic_open(rule->bridge->bus, e->name, BUS_PRODUCER,
				 NULL, &e->topic);
	uint32_t header_room;

	if (ret == 0) {
		header_room = bus_topic_settings(e->topic)->header_room;
		if (header_room >= BRIDGE_HEADER_ROOM_MIN) {
			t->missing--;
			return;
		}
		bus_topic_close(e->topic);
		e->topic = NULL;
		if (!e->logged)
			bridge_log("import %s: topic '%s' has header_room %u, "
				   "an import needs %u: its messages fail",
				   rule->name, e->name, header_room,
				   BRIDGE_HEADER_ROOM_MIN);
	} else if (!e->logged) {
		bridge_log("import %s: topic '%s': %s: its messages fail "
			   "until it is created",
			   rule->name, e->name, bus_strerror(ret));
	}
	e->logged = true;
	e->retry_ns = monotonic_ns() + RETRY_NS;
}

static struct import_topic *find_slot(struct import_topics *t,
				      const char *name)
{
	struct import_topic *e;

	for (uint32_t slot = name_hash(name) & (TOPICS_SLOTS - 1);;
	     slot = (slot + 1) & (TOPICS_SLOTS - 1)) {
		e = &t->slots[slot];
		if (!e->name[0] || !strcmp(e->name, name))
			return e;
	}
}

/* A full table that holds missing topics (names a publisher made up, say)
 * drops them and keeps the open ones: rebuilt, as linear probing cannot
 * delete one entry.  Rare: at most once per TOPICS_MAX new names. */
static void drop_missing(struct import_topics *t)
{
	struct import_topic *open = malloc(TOPICS_MAX * sizeof(*open));
	unsigned int n = 0;

	if (!open)
		return; /* the table stays full: new names fail */

	for (unsigned int i = 0; i < TOPICS_SLOTS; i++)
		if (t->slots[i].name[0] && t->slots[i].topic)
			open[n++] = t->slots[i];
	memset(t->slots, 0, sizeof(t->slots));
	for (unsigned int i = 0; i < n; i++)
		*find_slot(t, open[i].name) = open[i];
	free(open);
	t->used = n;
	t->missing = 0;
}

bus_topic_t *bridge_import_topic_get(struct bridge_rule *rule,
				     const char *subject)
{
	struct import_topics *t = rule->state;
	char name[BUS_NAME_MAX + 1];
	struct import_topic *e;

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		rule->state = t;
	}
	if (bridge_import_topic_name(rule->from, rule->to, subject, name,
				     sizeof(name))) {
		if (!t->bad_name_logged)
			bridge_log(
				"import %s: subject '%s' makes no bus topic "
				"name after '%s' (letters, digits, '_', '-' "
				"and '.', at most %d): such messages fail",
				rule->name, subject, rule->to, BUS_NAME_MAX);
		t->bad_name_logged = true;
		return NULL;
	}
	e = find_slot(t, name);
	if (!e->name[0] && t->used == TOPICS_MAX && t->missing) {
		drop_missing(t);
		e = find_slot(t, name);
	}
	if (!e->name[0]) {
		if (t->used == TOPICS_MAX) {
			if (!t->full_logged)
				bridge_log("import %s: more than %u topics: "
					   "messages for new ones fail",
					   rule->name, TOPICS_MAX);
			t->full_logged = true;
			return NULL;
		}
		memcpy(e->name, name, sizeof(name));
		t->used++;
		t->missing++;
		open_entry(rule, t, e);
	} else if (!e->topic && monotonic_ns() >= e->retry_ns) {
		open_entry(rule, t, e);
	}
	return e->topic;
}

void bridge_import_topic_lost(struct bridge_rule *rule, bus_topic_t *topic)
{
	struct import_topics *t = rule->state;

	if (!t)
		return;
	for (unsigned int i = 0; i < TOPICS_SLOTS; i++) {
		struct import_topic *e = &t->slots[i];

		if (e->topic != topic)
			continue;
		bridge_log("import %s: topic '%s' was deleted; looked for "
			   "again each second",
			   rule->name, e->name);
		bus_topic_close(e->topic);
		e->topic = NULL;
		e->logged = false;
		e->retry_ns = monotonic_ns() + RETRY_NS;
		t->missing++;
		return;
	}
}

void bridge_import_topics_close(struct bridge_rule *rule)
{
	struct import_topics *t = rule->state;

	if (!t)
		return;
	for (unsigned int i = 0; i < TOPICS_SLOTS; i++) {
		if (t->slots[i].topic)
			bus_topic_close(t->slots[i].topic);
		t->slots[i].topic = NULL;
	}
}
