# SPDX-License-Identifier: MIT
"""shmbus: the same-host shared-memory message bus, from Python.

A thin layer over the C extension ``shmbus._shmbus``, which wraps libbus's
public API (include/bus/bus.h).  Receiving is zero-copy: ``msg.payload`` is
a read-only memoryview into shared memory, valid until ``msg.ack()``.  See
README.md beside this package.

    bus = shmbus.connect()
    with bus.queue("orders", "consumer") as q:
        with q.receive(timeout=1.0) as msg:   # acked on normal exit
            handle(msg.payload)
"""
import asyncio
import errno as _errno
import itertools
import os

from . import _aio, _shmbus, errors
from .errors import *  # noqa: F401,F403 - the exception hierarchy
from .errors import BY_ERRNO, Error, NoResponder, Timeout

__all__ = ["connect", "Bus", "Queue", "Subscription", "Topic", "Message",
           "Address", "Requester", "Responder", "strerror", "subject_match"]
__all__ += list(errors.__all__)

Message = _shmbus.Message
Topic = _shmbus.Topic
Address = _shmbus.Address
Requester = _shmbus.Requester
Responder = _shmbus.Responder
strerror = _shmbus.strerror
subject_match = _shmbus.subject_match

_shmbus._set_errors(Error, BY_ERRNO)


class Queue(_shmbus.Queue):
    """A producer or consumer handle of a queue; see Bus.queue()."""

    __slots__ = ()

    async def receive_async(self, timeout=None):
        """Awaits the next message (loop.add_reader on the waitset fd)."""
        return await _aio.receive(self, timeout)

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await _aio.receive(self, None)


class Subscription(_shmbus.Subscription):
    """A subscription to a topic or a pattern; see Bus.subscribe()."""

    __slots__ = ()

    async def receive_async(self, timeout=None):
        """Awaits the next message (loop.add_reader on the waitset fd)."""
        return await _aio.receive(self, timeout)

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await _aio.receive(self, None)


_shmbus._set_classes(Queue, Subscription)

_reply_numbers = itertools.count(1)


class Bus(_shmbus.Bus):
    """A connection to busd; see connect()."""

    def __init__(self, name=None):
        super().__init__()
        self._requesters = {}
        self._async_requests = {}
        self._reply_queues = []
        self._correlation = itertools.count(
            int.from_bytes(os.urandom(4), "little") << 20)

    # ---- request / reply --------------------------------------------------

    def _reply_queue(self, max_reply):
        """A private reply queue, deleted again by close()."""
        name = f"reply.{os.getpid()}.{next(_reply_numbers)}"
        self.create_queue(name, slots=16, max_unacked=16,
                          max_message=max_reply)
        self._reply_queues.append(name)
        return name

    def request(self, service, data, timeout=1.0, *, reply_to=None,
                max_reply=65536):
        """Sends data to service and returns the reply's bytes.

        reply_to names an existing queue to take replies on; None creates
        a private one (admin rights needed), kept for later requests to
        the same service and deleted by close().  The service needs
        header_room >= 4 + len(reply_to).  Raises NoResponder when nothing
        consumes from the service, Timeout after timeout seconds.
        """
        key = (service, reply_to)
        requester = self._requesters.get(key)
        if requester is None:
            name = reply_to or self._reply_queue(max_reply)
            requester = self.requester(service, name)
            self._requesters[key] = requester
        return requester.request(data, timeout, max_reply=max_reply)

    async def request_async(self, service, data, timeout=1.0, *,
                            reply_to=None, max_reply=65536):
        """request() for asyncio: awaits the reply on the reply queue's
        waitset fd.  The service is a queue; replies to other requests
        that arrive on the reply queue (late ones) are dropped."""
        _aio.check_timeout(timeout)
        key = (service, reply_to)
        pair = self._async_requests.get(key)
        if pair is None:
            name = reply_to or self._reply_queue(max_reply)
            pair = (self.queue(service, "producer"),
                    self.queue(name, "consumer"), name)
            self._async_requests[key] = pair
        producer, replies, name = pair
        if self.stat(service).get("consumers", 1) == 0:
            raise NoResponder(_errno.ENXIO, strerror(_errno.ENXIO),
                              f"nothing consumes from {service!r}",
                              "request_async")
        correlation = next(self._correlation)
        producer.send(data, correlation_id=correlation, reply_to=name,
                      timeout=timeout)
        loop_time = asyncio.get_running_loop().time
        deadline = None if timeout is None else loop_time() + timeout
        while True:
            left = None if deadline is None else max(0.0,
                                                     deadline - loop_time())
            msg = await replies.receive_async(left)
            with msg:
                if msg.correlation_id == correlation:
                    return bytes(msg.payload)

    def serve(self, service, handler, *, count=None, timeout=None):
        """The responder loop: for each request on the queue service,
        replies with handler(msg) (bytes-like) and acks it.  Stops after
        count requests, or when none came for timeout seconds (returns the
        number served); an exception of handler nacks the request and
        propagates."""
        served = 0
        with self.queue(service, "consumer") as requests, \
                self.responder() as responder:
            while count is None or served < count:
                try:
                    msg = requests.receive(timeout)
                except Timeout:
                    break
                with msg:
                    responder.reply(msg, handler(msg))
                served += 1
        return served

    def close(self):
        """Closes every handle, deletes the private reply queues, and
        closes the connection."""
        if self.closed:
            return
        for handle in list(self._requesters.values()):
            handle.close()
        for producer, replies, _ in self._async_requests.values():
            producer.close()
            replies.close()
        self._requesters.clear()
        self._async_requests.clear()
        for name in self._reply_queues:
            try:
                self.delete(name)
            except Error:
                pass
        self._reply_queues.clear()
        super().close()

    def __exit__(self, *exc):
        self.close()
        return False


def connect(name=None):
    """Connects to the busd serving the bus name (None: $BUS_NAME, else
    "default").  Raises shmbus.Closed when no busd serves it."""
    return Bus(name)
