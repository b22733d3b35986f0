"""HTTP/1.1 over one asyncio connection, framed by h11: read requests, write responses.

This is the only module that touches h11's state machine. It adds what every route needs: bodies read
under a size limit, ``100 Continue`` sent only once a body is wanted, a watch on the peer going away
while a response is pending, and a refusal (400, 413...) that still lets the client read it.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus

import h11

from .. import protocol

_READ_SIZE = 64 * 1024
# After refusing a request body, how much of it is read and dropped (and for how long) so that the
# client, still sending, gets to read the refusal instead of a connection reset.
_DRAIN_BYTES = 64 * 1024 * 1024
_DRAIN_SECONDS = 2.0


class BodyTooLarge(Exception):
    """A request body is over the route's limit."""


class PeerGone(Exception):
    """The peer closed the connection (or it broke) in the middle of a request."""


def header(request: h11.Request, name: bytes) -> str | None:
    """A request header's value (repeated headers joined by commas), or ``None``; ``name`` lower case."""
    values = [value for key, value in request.headers if key == name]
    if not values:
        return None
    return b", ".join(values).decode("latin-1")


def json_body(error_type: str, message: str) -> bytes:
    """The error JSON the server answers with (the same shape as a function's error)."""
    return protocol.error_body(error_type, message)


class HTTPConnection:
    """One client connection: h11 on top of an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=protocol.MAX_HEAD_BYTES)
        self._eof = False
        # True while waiting for a new request to start: closing the server may cut such a connection.
        self.idle = True
        # How the response being sent is framed (set by start_response).
        self.body_allowed = True
        self.chunked = False

    @property
    def peer_gone(self) -> bool:
        """Whether the peer has closed its side of the connection."""
        return self._eof

    @property
    def http11(self) -> bool:
        """Whether the current request is HTTP/1.1 (so a response can be chunked, with trailers)."""
        return self._h11.their_http_version == b"1.1"

    # -- reading -------------------------------------------------------------------------------------

    async def _receive(self) -> None:
        if self._eof:
            self._h11.receive_data(b"")
            return
        try:
            data = await self._reader.read(_READ_SIZE)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self._eof = True
        self._h11.receive_data(data)

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        """The next event from the peer, reading as needed; raises ``h11.RemoteProtocolError``."""
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # h11 types its sentinels loosely
            if self._h11.they_are_waiting_for_100_continue:
                await self._send(h11.InformationalResponse(status_code=100, headers=[]))
            await self._receive()

    async def next_request(self) -> h11.Request | None:
        """The next request's head, or ``None`` when the peer closed the connection between requests."""
        event = await self.next_event()
        if isinstance(event, h11.Request):
            # h11 bounds a head only while it is incomplete: one that arrived whole in a single read is
            # held to the same limit here, so the answer does not depend on how the bytes were split.
            size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
            if size > protocol.MAX_HEAD_BYTES:
                raise h11.RemoteProtocolError(
                    f"the request head is over {protocol.MAX_HEAD_BYTES} bytes", error_status_hint=431
                )
            return event
        if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None
        raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} before a request")

    async def read_part(self) -> bytes | h11.EndOfMessage:
        """The next piece of the request body, or its end (with any trailers); raises :class:`PeerGone`."""
        event = await self.next_event()
        if isinstance(event, h11.Data):
            return bytes(event.data)
        if isinstance(event, h11.EndOfMessage):
            return event
        raise PeerGone("the connection closed in the middle of a request body")

    async def read_body(self, limit: int) -> tuple[bytes, h11.EndOfMessage]:
        """The whole request body and its end; raises :class:`BodyTooLarge` beyond ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        while True:
            part = await self.read_part()
            if isinstance(part, h11.EndOfMessage):
                return b"".join(parts), part
            size += len(part)
            if size > limit:
                raise BodyTooLarge(f"the request body is over {limit} bytes")
            parts.append(part)

    @staticmethod
    def announced_length(request: h11.Request) -> int | None:
        """The request's ``Content-Length`` (h11 has already checked it), if it has one."""
        text = header(request, b"content-length")
        return int(text) if text is not None and text.isdigit() else None

    async def discard_body(self) -> bool:
        """Read and drop the rest of the request body (within bounds); whether its end was reached."""
        try:
            return await asyncio.wait_for(self._discard(), _DRAIN_SECONDS)
        except (asyncio.TimeoutError, PeerGone, h11.RemoteProtocolError):
            return False

    async def _discard(self) -> bool:
        dropped = 0
        while dropped <= _DRAIN_BYTES:
            if self._h11.their_state is not h11.SEND_BODY:
                return self._h11.their_state is h11.DONE
            part = await self.read_part()
            if isinstance(part, h11.EndOfMessage):
                return True
            dropped += len(part)
        return False

    def watch_peer(self) -> asyncio.Task[None]:
        """A task that ends when the peer closes the connection (bytes it sends meanwhile are kept for
        the next request). Cancel it once the response is complete."""
        return asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while not self._eof:
            await self._receive()

    # -- writing -------------------------------------------------------------------------------------

    async def _send(self, event: h11.Event) -> None:
        data = self._h11.send(event)
        if data:
            self._writer.write(data)
            await self._writer.drain()

    async def start_response(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Send a response head; the body follows through :meth:`send_data` and :meth:`end_response`.

        Without a ``Content-Length`` the body of an HTTP/1.1 response is chunked (:attr:`chunked`: it
        can end with trailers); a 204 or 304 has no body at all (:attr:`body_allowed`).
        """
        self.body_allowed = status not in (204, 304)
        has_length = any(name.lower() == "content-length" for name, _ in headers)
        self.chunked = self.http11 and self.body_allowed and not has_length
        await self._send(h11.Response(status_code=status, headers=_encode(headers), reason=_reason(status)))

    async def send_data(self, data: bytes) -> None:
        """Send part of the response body (nothing for empty ``data``)."""
        if data:
            await self._send(h11.Data(data=data))

    async def end_response(self, trailers: list[tuple[str, str]] | None = None) -> None:
        """End the response body, with ``trailers`` when the response is chunked (else they are
        dropped)."""
        await self._send(h11.EndOfMessage(headers=_encode(trailers or []) if self.chunked else []))

    async def respond(
        self,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = "application/json",
        close: bool = False,
    ) -> None:
        """Send a whole response (``content_type=None`` when ``headers`` already have one)."""
        all_headers = [*(headers or []), ("Content-Length", str(len(body)))]
        if content_type is not None:
            all_headers.insert(0, ("Content-Type", content_type))
        if close:
            all_headers.append(("Connection", "close"))
        await self.start_response(status, all_headers)
        await self.send_data(body)
        await self.end_response()

    async def reject(
        self, status: int, error_type: str, message: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        """Answer a request with an error once its body is read and dropped (within bounds); the
        connection stays open when the whole body could be read."""
        complete = True
        if self._h11.their_state is h11.SEND_BODY:
            complete = await self.discard_body()
        await self.respond(status, json_body(error_type, message), headers, close=not complete)

    async def refuse(self, status: int, error_type: str, message: str, drain: bool = True) -> None:
        """Answer a request with an error and close the connection afterwards.

        Unless ``drain`` is false, the rest of the request body is read first (within bounds), so a
        client still sending it gets to read the answer.
        """
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        with contextlib.suppress(ConnectionError, OSError):
            await self.respond(status, json_body(error_type, message), close=True)
            if drain and self._h11.their_state is h11.SEND_BODY:
                await self.discard_body()

    def next_cycle(self) -> bool:
        """Get ready for the next request on this connection; ``False`` when it must close instead."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    @property
    def writable(self) -> bool:
        """Whether the connection can still take bytes."""
        return not self._writer.is_closing()

    async def close(self) -> None:
        """Close the connection (politely when possible, at once when the peer is gone)."""
        writer = self._writer
        if writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, OSError):
            if writer.can_write_eof():
                writer.write_eof()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)

    def abort(self) -> None:
        """Cut the connection (a streamed body the client must not take as complete)."""
        transport = self._writer.transport
        transport.abort()


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    # Header values outside ASCII (from a function's own headers) go out as UTF-8, as most servers do.
    return [(name.encode("ascii"), value.encode("utf-8")) for name, value in headers]


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
