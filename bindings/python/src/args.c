/* SPDX-License-Identifier: MIT */
/* Checks of the arguments that most calls share: timeouts and names. */
#include "shmbus_ext.h"

#include <math.h>

/* Past a year a timeout means "forever" (and int64 nanoseconds end at
 * 292 years). */
#define TIMEOUT_FOREVER_SECONDS (365.0 * 24 * 3600)

int shmbus_timeout(PyObject *seconds, int64_t *out)
{
	double value;

	if (seconds == NULL || seconds == Py_None) {
		*out = BUS_FOREVER;
		return 0;
	}
	if (PyBool_Check(seconds) ||
	    !(PyFloat_Check(seconds) || PyLong_Check(seconds))) {
		PyErr_Format(PyExc_TypeError,
			     "timeout must be a number of seconds or None, "
			     "not %.100s",
			     Py_TYPE(seconds)->tp_name);
		return -1;
	}
	value = PyFloat_AsDouble(seconds);
	if (value == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(value) || value < 0) {
		PyErr_Format(PyExc_ValueError,
			     "timeout must be >= 0 seconds or None, not %R",
			     seconds);
		return -1;
	}
	if (value >= TIMEOUT_FOREVER_SECONDS)
		*out = BUS_FOREVER;
	else
		*out = (int64_t)(value * 1e9);
	return 0;
}

int shmbus_name(PyObject *name, const char *what, const char **out)
{
	Py_ssize_t length;
	const char *text;

	if (!PyUnicode_Check(name)) {
		PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s",
			     what, Py_TYPE(name)->tp_name);
		return -1;
	}
	text = PyUnicode_AsUTF8AndSize(name, &length);
	if (!text)
		return -1;
	if ((Py_ssize_t)strlen(text) != length) {
		PyErr_Format(PyExc_ValueError, "%s must not contain NUL",
			     what);
		return -1;
	}
	*out = text;
	return 0;
}

int shmbus_wait_strategy(PyObject *word, enum bus_wait_strategy *out)
{
	const char *text;

	if (word == NULL || word == Py_None) {
		*out = BUS_WAIT_SPIN_FUTEX;
		return 0;
	}
	if (shmbus_name(word, "wait", &text) < 0)
		return -1;
	if (strcmp(text, "spin-futex") == 0)
		*out = BUS_WAIT_SPIN_FUTEX;
	else if (strcmp(text, "busy") == 0)
		*out = BUS_WAIT_BUSY;
	else if (strcmp(text, "futex") == 0)
		*out = BUS_WAIT_FUTEX;
	else {
		PyErr_Format(PyExc_ValueError,
			     "wait must be 'spin-futex', 'busy' or 'futex', "
			     "not %R",
			     word);
		return -1;
	}
	return 0;
}
