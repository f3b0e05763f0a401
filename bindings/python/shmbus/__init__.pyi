# SPDX-License-Identifier: MIT
# Type stubs of the package shmbus (see _shmbus.pyi for the C half).
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Optional, Union

from typing_extensions import Buffer

from . import _shmbus
from ._shmbus import (Address, Message, Requester, Responder, Topic,
                      strerror, subject_match)
from .errors import (AccessDenied, Busy, Cancelled, Closed, Error, Exists,
                     Full, InvalidArgument, MessageTooLarge, NoResponder,
                     NotFound, ProtocolMismatch, Stale, Timeout,
                     TooManyUnacked)

class Queue(_shmbus.Queue):
    async def receive_async(self, timeout: Optional[float] = None) -> Message: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    async def __anext__(self) -> Message: ...

class Subscription(_shmbus.Subscription):
    async def receive_async(self, timeout: Optional[float] = None) -> Message: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    async def __anext__(self) -> Message: ...

class Bus(_shmbus.Bus):
    def queue(self, name: str, role: Any, wait: Any = ..., *,
              spin_ns: int = ..., timestamps: bool = ...) -> Queue: ...
    def subscribe(self, pattern: str, history: int = ..., wait: Any = ...,
                  *, spin_ns: int = ...,
                  from_sequence: Optional[int] = ...,
                  from_time: Union[datetime, float, None] = ...
                  ) -> Subscription: ...
    def request(self, service: str, data: Buffer,
                timeout: Optional[float] = 1.0, *,
                reply_to: Optional[str] = None,
                max_reply: int = 65536) -> bytes: ...
    async def request_async(self, service: str, data: Buffer,
                            timeout: Optional[float] = 1.0, *,
                            reply_to: Optional[str] = None,
                            max_reply: int = 65536) -> bytes: ...
    def serve(self, service: str, handler: Callable[[Message], Buffer], *,
              count: Optional[int] = None,
              timeout: Optional[float] = None) -> int: ...

def connect(name: Optional[str] = None) -> Bus: ...
