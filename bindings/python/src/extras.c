/* SPDX-License-Identifier: MIT */
/* What a send may carry besides the payload, set on a loan before its
 * commit: routing key, headers, time to live, correlation id, reply-to. */
#include "shmbus_ext.h"

#include <errno.h>

static int set_headers(struct bus_message *m, const bus_t *bus,
		       PyObject *headers)
{
	PyObject *name, *value;
	Py_ssize_t pos = 0;
	int rc;

	if (!PyDict_Check(headers)) {
		PyErr_Format(PyExc_TypeError,
			     "headers must be a dict of str, not %.100s",
			     Py_TYPE(headers)->tp_name);
		return -1;
	}
	while (PyDict_Next(headers, &pos, &name, &value)) {
		const char *n, *v;

		if (shmbus_name(name, "header name", &n) < 0 ||
		    shmbus_name(value, "header value", &v) < 0)
			return -1;
		rc = bus_message_add_header(m, n, v);
		if (rc < 0)
			return shmbus_raise_data(rc, "header");
	}
	return 0;
}

int shmbus_set_extras(struct bus_message *m, const bus_t *bus, PyObject *key,
		      PyObject *headers, PyObject *ttl,
		      PyObject *correlation_id, PyObject *reply_to)
{
	const char *text;
	int rc;

	if (key && key != Py_None) {
		if (shmbus_name(key, "key", &text) < 0)
			return -1;
		if ((rc = bus_message_set_key(m, text)) < 0) {
			char what[BUS_MESSAGE_KEY_MAX + 64];
			snprintf(what, sizeof(what),
				 "key '%s' (a dotted subject, no wildcards)",
				 text);
			return shmbus_raise_data(rc, what);
		}
	}
	if (reply_to && reply_to != Py_None) {
		if (shmbus_name(reply_to, "reply_to", &text) < 0)
			return -1;
		if ((rc = bus_message_set_reply_to(m, text)) < 0)
			return shmbus_raise_data(rc, "reply_to");
	}
	if (headers && headers != Py_None && set_headers(m, bus, headers) < 0)
		return -1;
	if (ttl && ttl != Py_None) {
		int64_t ns;
		if (shmbus_timeout(ttl, &ns) < 0)
			return -1;
		if ((rc = bus_message_set_ttl(m, ns == BUS_FOREVER ? 0 : ns)) <
		    0)
			return shmbus_raise_data(rc, "ttl");
	}
	if (correlation_id && correlation_id != Py_None) {
		unsigned long long id =
			PyLong_AsUnsignedLongLong(correlation_id);
		if (PyErr_Occurred())
			return -1;
		if ((rc = bus_message_set_correlation(m, id)) < 0)
			return shmbus_raise_data(rc, "correlation_id");
	}
	return 0;
}

int shmbus_check_size(Py_ssize_t length, uint32_t max_message)
{
	char what[96];

	if (length <= (Py_ssize_t)max_message)
		return 0;
	snprintf(what, sizeof(what),
		 "send: payload of %zd bytes, max_message %u", length,
		 max_message);
	return shmbus_raise_data(-EMSGSIZE, what);
}

int shmbus_fill(struct bus_message *m, const Py_buffer *data)
{
	if (shmbus_check_size(data->len, m->capacity) < 0)
		return -1;
	memcpy(m->payload, data->buf, (size_t)data->len);
	return 0;
}
