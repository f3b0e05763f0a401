# SPDX-License-Identifier: MIT
"""The exceptions of shmbus, mapped from libbus's negative errno values.

Every one is a ``shmbus.Error``, itself an ``OSError`` (``.errno`` and
``.strerror``, the sentence of ``bus_strerror()``), with ``.detail`` (what
``bus_error_detail()`` said: which name or field) and ``.what`` (the call).
Where a built-in exception means the same, the class subclasses it too, so
``except TimeoutError`` and ``except FileNotFoundError`` work.
"""
import errno as _errno

__all__ = [
    "Error", "NotFound", "Exists", "Timeout", "Full", "Closed",
    "NoResponder", "AccessDenied", "InvalidArgument", "MessageTooLarge",
    "Busy", "Cancelled", "Stale", "TooManyUnacked", "ProtocolMismatch",
]


class Error(OSError):
    """A libbus call failed: errno, strerror, detail, what."""

    def __init__(self, errno, strerror, detail="", what=""):
        super().__init__(errno, strerror)
        self.detail = detail
        self.what = what

    def __str__(self):
        text = f"{self.what}: {self.strerror}" if self.what else self.strerror
        return f"{text} ({self.detail})" if self.detail else text


class NotFound(Error, FileNotFoundError):
    """No such queue, topic, route or bus (ENOENT)."""


class Exists(Error, FileExistsError):
    """The name is taken (EEXIST)."""


class Timeout(Error, TimeoutError):
    """Nothing came, or no room, in time (ETIMEDOUT; EAGAIN with timeout 0)."""


class Full(Error):
    """The queue is full and rejects (ENOBUFS)."""


class Closed(Error, ConnectionError):
    """No busd serves the bus, or the queue or topic was deleted
    (ENOTCONN, EIDRM, ECONNREFUSED)."""


class NoResponder(Error):
    """Nothing consumes from the request's service (ENXIO)."""


class AccessDenied(Error, PermissionError):
    """The queue's or topic's mode keeps this user out (EACCES, EPERM)."""


class InvalidArgument(Error, ValueError):
    """A bad name, pattern, key or setting (EINVAL)."""


class MessageTooLarge(Error, ValueError):
    """The payload is larger than max_message (EMSGSIZE)."""


class Busy(Error):
    """The queue's producer or consumer table is full, or it is in use
    (EBUSY)."""


class Cancelled(Error):
    """The handle was cancelled (ECANCELED)."""


class Stale(Error):
    """The ack came after busd took the message back (ESTALE)."""


class TooManyUnacked(Error):
    """The consumer holds max_unacked messages: ack some (ENOLCK)."""


class ProtocolMismatch(Error):
    """busd or a segment speaks another version (EPROTO)."""


BY_ERRNO = {
    _errno.ENOENT: NotFound,
    _errno.EEXIST: Exists,
    _errno.ETIMEDOUT: Timeout,
    _errno.EAGAIN: Timeout,
    _errno.ENOBUFS: Full,
    _errno.ENOTCONN: Closed,
    _errno.EIDRM: Closed,
    _errno.ECONNREFUSED: Closed,
    _errno.ENXIO: NoResponder,
    _errno.EACCES: AccessDenied,
    _errno.EPERM: AccessDenied,
    _errno.EINVAL: InvalidArgument,
    _errno.EMSGSIZE: MessageTooLarge,
    _errno.EBUSY: Busy,
    _errno.ECANCELED: Cancelled,
    _errno.ESTALE: Stale,
    _errno.ENOLCK: TooManyUnacked,
    _errno.EPROTO: ProtocolMismatch,
}
