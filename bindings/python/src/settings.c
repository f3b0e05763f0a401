/* SPDX-License-Identifier: MIT */
/*
 * Administration through busd: creating queues and topics from keyword
 * settings (the names of the config file's keys), and routes.
 */
#include "shmbus_ext.h"

#include <errno.h>
#include <stddef.h>

struct word {
	const char *text;
	uint32_t value;
};

struct setting {
	const char *name;
	size_t offset;
	const struct word *words; /* NULL: an unsigned number */
};

static const struct word queue_types[] = { { "mpmc", BUS_QUEUE_MPMC },
					   { "spsc", BUS_QUEUE_SPSC },
					   { NULL, 0 } };
static const struct word overflows[] = { { "block", BUS_OVERFLOW_BLOCK },
					 { "reject", BUS_OVERFLOW_REJECT },
					 { "drop-oldest",
					   BUS_OVERFLOW_DROP_OLDEST },
					 { NULL, 0 } };
static const struct word slow_policies[] = {
	{ "block", BUS_SLOW_SUBSCRIBER_BLOCK },
	{ "overwrite", BUS_SLOW_SUBSCRIBER_OVERWRITE },
	{ NULL, 0 }
};

#define QUEUE_FIELD(name) #name, offsetof(struct bus_queue_settings, name)
static const struct setting queue_settings[] = {
	{ QUEUE_FIELD(type), queue_types },
	{ QUEUE_FIELD(slots), NULL },
	{ QUEUE_FIELD(max_message), NULL },
	{ QUEUE_FIELD(overflow), overflows },
	{ QUEUE_FIELD(max_unacked), NULL },
	{ QUEUE_FIELD(max_producers), NULL },
	{ QUEUE_FIELD(max_consumers), NULL },
	{ QUEUE_FIELD(header_room), NULL },
	{ QUEUE_FIELD(max_deliveries), NULL },
	{ QUEUE_FIELD(ack_timeout_ms), NULL },
	{ QUEUE_FIELD(ttl_ms), NULL },
	/* Packed (spsc) queues' arena; busd checks it. */
	{ QUEUE_FIELD(ring_bytes), NULL },
	{ NULL, 0, NULL },
};

#define TOPIC_FIELD(name) #name, offsetof(struct bus_topic_settings, name)
static const struct setting topic_settings[] = {
	{ TOPIC_FIELD(slots), NULL },
	{ TOPIC_FIELD(max_message), NULL },
	{ TOPIC_FIELD(slow_subscriber), slow_policies },
	{ TOPIC_FIELD(max_subscribers), NULL },
	{ TOPIC_FIELD(max_publishers), NULL },
	{ TOPIC_FIELD(history), NULL },
	{ TOPIC_FIELD(header_room), NULL },
	/* Packed (single-publisher) topics' arena; busd checks it. */
	{ TOPIC_FIELD(ring_bytes), NULL },
	{ NULL, 0, NULL },
};

static int set_word(const struct setting *s, PyObject *value, uint32_t *out)
{
	const struct word *w;
	const char *text;

	if (shmbus_name(value, s->name, &text) < 0)
		return -1;
	for (w = s->words; w->text; w++)
		if (strcmp(w->text, text) == 0) {
			*out = w->value;
			return 0;
		}
	PyErr_Format(PyExc_ValueError, "%s must be one of %s, not %R", s->name,
		     s->words == queue_types ? "'mpmc', 'spsc'"
		     : s->words == overflows
			     ? "'block', 'reject', 'drop-oldest'"
			     : "'block', 'overwrite'",
		     value);
	return -1;
}

static int set_number(const struct setting *s, PyObject *value, uint32_t *out)
{
	unsigned long long number;

	if (!PyLong_Check(value) || PyBool_Check(value)) {
		PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s",
			     s->name, Py_TYPE(value)->tp_name);
		return -1;
	}
	number = PyLong_AsUnsignedLongLong(value);
	if (PyErr_Occurred() || number > UINT32_MAX) {
		PyErr_Clear();
		PyErr_Format(PyExc_ValueError, "%s must be 0..%u, not %R",
			     s->name, UINT32_MAX, value);
		return -1;
	}
	*out = (uint32_t)number;
	return 0;
}

/* Applies keyword settings to the struct at base; -1 for an unknown key. */
static int apply(const struct setting *table, void *base, PyObject *kw,
		 char *dead_letter)
{
	PyObject *key, *value;
	Py_ssize_t pos = 0;

	while (kw && PyDict_Next(kw, &pos, &key, &value)) {
		const char *name = PyUnicode_AsUTF8(key);
		const struct setting *s;
		uint32_t *field;

		if (!name)
			return -1;
		if (dead_letter && strcmp(name, "dead_letter") == 0) {
			const char *text;
			if (shmbus_name(value, "dead_letter", &text) < 0)
				return -1;
			if (strlen(text) > BUS_NAME_MAX) {
				PyErr_SetString(PyExc_ValueError,
						"dead_letter: name too long");
				return -1;
			}
			strcpy(dead_letter, text);
			continue;
		}
		for (s = table; s->name; s++)
			if (strcmp(s->name, name) == 0)
				break;
		if (!s->name) {
			PyErr_Format(PyExc_TypeError, "unknown setting %R",
				     key);
			return -1;
		}
		field = (uint32_t *)((char *)base + s->offset);
		if ((s->words ? set_word(s, value, field)
			      : set_number(s, value, field)) < 0)
			return -1;
	}
	return 0;
}

static int one_name(PyObject *args, const char **name)
{
	PyObject *name_object;

	if (!PyArg_ParseTuple(args, "O", &name_object))
		return -1;
	return shmbus_name(name_object, "name", name);
}

PyObject *shmbus_create_queue(BusObject *bus, PyObject *args, PyObject *kw)
{
	struct bus_queue_settings settings;
	const char *name;
	int rc;

	if (shmbus_bus_check(bus) < 0 || one_name(args, &name) < 0)
		return NULL;
	bus_queue_settings_default(&settings);
	if (apply(queue_settings, &settings, kw, settings.dead_letter) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus, rc = bus_queue_create(bus->bus, name, &settings));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "create_queue");
	Py_RETURN_NONE;
}

PyObject *shmbus_create_topic(BusObject *bus, PyObject *args, PyObject *kw)
{
	struct bus_topic_settings settings;
	const char *name;
	int rc;

	if (shmbus_bus_check(bus) < 0 || one_name(args, &name) < 0)
		return NULL;
	bus_topic_settings_default(&settings);
	if (apply(topic_settings, &settings, kw, NULL) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus, rc = bus_topic_create(bus->bus, name, &settings));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "create_topic");
	Py_RETURN_NONE;
}

static int copy_name(char *dst, PyObject *src, const char *what)
{
	const char *text;

	if (shmbus_name(src, what, &text) < 0)
		return -1;
	if (strlen(text) > BUS_NAME_MAX) {
		PyErr_Format(PyExc_ValueError, "%s longer than %d bytes", what,
			     BUS_NAME_MAX);
		return -1;
	}
	strcpy(dst, text);
	return 0;
}

static int route_targets(struct bus_route *route, PyObject *targets)
{
	PyObject *seq;
	Py_ssize_t i, n;

	if (PyUnicode_Check(targets)) {
		route->target_count = 1;
		return copy_name(route->targets[0], targets, "target");
	}
	seq = PySequence_Fast(targets, "targets must be a str or a sequence "
				       "of str");
	if (!seq)
		return -1;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n < 1 || n > (Py_ssize_t)BUS_ROUTE_TARGETS_MAX) {
		Py_DECREF(seq);
		PyErr_Format(PyExc_ValueError, "a route has 1..%u targets",
			     BUS_ROUTE_TARGETS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (copy_name(route->targets[i],
			      PySequence_Fast_GET_ITEM(seq, i),
			      "target") < 0) {
			Py_DECREF(seq);
			return -1;
		}
	route->target_count = (uint32_t)n;
	Py_DECREF(seq);
	return 0;
}

static int route_matches(struct bus_route *route, PyObject *headers)
{
	PyObject *name, *value;
	Py_ssize_t pos = 0;

	if (headers == Py_None)
		return 0;
	if (!PyDict_Check(headers)) {
		PyErr_SetString(PyExc_TypeError, "headers must be a dict");
		return -1;
	}
	if (PyDict_GET_SIZE(headers) > BUS_ROUTE_MATCHES_MAX) {
		PyErr_Format(PyExc_ValueError, "at most %u header matches",
			     BUS_ROUTE_MATCHES_MAX);
		return -1;
	}
	while (PyDict_Next(headers, &pos, &name, &value)) {
		struct bus_route_match *m =
			&route->matches[route->match_count];
		const char *text;

		if (shmbus_name(name, "header name", &text) < 0)
			return -1;
		if (strlen(text) > BUS_MESSAGE_HEADER_NAME_MAX) {
			PyErr_SetString(PyExc_ValueError,
					"header name too long");
			return -1;
		}
		strcpy(m->name, text);
		if (copy_name(m->value, value, "header value") < 0)
			return -1;
		route->match_count++;
	}
	return 0;
}

PyObject *shmbus_add_route(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name", "source",  "targets",
				    "key",  "headers", NULL };
	PyObject *name, *source, *targets, *key = NULL, *headers = Py_None;
	struct bus_route route;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OO:add_route",
					 keywords, &name, &source, &targets,
					 &key, &headers) ||
	    shmbus_bus_check(bus) < 0)
		return NULL;
	memset(&route, 0, sizeof(route));
	route.kind = BUS_ROUTE_RULE;
	if (copy_name(route.name, name, "name") < 0 ||
	    copy_name(route.from, source, "source") < 0 ||
	    (key && key != Py_None && copy_name(route.key, key, "key") < 0) ||
	    route_targets(&route, targets) < 0 ||
	    route_matches(&route, headers) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus, rc = bus_route_add(bus->bus, &route));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "add_route");
	Py_RETURN_NONE;
}

PyObject *shmbus_delete_route(BusObject *bus, PyObject *arg)
{
	const char *name;
	int rc;

	if (shmbus_bus_check(bus) < 0 || shmbus_name(arg, "name", &name) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus,
			rc = bus_route_delete(bus->bus, BUS_ROUTE_RULE, name));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "delete_route");
	Py_RETURN_NONE;
}
