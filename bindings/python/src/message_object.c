/* SPDX-License-Identifier: MIT */
/*
 * shmbus.Message: one received message, or one loan, whose payload stays
 * in shared memory.
 *
 * The payload is exported with the buffer protocol and the exports are
 * counted.  msg.payload is a memoryview of the message (read-only when
 * received, writable for a loan); the message keeps a weak reference to
 * it.  ack(), nack(), release() and commit() first release that
 * memoryview (any later use of it raises ValueError, as for a released
 * memoryview) and then require that no export is left: a slice of it, a
 * memoryview(msg) or a NumPy array over it keeps the slot, and the call
 * raises BufferError and leaves the message as it was.  So no view ever
 * reads a slot after it went back to the ring.  After the message is
 * finished, msg.payload and every field raise ValueError.
 *
 * A received message collected without ack is nacked (handed back for
 * redelivery: at least once, never lost); a loan collected without commit
 * is kept by its handle for the next loan or send.
 */
#include "shmbus_ext.h"

#include <errno.h>

MessageObject *shmbus_message_new(struct shmbus_handle *owner,
				  enum shmbus_message_kind kind)
{
	MessageObject *m = PyObject_New(MessageObject, &MessageType);

	if (!m)
		return NULL;
	m->owner = (struct shmbus_handle *)Py_NewRef(owner);
	memset(&m->message, 0, sizeof(m->message));
	m->kind = kind;
	m->live = 1;
	m->replies = 0;
	m->exports = 0;
	m->view_ref = NULL;
	m->topic = NULL;
	m->lost = 0;
	m->prev = NULL;
	m->next = owner->messages;
	if (owner->messages)
		owner->messages->prev = m;
	owner->messages = m;
	return m;
}

static void unlink_message(MessageObject *m)
{
	struct shmbus_handle *owner = m->owner;

	if (m->prev)
		m->prev->next = m->next;
	else if (owner->messages == m)
		owner->messages = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->next = m->prev = NULL;
}

void shmbus_message_finish(MessageObject *m)
{
	SubscriptionObject *s = (SubscriptionObject *)m->owner;

	if (!m->live)
		return;
	m->live = 0;
	if ((m->kind == SHMBUS_RECEIVED_TOPIC ||
	     m->kind == SHMBUS_RECEIVED_WILDCARD) &&
	    s->current == m)
		s->current = NULL;
	unlink_message(m);
}

int shmbus_message_drop_views(MessageObject *m)
{
	PyObject *view, *done;

	if (m->replies) {
		PyErr_SetString(
			PyExc_RuntimeError,
			"another thread is replying to the message "
			"(Responder.reply): finish it after the reply");
		return -1;
	}
	if (m->view_ref) {
		view = PyWeakref_GetObject(m->view_ref);
		if (view && view != Py_None) {
			Py_INCREF(view);
			done = PyObject_CallMethod(view, "release", NULL);
			Py_DECREF(view);
			if (!done)
				return -1;
			Py_DECREF(done);
		}
		Py_CLEAR(m->view_ref);
	}
	if (m->exports > 0) {
		PyErr_Format(PyExc_BufferError,
			     "the message's payload is still exported (%zd "
			     "buffer%s: a slice of msg.payload, a "
			     "memoryview(msg) or an array over it); release "
			     "them first",
			     m->exports, m->exports == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* A loan that will not be committed: its handle keeps it for the next
 * loan (consumers never see it; a closed handle discards it). */
static void keep_loan(MessageObject *m)
{
	shmbus_keep_loan(m->owner, &m->message);
}

int shmbus_messages_close(struct shmbus_handle *h)
{
	MessageObject *m;

	for (m = h->messages; m; m = m->next)
		if (shmbus_message_drop_views(m) < 0)
			return -1;
	while ((m = h->messages) != NULL)
		shmbus_message_finish(m);
	h->kept_count = 0; /* the C close discards them */
	return 0;
}

static int check_live(MessageObject *m)
{
	if (m->live)
		return 0;
	PyErr_SetString(
		PyExc_ValueError,
		"the message was acked, nacked, released or committed: "
		"its payload and fields are gone");
	return -1;
}

/* ---- buffer protocol ------------------------------------------------- */

static int is_loan(const MessageObject *m)
{
	return m->kind == SHMBUS_LOAN_QUEUE || m->kind == SHMBUS_LOAN_TOPIC;
}

static int message_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
	MessageObject *m = (MessageObject *)self;
	Py_ssize_t size;

	if (!m->live) {
		view->obj = NULL;
		PyErr_SetString(PyExc_BufferError,
				"the message was acked, nacked, released or "
				"committed: its payload is gone");
		return -1;
	}
	size = is_loan(m) ? m->message.capacity : m->message.length;
	if (PyBuffer_FillInfo(view, self, m->message.payload, size,
			      !is_loan(m), flags) < 0)
		return -1;
	m->exports++;
	return 0;
}

static void message_releasebuffer(PyObject *self, Py_buffer *view)
{
	((MessageObject *)self)->exports--;
}

static PyBufferProcs message_as_buffer = {
	.bf_getbuffer = message_getbuffer,
	.bf_releasebuffer = message_releasebuffer,
};

static PyObject *message_payload(MessageObject *m, void *closure)
{
	PyObject *view;

	if (check_live(m) < 0)
		return NULL;
	if (m->view_ref) {
		view = PyWeakref_GetObject(m->view_ref);
		if (view && view != Py_None) {
			/* Still ours unless the user released it. */
			PyObject *shape =
				PyObject_GetAttrString(view, "nbytes");
			if (shape) {
				Py_DECREF(shape);
				return Py_NewRef(view);
			}
			PyErr_Clear();
		}
		Py_CLEAR(m->view_ref);
	}
	view = PyMemoryView_FromObject((PyObject *)m);
	if (!view)
		return NULL;
	m->view_ref = PyWeakref_NewRef(view, NULL);
	if (!m->view_ref)
		Py_CLEAR(view);
	return view;
}

/* ---- finishing ------------------------------------------------------- */

typedef int (*finish_call)(MessageObject *m);

static int ack_call(MessageObject *m)
{
	return bus_ack(((QueueObject *)m->owner)->queue, &m->message);
}

static int nack_call(MessageObject *m)
{
	return bus_nack(((QueueObject *)m->owner)->queue, &m->message);
}

static int release_call(MessageObject *m)
{
	SubscriptionObject *s = (SubscriptionObject *)m->owner;

	if (s->current != m)
		return 0;
	if (s->wildcard)
		return bus_wildcard_release(s->wildcard);
	return bus_subscription_release(s->subscription);
}

static PyObject *finish(MessageObject *m, finish_call call, const char *what)
{
	int rc;

	if (check_live(m) < 0 || shmbus_handle_enter(m->owner) < 0 ||
	    shmbus_message_drop_views(m) < 0)
		return NULL;
	rc = call(m);
	shmbus_message_finish(m);
	if (rc < 0)
		return shmbus_raise_plain(rc, what);
	Py_RETURN_NONE;
}

static int queue_received(MessageObject *m, const char *what)
{
	if (m->kind == SHMBUS_RECEIVED_QUEUE)
		return 0;
	PyErr_Format(PyExc_TypeError,
		     "%s() is for messages received from "
		     "a queue",
		     what);
	return -1;
}

static PyObject *message_ack(MessageObject *m, PyObject *unused)
{
	if (m->kind == SHMBUS_RECEIVED_TOPIC ||
	    m->kind == SHMBUS_RECEIVED_WILDCARD)
		return finish(m, release_call, "release");
	if (queue_received(m, "ack") < 0)
		return NULL;
	return finish(m, ack_call, "ack");
}

static PyObject *message_nack(MessageObject *m, PyObject *unused)
{
	if (queue_received(m, "nack") < 0)
		return NULL;
	return finish(m, nack_call, "nack");
}

static PyObject *message_release(MessageObject *m, PyObject *unused)
{
	if (m->kind != SHMBUS_RECEIVED_TOPIC &&
	    m->kind != SHMBUS_RECEIVED_WILDCARD) {
		PyErr_SetString(PyExc_TypeError,
				"release() is for messages of a subscription; "
				"queue messages are acked or nacked");
		return NULL;
	}
	return finish(m, release_call, "release");
}

static PyObject *message_commit(MessageObject *m, PyObject *arg)
{
	Py_ssize_t length;
	int rc;

	if (!is_loan(m)) {
		PyErr_SetString(PyExc_TypeError,
				"commit() is for loans (Queue.loan(), "
				"Topic.loan())");
		return NULL;
	}
	length = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
	if (length == -1 && PyErr_Occurred())
		return NULL;
	if (length < 0 || length > (Py_ssize_t)m->message.capacity) {
		PyErr_Format(PyExc_ValueError,
			     "commit length %zd outside 0..%u (the slot's "
			     "capacity, max_message)",
			     length, m->message.capacity);
		return NULL;
	}
	if (check_live(m) < 0 || shmbus_handle_enter(m->owner) < 0 ||
	    shmbus_message_drop_views(m) < 0)
		return NULL;
	if (m->kind == SHMBUS_LOAN_QUEUE)
		rc = bus_commit(((QueueObject *)m->owner)->queue, &m->message,
				(uint32_t)length);
	else
		rc = bus_topic_commit(((TopicObject *)m->owner)->topic,
				      &m->message, (uint32_t)length);
	if (rc < 0)
		return shmbus_raise_plain(rc, "commit");
	shmbus_message_finish(m);
	Py_RETURN_NONE;
}

/* Not finished by the user: hand back, release, or keep the loan. */
static void abandon(MessageObject *m)
{
	/* Another thread blocked on the handle owns it now: the message
	 * stays leased until the handle closes (then it is redelivered). */
	if (!m->live || !m->owner->bus || m->owner->busy ||
	    m->owner->bus->fork_generation != shmbus_fork_generation) {
		shmbus_message_finish(m);
		return;
	}
	switch (m->kind) {
	case SHMBUS_RECEIVED_QUEUE:
		nack_call(m);
		break;
	case SHMBUS_RECEIVED_TOPIC:
	case SHMBUS_RECEIVED_WILDCARD:
		release_call(m);
		break;
	case SHMBUS_LOAN_QUEUE:
	case SHMBUS_LOAN_TOPIC:
		keep_loan(m);
		break;
	}
	shmbus_message_finish(m);
}

static PyObject *message_enter(MessageObject *m, PyObject *unused)
{
	return Py_NewRef(m);
}

/* Received: ack on a normal exit, nack (release) on an exception.  A loan
 * not committed in the block is kept for the next loan. */
static PyObject *message_exit(MessageObject *m, PyObject *args)
{
	PyObject *type = PyTuple_GET_SIZE(args) ? PyTuple_GET_ITEM(args, 0)
						: Py_None;

	if (!m->live)
		Py_RETURN_FALSE;
	if (is_loan(m)) {
		if (shmbus_message_drop_views(m) < 0)
			return NULL;
		abandon(m);
		Py_RETURN_FALSE;
	}
	if (type == Py_None) {
		PyObject *r = message_ack(m, NULL);
		if (!r)
			return NULL;
		Py_DECREF(r);
	} else {
		PyObject *r = m->kind == SHMBUS_RECEIVED_QUEUE
				      ? message_nack(m, NULL)
				      : message_release(m, NULL);
		if (!r)
			return NULL;
		Py_DECREF(r);
	}
	Py_RETURN_FALSE;
}

static void message_dealloc(MessageObject *m)
{
	abandon(m);
	Py_CLEAR(m->view_ref);
	Py_CLEAR(m->topic);
	Py_CLEAR(m->owner);
	PyObject_Free(m);
}

/* ---- fields ---------------------------------------------------------- */

static const struct bus_message_header *header_of(MessageObject *m)
{
	if (check_live(m) < 0)
		return NULL;
	if (!m->message.header) {
		PyErr_SetString(PyExc_ValueError, "a loan has no header yet");
		return NULL;
	}
	return m->message.header;
}

#define HEADER_FIELD(field)                                               \
	static PyObject *message_##field(MessageObject *m, void *closure) \
	{                                                                 \
		const struct bus_message_header *h = header_of(m);        \
		return h ? PyLong_FromUnsignedLongLong(h->field) : NULL;  \
	}
HEADER_FIELD(sequence)
HEADER_FIELD(publish_time_ns)
HEADER_FIELD(correlation_id)
HEADER_FIELD(delivery_count)
HEADER_FIELD(producer_id)
HEADER_FIELD(expiry_ns)

static PyObject *message_redelivered(MessageObject *m, void *closure)
{
	const struct bus_message_header *h = header_of(m);

	if (!h)
		return NULL;
	return PyBool_FromLong(h->flags & BUS_MESSAGE_REDELIVERED);
}

/* The fixed header as a dict: what every message carries. */
static PyObject *message_header(MessageObject *m, void *closure)
{
	const struct bus_message_header *h = header_of(m);

	if (!h)
		return NULL;
	return Py_BuildValue(
		"{sKsKsKsKsIsIsO}", "sequence",
		(unsigned long long)h->sequence, "publish_time_ns",
		(unsigned long long)h->publish_time_ns, "correlation_id",
		(unsigned long long)h->correlation_id, "expiry_ns",
		(unsigned long long)h->expiry_ns, "producer_id",
		(unsigned int)h->producer_id, "delivery_count",
		(unsigned int)h->delivery_count, "redelivered",
		(h->flags & BUS_MESSAGE_REDELIVERED) ? Py_True : Py_False);
}

typedef int (*text_getter)(const struct bus_message *, char *, size_t);

/* A text of the header room, or None when the message has none. */
static PyObject *header_text(MessageObject *m, text_getter get,
			     const char *what)
{
	char buf[BUS_MESSAGE_KEY_MAX + 1];
	int rc;

	if (check_live(m) < 0)
		return NULL;
	rc = get(&m->message, buf, sizeof(buf));
	if (rc < 0)
		return shmbus_raise_plain(rc, what);
	if (rc == 0)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(buf, rc, "replace");
}

static PyObject *message_key(MessageObject *m, void *closure)
{
	return header_text(m, bus_message_key, "key");
}

static PyObject *message_reply_to(MessageObject *m, void *closure)
{
	return header_text(m, bus_message_reply_to, "reply_to");
}

/* {name: value} of the user headers; the first of repeated names wins. */
static PyObject *message_headers(MessageObject *m, void *closure)
{
	char name[BUS_MESSAGE_HEADER_NAME_MAX + 1];
	char value[BUS_MESSAGE_HEADER_VALUE_MAX + 1];
	PyObject *dict, *k, *v;
	uint32_t i;
	int rc;

	if (check_live(m) < 0 || !(dict = PyDict_New()))
		return NULL;
	for (i = 0; i < BUS_MESSAGE_HEADERS_MAX; i++) {
		rc = bus_message_header_at(&m->message, i, name, sizeof(name),
					   value, sizeof(value));
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			Py_DECREF(dict);
			return shmbus_raise_plain(rc, "headers");
		}
		k = PyUnicode_DecodeUTF8(name, strlen(name), "replace");
		v = PyUnicode_DecodeUTF8(value, rc, "replace");
		if (!k || !v ||
		    (!PyDict_Contains(dict, k) &&
		     PyDict_SetItem(dict, k, v) < 0)) {
			Py_XDECREF(k);
			Py_XDECREF(v);
			Py_DECREF(dict);
			return NULL;
		}
		Py_DECREF(k);
		Py_DECREF(v);
	}
	return dict;
}

static PyObject *message_topic(MessageObject *m, void *closure)
{
	return Py_NewRef(m->topic ? m->topic : Py_None);
}

static PyObject *message_lost(MessageObject *m, void *closure)
{
	return PyLong_FromUnsignedLongLong(m->lost);
}

static PyObject *message_is_live(MessageObject *m, void *closure)
{
	return PyBool_FromLong(m->live);
}

static PyObject *message_repr(MessageObject *m)
{
	if (!m->live)
		return PyUnicode_FromFormat("<shmbus.Message (finished)>");
	if (is_loan(m))
		return PyUnicode_FromFormat(
			"<shmbus.Message loan of %u bytes>",
			m->message.capacity);
	return PyUnicode_FromFormat(
		"<shmbus.Message seq=%llu %u bytes>",
		(unsigned long long)m->message.header->sequence,
		m->message.length);
}

static PyGetSetDef message_getset[] = {
	{ "payload", (getter)message_payload, NULL,
	  "memoryview of the payload in shared memory (read-only when "
	  "received, writable for a loan); valid until ack/nack/release/"
	  "commit, which release it",
	  NULL },
	{ "header", (getter)message_header, NULL,
	  "dict of the fixed header: sequence, publish_time_ns, "
	  "correlation_id, expiry_ns, producer_id, delivery_count, "
	  "redelivered",
	  NULL },
	{ "sequence", (getter)message_sequence, NULL, "per-queue sequence",
	  NULL },
	{ "publish_time_ns", (getter)message_publish_time_ns, NULL,
	  "CLOCK_MONOTONIC ns at commit (0: not stamped)", NULL },
	{ "correlation_id", (getter)message_correlation_id, NULL,
	  "request/reply correlation id (0: none)", NULL },
	{ "delivery_count", (getter)message_delivery_count, NULL,
	  "1 on the first delivery", NULL },
	{ "producer_id", (getter)message_producer_id, NULL,
	  "busd's id of the producing client", NULL },
	{ "expiry_ns", (getter)message_expiry_ns, NULL,
	  "CLOCK_MONOTONIC deadline (0: none)", NULL },
	{ "redelivered", (getter)message_redelivered, NULL,
	  "True when delivered before", NULL },
	{ "key", (getter)message_key, NULL, "routing key or None", NULL },
	{ "reply_to", (getter)message_reply_to, NULL, "reply-to name or None",
	  NULL },
	{ "headers", (getter)message_headers, NULL, "dict of user headers",
	  NULL },
	{ "topic", (getter)message_topic, NULL,
	  "the topic of a wildcard subscription's message, else None", NULL },
	{ "lost", (getter)message_lost, NULL,
	  "messages this subscriber lost (overwrite) before this one", NULL },
	{ "live", (getter)message_is_live, NULL,
	  "False once acked, nacked, released or committed", NULL },
	{ NULL },
};

static PyMethodDef message_methods[] = {
	{ "ack", SHMBUS_METHOD(message_ack), METH_NOARGS,
	  "Marks the message done (a subscription's: releases it)." },
	{ "nack", SHMBUS_METHOD(message_nack), METH_NOARGS,
	  "Hands the message back for redelivery." },
	{ "release", SHMBUS_METHOD(message_release), METH_NOARGS,
	  "Done with a subscription's message." },
	{ "commit", SHMBUS_METHOD(message_commit), METH_O,
	  "commit(length): publishes a loan holding length payload bytes." },
	{ "__enter__", SHMBUS_METHOD(message_enter), METH_NOARGS, NULL },
	{ "__exit__", SHMBUS_METHOD(message_exit), METH_VARARGS, NULL },
	{ NULL },
};

PyTypeObject MessageType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus.Message",
	.tp_basicsize = sizeof(MessageObject),
	.tp_dealloc = (destructor)message_dealloc,
	.tp_repr = (reprfunc)message_repr,
	.tp_as_buffer = &message_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A message in shared memory: received (ack/nack/release) "
		  "or loaned (commit).",
	.tp_methods = message_methods,
	.tp_getset = message_getset,
};
