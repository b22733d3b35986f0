"""What travels from the runtime's side of the server to the client that invoked, and the channel it
travels through.

A buffered answer is one :class:`Reply` or :class:`Failure`. A streamed one is a :class:`StreamStart`,
``bytes`` chunks as the runtime sends them, then a :class:`StreamEnd` (or a :class:`Failure` when the
stream is cut short). The channel holds only a few parts: a runtime streaming faster than its client
reads is slowed down through TCP, not buffered in memory.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .. import protocol


class Reply:
    """A complete buffered response: status, headers and body for the client."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Failure:
    """The invocation failed: the function's error, an init error, a timeout, or the server stopping.

    ``body`` is the error JSON (``errorMessage``, ``errorType``...). ``function_error`` says whether
    the client should see it as the function's error (``X-Amz-Function-Error``) or the server's.
    """

    __slots__ = ("body", "error_type", "function_error", "status")

    def __init__(self, error_type: str, body: bytes, status: int = 500, function_error: bool = True) -> None:
        self.error_type = error_type
        self.body = body
        self.status = status
        self.function_error = function_error

    @classmethod
    def of(cls, error_type: str, message: str, status: int = 500, function_error: bool = True) -> Failure:
        """A failure the server itself reports, with the usual error JSON as its body."""
        return cls(error_type, protocol.error_body(error_type, message), status, function_error)


class StreamStart:
    """The runtime started a streamed response with this content type; chunks follow."""

    __slots__ = ("content_type",)

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type


class StreamEnd:
    """The streamed response is complete; ``trailers`` carry the error the runtime reported, if any."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: list[tuple[str, str]]) -> None:
        self.trailers = trailers


Part = Reply | Failure | StreamStart | StreamEnd | bytes
FINAL_PARTS = (Reply, Failure, StreamEnd)


class ResultChannel:
    """One invocation's result, from the runtime's connection (the writer) to the client's (the reader).

    :meth:`put` waits while ``capacity`` parts are pending; :meth:`end` adds the last part at once.
    Once the client is gone (:meth:`abandon`) or the result has ended, parts are refused (``False``)
    and a writer is never left waiting.
    """

    __slots__ = ("_abandoned", "_capacity", "_ended", "_parts", "_readable", "_writable")

    def __init__(self, capacity: int = 16) -> None:
        self._parts: deque[Part] = deque()
        self._capacity = capacity
        self._ended = False
        self._abandoned = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()

    @property
    def ended(self) -> bool:
        """Whether the last part is in (the invocation has its answer)."""
        return self._ended

    @property
    def abandoned(self) -> bool:
        """Whether the client went away (nothing more is delivered)."""
        return self._abandoned

    async def put(self, part: StreamStart | bytes) -> bool:
        """Add a part once there is room; ``False`` (and nothing added) when nobody will read it."""
        while len(self._parts) >= self._capacity and not (self._abandoned or self._ended):
            self._writable.clear()
            await self._writable.wait()
        if self._abandoned or self._ended:
            return False
        self._parts.append(part)
        self._readable.set()
        return True

    def end(self, part: Reply | Failure | StreamEnd) -> bool:
        """Add the last part; ``False`` when the result had already ended or the client is gone."""
        if self._ended or self._abandoned:
            return False
        self._ended = True
        self._parts.append(part)
        self._readable.set()
        self._writable.set()
        return True

    def abandon(self) -> None:
        """The client is gone: drop what is pending and refuse the rest."""
        self._abandoned = True
        self._parts.clear()
        self._readable.set()
        self._writable.set()

    async def get(self) -> Part | None:
        """The next part, waiting for it; ``None`` once the channel is abandoned."""
        while not self._parts:
            if self._abandoned:
                return None
            self._readable.clear()
            await self._readable.wait()
        part = self._parts.popleft()
        self._writable.set()
        return part
