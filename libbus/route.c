/* SPDX-License-Identifier: MIT */
/*
 * Publishing to an address: the routes that apply, read from busd's route
 * table in shared memory and kept until its generation moves; the targets,
 * opened as producers or publishers on first use; a loan that is in the
 * one target's ring (zero copy) or staged in our buffer and copied into
 * each target at commit.  Also the admin calls that add and delete routes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "message_keys.h"
#include "packed.h"
#include "page_map.h"
#include "queue_handle.h"
#include "route.h"
#include "topic_handle.h"
#include "route_match.h"

/* How long a target that failed to open is left alone. */
#define BUS__TARGET_RETRY_NS ((int64_t)1000 * 1000 * 1000)

/* ---- the table ----------------------------------------------------------- */

static int map_table(struct bus *bus, const struct bus_route_table **out)
{
	char name[NAME_MAX + 2];
	const struct bus_route_table *t;
	const void *base;
	int ret;

	ret = bus__route_table_name(name, sizeof(name), bus_name(bus));
	if (ret < 0)
		return ret;
	ret = bus__page_map(name, BUS_ROUTE_TABLE_SIZE,
			    offsetof(struct bus_route_table, magic),
			    BUS_ROUTE_TABLE_MAGIC, false, &base);
	if (ret)
		return ret == -ENOENT ? -EPROTO : ret;
	t = base;
	if (t->version != BUS_ROUTE_TABLE_VERSION) {
		munmap((void *)base, BUS_ROUTE_TABLE_SIZE);
		return -EPROTO;
	}
	*out = t;
	return 0;
}

static void unmap_table(const struct bus_route_table *t)
{
	if (t)
		munmap((void *)t, BUS_ROUTE_TABLE_SIZE);
}

int bus_route_get(bus_t *bus, uint32_t index, struct bus_route *route)
{
	const struct bus_route_table *t;
	int ret;

	if (!bus || !route)
		return -EINVAL;
	ret = map_table(bus, &t);
	if (ret)
		return bus__client_fail(bus, ret, "busd has no route table");
	ret = bus__route_table_get(t, index, route);
	unmap_table(t);
	return ret;
}

int bus_route_add(bus_t *bus, const struct bus_route *route)
{
	struct bus_control_request request = { .op = BUS_CONTROL_ROUTE_ADD };
	struct bus_control_reply reply;
	char detail[160];
	int ret;

	if (!bus || !route)
		return -EINVAL;
	ret = bus__route_check(route, detail, sizeof(detail));
	if (ret)
		return bus__client_fail(bus, ret, detail);
	request.route = *route;
	memcpy(request.name, route->name, sizeof(request.name));
	return bus__client_request(bus, &request, &reply);
}

int bus_route_delete(bus_t *bus, uint32_t kind, const char *name)
{
	struct bus_control_request request = {
		.op = BUS_CONTROL_ROUTE_DELETE,
		.index = kind,
	};
	struct bus_control_reply reply;

	if (!bus)
		return -EINVAL;
	if (bus_name_check(name))
		return bus__client_fail(bus, -EINVAL, "bad route name");
	strncpy(request.name, name, BUS_NAME_MAX);
	return bus__client_request(bus, &request, &reply);
}

/* ---- our routes ---------------------------------------------------------- */

/* Reads the entries that apply to us again (the generation moved). */
static int refresh(struct bus_address *a)
{
	uint64_t generation;
	int found;

	for (;;) {
		found = bus__route_table_read(a->table, a->name, a->routes,
					      a->route_capacity, &generation);
		if (found < 0)
			return found;
		if ((uint32_t)found <= a->route_capacity)
			break;
		struct bus_route *more =
			realloc(a->routes, (size_t)found * sizeof(*more));
		if (!more)
			return -ENOMEM;
		a->routes = more;
		a->route_capacity = (uint32_t)found;
	}
	a->route_count = (uint32_t)found;
	a->cached = false;
	a->fallback = -1;
	for (uint32_t i = 0; i < a->route_count; i++)
		if (a->routes[i].kind == BUS_ROUTE_UNROUTABLE)
			a->fallback = (int)i;
	a->generation = generation;
	return 0;
}

static int check_generation(struct bus_address *a)
{
	if (bus__route_table_generation(a->table) == a->generation)
		return 0;
	return refresh(a);
}

int bus_address_open(bus_t *bus, const char *name,
		     const struct bus_queue_options *options,
		     bus_address_t **out)
{
	struct bus_address *a;
	int ret;

	if (!bus || !out)
		return -EINVAL;
	if (bus_name_check(name))
		return bus__client_fail(bus, -EINVAL, "bad address name");
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->bus = bus;
	strncpy(a->name, name, BUS_NAME_MAX);
	if (options) {
		a->options = *options;
		a->has_options = true;
	}
	ret = map_table(bus, &a->table);
	if (ret) {
		free(a);
		return bus__client_fail(bus, ret,
					"busd has no route table "
					"(an older busd?)");
	}
	/* An odd generation never matches: the first loan reads. */
	a->generation = 1;
	ret = check_generation(a);
	if (ret) {
		bus_address_close(a);
		return ret;
	}
	*out = a;
	return 0;
}

int bus_address_close(bus_address_t *a)
{
	if (!a)
		return 0;
	for (uint32_t i = 0; i < a->target_count; i++)
		bus__target_close(&a->targets[i]);
	unmap_table(a->table);
	free(a->targets);
	free(a->routes);
	free(a->stage);
	free(a);
	return 0;
}

/* ---- targets ------------------------------------------------------------- */

static int find_target(struct bus_address *a, const char *name)
{
	for (uint32_t i = 0; i < a->target_count; i++)
		if (!strcmp(a->targets[i].name, name))
			return (int)i;
	if (a->target_count == a->target_capacity) {
		uint32_t capacity = a->target_capacity ? 2 * a->target_capacity
						       : 8;
		struct bus__route_target *more =
			realloc(a->targets, capacity * sizeof(*more));

		if (!more)
			return -ENOMEM;
		a->targets = more;
		a->target_capacity = capacity;
	}
	struct bus__route_target *t = &a->targets[a->target_count];

	memset(t, 0, sizeof(*t));
	strncpy(t->name, name, BUS_NAME_MAX);
	return (int)a->target_count++;
}

static int open_target(struct bus_address *a, struct bus__route_target *t)
{
	return bus__target_open(a->bus, a->has_options ? &a->options : NULL,
				t);
}

/* A queue producer, else a topic publisher; failures are kept a while. */
int bus__target_open(struct bus *bus, const struct bus_queue_options *options,
		     struct bus__route_target *t)
{
	int64_t now;
	int ret;

	if (t->queue || t->topic)
		return 0;
	now = bus__monotonic_ns();
	if (t->open_error && now < t->retry_after_ns)
		return t->open_error;
	ret = bus_queue_open(bus, t->name, BUS_PRODUCER, options, &t->queue);
	if (ret == -ENOENT)
		ret = bus_topic_open(bus, t->name, BUS_PRODUCER, options,
				     &t->topic);
	t->open_error = ret;
	t->retry_after_ns = now + BUS__TARGET_RETRY_NS;
	return ret;
}

void bus__target_close(struct bus__route_target *t)
{
	if (t->queue)
		bus_queue_close(t->queue);
	if (t->topic)
		bus_topic_close(t->topic);
	t->queue = NULL;
	t->topic = NULL;
}

uint32_t bus__target_room(const struct bus__route_target *t)
{
	/* Packed segments: header_room is a limit, 0 meaning the default
	 * (layout.h, "Packed messages"). */
	if (t->topic) {
		const struct bus_topic_settings *s =
			bus_topic_settings(t->topic);

		return bus__topic_is_packed(s)
			       ? bus__packed_extension_limit(s->header_room)
			       : s->header_room;
	} else {
		const struct bus_queue_settings *s =
			bus_queue_settings(t->queue);

		return bus__queue_is_packed(s)
			       ? bus__packed_extension_limit(s->header_room)
			       : s->header_room;
	}
}

uint32_t bus__target_max_message(const struct bus__route_target *t)
{
	return t->topic ? bus_topic_settings(t->topic)->max_message
			: bus_queue_settings(t->queue)->max_message;
}

int bus__target_loan(struct bus__route_target *t, struct bus_message *m,
		     int64_t timeout_ns)
{
	return t->topic ? bus_topic_loan(t->topic, m, timeout_ns)
			: bus_loan(t->queue, m, timeout_ns);
}

int bus__target_loan_copy(struct bus__route_target *t, struct bus_message *m,
			  int64_t timeout_ns, size_t length, bool extension)
{
	return t->topic ? bus__topic_loan_sized(t->topic, m, timeout_ns,
						length, extension)
			: bus__queue_loan_sized(t->queue, m, timeout_ns,
						length, extension);
}

int bus__target_commit(struct bus__route_target *t, struct bus_message *m,
		       uint32_t length)
{
	return t->topic ? bus_topic_commit(t->topic, m, length)
			: bus_commit(t->queue, m, length);
}

/* ---- choosing targets ---------------------------------------------------- */

struct choice {
	uint32_t count;
	uint32_t index[BUS_ADDRESS_TARGETS_MAX]; /* into a->targets */
	bool needs_headers; /* a candidate route matches on headers */
};

static int choose_add(struct bus_address *a, struct choice *c,
		      const char *name)
{
	int index = find_target(a, name);

	if (index < 0)
		return index;
	for (uint32_t i = 0; i < c->count; i++)
		if (c->index[i] == (uint32_t)index)
			return 0;
	if (c->count == BUS_ADDRESS_TARGETS_MAX)
		return -E2BIG;
	c->index[c->count++] = (uint32_t)index;
	return 0;
}

/*
 * The targets of every matching route; view NULL at loan time, when
 * routes that match on headers cannot be decided yet (they set
 * needs_headers and count as candidates).  The fallback when none.
 */
static int choose(struct bus_address *a, const char *key,
		  const struct bus_message *view, struct choice *c)
{
	int ret = 0;

	c->count = 0;
	c->needs_headers = false;
	for (uint32_t i = 0; i < a->route_count && !ret; i++) {
		struct bus_route r = a->routes[i];
		bool undecided = !view && r.match_count;

		if (undecided) {
			r.match_count = 0;
			c->needs_headers = true;
		}
		if (!bus__route_matches(&r, key, view))
			continue;
		for (uint32_t j = 0; j < r.target_count && !ret; j++)
			ret = choose_add(a, c, r.targets[j]);
	}
	if (!ret && c->count == 0 && a->fallback >= 0)
		ret = choose_add(a, c, a->routes[a->fallback].targets[0]);
	if (!ret && c->count == 0) {
		char detail[BUS_NAME_MAX + BUS_MESSAGE_KEY_MAX + 64];

		snprintf(detail, sizeof(detail),
			 "no route from '%s' for key '%s', and no unroutable "
			 "target",
			 a->name, key ? key : "(none)");
		return bus__client_fail(a->bus, -ENOENT, detail);
	}
	return ret;
}

/* ---- loans ---------------------------------------------------------------- */

/* 0 for BUS_NOWAIT, which remaining() answers without a clock. */
static int64_t deadline_of(int64_t timeout_ns)
{
	return timeout_ns == 0 ? 0 : bus__deadline_ns(timeout_ns);
}

static int64_t remaining(int64_t deadline_ns)
{
	int64_t left;

	if (deadline_ns <= 0)
		return deadline_ns < 0 ? BUS_FOREVER : BUS_NOWAIT;
	left = deadline_ns - bus__monotonic_ns();
	return left > 0 ? left : BUS_NOWAIT;
}

static uint32_t extension_need(const char *key)
{
	return key ? BUS_MESSAGE_EXTENSION_FIXED + (uint32_t)strlen(key) : 0;
}

static int loan_direct(struct bus_address *a, uint32_t index,
		       struct bus_message *m, int64_t timeout_ns,
		       size_t length)
{
	struct bus__route_target *t = &a->targets[index];
	const char *key = a->has_key ? a->key : NULL;
	int ret = open_target(a, t);

	if (ret)
		return ret;
	/* Before the loan: a loan cannot be handed back. */
	if (length > bus__target_max_message(t))
		return -EMSGSIZE;
	if (extension_need(key) > bus__target_room(t))
		return bus__client_fail(a->bus, -EMSGSIZE,
					"the key does not fit the target's "
					"header_room (for an spsc queue, its "
					"limit: 512 bytes when 0)");
	/* A send knows its length: a packed queue reserves only that. */
	ret = length ? bus__target_loan_copy(t, m, timeout_ns, length,
					     key != NULL)
		     : bus__target_loan(t, m, timeout_ns);
	if (ret)
		return ret;
	if (key)
		bus_message_set_key(m, key);
	a->loan = BUS__LOAN_DIRECT;
	a->direct = index;
	return 0;
}

static int stage_make(struct bus_address *a, uint32_t room, uint32_t capacity)
{
	size_t room_lines = (size_t)(room + BUS_CACHE_LINE - 1) /
			    BUS_CACHE_LINE * BUS_CACHE_LINE;
	size_t size =
		sizeof(struct bus_message_header) + room_lines + capacity;

	if (size > a->stage_size) {
		uint64_t *more = realloc(a->stage, (size + 7) / 8 * 8);

		if (!more)
			return -ENOMEM;
		a->stage = more;
		a->stage_size = size;
	}
	a->stage_room = (uint32_t)room_lines;
	a->stage_capacity = capacity;
	return 0;
}

/* Our buffer, as large as the largest candidate target needs. */
static int loan_staged(struct bus_address *a, const struct choice *c,
		       struct bus_message *m)
{
	uint32_t room = 0, capacity = 0, opened = 0;
	int first_error = 0, ret;

	for (uint32_t i = 0; i < c->count; i++) {
		struct bus__route_target *t = &a->targets[c->index[i]];

		ret = open_target(a, t);
		if (ret) {
			first_error = first_error ? first_error : ret;
			continue;
		}
		opened++;
		if (bus__target_room(t) > room)
			room = bus__target_room(t);
		if (bus__target_max_message(t) > capacity)
			capacity = bus__target_max_message(t);
	}
	if (!opened)
		return first_error;
	ret = stage_make(a, room, capacity);
	if (ret)
		return ret;
	memset(a->stage, 0, sizeof(struct bus_message_header));
	m->header = (const struct bus_message_header *)a->stage;
	m->payload = (uint8_t *)a->stage + sizeof(struct bus_message_header) +
		     a->stage_room;
	m->length = 0;
	m->capacity = capacity;
	m->token = 0;
	m->extras = 0;
	a->loan = BUS__LOAN_STAGED;
	if (a->has_key) {
		ret = bus_message_set_key(m, a->key);
		if (ret) {
			a->loan = BUS__LOAN_NONE;
			return ret;
		}
	}
	return 0;
}

/* The key of the last loan, whose choice of targets still holds. */
static bool same_key(const struct bus_address *a, const char *key)
{
	if (!a->cached || a->has_key != (key != NULL))
		return false;
	return !key || !strcmp(key, a->key);
}

static void remember(struct bus_address *a, const char *key,
		     const struct choice *c)
{
	a->has_key = key != NULL;
	if (key)
		strcpy(a->key, key);
	a->cached_count = c->count;
	a->cached_needs_headers = c->needs_headers;
	memcpy(a->cached_index, c->index, sizeof(a->cached_index));
	a->cached = true;
}

/* A loan; length: the payload the caller will commit, if it knows. */
static int address_loan(bus_address_t *a, const char *key,
			struct bus_message *m, int64_t timeout_ns,
			size_t length)
{
	struct choice c;
	int ret;

	if (!a || !m)
		return -EINVAL;
	if (a->loan != BUS__LOAN_NONE)
		return bus__client_fail(a->bus, -EBUSY,
					"this address handle has a loan open");
	ret = check_generation(a);
	if (ret)
		return ret;
	if (same_key(a, key)) {
		c.count = a->cached_count;
		c.needs_headers = a->cached_needs_headers;
		memcpy(c.index, a->cached_index, sizeof(c.index));
	} else {
		if (key && bus__message_key_check(key, strlen(key)))
			return bus__client_fail(a->bus, -EINVAL,
						"bad routing key");
		a->cached = false;
		ret = choose(a, key, NULL, &c);
		if (ret)
			return ret;
		remember(a, key, &c);
	}
	a->deadline_ns = deadline_of(timeout_ns);
	if (c.count == 1 && !c.needs_headers)
		return loan_direct(a, c.index[0], m, timeout_ns, length);
	return loan_staged(a, &c, m);
}

int bus_address_loan(bus_address_t *a, const char *key, struct bus_message *m,
		     int64_t timeout_ns)
{
	return address_loan(a, key, m, timeout_ns, 0);
}

/* ---- commits -------------------------------------------------------------- */

static void report_target(struct bus_route_report *report, uint32_t slot,
			  const struct bus__route_target *t, int status)
{
	if (!report || slot >= BUS_ADDRESS_TARGETS_MAX)
		return;
	memcpy(report->targets[slot].name, t->name, sizeof(t->name));
	report->targets[slot].status = status;
	report->matched = slot + 1;
	if (status == 0)
		report->taken++;
}

/* Copies the staged message into one target: its key and headers, its
 * correlation id and expiry, its payload. */
static int copy_into(struct bus_address *a, struct bus__route_target *t,
		     const struct bus_message *staged, uint32_t length)
{
	const struct bus_message_header *from = staged->header;
	uint32_t used = staged->extras ? from->extension_length : 0;
	struct bus_message_header *to;
	struct bus_message m;
	uint8_t *room;
	uint32_t room_size;
	int ret = open_target(a, t);

	if (ret)
		return ret;
	if (length > bus__target_max_message(t) || used > bus__target_room(t))
		return -EMSGSIZE;
	ret = bus__target_loan_copy(t, &m, remaining(a->deadline_ns), length,
				    used != 0);
	if (ret)
		return ret;
	to = (struct bus_message_header *)m.header;
	if (staged->extras) {
		/* The target's room: after the header of a cell, after the
		 * payload of a packed record (checked above to fit). */
		if (bus__message_room(&m, &room, &room_size) == 0 &&
		    used <= room_size)
			memcpy(room, (const uint8_t *)(from + 1), used);
		bus__message_extras_keep(from, to);
		m.extras |= BUS__EXTRAS_SET;
	}
	memcpy(m.payload, staged->payload, length);
	return bus__target_commit(t, &m, length);
}

static int commit_staged(struct bus_address *a, struct bus_message *m,
			 uint32_t length, struct bus_route_report *report)
{
	const char *key = a->has_key ? a->key : NULL;
	int first_error = 0, taken = 0;
	struct choice c;
	int ret;

	if (length > a->stage_capacity)
		return -EMSGSIZE; /* the loan stays open */
	a->loan = BUS__LOAN_NONE;
	ret = choose(a, key, m, &c);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < c.count; i++) {
		struct bus__route_target *t = &a->targets[c.index[i]];

		ret = copy_into(a, t, m, length);
		report_target(report, i, t, ret);
		if (ret == 0)
			taken++;
		else if (!first_error)
			first_error = ret;
	}
	return taken ? taken : first_error;
}

int bus_address_commit(bus_address_t *a, struct bus_message *m,
		       uint32_t length, struct bus_route_report *report)
{
	struct bus__route_target *t;
	int ret;

	if (!a || !m)
		return -EINVAL;
	if (report) {
		report->matched = 0;
		report->taken = 0;
	}
	if (a->loan == BUS__LOAN_STAGED)
		return commit_staged(a, m, length, report);
	if (a->loan != BUS__LOAN_DIRECT)
		return -EINVAL;
	t = &a->targets[a->direct];
	ret = bus__target_commit(t, m, length);
	if (ret == -EMSGSIZE)
		return ret; /* the loan stays open */
	a->loan = BUS__LOAN_NONE;
	report_target(report, 0, t, ret);
	return ret ? ret : 1;
}

int bus_address_send(bus_address_t *a, const char *key, const void *data,
		     size_t length, int64_t timeout_ns,
		     struct bus_route_report *report)
{
	struct bus_message m;
	int ret;

	if (!a || (!data && length))
		return -EINVAL;
	ret = address_loan(a, key, &m, timeout_ns, length);
	if (ret)
		return ret;
	if (length > m.capacity) {
		/* Only a staged loan gets here (a direct one was checked
		 * before it was taken), and ours to let go. */
		a->loan = BUS__LOAN_NONE;
		return -EMSGSIZE;
	}
	memcpy(m.payload, data, length);
	return bus_address_commit(a, &m, (uint32_t)length, report);
}
