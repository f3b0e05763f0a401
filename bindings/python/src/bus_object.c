/* SPDX-License-Identifier: MIT */
/* shmbus.Bus: one connection to a busd (bus_connect). */
#include "shmbus_ext.h"

#include <errno.h>

int shmbus_bus_check(BusObject *bus)
{
	if (!bus->bus) {
		PyErr_SetString(PyExc_ValueError, "the Bus is closed");
		return -1;
	}
	if (bus->fork_generation != shmbus_fork_generation) {
		PyErr_SetString(
			PyExc_RuntimeError,
			"this Bus belongs to the parent process: after "
			"fork() call shmbus.connect() again");
		return -1;
	}
	return 0;
}

static PyObject *bus_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name", NULL };
	PyObject *name_object = Py_None;
	const char *name = NULL;
	BusObject *self;
	bus_t *bus;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:connect", keywords,
					 &name_object))
		return NULL;
	if (name_object != Py_None &&
	    shmbus_name(name_object, "bus name", &name) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = bus_connect(name, &bus);
	Py_END_ALLOW_THREADS if (rc < 0) return shmbus_raise(rc, NULL,
							     "connect");
	self = (BusObject *)type->tp_alloc(type, 0);
	if (!self) {
		bus_disconnect(bus);
		return NULL;
	}
	self->bus = bus;
	self->fork_generation = shmbus_fork_generation;
	return (PyObject *)self;
}

/* Closes every handle first: each refuses while a payload is exported. */
static PyObject *bus_close(BusObject *self, PyObject *unused)
{
	struct shmbus_handle *h;

	if (!self->bus)
		Py_RETURN_NONE;
	/* A child of fork() has only the forking thread: the parent's
	 * other threads' calls do not run there. */
	if (self->fork_generation == shmbus_fork_generation && self->calls) {
		PyErr_SetString(PyExc_RuntimeError,
				"close() while another thread is in a call on "
				"the Bus (stat, an open, an administration "
				"call): close it after that call returns");
		return NULL;
	}
	for (h = self->handles; h; h = h->next)
		if (h->busy) {
			PyErr_SetString(PyExc_RuntimeError,
					"close() while a thread waits on one "
					"of the Bus's handles");
			return NULL;
		}
	for (h = self->handles; h; h = h->next) {
		struct shmbus_message *m;

		for (m = h->messages; m; m = m->next)
			if (shmbus_message_drop_views(m) < 0)
				return NULL;
	}
	while (self->handles)
		if (shmbus_handle_close(self->handles) < 0)
			return NULL;
	if (self->fork_generation == shmbus_fork_generation)
		bus_disconnect(self->bus);
	self->bus = NULL;
	Py_RETURN_NONE;
}

static void bus_dealloc(BusObject *self)
{
	/* Handles hold the Bus: none is left here. */
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	if (self->bus && self->fork_generation == shmbus_fork_generation)
		bus_disconnect(self->bus);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *bus_enter(BusObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *bus_exit(BusObject *self, PyObject *args)
{
	PyObject *r = bus_close(self, NULL);

	if (!r)
		return NULL;
	Py_DECREF(r);
	Py_RETURN_FALSE;
}

static PyObject *bus_get_name(BusObject *self, void *closure)
{
	if (shmbus_bus_check(self) < 0)
		return NULL;
	return PyUnicode_FromString(bus_name(self->bus));
}

static PyObject *bus_get_closed(BusObject *self, void *closure)
{
	return PyBool_FromLong(self->bus == NULL);
}

/* [(name, "queue" | "topic"), ...] */
static PyObject *bus_ls(BusObject *self, PyObject *unused)
{
	char name[BUS_NAME_MAX + 1];
	PyObject *list, *item;
	uint32_t i, kind;
	int rc;

	if (shmbus_bus_check(self) < 0 || !(list = PyList_New(0)))
		return NULL;
	for (i = 0;; i++) {
		rc = bus_list(self->bus, i, name, &kind);
		if (rc == -ENOENT)
			return list;
		if (rc < 0) {
			Py_DECREF(list);
			return shmbus_raise(rc, self->bus, "ls");
		}
		item = Py_BuildValue("(ss)", name,
				     kind == BUS_SEGMENT_TOPIC ? "topic"
							       : "queue");
		if (!item || PyList_Append(list, item) < 0) {
			Py_XDECREF(item);
			Py_DECREF(list);
			return NULL;
		}
		Py_DECREF(item);
	}
}

static PyObject *bus_delete_name(BusObject *self, PyObject *args, PyObject *kw)
{
	static char *keywords[] = { "name", "if_empty", "if_unused", NULL };
	PyObject *name_object;
	int if_empty = 0, if_unused = 0, rc;
	unsigned int flags;
	const char *name;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$pp:delete", keywords,
					 &name_object, &if_empty,
					 &if_unused) ||
	    shmbus_bus_check(self) < 0 ||
	    shmbus_name(name_object, "name", &name) < 0)
		return NULL;
	flags = (if_empty ? BUS_DELETE_IF_EMPTY : 0) |
		(if_unused ? BUS_DELETE_IF_UNUSED : 0);
	SHMBUS_BUS_CALL(self, rc = bus_delete(self->bus, name, flags));
	if (rc < 0)
		return shmbus_raise(rc, self->bus, "delete");
	Py_RETURN_NONE;
}

static PyObject *bus_purge(BusObject *self, PyObject *arg)
{
	const char *name;
	int rc;

	if (shmbus_bus_check(self) < 0 || shmbus_name(arg, "name", &name) < 0)
		return NULL;
	SHMBUS_BUS_CALL(self, rc = bus_queue_purge(self->bus, name));
	if (rc < 0)
		return shmbus_raise(rc, self->bus, "purge");
	return PyLong_FromLong(rc);
}

static PyMethodDef bus_methods[] = {
	{ "close", SHMBUS_METHOD(bus_close), METH_NOARGS,
	  "Closes every handle of the connection, then the connection." },
	{ "__enter__", SHMBUS_METHOD(bus_enter), METH_NOARGS, NULL },
	{ "__exit__", SHMBUS_METHOD(bus_exit), METH_VARARGS, NULL },
	{ "ls", SHMBUS_METHOD(bus_ls), METH_NOARGS,
	  "ls() -> [(name, 'queue'|'topic')]" },
	{ "stat", SHMBUS_METHOD(shmbus_stat), METH_VARARGS,
	  "stat(name) -> dict of the queue's or topic's figures" },
	{ "delete", SHMBUS_METHOD(bus_delete_name),
	  METH_VARARGS | METH_KEYWORDS,
	  "delete(name, *, if_empty=False, if_unused=False)" },
	{ "purge", SHMBUS_METHOD(bus_purge), METH_O,
	  "purge(name) -> number of queued messages removed" },
	{ "create_queue", SHMBUS_METHOD(shmbus_create_queue),
	  METH_VARARGS | METH_KEYWORDS,
	  "create_queue(name, **settings): admin rights needed" },
	{ "create_topic", SHMBUS_METHOD(shmbus_create_topic),
	  METH_VARARGS | METH_KEYWORDS,
	  "create_topic(name, **settings): admin rights needed" },
	{ "add_route", SHMBUS_METHOD(shmbus_add_route),
	  METH_VARARGS | METH_KEYWORDS,
	  "add_route(name, source, targets, key='', headers=None)" },
	{ "delete_route", SHMBUS_METHOD(shmbus_delete_route), METH_O,
	  "delete_route(name)" },
	{ "queue", SHMBUS_METHOD(shmbus_queue_open),
	  METH_VARARGS | METH_KEYWORDS,
	  "queue(name, role, wait='spin-futex', spin_ns=2000) -> Queue" },
	{ "topic", SHMBUS_METHOD(shmbus_topic_open),
	  METH_VARARGS | METH_KEYWORDS,
	  "topic(name, wait='spin-futex') -> Topic (a publisher)" },
	{ "subscribe", SHMBUS_METHOD(shmbus_subscribe),
	  METH_VARARGS | METH_KEYWORDS,
	  "subscribe(pattern, history=0, wait='spin-futex', *, spin_ns=2000, "
	  "from_sequence=None, from_time=None) -> Subscription" },
	{ "address", SHMBUS_METHOD(shmbus_address_open),
	  METH_VARARGS | METH_KEYWORDS, "address(name) -> Address (routes)" },
	{ "requester", SHMBUS_METHOD(shmbus_requester_open),
	  METH_VARARGS | METH_KEYWORDS,
	  "requester(service, reply_to) -> Requester" },
	{ "responder", SHMBUS_METHOD(shmbus_responder_open), METH_NOARGS,
	  "responder() -> Responder" },
	{ NULL },
};

static PyGetSetDef bus_getset[] = {
	{ "name", (getter)bus_get_name, NULL, "the bus name", NULL },
	{ "closed", (getter)bus_get_closed, NULL, "True after close()", NULL },
	{ NULL },
};

PyTypeObject BusType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus.Bus",
	.tp_basicsize = sizeof(BusObject),
	.tp_dealloc = (destructor)bus_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Bus(name=None): a connection to the busd serving the bus "
		  "(None: $BUS_NAME, else 'default').",
	.tp_methods = bus_methods,
	.tp_getset = bus_getset,
	.tp_new = bus_new,
	.tp_weaklistoffset = offsetof(BusObject, weakrefs),
};
