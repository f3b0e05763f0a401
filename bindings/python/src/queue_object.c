/* SPDX-License-Identifier: MIT */
/* shmbus.Queue: a producer or consumer handle of one queue. */
#include "shmbus_ext.h"

#include <errno.h>
#include <limits.h>

#define RECEIVE_BATCH_MAX 1024

static void queue_close_handle(struct shmbus_handle *h)
{
	QueueObject *q = (QueueObject *)h;

	bus_queue_close(q->queue);
	q->queue = NULL;
}

static int queue_waitset_add(struct shmbus_handle *h, bus_waitset_t *ws)
{
	return bus_waitset_add_queue(ws, ((QueueObject *)h)->queue, h);
}

static int role_of(PyObject *word, enum bus_role *out)
{
	const char *text;

	if (shmbus_name(word, "role", &text) < 0)
		return -1;
	if (strcmp(text, "producer") == 0)
		*out = BUS_PRODUCER;
	else if (strcmp(text, "consumer") == 0)
		*out = BUS_CONSUMER;
	else if (strcmp(text, "observer") == 0)
		*out = BUS_OBSERVER;
	else {
		PyErr_Format(PyExc_ValueError,
			     "role must be 'producer', 'consumer' or "
			     "'observer', not %R",
			     word);
		return -1;
	}
	return 0;
}

PyObject *shmbus_queue_open(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name",    "role",	     "wait",
				    "spin_ns", "timestamps", NULL };
	struct bus_queue_options options = { 0 };
	PyObject *name_object, *role_object, *wait = Py_None;
	unsigned int spin_ns = 2000;
	int timestamps = 1, rc;
	const char *name;
	enum bus_role role;
	bus_queue_t *handle;
	QueueObject *q;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O$Ip:queue", keywords,
					 &name_object, &role_object, &wait,
					 &spin_ns, &timestamps) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(name_object, "name", &name) < 0 ||
	    role_of(role_object, &role) < 0 ||
	    shmbus_wait_strategy(wait, &options.wait) < 0)
		return NULL;
	options.spin_ns = spin_ns;
	options.no_timestamp = !timestamps;
	SHMBUS_BUS_CALL(bus, rc = bus_queue_open(bus->bus, name, role,
						 &options, &handle));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "queue");
	q = (QueueObject *)shmbus_queue_class->tp_alloc(shmbus_queue_class, 0);
	if (!q) {
		bus_queue_close(handle);
		return NULL;
	}
	q->queue = handle;
	q->role = role;
	shmbus_handle_attach(&q->h, bus, queue_close_handle,
			     role == BUS_CONSUMER ? queue_waitset_add : NULL);
	return (PyObject *)q;
}

static int enter_as(QueueObject *q, enum bus_role role, const char *what)
{
	if (shmbus_handle_enter(&q->h) < 0)
		return -1;
	if (q->role == role)
		return 0;
	PyErr_Format(PyExc_TypeError, "%s() needs a %s handle", what,
		     role == BUS_PRODUCER ? "producer" : "consumer");
	return -1;
}

static PyObject *raise_wait(QueueObject *q, int rc, const char *what)
{
	if (rc == SHMBUS_RAISED)
		return NULL;
	return shmbus_raise_plain(rc, what);
}

/* ---- producing ------------------------------------------------------- */

struct loan_call {
	bus_queue_t *queue;
	struct bus_message message;
};

static int loan_once(void *context, int64_t timeout_ns)
{
	struct loan_call *c = context;

	return bus_loan(c->queue, &c->message, timeout_ns);
}

/* A loan: one kept, or a new one (waiting for room). */
static int take_loan(QueueObject *q, struct bus_message *out,
		     int64_t timeout_ns)
{
	struct loan_call c = { .queue = q->queue };
	int rc;

	if (shmbus_take_kept_loan(&q->h, out))
		return 0;
	rc = shmbus_wait(&q->h, loan_once, &c, timeout_ns, 0);
	if (rc >= 0)
		*out = c.message;
	return rc;
}

static PyObject *queue_loan(QueueObject *q, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	MessageObject *m;
	int64_t timeout_ns;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:loan", keywords,
					 &timeout) ||
	    enter_as(q, BUS_PRODUCER, "loan") < 0 ||
	    shmbus_one_loan(&q->h) < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		return NULL;
	m = shmbus_message_new(&q->h, SHMBUS_LOAN_QUEUE);
	if (!m)
		return NULL;
	rc = take_loan(q, &m->message, timeout_ns);
	if (rc < 0) {
		shmbus_message_finish(m);
		Py_DECREF(m);
		return raise_wait(q, rc, "loan");
	}
	return (PyObject *)m;
}

struct send_call {
	bus_queue_t *queue;
	const Py_buffer *data;
};

static int send_once(void *context, int64_t timeout_ns)
{
	struct send_call *c = context;

	return bus_send(c->queue, c->data->buf, (size_t)c->data->len,
			timeout_ns);
}

static PyObject *send_with_loan(QueueObject *q, const Py_buffer *data,
				PyObject **extras, int64_t timeout_ns)
{
	struct bus_message m;
	int rc = take_loan(q, &m, timeout_ns);

	if (rc < 0)
		return raise_wait(q, rc, "send");
	if (shmbus_set_extras(&m, q->h.bus->bus, extras[0], extras[1],
			      extras[2], extras[3], extras[4]) < 0 ||
	    shmbus_fill(&m, data) < 0) {
		/* Nothing was published: the loan waits for the next. */
		shmbus_keep_loan(&q->h, &m);
		return NULL;
	}
	rc = bus_commit(q->queue, &m, (uint32_t)data->len);
	if (rc < 0)
		return shmbus_raise_plain(rc, "send");
	Py_RETURN_NONE;
}

static PyObject *queue_send(QueueObject *q, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "data",	      "key",
				    "headers",	      "ttl",
				    "correlation_id", "reply_to",
				    "timeout",	      NULL };
	PyObject *extras[5] = { Py_None, Py_None, Py_None, Py_None, Py_None };
	PyObject *timeout = Py_None, *result = NULL;
	struct send_call c;
	int64_t timeout_ns;
	Py_buffer data;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(
		    args, kw, "y*|$OOOOOO:send", keywords, &data, &extras[0],
		    &extras[1], &extras[2], &extras[3], &extras[4], &timeout))
		return NULL;
	if (enter_as(q, BUS_PRODUCER, "send") < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		goto out;
	if (q->h.kept_count || extras[0] != Py_None || extras[1] != Py_None ||
	    extras[2] != Py_None || extras[3] != Py_None ||
	    extras[4] != Py_None) {
		result = send_with_loan(q, &data, extras, timeout_ns);
		goto out;
	}
	if (shmbus_check_size(data.len,
			      bus_queue_settings(q->queue)->max_message) < 0)
		goto out;
	c.queue = q->queue;
	c.data = &data;
	rc = shmbus_wait(&q->h, send_once, &c, timeout_ns, 0);
	if (rc < 0)
		raise_wait(q, rc, "send");
	else
		result = Py_NewRef(Py_None);
out:
	PyBuffer_Release(&data);
	return result;
}

/* ---- consuming ------------------------------------------------------- */

struct receive_call {
	bus_queue_t *queue;
	struct bus_message *messages;
	unsigned int count;
};

static int receive_once(void *context, int64_t timeout_ns)
{
	struct receive_call *c = context;

	if (c->count == 1)
		return bus_receive(c->queue, c->messages, timeout_ns);
	return bus_receive_batch(c->queue, c->messages, c->count, timeout_ns);
}

static PyObject *wrap_received(QueueObject *q, const struct bus_message *bm)
{
	MessageObject *m = shmbus_message_new(&q->h, SHMBUS_RECEIVED_QUEUE);

	if (!m) {
		bus_nack(q->queue, bm);
		return NULL;
	}
	m->message = *bm;
	return (PyObject *)m;
}

/* One message, or None (nothing came and none_when_empty), or raises. */
static PyObject *receive_one(QueueObject *q, int64_t timeout_ns,
			     int none_when_empty)
{
	struct bus_message bm;
	struct receive_call c = { q->queue, &bm, 1 };
	int rc;

	if (enter_as(q, BUS_CONSUMER, "receive") < 0)
		return NULL;
	rc = shmbus_wait(&q->h, receive_once, &c, timeout_ns, 1);
	if (rc < 0) {
		if (none_when_empty && rc == -EAGAIN)
			Py_RETURN_NONE;
		return raise_wait(q, rc, "receive");
	}
	return wrap_received(q, &bm);
}

static PyObject *queue_receive(QueueObject *q, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	int64_t timeout_ns;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:receive", keywords,
					 &timeout) ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		return NULL;
	return receive_one(q, timeout_ns, 0);
}

static PyObject *queue_try_receive(QueueObject *q, PyObject *unused)
{
	return receive_one(q, BUS_NOWAIT, 1);
}

static PyObject *queue_receive_batch(QueueObject *q, PyObject *args,
				     PyObject *kw)
{
	static char *keywords[] = { "max", "timeout", NULL };
	PyObject *timeout = Py_None, *list = NULL;
	struct receive_call c = { .queue = NULL };
	int64_t timeout_ns;
	int max = 64, rc, i;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|iO:receive_batch",
					 keywords, &max, &timeout) ||
	    enter_as(q, BUS_CONSUMER, "receive_batch") < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		return NULL;
	if (max < 1 || max > RECEIVE_BATCH_MAX) {
		PyErr_Format(PyExc_ValueError, "max must be 1..%d, not %d",
			     RECEIVE_BATCH_MAX, max);
		return NULL;
	}
	c.queue = q->queue;
	c.count = (unsigned int)max;
	c.messages = PyMem_Calloc((size_t)max, sizeof(*c.messages));
	if (!c.messages)
		return PyErr_NoMemory();
	rc = shmbus_wait(&q->h, receive_once, &c, timeout_ns, 1);
	if (rc == -EAGAIN)
		rc = 0; /* timeout 0 and nothing: an empty batch */
	if (rc < 0) {
		raise_wait(q, rc, "receive_batch");
		goto out;
	}
	if (!(list = PyList_New(rc))) {
		/* Every message is ours and none is wrapped: hand all back. */
		for (i = 0; i < rc; i++)
			bus_nack(q->queue, &c.messages[i]);
		goto out;
	}
	for (i = 0; i < rc; i++) {
		PyObject *m = wrap_received(q, &c.messages[i]);
		if (!m) {
			/* wrap_received nacked message i; those already
			 * in the list are nacked when it is freed. */
			for (i++; i < rc; i++)
				bus_nack(q->queue, &c.messages[i]);
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, i, m);
	}
out:
	PyMem_Free(c.messages);
	return list;
}

static PyObject *queue_iternext(QueueObject *q)
{
	return receive_one(q, BUS_FOREVER, 0);
}

/* ---- the rest -------------------------------------------------------- */

/* flush(timeout=None): bus_flush(), the GIL let go while it waits. */
static PyObject *queue_flush(QueueObject *q, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	int64_t timeout_ns;
	int timeout_ms, rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:flush", keywords,
					 &timeout) ||
	    shmbus_timeout(timeout, &timeout_ns) < 0 ||
	    enter_as(q, BUS_PRODUCER, "flush") < 0)
		return NULL;
	timeout_ms = timeout_ns < 0 ? -1
		     : timeout_ns / 1000000 > INT32_MAX
			     ? INT32_MAX
			     : (int)((timeout_ns + 999999) / 1000000);
	/* busy: no other thread uses the handle (or closes it) meanwhile. */
	q->h.busy = 1;
	Py_BEGIN_ALLOW_THREADS rc = bus_flush(q->queue, timeout_ms);
	Py_END_ALLOW_THREADS q->h.busy = 0;
	if (rc < 0)
		return shmbus_raise_plain(rc, "flush");
	Py_RETURN_NONE;
}

static PyObject *queue_cancel(QueueObject *q, PyObject *unused)
{
	if (shmbus_handle_ours(&q->h) < 0)
		return NULL;
	if (q->queue)
		bus_queue_cancel(q->queue);
	Py_RETURN_NONE;
}

static PyObject *queue_uncancel(QueueObject *q, PyObject *unused)
{
	if (shmbus_handle_ours(&q->h) < 0)
		return NULL;
	if (q->queue)
		bus_queue_uncancel(q->queue);
	Py_RETURN_NONE;
}

static PyObject *queue_close(QueueObject *q, PyObject *unused)
{
	if (shmbus_handle_close(&q->h) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *queue_enter(QueueObject *q, PyObject *unused)
{
	return Py_NewRef(q);
}

static PyObject *queue_exit(QueueObject *q, PyObject *args)
{
	if (shmbus_handle_close(&q->h) < 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *queue_arm(QueueObject *q, PyObject *unused)
{
	if (enter_as(q, BUS_CONSUMER, "receive_async") < 0)
		return NULL;
	return shmbus_handle_arm(&q->h);
}

static PyObject *queue_disarm(QueueObject *q, PyObject *unused)
{
	return shmbus_handle_disarm(&q->h);
}

static PyObject *queue_get_max_message(QueueObject *q, void *closure)
{
	if (shmbus_handle_enter(&q->h) < 0)
		return NULL;
	return PyLong_FromUnsignedLong(
		bus_queue_settings(q->queue)->max_message);
}

static PyObject *queue_get_closed(QueueObject *q, void *closure)
{
	return PyBool_FromLong(q->h.bus == NULL);
}

static PyObject *queue_get_role(QueueObject *q, void *closure)
{
	return PyUnicode_FromString(q->role == BUS_PRODUCER   ? "producer"
				    : q->role == BUS_CONSUMER ? "consumer"
							      : "observer");
}

static void queue_dealloc(QueueObject *q)
{
	shmbus_handle_dealloc(&q->h);
	Py_TYPE(q)->tp_free((PyObject *)q);
}

static PyMethodDef queue_methods[] = {
	{ "loan", SHMBUS_METHOD(queue_loan), METH_VARARGS | METH_KEYWORDS,
	  "loan(timeout=None) -> Message: a slot to fill through .payload "
	  "and .commit(n)" },
	{ "send", SHMBUS_METHOD(queue_send), METH_VARARGS | METH_KEYWORDS,
	  "send(data, *, key=None, headers=None, ttl=None, "
	  "correlation_id=None, reply_to=None, timeout=None): copies data" },
	{ "receive", SHMBUS_METHOD(queue_receive),
	  METH_VARARGS | METH_KEYWORDS,
	  "receive(timeout=None) -> Message; raises shmbus.Timeout" },
	{ "try_receive", SHMBUS_METHOD(queue_try_receive), METH_NOARGS,
	  "try_receive() -> Message or None, never waits" },
	{ "receive_batch", SHMBUS_METHOD(queue_receive_batch),
	  METH_VARARGS | METH_KEYWORDS,
	  "receive_batch(max=64, timeout=None) -> [Message]: waits for the "
	  "first only" },
	{ "flush", SHMBUS_METHOD(queue_flush), METH_VARARGS | METH_KEYWORDS,
	  "flush(timeout=None): a durable queue's confirm - returns once "
	  "every message this producer sent is on disk; raises "
	  "shmbus.Timeout" },
	{ "cancel", SHMBUS_METHOD(queue_cancel), METH_NOARGS,
	  "Any thread: blocked and later calls raise shmbus.Cancelled." },
	{ "uncancel", SHMBUS_METHOD(queue_uncancel), METH_NOARGS, NULL },
	{ "close", SHMBUS_METHOD(queue_close), METH_NOARGS,
	  "Closes the handle; unacked messages are redelivered." },
	{ "__enter__", SHMBUS_METHOD(queue_enter), METH_NOARGS, NULL },
	{ "__exit__", SHMBUS_METHOD(queue_exit), METH_VARARGS, NULL },
	{ "_arm", SHMBUS_METHOD(queue_arm), METH_NOARGS, NULL },
	{ "_disarm", SHMBUS_METHOD(queue_disarm), METH_NOARGS, NULL },
	{ NULL },
};

static PyGetSetDef queue_getset[] = {
	{ "max_message", (getter)queue_get_max_message, NULL,
	  "largest payload of the queue", NULL },
	{ "closed", (getter)queue_get_closed, NULL, NULL, NULL },
	{ "role", (getter)queue_get_role, NULL, NULL, NULL },
	{ NULL },
};

PyTypeObject QueueType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus._shmbus.Queue",
	.tp_basicsize = sizeof(QueueObject),
	.tp_dealloc = (destructor)queue_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "A producer or consumer handle of a queue (Bus.queue()).",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)queue_iternext,
	.tp_methods = queue_methods,
	.tp_getset = queue_getset,
	.tp_weaklistoffset = offsetof(QueueObject, h.weakrefs),
};
