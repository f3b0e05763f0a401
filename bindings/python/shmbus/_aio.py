# SPDX-License-Identifier: MIT
"""asyncio receive on the waitset's file descriptor.

A handle's waitset (made on first use, one member: the handle) is armed,
its fd is given to ``loop.add_reader``, and the coroutine sleeps until a
publisher's futex wake makes the fd readable: no thread, no polling.  A
message committed between the try and the arm makes the arm ready at once,
so no wake-up is lost.
"""
import asyncio
import errno
import weakref

from . import _shmbus
from .errors import Timeout


def _timeout_error():
    return Timeout(errno.ETIMEDOUT, _shmbus.strerror(errno.ETIMEDOUT), "",
                   "receive_async")


def check_timeout(timeout):
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds or None, "
                        f"not {type(timeout).__name__}")
    if not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, "
                         f"not {timeout!r}")


# Handles a coroutine waits on now.  One fd has one add_reader callback
# per loop: a second waiter would replace the first one's, which would
# then never wake.
_awaited = weakref.WeakSet()


async def receive(handle, timeout):
    """The next message of a Queue (consumer) or Subscription."""
    check_timeout(timeout)
    if handle in _awaited:
        raise RuntimeError(
            f"another coroutine awaits this {type(handle).__name__} "
            "already: one receive_async at a time per handle (open a "
            "handle for each, or hand messages on through a queue)")
    _awaited.add(handle)
    try:
        return await _receive(handle, timeout)
    finally:
        _awaited.discard(handle)


async def _receive(handle, timeout):
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        message = handle.try_receive()
        if message is not None:
            return message
        fd = handle._arm()
        ready = loop.create_future()

        def wake():
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            if deadline is None:
                await ready
            else:
                left = deadline - loop.time()
                if left <= 0:
                    raise _timeout_error()
                try:
                    await asyncio.wait_for(ready, left)
                except asyncio.TimeoutError:
                    raise _timeout_error() from None
        finally:
            loop.remove_reader(fd)
            handle._disarm()
