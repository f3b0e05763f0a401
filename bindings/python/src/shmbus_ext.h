/* SPDX-License-Identifier: MIT */
/*
 * shmbus._shmbus: the CPython extension over libbus's public API
 * (include/bus/bus.h alone).  The Python package `shmbus` wraps it.
 *
 * Objects and who keeps whom alive:
 *
 *   Bus  <-- every handle (Queue, Topic, Subscription, Address, Requester,
 *            Responder) holds a strong reference to its Bus
 *   handle <-- every Message holds a strong reference to its handle
 *   Message <-- every memoryview of its payload holds it (buffer protocol)
 *
 * so a C handle is never closed under a live message, and a message never
 * outlives the mapping its payload points into.  Explicit close() calls
 * (Bus.close closes its handles, a handle closes its messages) refuse with
 * BufferError while a payload buffer is still exported, after releasing the
 * memoryview that Message.payload handed out.
 *
 * Threads: the GIL is released around every wait.  A C handle is used by
 * one thread at a time (bus.h's handle rules); `busy` makes a second
 * thread's call on a handle that is blocked in another raise RuntimeError
 * instead of breaking that rule.  The GIL serialises everything else.
 */
#ifndef SHMBUS_EXT_H
#define SHMBUS_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <bus/bus.h>

/* A method table entry: CPython calls it with the signature its flags
 * say; the cast through void (*)(void) says so to -Wcast-function-type. */
#define SHMBUS_METHOD(function) ((PyCFunction)(void (*)(void))(function))

/* ---- errors (errors.c) ----------------------------------------------- */

/* Raises the shmbus.Error subclass mapped from -error, with bus_strerror()
 * and bus_error_detail(bus) (bus may be NULL: the thread's connect detail)
 * and what names the call.  Returns NULL for `return shmbus_raise(...)`. */
PyObject *shmbus_raise(int error, const bus_t *bus, const char *what);
/* The same for functions that return int: returns -1. */
int shmbus_raise_int(int error, const bus_t *bus, const char *what);
/* For the data path (send, receive, ack, keys): those calls set no
 * detail, and the connection's is that of an older failure.  -1. */
int shmbus_raise_data(int error, const char *what);
PyObject *shmbus_raise_plain(int error, const char *what);
PyObject *shmbus_raise_detail(int error, const char *detail, const char *what);
/* _shmbus._set_errors(base, {errno: class}) from shmbus/errors.py. */
PyObject *shmbus_set_errors(PyObject *module, PyObject *args);

/* ---- arguments (args.c) ---------------------------------------------- */

/* None: BUS_FOREVER; a number of seconds >= 0: nanoseconds.  Negative,
 * NaN or a non-number raise ValueError/TypeError and return -1 with
 * *out untouched. */
int shmbus_timeout(PyObject *seconds, int64_t *out);
/* A str name (UTF-8, no NUL) into *out, borrowed from the object. */
int shmbus_name(PyObject *name, const char *what, const char **out);

/* "spin-futex", "busy" or "futex" (None: spin-futex). */
int shmbus_wait_strategy(PyObject *word, enum bus_wait_strategy *out);

/* ---- fork ------------------------------------------------------------ */

/* Raised in a child by pthread_atfork: handles made before the fork belong
 * to the parent (bus.h: the child calls bus_connect() itself). */
extern unsigned long shmbus_fork_generation;

/* ---- Bus and the handle base (bus_object.c, handle.c) ---------------- */

struct shmbus_handle;

typedef struct {
	PyObject_HEAD bus_t *bus;
	unsigned long fork_generation;
	/* Open handles of this connection, closed by Bus.close(). */
	struct shmbus_handle *handles;
	/* Threads inside a call on bus with the GIL released (stat, opens,
	 * administration): close() refuses while one runs, so that it never
	 * disconnects under them, and no open finishes on a closed Bus. */
	unsigned int calls;
	PyObject *weakrefs;
} BusObject;

/* Runs statement (a call on bus->bus) with the GIL released, counted in
 * bus->calls. */
#define SHMBUS_BUS_CALL(bus, statement)             \
	do {                                        \
		(bus)->calls++;                     \
		Py_BEGIN_ALLOW_THREADS statement;   \
		Py_END_ALLOW_THREADS(bus)->calls--; \
	} while (0)

struct shmbus_message;

/* Closes the C handle (not the Python object); called once. */
typedef void (*shmbus_close_fn)(struct shmbus_handle *handle);
/* Adds the C handle to a waitset (NULL: the kind cannot be waited on). */
typedef int (*shmbus_waitset_add_fn)(struct shmbus_handle *handle,
				     bus_waitset_t *waitset);

#define SHMBUS_KEPT_MAX 4

/* The head of every handle object. */
struct shmbus_handle {
	PyObject_HEAD BusObject *bus;	   /* strong; NULL once closed */
	struct shmbus_handle *next, *prev; /* in bus->handles */
	shmbus_close_fn close;
	shmbus_waitset_add_fn waitset_add;
	/* A thread is inside a call with the GIL released. */
	int busy;
	/* Messages received or loaned and not yet finished. */
	struct shmbus_message *messages;
	/* Loans left uncommitted (an exception in a with block, a send
	 * whose key was refused): the next loans and sends of the handle
	 * reuse them, so that no consumer waits behind a slot nobody will
	 * commit.  One live loan per handle (loan() says so) and one failed
	 * send at a time keep it at two at most. */
	struct bus_message kept[SHMBUS_KEPT_MAX];
	unsigned int kept_count;
	/* The waitset of the asyncio helpers, made on first use. */
	bus_waitset_t *waitset;
	PyObject *weakrefs;
};

extern PyTypeObject BusType;

/* Checks that the handle is open, of this process and not in use in
 * another thread; raises and returns -1 otherwise. */
int shmbus_handle_enter(struct shmbus_handle *handle);
/* For cancel() and uncancel(), which may come from any thread while
 * another waits: RuntimeError (-1) in a child of fork(), whose handles
 * are its parent's; 0 otherwise (a closed handle too). */
int shmbus_handle_ours(struct shmbus_handle *handle);
/* Links a new handle to its bus (a strong reference) and its closer. */
void shmbus_handle_attach(struct shmbus_handle *handle, BusObject *bus,
			  shmbus_close_fn close,
			  shmbus_waitset_add_fn waitset_add);
/* Finishes the messages (BufferError while a view is held), then closes
 * the C handle; 0, or -1 with an exception.  Closed handles pass. */
int shmbus_handle_close(struct shmbus_handle *handle);
/* Keeps an uncommitted loan for the handle's next loan or send. */
void shmbus_keep_loan(struct shmbus_handle *handle,
		      const struct bus_message *loan);
/* Takes a kept loan into *out (its extras cleared): 1, or 0 if none. */
int shmbus_take_kept_loan(struct shmbus_handle *handle,
			  struct bus_message *out);
/* loan() of a handle that has a live loan: RuntimeError, -1. */
int shmbus_one_loan(struct shmbus_handle *handle);
/* For tp_dealloc: closes without raising (nothing can be exported then:
 * every message holds a reference to its handle). */
void shmbus_handle_dealloc(struct shmbus_handle *handle);
int shmbus_bus_check(BusObject *bus);

/* What a blocking call does once, with a relative timeout. */
typedef int (*shmbus_wait_fn)(void *context, int64_t timeout_ns);
/*
 * Calls fn with the GIL released, in slices of at most 100 ms of
 * timeout_ns, checking for signals (Ctrl-C) between slices and on -EINTR.
 * probe (receives): first calls fn with BUS_NOWAIT and the GIL held, and
 * waits only on -EAGAIN, so that a message already there costs no GIL
 * hand-over.  Producers do not probe: a loan that finds a block queue
 * full with BUS_NOWAIT counts as rejected in the queue's figures.
 * Returns fn's result, or SHMBUS_RAISED when a signal handler raised.
 */
int shmbus_wait(struct shmbus_handle *handle, shmbus_wait_fn fn, void *context,
		int64_t timeout_ns, int probe);
#define SHMBUS_RAISED INT_MIN
/*
 * Calls fn once with the whole timeout and the GIL released: for a call
 * that must not be repeated (a request once sent, a routed send that some
 * targets took, each waiting on the same deadline).  A signal reaches it
 * only as the -EINTR of the wait it interrupts: then a handler that
 * raises (Ctrl-C) gives SHMBUS_RAISED.
 */
int shmbus_call_once(struct shmbus_handle *handle, shmbus_wait_fn fn,
		     void *context, int64_t timeout_ns);

/* The handle's methods for asyncio: _arm() -> fd, _disarm(). */
PyObject *shmbus_handle_arm(struct shmbus_handle *handle);
PyObject *shmbus_handle_disarm(struct shmbus_handle *handle);

/* ---- messages (message_object.c) ------------------------------------- */

enum shmbus_message_kind {
	SHMBUS_RECEIVED_QUEUE, /* ack / nack */
	SHMBUS_RECEIVED_TOPIC, /* release (a subscription's view) */
	SHMBUS_RECEIVED_WILDCARD,
	SHMBUS_LOAN_QUEUE, /* commit */
	SHMBUS_LOAN_TOPIC,
};

typedef struct shmbus_message {
	PyObject_HEAD struct shmbus_handle *owner; /* strong */
	struct bus_message message;
	enum shmbus_message_kind kind;
	int live; /* the view still points at the slot */
	/* Responder.reply() calls reading the message with the GIL
	 * released: finishing it (ack, nack, release, the handle's close)
	 * refuses meanwhile. */
	unsigned int replies;
	Py_ssize_t exports;
	PyObject *view_ref; /* weak reference to msg.payload's memoryview */
	PyObject *topic;    /* wildcard: the topic's name; else NULL */
	uint64_t lost;
	struct shmbus_message *next, *prev; /* in owner->messages */
} MessageObject;

extern PyTypeObject MessageType;

/* A new message of owner, linked in its list. */
MessageObject *shmbus_message_new(struct shmbus_handle *owner,
				  enum shmbus_message_kind kind);
/* Releases msg.payload's memoryview and checks that no other export is
 * left: 0, or -1 with BufferError (RuntimeError while a reply reads the
 * message).  Does not change the message. */
int shmbus_message_drop_views(MessageObject *message);
/* Marks it finished (its payload is gone) and unlinks it. */
void shmbus_message_finish(MessageObject *message);
/* Finishes every message of the handle: -1 with BufferError while one
 * still has an export. */
int shmbus_messages_close(struct shmbus_handle *handle);

/* ---- handle types ---------------------------------------------------- */

typedef struct {
	struct shmbus_handle h;
	bus_queue_t *queue;
	enum bus_role role;
} QueueObject;

typedef struct {
	struct shmbus_handle h;
	bus_topic_t *topic;
} TopicObject;

/* A subscription to one topic, or to a pattern (a wildcard handle). */
typedef struct {
	struct shmbus_handle h;
	bus_subscription_t *subscription;
	bus_wildcard_t *wildcard;
	/* The message whose view the C handle holds (a subscription holds
	 * one until its release or the next receive), or NULL. */
	struct shmbus_message *current;
} SubscriptionObject;

extern PyTypeObject QueueType;
extern PyTypeObject TopicType;
extern PyTypeObject SubscriptionType;
extern PyTypeObject AddressType;
extern PyTypeObject RequesterType;
extern PyTypeObject ResponderType;

/* Bus methods that open handles (in each handle's file). */
PyObject *shmbus_queue_open(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_topic_open(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_subscribe(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_address_open(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_requester_open(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_responder_open(BusObject *bus, PyObject *args);
/* Administration (settings.c): keyword settings as in the config file. */
PyObject *shmbus_create_queue(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_create_topic(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_add_route(BusObject *bus, PyObject *args, PyObject *kw);
PyObject *shmbus_delete_route(BusObject *bus, PyObject *arg);
/* Bus.stat(name) -> dict (stats.c). */
PyObject *shmbus_stat(BusObject *bus, PyObject *args);

/* Fills key, headers, ttl, correlation and reply-to on a loan from keyword
 * arguments (any may be None): 0 or -1 with an exception (extras.c). */
int shmbus_set_extras(struct bus_message *message, const bus_t *bus,
		      PyObject *key, PyObject *headers, PyObject *ttl,
		      PyObject *correlation_id, PyObject *reply_to);

/* MessageTooLarge, naming both sizes, when length > max_message: 0/-1. */
int shmbus_check_size(Py_ssize_t length, uint32_t max_message);

/* Copies data into a loan and commits it through commit (queue or topic
 * commit); the loan must be live.  0, or -1 with an exception. */
int shmbus_fill(struct bus_message *message, const Py_buffer *data);

/* The classes Bus.queue() and Bus.subscribe() make: the Python
 * subclasses shmbus/__init__.py registers with _set_classes(), which add
 * the asyncio methods; else the C types. */
extern PyTypeObject *shmbus_queue_class;
extern PyTypeObject *shmbus_subscription_class;
PyObject *shmbus_set_classes(PyObject *module, PyObject *args);

#endif
