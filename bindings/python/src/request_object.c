/* SPDX-License-Identifier: MIT */
/*
 * shmbus.Address (publishing through routes), shmbus.Requester and
 * shmbus.Responder (request/reply).  These calls copy.  A routed send and
 * a request wait with the GIL released, once, for the whole timeout: a
 * routed send must not be retried (some targets may have taken the
 * message already, and each target waits up to the same deadline), nor
 * a request that was sent; Ctrl-C reaches them as -EINTR.  A reply sends
 * nothing until its loan is granted, so it waits in slices as receives
 * do.
 */
#include "shmbus_ext.h"

#include <errno.h>

typedef struct {
	struct shmbus_handle h;
	bus_address_t *address;
} AddressObject;

typedef struct {
	struct shmbus_handle h;
	bus_requester_t *requester;
} RequesterObject;

typedef struct {
	struct shmbus_handle h;
	bus_responder_t *responder;
} ResponderObject;

static void address_close_handle(struct shmbus_handle *h)
{
	bus_address_close(((AddressObject *)h)->address);
}

static void requester_close_handle(struct shmbus_handle *h)
{
	bus_requester_close(((RequesterObject *)h)->requester);
}

static void responder_close_handle(struct shmbus_handle *h)
{
	bus_responder_close(((ResponderObject *)h)->responder);
}

/* A new zeroed handle object of type. */
static void *handle_new(PyTypeObject *type)
{
	PyObject *o = PyObject_New(PyObject, type);

	if (o)
		memset((char *)o + sizeof(PyObject), 0,
		       type->tp_basicsize - sizeof(PyObject));
	return o;
}

PyObject *shmbus_address_open(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name", "wait", NULL };
	struct bus_queue_options options = { 0 };
	PyObject *name_object, *wait = Py_None;
	bus_address_t *handle;
	AddressObject *a;
	const char *name;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:address", keywords,
					 &name_object, &wait) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(name_object, "name", &name) < 0 ||
	    shmbus_wait_strategy(wait, &options.wait) < 0)
		return NULL;
	options.spin_ns = 2000;
	SHMBUS_BUS_CALL(bus, rc = bus_address_open(bus->bus, name, &options,
						   &handle));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "address");
	if (!(a = handle_new(&AddressType))) {
		bus_address_close(handle);
		return NULL;
	}
	a->address = handle;
	shmbus_handle_attach(&a->h, bus, address_close_handle, NULL);
	return (PyObject *)a;
}

struct address_send_call {
	bus_address_t *address;
	const char *key;
	const Py_buffer *data;
};

static int address_send_once(void *context, int64_t timeout_ns)
{
	struct address_send_call *c = context;

	return bus_address_send(c->address, c->key, c->data->buf,
				(size_t)c->data->len, timeout_ns, NULL);
}

/* send(data, key=None, timeout=None) -> number of targets that took it */
static PyObject *address_send(AddressObject *a, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "data", "key", "timeout", NULL };
	PyObject *key_object = Py_None, *timeout = Py_None, *result = NULL;
	struct address_send_call c;
	const char *key = NULL;
	int64_t timeout_ns;
	Py_buffer data;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O$O:send", keywords,
					 &data, &key_object, &timeout))
		return NULL;
	if (shmbus_handle_enter(&a->h) < 0 ||
	    shmbus_timeout(timeout, &timeout_ns) < 0 ||
	    (key_object != Py_None &&
	     shmbus_name(key_object, "key", &key) < 0))
		goto out;
	c.address = a->address;
	c.key = key;
	c.data = &data;
	rc = shmbus_call_once(&a->h, address_send_once, &c, timeout_ns);
	if (rc == SHMBUS_RAISED)
		goto out;
	if (rc < 0)
		shmbus_raise_data(rc, "address send");
	else
		result = PyLong_FromLong(rc);
out:
	PyBuffer_Release(&data);
	return result;
}

PyObject *shmbus_requester_open(BusObject *bus, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "service", "reply_to", NULL };
	PyObject *service_object, *reply_object;
	const char *service, *reply_to;
	bus_requester_t *handle;
	RequesterObject *r;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:requester", keywords,
					 &service_object, &reply_object) ||
	    shmbus_bus_check(bus) < 0 ||
	    shmbus_name(service_object, "service", &service) < 0 ||
	    shmbus_name(reply_object, "reply_to", &reply_to) < 0)
		return NULL;
	SHMBUS_BUS_CALL(bus, rc = bus_requester_open(bus->bus, service,
						     reply_to, &handle));
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "requester");
	if (!(r = handle_new(&RequesterType))) {
		bus_requester_close(handle);
		return NULL;
	}
	r->requester = handle;
	shmbus_handle_attach(&r->h, bus, requester_close_handle, NULL);
	return (PyObject *)r;
}

struct request_call {
	bus_requester_t *requester;
	const Py_buffer *data;
	char *reply;
	size_t reply_size;
};

static int request_once(void *context, int64_t timeout_ns)
{
	struct request_call *c = context;

	return bus_request(c->requester, c->data->buf, (size_t)c->data->len,
			   c->reply, c->reply_size, timeout_ns);
}

/* request(data, timeout=1.0, max_reply=65536) -> bytes */
static PyObject *requester_request(RequesterObject *r, PyObject *args,
				   PyObject *kw)
{
	static char *keywords[] = { "data", "timeout", "max_reply", NULL };
	PyObject *timeout = NULL, *reply = NULL;
	struct request_call c;
	Py_ssize_t max_reply = 65536;
	int64_t timeout_ns = 1000000000LL;
	Py_buffer data;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O$n:request", keywords,
					 &data, &timeout, &max_reply))
		return NULL;
	if (shmbus_handle_enter(&r->h) < 0 ||
	    (timeout && shmbus_timeout(timeout, &timeout_ns) < 0))
		goto out;
	if (max_reply < 0 || max_reply > INT32_MAX) {
		PyErr_SetString(PyExc_ValueError, "max_reply out of range");
		goto out;
	}
	if (!(reply = PyBytes_FromStringAndSize(NULL, max_reply)))
		goto out;
	c.requester = r->requester;
	c.data = &data;
	c.reply = PyBytes_AS_STRING(reply);
	c.reply_size = (size_t)max_reply;
	rc = shmbus_call_once(&r->h, request_once, &c, timeout_ns);
	if (rc < 0) {
		Py_CLEAR(reply);
		if (rc != SHMBUS_RAISED)
			shmbus_raise_data(rc, "request");
	} else {
		_PyBytes_Resize(&reply, rc);
	}
out:
	PyBuffer_Release(&data);
	return reply;
}

PyObject *shmbus_responder_open(BusObject *bus, PyObject *unused)
{
	bus_responder_t *handle;
	ResponderObject *r;
	int rc;

	if (shmbus_bus_check(bus) < 0)
		return NULL;
	rc = bus_responder_open(bus->bus, &handle);
	if (rc < 0)
		return shmbus_raise(rc, bus->bus, "responder");
	if (!(r = handle_new(&ResponderType))) {
		bus_responder_close(handle);
		return NULL;
	}
	r->responder = handle;
	shmbus_handle_attach(&r->h, bus, responder_close_handle, NULL);
	return (PyObject *)r;
}

struct reply_call {
	bus_responder_t *responder;
	const struct bus_message *request;
	const Py_buffer *data;
};

/* Retried after -ETIMEDOUT or -EINTR: those come from the loan, before
 * anything is sent. */
static int reply_once(void *context, int64_t timeout_ns)
{
	struct reply_call *c = context;

	return bus_reply(c->responder, c->request, c->data->buf,
			 (size_t)c->data->len, timeout_ns);
}

/* reply(request, data, timeout=1.0): to the request's reply-to name. */
static PyObject *responder_reply(ResponderObject *r, PyObject *args,
				 PyObject *kw)
{
	static char *keywords[] = { "request", "data", "timeout", NULL };
	PyObject *timeout = NULL, *result = NULL;
	struct reply_call c;
	int64_t timeout_ns = 1000000000LL;
	MessageObject *request;
	Py_buffer data;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!y*|O:reply", keywords,
					 &MessageType, &request, &data,
					 &timeout))
		return NULL;
	/* A request received before a fork() is the parent's: the parent
	 * may ack it while this process reads it. */
	if (shmbus_handle_enter(&r->h) < 0 ||
	    shmbus_handle_ours(request->owner) < 0 ||
	    (timeout && shmbus_timeout(timeout, &timeout_ns) < 0))
		goto out;
	if (!request->live || !request->message.header) {
		PyErr_SetString(PyExc_ValueError,
				"reply() needs a received request that is not "
				"acked yet");
		goto out;
	}
	c.responder = r->responder;
	c.request = &request->message;
	c.data = &data;
	/* bus_reply reads the request's slot: no thread may ack it until
	 * the reply is sent (see MessageObject.replies). */
	request->replies++;
	rc = shmbus_wait(&r->h, reply_once, &c, timeout_ns, 0);
	request->replies--;
	if (rc == SHMBUS_RAISED)
		goto out;
	if (rc < 0)
		shmbus_raise_data(rc, "reply");
	else
		result = Py_NewRef(Py_None);
out:
	PyBuffer_Release(&data);
	return result;
}

#define CLOSE_METHODS(prefix, Type)                                \
	static PyObject *prefix##_close(Type *o, PyObject *unused) \
	{                                                          \
		if (shmbus_handle_close(&o->h) < 0)                \
			return NULL;                               \
		Py_RETURN_NONE;                                    \
	}                                                          \
	static PyObject *prefix##_enter(Type *o, PyObject *unused) \
	{                                                          \
		return Py_NewRef(o);                               \
	}                                                          \
	static PyObject *prefix##_exit(Type *o, PyObject *args)    \
	{                                                          \
		if (shmbus_handle_close(&o->h) < 0)                \
			return NULL;                               \
		Py_RETURN_FALSE;                                   \
	}                                                          \
	static void prefix##_dealloc(Type *o)                      \
	{                                                          \
		shmbus_handle_dealloc(&o->h);                      \
		PyObject_Free(o);                                  \
	}
CLOSE_METHODS(address, AddressObject)
CLOSE_METHODS(requester, RequesterObject)
CLOSE_METHODS(responder, ResponderObject)

#define CLOSE_ENTRIES(prefix)                                                \
	{ "close", SHMBUS_METHOD(prefix##_close), METH_NOARGS, NULL },       \
		{ "__enter__", SHMBUS_METHOD(prefix##_enter), METH_NOARGS,   \
		  NULL },                                                    \
	{                                                                    \
		"__exit__", SHMBUS_METHOD(prefix##_exit), METH_VARARGS, NULL \
	}

static PyMethodDef address_methods[] = {
	{ "send", SHMBUS_METHOD(address_send), METH_VARARGS | METH_KEYWORDS,
	  "send(data, key=None, *, timeout=None) -> targets that took it" },
	CLOSE_ENTRIES(address),
	{ NULL },
};

static PyMethodDef requester_methods[] = {
	{ "request", SHMBUS_METHOD(requester_request),
	  METH_VARARGS | METH_KEYWORDS,
	  "request(data, timeout=1.0, *, max_reply=65536) -> reply bytes; "
	  "raises shmbus.NoResponder, shmbus.Timeout" },
	CLOSE_ENTRIES(requester),
	{ NULL },
};

static PyMethodDef responder_methods[] = {
	{ "reply", SHMBUS_METHOD(responder_reply),
	  METH_VARARGS | METH_KEYWORDS,
	  "reply(request, data, timeout=1.0): before acking the request" },
	CLOSE_ENTRIES(responder),
	{ NULL },
};

#define HANDLE_TYPE(Name, Object, prefix, doc)                            \
	PyTypeObject Name##Type = {                                       \
		PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus." #Name, \
		.tp_basicsize = sizeof(Object),                           \
		.tp_dealloc = (destructor)prefix##_dealloc,               \
		.tp_flags = Py_TPFLAGS_DEFAULT,                           \
		.tp_doc = doc,                                            \
		.tp_methods = prefix##_methods,                           \
		.tp_weaklistoffset = offsetof(Object, h.weakrefs),        \
	};
HANDLE_TYPE(Address, AddressObject, address,
	    "Publishes through the routes of an address (Bus.address()).")
HANDLE_TYPE(Requester, RequesterObject, requester,
	    "Sends requests to a service (Bus.requester()).")
HANDLE_TYPE(Responder, ResponderObject, responder,
	    "Replies to requests (Bus.responder()).")
