/* SPDX-License-Identifier: MIT */
/*
 * Wildcard subscriptions: one ordinary subscription per matching topic,
 * read in turn.  New topics are found through the bus's announcement page
 * (announce.h): a relaxed load of its counter per receive, a new listing
 * only when it moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "page_map.h"
#include "waitset.h"
#include "wildcard.h"

static int map_announce(struct bus_wildcard *w)
{
	char name[NAME_MAX + 2];
	const void *base;
	int ret;

	ret = bus__announce_name(name, sizeof(name), bus_name(w->bus));
	if (ret < 0)
		return ret;
	ret = bus__page_map(name, BUS_ANNOUNCE_SIZE,
			    offsetof(struct bus_announce, magic),
			    BUS_ANNOUNCE_MAGIC, false, &base);
	if (ret)
		return ret == -ENOENT ? -EPROTO : ret;
	w->announce = base;
	return 0;
}

static bool changed(const struct bus_wildcard *w)
{
	/* Relaxed: a hint; the refresh that follows loads it again with
	 * acquire before it lists. */
	return bus__load_relaxed(&w->announce->topics_generation) !=
	       w->seen_generation;
}

/*
 * A member of that name whose topic is still open.  One whose topic was
 * deleted only drains: a topic created again under its name is another
 * topic, to subscribe to beside it.
 */
static bool is_member(const struct bus_wildcard *w, const char *name)
{
	for (uint32_t i = 0; i < w->count; i++) {
		const struct bus_subscription *s = w->members[i];

		/* Relaxed: refresh() loaded the announcement counter with
		 * acquire, and busd raised it after its CLOSED store. */
		if (!strcmp(s->name, name) &&
		    bus__load_relaxed(&s->geometry.header->state) ==
			    BUS_SEGMENT_OPEN)
			return true;
	}
	return false;
}

static int add_member(struct bus_wildcard *w, struct bus_subscription *s)
{
	if (w->count == w->capacity) {
		uint32_t capacity = w->capacity ? 2 * w->capacity : 8;
		void *members =
			realloc(w->members, capacity * sizeof(*w->members));

		if (!members)
			return -ENOMEM;
		w->members = members;
		w->capacity = capacity;
	}
	w->members[w->count++] = s;
	return 0;
}

static void drop_member(struct bus_wildcard *w, uint32_t i)
{
	struct bus_subscription *s = w->members[i];

	if (w->holding == s)
		w->holding = NULL;
	bus_unsubscribe(s);
	memmove(&w->members[i], &w->members[i + 1],
		(w->count - i - 1) * sizeof(*w->members));
	w->count--;
	if (w->turn > i)
		w->turn--;
	/* List again at the next receive: a topic of the same name may
	 * have been skipped while this one was still a member. */
	w->seen_generation--;
}

/*
 * A topic found after we subscribed without a reserved slot (busd
 * restarted and had not heard our pattern again yet, or the topic had no
 * free slot then): read it from its oldest message still in its ring, so
 * that what was published before we noticed it is not lost if it can be
 * helped.  Those positions are history to the subscription: copied and
 * checked, never counted as lost when overwritten.
 */
static int read_from_start(struct bus_subscription *s)
{
	uint64_t slots = s->geometry.slots;
	uint64_t lowest = s->protected_from > slots ? s->protected_from - slots
						    : 0;

	if (lowest >= s->next)
		return 0;
	if (bus__subscription_copy_buffer(s))
		return -ENOMEM;
	s->next = lowest;
	return 0;
}

/*
 * Subscribes to name if it is a new match; skips what we may not read.
 * A topic created after we registered has a slot reserved for us from its
 * first message on (busd/wildcards.h): we take that one.
 */
static int consider(struct bus_wildcard *w, const char *name, bool later)
{
	struct bus_subscription *s;
	int ret;

	if (!bus_subject_match(w->registration.pattern, name) ||
	    is_member(w, name))
		return 0;
	ret = bus__client_subscribe_wildcard(w->bus, name, &w->options,
					     w->registration.id, &s);
	/* Deleted meanwhile, not ours to read, full, or a history above
	 * the topic's: not a topic this wildcard can follow. */
	if (ret == -ENOENT || ret == -EACCES || ret == -EBUSY ||
	    ret == -EINVAL)
		return 0;
	if (ret)
		return ret;
	ret = later && !s->from_reservation ? read_from_start(s) : 0;
	if (!ret)
		ret = add_member(w, s);
	if (ret)
		bus_unsubscribe(s);
	return ret;
}

static int list_once(struct bus_wildcard *w, bool later)
{
	char name[BUS_NAME_MAX + 1];
	uint32_t kind;
	int ret;

	for (uint32_t i = 0;; i++) {
		ret = bus_list(w->bus, i, name, &kind);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		if (kind != BUS_SEGMENT_TOPIC)
			continue;
		ret = consider(w, name, later);
		if (ret)
			return ret;
	}
}

static int refresh(struct bus_wildcard *w, bool later)
{
	uint32_t generation;
	int ret;

	/* A listing is complete when no name was deleted (indices moved)
	 * while it ran: list again until the counter holds still.  Acquire:
	 * pairs with busd's raise, made after its registry changed. */
	do {
		generation =
			bus__load_acquire(&w->announce->topics_generation);
		ret = list_once(w, later);
		if (ret)
			return ret;
	} while (bus__load_acquire(&w->announce->topics_generation) !=
		 generation);
	w->seen_generation = generation;
	return 0;
}

/* ---- as a member of a waitset (waitset.h) ------------------------------- */

static bool group_changed(const void *group)
{
	return changed(group);
}

static int group_refresh(void *group)
{
	return refresh(group, true);
}

static _Atomic uint32_t *group_word(const void *group, uint32_t *expected)
{
	const struct bus_wildcard *w = group;

	*expected = w->seen_generation;
	return (_Atomic uint32_t *)&w->announce->topics_generation;
}

static uint32_t group_members(const void *group,
			      struct bus_subscription *const **out)
{
	const struct bus_wildcard *w = group;

	*out = w->members;
	return w->count;
}

static const struct bus__waitset_group wildcard_group = {
	.changed = group_changed,
	.refresh = group_refresh,
	.word = group_word,
	.members = group_members,
};

int bus_waitset_add_wildcard(bus_waitset_t *ws, bus_wildcard_t *w, void *tag)
{
	return bus__waitset_add_group(ws, &wildcard_group, w, tag);
}

/* bus_disconnect() closes us through the connection's list. */
static void close_registered(struct bus__client_pattern *registration)
{
	bus_wildcard_close(
		(struct bus_wildcard *)(void *)((char *)registration -
						offsetof(struct bus_wildcard,
							 registration)));
}

int bus_subscribe_pattern(bus_t *bus, const char *pattern,
			  const struct bus_subscribe_options *options,
			  bus_wildcard_t **out)
{
	struct bus_wildcard *w;
	int ret;

	if (!bus || !out || bus_pattern_check(pattern))
		return -EINVAL;
	/* A catch-up is one topic's journal: never a pattern's. */
	if (options && options->from != BUS_FROM_NOW)
		return bus__client_fail(bus, -EINVAL,
					"a pattern's subscription starts now: "
					"'from' is for one recorded topic");
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->bus = bus;
	if (options)
		w->options = *options;
	strcpy(w->registration.pattern, pattern);
	w->registration.close = close_registered;
	ret = map_announce(w);
	if (!ret)
		ret = bus_waitset_create(&w->waitset);
	if (!ret)
		ret = bus_waitset_add_wildcard(w->waitset, w, w);
	/* Registered before we list: a topic created from now on keeps
	 * every message for us, one created before is in the listing. */
	if (!ret)
		ret = bus__client_wildcard_register(bus, pattern,
						    &w->registration.id);
	if (!ret)
		ret = refresh(w, false);
	if (ret) {
		bus_wildcard_close(w);
		return ret;
	}
	bus__client_track_pattern(bus, &w->registration);
	*out = w;
	return 0;
}

int bus_wildcard_close(bus_wildcard_t *w)
{
	if (!w)
		return -EINVAL;
	bus__client_untrack_pattern(w->bus, &w->registration);
	while (w->count)
		drop_member(w, w->count - 1);
	if (w->registration.id)
		bus__client_wildcard_unregister(w->bus, w->registration.id);
	free(w->members);
	bus_waitset_destroy(w->waitset);
	if (w->announce)
		munmap((void *)w->announce, BUS_ANNOUNCE_SIZE);
	free(w);
	return 0;
}

int bus_wildcard_topics(const bus_wildcard_t *w)
{
	return w ? (int)w->count : -EINVAL;
}

int bus_wildcard_release(bus_wildcard_t *w)
{
	if (!w)
		return -EINVAL;
	if (w->holding)
		bus_subscription_release(w->holding);
	w->holding = NULL;
	return 0;
}

void bus_wildcard_cancel(bus_wildcard_t *w)
{
	bus_waitset_cancel(w->waitset);
}

void bus_wildcard_uncancel(bus_wildcard_t *w)
{
	bus_waitset_uncancel(w->waitset);
}

struct receive_args {
	struct bus_message *message; /* NULL: a copy into buf */
	void *buf;
	size_t size;
	uint64_t *lost;
	const char **topic;
};

static int receive_from(struct bus_subscription *s, struct receive_args *a)
{
	if (a->message)
		return bus_subscription_receive(s, a->message, a->lost,
						BUS_NOWAIT);
	return bus_subscription_receive_copy(s, a->buf, a->size, a->lost,
					     BUS_NOWAIT);
}

/* One pass over the members from w->turn: the answer, or -EAGAIN. */
static int try_members(struct bus_wildcard *w, struct receive_args *a)
{
	uint32_t tried = 0;

	while (tried < w->count) {
		uint32_t i = (w->turn + tried) % w->count;
		struct bus_subscription *s = w->members[i];
		int ret = receive_from(s, a);

		if (ret == -EAGAIN) {
			tried++;
			continue;
		}
		if (ret == -EIDRM || ret == -ENOTCONN) { /* deleted, drained */
			drop_member(w, i);
			continue;
		}
		/* Next time the following member goes first. */
		w->turn = w->count ? (i + 1) % w->count : 0;
		if (a->topic)
			*a->topic = s->name;
		if (ret >= 0 && a->message)
			w->holding = s;
		return ret;
	}
	return -EAGAIN;
}

static int receive(struct bus_wildcard *w, struct receive_args *a,
		   int64_t timeout_ns)
{
	int64_t deadline = -1, left = timeout_ns;
	void *ready;
	int ret;

	bus_wildcard_release(w);
	if (timeout_ns > 0)
		deadline = bus__deadline_ns(timeout_ns);
	for (;;) {
		if (changed(w)) {
			ret = refresh(w, true);
			if (ret)
				return ret;
		}
		ret = try_members(w, a);
		if (ret != -EAGAIN || timeout_ns == 0)
			return ret;
		if (deadline >= 0) {
			left = deadline - bus__monotonic_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		/* Sleeps on every member and on the announcement counter. */
		ret = bus_waitset_wait(w->waitset, left, &ready, 1);
		if (ret < 0)
			return ret;
	}
}

int bus_wildcard_receive(bus_wildcard_t *w, struct bus_message *m,
			 const char **topic, uint64_t *lost,
			 int64_t timeout_ns)
{
	struct receive_args a = { m, NULL, 0, lost, topic };

	if (!w || !m)
		return -EINVAL;
	return receive(w, &a, timeout_ns);
}

int bus_wildcard_receive_copy(bus_wildcard_t *w, void *buf, size_t size,
			      const char **topic, uint64_t *lost,
			      int64_t timeout_ns)
{
	struct receive_args a = { NULL, buf, size, lost, topic };

	if (!w || (!buf && size))
		return -EINVAL;
	return receive(w, &a, timeout_ns);
}
