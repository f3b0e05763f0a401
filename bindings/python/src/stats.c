/* SPDX-License-Identifier: MIT */
/* Bus.stat(name): a queue's or topic's figures as a dict, read through an
 * observer handle (as busctl stat reads them). */
#include "shmbus_ext.h"

#include <errno.h>
#include <stddef.h>

struct figure {
	const char *name;
	size_t offset;
	int is_32; /* uint32_t, else uint64_t */
};

#define Q64(f)                                             \
	{                                                  \
#f, offsetof(struct bus_queue_stats, f), 0 \
	}
#define Q32(f)                                             \
	{                                                  \
#f, offsetof(struct bus_queue_stats, f), 1 \
	}
static const struct figure queue_figures[] = {
	Q64(enqueued),	 Q64(dequeued),	     Q64(acked),
	Q64(nacked),	 Q64(redelivered),   Q64(dropped),
	Q64(rejected),	 Q64(reclaimed),     Q64(depth),
	Q64(leased),	 Q64(capacity),	     Q32(producers),
	Q32(consumers),	 Q64(dead_lettered), Q64(dead_waiting),
	Q64(timed_out),	 Q64(expired),	     Q64(backpressure_waits),
	Q64(high_water), { NULL, 0, 0 },
};

#define T64(f)                                             \
	{                                                  \
#f, offsetof(struct bus_topic_stats, f), 0 \
	}
#define T32(f)                                             \
	{                                                  \
#f, offsetof(struct bus_topic_stats, f), 1 \
	}
static const struct figure topic_figures[] = {
	T64(published),	 T64(rejected),	   T64(received),
	T64(lapped),	 T64(lost),	   T64(padded),
	T64(tail),	 T64(capacity),	   T64(max_lag),
	T32(publishers), T32(subscribers), T64(backpressure_waits),
	T64(expired),	 T64(high_water),  { NULL, 0, 0 },
};

static PyObject *to_dict(const struct figure *table, const void *stats,
			 const char *kind)
{
	PyObject *dict = Py_BuildValue("{ss}", "kind", kind);
	const struct figure *f;

	for (f = table; dict && f->name; f++) {
		const char *at = (const char *)stats + f->offset;
		unsigned long long value = f->is_32 ? *(const uint32_t *)at
						    : *(const uint64_t *)at;
		PyObject *v = PyLong_FromUnsignedLongLong(value);

		if (!v || PyDict_SetItemString(dict, f->name, v) < 0)
			Py_CLEAR(dict);
		Py_XDECREF(v);
	}
	return dict;
}

static int queue_stats(bus_t *bus, const char *name,
		       struct bus_queue_stats *stats)
{
	bus_queue_t *q;
	int rc = bus_queue_open(bus, name, BUS_OBSERVER, NULL, &q);

	if (rc < 0)
		return rc;
	rc = bus_queue_stats(q, stats);
	bus_queue_close(q);
	return rc;
}

static int topic_stats(bus_t *bus, const char *name,
		       struct bus_topic_stats *stats)
{
	bus_topic_t *t;
	int rc = bus_topic_open(bus, name, BUS_OBSERVER, NULL, &t);

	if (rc < 0)
		return rc;
	rc = bus_topic_stats(t, stats);
	bus_topic_close(t);
	return rc;
}

PyObject *shmbus_stat(BusObject *bus, PyObject *args)
{
	struct bus_queue_stats qs;
	struct bus_topic_stats ts;
	PyObject *name_object;
	const char *name;
	int rc;

	if (!PyArg_ParseTuple(args, "O:stat", &name_object) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(name_object, "name", &name) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus, rc = queue_stats(bus->bus, name, &qs));
	if (rc == 0)
		return to_dict(queue_figures, &qs, "queue");
	if (rc != -ENOENT)
		return shmbus_raise(rc, bus->bus, "stat");
	SHMBUS_BUS_CALL(bus, rc = topic_stats(bus->bus, name, &ts));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "stat");
	return to_dict(topic_figures, &ts, "topic");
}
