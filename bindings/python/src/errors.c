/* SPDX-License-Identifier: MIT */
/*
 * Negative errno values of libbus become exceptions of the shmbus.Error
 * hierarchy.  The classes are defined in Python (shmbus/errors.py, where
 * they can subclass FileNotFoundError, TimeoutError and the like) and
 * handed to the extension once, at import, by _set_errors().
 */
#include "shmbus_ext.h"

#include <errno.h>

static PyObject *error_base;	 /* shmbus.Error */
static PyObject *error_by_errno; /* {errno: class} */

PyObject *shmbus_set_errors(PyObject *module, PyObject *args)
{
	PyObject *base, *by_errno;

	if (!PyArg_ParseTuple(args, "OO!", &base, &PyDict_Type, &by_errno))
		return NULL;
	if (!PyType_Check(base) ||
	    !PyType_IsSubtype((PyTypeObject *)base,
			      (PyTypeObject *)PyExc_OSError)) {
		PyErr_SetString(PyExc_TypeError,
				"_set_errors: base must subclass OSError");
		return NULL;
	}
	Py_XSETREF(error_base, Py_NewRef(base));
	Py_XSETREF(error_by_errno, Py_NewRef(by_errno));
	Py_RETURN_NONE;
}

static PyObject *class_of(int error)
{
	PyObject *key, *cls = NULL;

	if (!error_by_errno)
		return PyExc_OSError;
	key = PyLong_FromLong(error);
	if (key) {
		cls = PyDict_GetItemWithError(error_by_errno, key);
		Py_DECREF(key);
	}
	if (!cls && !PyErr_Occurred())
		cls = error_base;
	return cls;
}

/*
 * The exception is cls(errno, text, detail): OSError keeps the first two
 * as .errno and .strerror; shmbus.Error keeps detail and what.
 */
PyObject *shmbus_raise(int error, const bus_t *bus, const char *what)
{
	return shmbus_raise_detail(error, bus_error_detail(bus), what);
}

PyObject *shmbus_raise_detail(int error, const char *detail, const char *what)
{
	PyObject *cls, *exc;

	if (error < 0)
		error = -error;
	cls = class_of(error);
	if (!cls)
		return NULL;
	exc = PyObject_CallFunction(cls, "isss", error, bus_strerror(-error),
				    detail ? detail : "", what ? what : "");
	if (exc) {
		PyErr_SetObject(cls, exc);
		Py_DECREF(exc);
	}
	return NULL;
}

int shmbus_raise_int(int error, const bus_t *bus, const char *what)
{
	shmbus_raise(error, bus, what);
	return -1;
}

int shmbus_raise_data(int error, const char *what)
{
	shmbus_raise_detail(error, "", what);
	return -1;
}

PyObject *shmbus_raise_plain(int error, const char *what)
{
	return shmbus_raise_detail(error, "", what);
}
