/* SPDX-License-Identifier: MIT */
/* shmbus.Topic: a publisher handle of one topic. */
#include "shmbus_ext.h"

#include <errno.h>

static void topic_close_handle(struct shmbus_handle *h)
{
	TopicObject *t = (TopicObject *)h;

	bus_topic_close(t->topic);
	t->topic = NULL;
}

PyObject *shmbus_topic_open(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name", "wait", "spin_ns", "timestamps",
				    NULL };
	struct bus_queue_options options = { 0 };
	PyObject *name_object, *wait = Py_None;
	unsigned int spin_ns = 2000;
	int timestamps = 1, rc;
	bus_topic_t *handle;
	const char *name;
	TopicObject *t;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O$Ip:topic", keywords,
					 &name_object, &wait, &spin_ns,
					 &timestamps) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(name_object, "name", &name) < 0 ||
	    shmbus_wait_strategy(wait, &options.wait) < 0)
		return NULL;
	options.spin_ns = spin_ns;
	options.no_timestamp = !timestamps;
	SHMBUS_BUS_CALL(bus, rc = bus_topic_open(bus->bus, name, BUS_PRODUCER,
						 &options, &handle));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "topic");
	t = PyObject_New(TopicObject, &TopicType);
	if (!t) {
		bus_topic_close(handle);
		return NULL;
	}
	memset((char *)t + sizeof(PyObject), 0, sizeof(*t) - sizeof(PyObject));
	t->topic = handle;
	shmbus_handle_attach(&t->h, bus, topic_close_handle, NULL);
	return (PyObject *)t;
}

struct loan_call {
	bus_topic_t *topic;
	struct bus_message message;
};

static int loan_once(void *context, int64_t timeout_ns)
{
	struct loan_call *c = context;

	return bus_topic_loan(c->topic, &c->message, timeout_ns);
}

static int take_loan(TopicObject *t, struct bus_message *out,
		     int64_t timeout_ns)
{
	struct loan_call c = { .topic = t->topic };
	int rc;

	if (shmbus_take_kept_loan(&t->h, out))
		return 0;
	rc = shmbus_wait(&t->h, loan_once, &c, timeout_ns, 0);
	if (rc >= 0)
		*out = c.message;
	return rc;
}

static PyObject *raise_wait(TopicObject *t, int rc, const char *what)
{
	if (rc == SHMBUS_RAISED)
		return NULL;
	return shmbus_raise_plain(rc, what);
}

static PyObject *topic_loan(TopicObject *t, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	MessageObject *m;
	int64_t timeout_ns;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:loan", keywords,
					 &timeout) ||
	    shmbus_handle_enter(&t->h) < 0 || shmbus_one_loan(&t->h) < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		return NULL;
	m = shmbus_message_new(&t->h, SHMBUS_LOAN_TOPIC);
	if (!m)
		return NULL;
	rc = take_loan(t, &m->message, timeout_ns);
	if (rc < 0) {
		shmbus_message_finish(m);
		Py_DECREF(m);
		return raise_wait(t, rc, "loan");
	}
	return (PyObject *)m;
}

struct publish_call {
	bus_topic_t *topic;
	const Py_buffer *data;
};

static int publish_once(void *context, int64_t timeout_ns)
{
	struct publish_call *c = context;

	return bus_publish(c->topic, c->data->buf, (size_t)c->data->len,
			   timeout_ns);
}

static PyObject *publish_with_loan(TopicObject *t, const Py_buffer *data,
				   PyObject **extras, int64_t timeout_ns)
{
	struct bus_message m;
	int rc = take_loan(t, &m, timeout_ns);

	if (rc < 0)
		return raise_wait(t, rc, "send");
	if (shmbus_set_extras(&m, t->h.bus->bus, extras[0], extras[1],
			      extras[2], extras[3], extras[4]) < 0 ||
	    shmbus_fill(&m, data) < 0) {
		shmbus_keep_loan(&t->h, &m);
		return NULL;
	}
	rc = bus_topic_commit(t->topic, &m, (uint32_t)data->len);
	if (rc < 0)
		return shmbus_raise_plain(rc, "send");
	Py_RETURN_NONE;
}

static PyObject *topic_send(TopicObject *t, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "data",	      "key",
				    "headers",	      "ttl",
				    "correlation_id", "reply_to",
				    "timeout",	      NULL };
	PyObject *extras[5] = { Py_None, Py_None, Py_None, Py_None, Py_None };
	PyObject *timeout = Py_None, *result = NULL;
	struct publish_call c;
	int64_t timeout_ns;
	Py_buffer data;
	int rc, i, plain = 1;

	if (!PyArg_ParseTupleAndKeywords(
		    args, kw, "y*|$OOOOOO:send", keywords, &data, &extras[0],
		    &extras[1], &extras[2], &extras[3], &extras[4], &timeout))
		return NULL;
	if (shmbus_handle_enter(&t->h) < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0)
		goto out;
	for (i = 0; i < 5; i++)
		plain &= extras[i] == Py_None;
	if (t->h.kept_count || !plain) {
		result = publish_with_loan(t, &data, extras, timeout_ns);
		goto out;
	}
	if (shmbus_check_size(data.len,
			      bus_topic_settings(t->topic)->max_message) < 0)
		goto out;
	c.topic = t->topic;
	c.data = &data;
	rc = shmbus_wait(&t->h, publish_once, &c, timeout_ns, 0);
	if (rc < 0)
		raise_wait(t, rc, "send");
	else
		result = Py_NewRef(Py_None);
out:
	PyBuffer_Release(&data);
	return result;
}

static PyObject *topic_last(TopicObject *t, PyObject *unused)
{
	uint32_t size;
	PyObject *bytes;
	int rc;

	if (shmbus_handle_enter(&t->h) < 0)
		return NULL;
	size = bus_topic_settings(t->topic)->max_message;
	bytes = PyBytes_FromStringAndSize(NULL, size);
	if (!bytes)
		return NULL;
	rc = bus_topic_last(t->topic, PyBytes_AS_STRING(bytes), size, NULL);
	if (rc < 0) {
		Py_DECREF(bytes);
		if (rc == -EAGAIN)
			Py_RETURN_NONE;
		return shmbus_raise_plain(rc, "last");
	}
	_PyBytes_Resize(&bytes, rc);
	return bytes;
}

static PyObject *topic_close(TopicObject *t, PyObject *unused)
{
	if (shmbus_handle_close(&t->h) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *topic_enter(TopicObject *t, PyObject *unused)
{
	return Py_NewRef(t);
}

static PyObject *topic_exit(TopicObject *t, PyObject *args)
{
	if (shmbus_handle_close(&t->h) < 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *topic_cancel(TopicObject *t, PyObject *unused)
{
	if (shmbus_handle_ours(&t->h) < 0)
		return NULL;
	if (t->topic)
		bus_topic_cancel(t->topic);
	Py_RETURN_NONE;
}

static PyObject *topic_get_max_message(TopicObject *t, void *closure)
{
	if (shmbus_handle_enter(&t->h) < 0)
		return NULL;
	return PyLong_FromUnsignedLong(
		bus_topic_settings(t->topic)->max_message);
}

static void topic_dealloc(TopicObject *t)
{
	shmbus_handle_dealloc(&t->h);
	PyObject_Free(t);
}

static PyMethodDef topic_methods[] = {
	{ "loan", SHMBUS_METHOD(topic_loan), METH_VARARGS | METH_KEYWORDS,
	  "loan(timeout=None) -> Message to fill and commit(n)" },
	{ "send", SHMBUS_METHOD(topic_send), METH_VARARGS | METH_KEYWORDS,
	  "send(data, *, key=None, headers=None, ttl=None, "
	  "correlation_id=None, reply_to=None, timeout=None)" },
	{ "publish", SHMBUS_METHOD(topic_send), METH_VARARGS | METH_KEYWORDS,
	  "publish(...): the same as send()" },
	{ "last", SHMBUS_METHOD(topic_last), METH_NOARGS,
	  "last() -> bytes of the newest message, or None" },
	{ "cancel", SHMBUS_METHOD(topic_cancel), METH_NOARGS, NULL },
	{ "close", SHMBUS_METHOD(topic_close), METH_NOARGS, NULL },
	{ "__enter__", SHMBUS_METHOD(topic_enter), METH_NOARGS, NULL },
	{ "__exit__", SHMBUS_METHOD(topic_exit), METH_VARARGS, NULL },
	{ NULL },
};

static PyGetSetDef topic_getset[] = {
	{ "max_message", (getter)topic_get_max_message, NULL, NULL, NULL },
	{ NULL },
};

PyTypeObject TopicType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus.Topic",
	.tp_basicsize = sizeof(TopicObject),
	.tp_dealloc = (destructor)topic_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A publisher handle of a topic (Bus.topic()).",
	.tp_methods = topic_methods,
	.tp_getset = topic_getset,
	.tp_weaklistoffset = offsetof(TopicObject, h.weakrefs),
};
