/* SPDX-License-Identifier: MIT */
/* The module shmbus._shmbus: its types and a few functions. */
#include "shmbus_ext.h"

#include <pthread.h>

unsigned long shmbus_fork_generation;

PyTypeObject *shmbus_queue_class = &QueueType;
PyTypeObject *shmbus_subscription_class = &SubscriptionType;

static void forked_child(void)
{
	shmbus_fork_generation++;
}

/* _set_classes(Queue, Subscription): the Python subclasses to make. */
PyObject *shmbus_set_classes(PyObject *module, PyObject *args)
{
	PyTypeObject *queue, *subscription;

	if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &queue, &PyType_Type,
			      &subscription))
		return NULL;
	if (!PyType_IsSubtype(queue, &QueueType) ||
	    !PyType_IsSubtype(subscription, &SubscriptionType)) {
		PyErr_SetString(PyExc_TypeError,
				"_set_classes: subclasses of Queue and "
				"Subscription expected");
		return NULL;
	}
	Py_INCREF(queue);
	Py_INCREF(subscription);
	shmbus_queue_class = queue;
	shmbus_subscription_class = subscription;
	Py_RETURN_NONE;
}

static PyObject *module_strerror(PyObject *module, PyObject *arg)
{
	long error = PyLong_AsLong(arg);

	if (error == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(
		bus_strerror(error > 0 ? (int)-error : (int)error));
}

static PyObject *module_subject_match(PyObject *module, PyObject *args)
{
	const char *pattern, *name;

	if (!PyArg_ParseTuple(args, "ss:subject_match", &pattern, &name))
		return NULL;
	return PyBool_FromLong(bus_subject_match(pattern, name) == 1);
}

static PyMethodDef module_methods[] = {
	{ "_set_errors", shmbus_set_errors, METH_VARARGS, NULL },
	{ "_set_classes", shmbus_set_classes, METH_VARARGS, NULL },
	{ "strerror", module_strerror, METH_O,
	  "strerror(errno) -> libbus's sentence for it" },
	{ "subject_match", module_subject_match, METH_VARARGS,
	  "subject_match(pattern, name) -> bool (NATS wildcards)" },
	{ NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "shmbus._shmbus",
	.m_doc = "The C half of shmbus: libbus's public API for Python.",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__shmbus(void);

PyMODINIT_FUNC PyInit__shmbus(void)
{
	PyTypeObject *types[] = { &BusType,	     &MessageType,
				  &QueueType,	     &TopicType,
				  &SubscriptionType, &AddressType,
				  &RequesterType,    &ResponderType };
	const char *names[] = { "Bus",	     "Message",	     "Queue",
				"Topic",     "Subscription", "Address",
				"Requester", "Responder" };
	PyObject *module;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i]) < 0)
			return NULL;
	module = PyModule_Create(&module_def);
	if (!module)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyModule_AddObjectRef(module, names[i],
					  (PyObject *)types[i]) < 0) {
			Py_DECREF(module);
			return NULL;
		}
	if (PyModule_AddIntConstant(module, "NAME_MAX", BUS_NAME_MAX) < 0 ||
	    PyModule_AddIntConstant(module, "KEY_MAX", BUS_MESSAGE_KEY_MAX) <
		    0) {
		Py_DECREF(module);
		return NULL;
	}
	pthread_atfork(NULL, NULL, forked_child);
	return module;
}
