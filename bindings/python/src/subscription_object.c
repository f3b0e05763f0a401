/* SPDX-License-Identifier: MIT */
/*
 * shmbus.Subscription: a subscription to one topic, or to every topic
 * that matches a pattern (a wildcard handle).  The C handle holds the
 * view of the last message it received until release() or the next
 * receive, so a receive first finishes the message before it: it
 * releases msg.payload's memoryview and raises BufferError while
 * anything else still exports the old payload.
 */
#include "shmbus_ext.h"

#include <errno.h>

static void subscription_close_handle(struct shmbus_handle *h)
{
	SubscriptionObject *s = (SubscriptionObject *)h;

	if (s->wildcard)
		bus_wildcard_close(s->wildcard);
	else
		bus_unsubscribe(s->subscription);
	s->wildcard = NULL;
	s->subscription = NULL;
}

static int subscription_waitset_add(struct shmbus_handle *h, bus_waitset_t *ws)
{
	SubscriptionObject *s = (SubscriptionObject *)h;

	if (s->wildcard)
		return bus_waitset_add_wildcard(ws, s->wildcard, h);
	return bus_waitset_add_subscription(ws, s->subscription, h);
}

/*
 * from_time: a datetime (its timestamp(): a naive one is local time) or
 * seconds since the epoch, an int or a float; into CLOCK_REALTIME ns.
 */
static int start_time(PyObject *value, uint64_t *ns)
{
	PyObject *stamp = NULL;
	double seconds;

	if (PyLong_Check(value) || PyFloat_Check(value)) {
		seconds = PyFloat_AsDouble(value);
	} else if (PyObject_HasAttrString(value, "timestamp")) {
		stamp = PyObject_CallMethod(value, "timestamp", NULL);
		if (!stamp)
			return -1;
		seconds = PyFloat_AsDouble(stamp);
		Py_DECREF(stamp);
	} else {
		PyErr_Format(PyExc_TypeError,
			     "from_time must be a datetime or seconds since "
			     "the epoch, not %.100s",
			     Py_TYPE(value)->tp_name);
		return -1;
	}
	if (PyErr_Occurred())
		return -1;
	/* Nanoseconds in 64 bits: 1970 .. 2554. */
	if (!(seconds >= 0 && seconds < 18e9)) {
		PyErr_Format(PyExc_ValueError,
			     "from_time must be after 1970, not %R", value);
		return -1;
	}
	*ns = (uint64_t)(seconds * 1e9);
	return 0;
}

/* from_sequence or from_time (at most one) into options. */
static int start_from(PyObject *sequence, PyObject *time,
		      struct bus_subscribe_options *options)
{
	unsigned long long value;

	if (sequence != Py_None && time != Py_None) {
		PyErr_SetString(PyExc_ValueError,
				"from_sequence and from_time exclude each "
				"other");
		return -1;
	}
	if (time != Py_None) {
		options->from = BUS_FROM_TIME;
		return start_time(time, &options->from_value);
	}
	if (sequence == Py_None)
		return 0;
	if (!PyLong_Check(sequence) || PyBool_Check(sequence)) {
		PyErr_Format(PyExc_TypeError,
			     "from_sequence must be an int, not %.100s",
			     Py_TYPE(sequence)->tp_name);
		return -1;
	}
	value = PyLong_AsUnsignedLongLong(sequence);
	if (PyErr_Occurred()) {
		PyErr_Clear();
		PyErr_Format(PyExc_ValueError,
			     "from_sequence must be 0 or more, not %R",
			     sequence);
		return -1;
	}
	options->from = BUS_FROM_SEQUENCE;
	options->from_value = value;
	return 0;
}

PyObject *shmbus_subscribe(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "pattern", "history",	"wait",
				    "spin_ns", "from_sequence", "from_time",
				    NULL };
	struct bus_subscribe_options options = { 0 };
	PyObject *from_sequence = Py_None, *from_time = Py_None;
	PyObject *pattern_object, *wait = Py_None;
	unsigned int history = 0, spin_ns = 2000;
	bus_subscription_t *subscription = NULL;
	bus_wildcard_t *wildcard = NULL;
	SubscriptionObject *s;
	const char *pattern;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(
		    args, kw, "O|IO$IOO:subscribe", keywords, &pattern_object,
		    &history, &wait, &spin_ns, &from_sequence, &from_time) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(pattern_object, "pattern", &pattern) < 0 ||
	    shmbus_wait_strategy(wait, &options.wait) < 0 ||
	    start_from(from_sequence, from_time, &options) < 0)
		return NULL;
	options.history = history;
	options.spin_ns = spin_ns;
	if (bus_pattern_is_wildcard(pattern))
		SHMBUS_BUS_CALL(
			bus, rc = bus_subscribe_pattern(bus->bus, pattern,
							&options, &wildcard));
	else
		SHMBUS_BUS_CALL(bus,
				rc = bus_subscribe(bus->bus, pattern, &options,
						   &subscription));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "subscribe");
	s = (SubscriptionObject *)shmbus_subscription_class->tp_alloc(
		shmbus_subscription_class, 0);
	if (!s) {
		if (wildcard)
			bus_wildcard_close(wildcard);
		else
			bus_unsubscribe(subscription);
		return NULL;
	}
	s->subscription = subscription;
	s->wildcard = wildcard;
	shmbus_handle_attach(&s->h, bus, subscription_close_handle,
			     subscription_waitset_add);
	return (PyObject *)s;
}

struct receive_call {
	SubscriptionObject *s;
	struct bus_message message;
	const char *topic;
	uint64_t lost;
};

static int receive_once(void *context, int64_t timeout_ns)
{
	struct receive_call *c = context;

	if (c->s->wildcard)
		return bus_wildcard_receive(c->s->wildcard, &c->message,
					    &c->topic, &c->lost, timeout_ns);
	return bus_subscription_receive(c->s->subscription, &c->message,
					&c->lost, timeout_ns);
}

/* The C receive releases the previous view: finish its message first. */
static int finish_current(SubscriptionObject *s)
{
	if (!s->current)
		return 0;
	if (shmbus_message_drop_views(s->current) < 0)
		return -1;
	shmbus_message_finish(s->current);
	return 0;
}

static PyObject *receive_one(SubscriptionObject *s, int64_t timeout_ns,
			     int none_when_empty)
{
	struct receive_call c = { .s = s };
	MessageObject *m;
	int rc;

	if (shmbus_handle_enter(&s->h) < 0 || finish_current(s) < 0)
		return NULL;
	rc = shmbus_wait(&s->h, receive_once, &c, timeout_ns, 1);
	if (rc < 0) {
		if (rc == SHMBUS_RAISED)
			return NULL;
		if (none_when_empty && rc == -EAGAIN)
			Py_RETURN_NONE;
		return shmbus_raise_plain(rc, "receive");
	}
	m = shmbus_message_new(&s->h, s->wildcard ? SHMBUS_RECEIVED_WILDCARD
						  : SHMBUS_RECEIVED_TOPIC);
	if (!m)
		return NULL;
	m->message = c.message;
	m->lost = c.lost;
	if (c.topic && !(m->topic = PyUnicode_FromString(c.topic))) {
		Py_DECREF(m);
		return NULL;
	}
	s->current = m;
	return (PyObject *)m;
}

static PyObject *subscription_receive(SubscriptionObject *s, PyObject *args,
				      PyObject *kw)
{
	static char *keywords[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	int64_t timeout_ns;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:receive", keywords,
					 &timeout) ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		return NULL;
	return receive_one(s, timeout_ns, 0);
}

static PyObject *subscription_try_receive(SubscriptionObject *s,
					  PyObject *unused)
{
	return receive_one(s, BUS_NOWAIT, 1);
}

static PyObject *subscription_iternext(SubscriptionObject *s)
{
	return receive_one(s, BUS_FOREVER, 0);
}

static PyObject *subscription_cancel(SubscriptionObject *s, PyObject *unused)
{
	if (shmbus_handle_ours(&s->h) < 0)
		return NULL;
	if (s->wildcard)
		bus_wildcard_cancel(s->wildcard);
	else if (s->subscription)
		bus_subscription_cancel(s->subscription);
	Py_RETURN_NONE;
}

static PyObject *subscription_uncancel(SubscriptionObject *s, PyObject *unused)
{
	if (shmbus_handle_ours(&s->h) < 0)
		return NULL;
	if (s->wildcard)
		bus_wildcard_uncancel(s->wildcard);
	else if (s->subscription)
		bus_subscription_uncancel(s->subscription);
	Py_RETURN_NONE;
}

static PyObject *subscription_close(SubscriptionObject *s, PyObject *unused)
{
	if (shmbus_handle_close(&s->h) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *subscription_enter(SubscriptionObject *s, PyObject *unused)
{
	return Py_NewRef(s);
}

static PyObject *subscription_exit(SubscriptionObject *s, PyObject *args)
{
	if (shmbus_handle_close(&s->h) < 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *subscription_arm(SubscriptionObject *s, PyObject *unused)
{
	return shmbus_handle_arm(&s->h);
}

static PyObject *subscription_disarm(SubscriptionObject *s, PyObject *unused)
{
	return shmbus_handle_disarm(&s->h);
}

static PyObject *subscription_get_topics(SubscriptionObject *s, void *c)
{
	if (shmbus_handle_enter(&s->h) < 0)
		return NULL;
	return PyLong_FromLong(s->wildcard ? bus_wildcard_topics(s->wildcard)
					   : 1);
}

static void subscription_dealloc(SubscriptionObject *s)
{
	shmbus_handle_dealloc(&s->h);
	Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef subscription_methods[] = {
	{ "receive", SHMBUS_METHOD(subscription_receive),
	  METH_VARARGS | METH_KEYWORDS,
	  "receive(timeout=None) -> Message (finishes the one before)" },
	{ "try_receive", SHMBUS_METHOD(subscription_try_receive), METH_NOARGS,
	  "try_receive() -> Message or None" },
	{ "cancel", SHMBUS_METHOD(subscription_cancel), METH_NOARGS, NULL },
	{ "uncancel", SHMBUS_METHOD(subscription_uncancel), METH_NOARGS,
	  NULL },
	{ "close", SHMBUS_METHOD(subscription_close), METH_NOARGS,
	  "Ends the subscription." },
	{ "__enter__", SHMBUS_METHOD(subscription_enter), METH_NOARGS, NULL },
	{ "__exit__", SHMBUS_METHOD(subscription_exit), METH_VARARGS, NULL },
	{ "_arm", SHMBUS_METHOD(subscription_arm), METH_NOARGS, NULL },
	{ "_disarm", SHMBUS_METHOD(subscription_disarm), METH_NOARGS, NULL },
	{ NULL },
};

static PyGetSetDef subscription_getset[] = {
	{ "topics", (getter)subscription_get_topics, NULL,
	  "how many topics the subscription covers now", NULL },
	{ NULL },
};

PyTypeObject SubscriptionType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus._shmbus.Subscription",
	.tp_basicsize = sizeof(SubscriptionObject),
	.tp_dealloc = (destructor)subscription_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "A subscription to a topic or a pattern (Bus.subscribe()).",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)subscription_iternext,
	.tp_methods = subscription_methods,
	.tp_getset = subscription_getset,
	.tp_weaklistoffset = offsetof(SubscriptionObject, h.weakrefs),
};
