"""The Runtime API client on asyncio, for ``async def`` handlers sharing one event loop.

It is the blocking ``transport`` turned inside out: the same requests, built by ``protocol``'s
:class:`~lambda_runtime.protocol.RequestEncoder`, the same responses, read by its parsers, over one
keep-alive connection per worker; only the socket is asyncio's. Imported only by
``LambdaManagedRuntime`` with an ``async def`` handler (asyncio costs tens of milliseconds of start-up).

A streamed response goes through the same :class:`~lambda_runtime.ResponseStream` as on the blocking
client: its writes are handed to the connection at once (:meth:`AsyncRuntimeClient.send_parts`), and the
Runtime API's answer to the finished stream is awaited by the worker once the handler returns
(:meth:`AsyncRuntimeClient.stream_answer`).
"""

from __future__ import annotations

import asyncio

from . import protocol
from .protocol import Invocation, ProtocolError, RequestEncoder, Response, ResponseParser
from .transport import ConnectionLost, RuntimeAPIError, check_accepted, split_address

_READ_SIZE = 64 * 1024


class AsyncRuntimeClient:
    """One worker's connection to the Runtime API at ``address`` (``host:port``), on asyncio."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._host, self._port = split_address(address)
        self._encoder = RequestEncoder(address)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = ResponseParser()
        self._reused = False
        self._stream_ended = False

    # -- connection ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection unless it is open (a stream's first write needs it open)."""
        if self._writer is not None:
            return
        try:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except OSError as error:
            raise ConnectionLost(f"cannot connect to the Runtime API at {self.address}: {error}") from None
        self._parser = ResponseParser()
        self._reused = False

    def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()

    async def _exchange(self, request: bytes, body: bytes = b"", retry_if_stale: bool = False) -> Response:
        await self.connect()
        reused = self._reused
        writer = self._writer
        assert writer is not None
        try:
            writer.write(request + body if body else request)
            response, received_any = await self._read_response()
        except (ConnectionError, OSError) as error:
            self.close()
            raise ConnectionLost(f"the connection to the Runtime API failed: {error}") from None
        except ProtocolError:
            self.close()
            raise
        if response is None:
            # Closed before a single byte of an answer: an idle keep-alive connection the peer dropped.
            self.close()
            if retry_if_stale and reused and not received_any:
                return await self._exchange(request, body, retry_if_stale=False)
            raise ConnectionLost(f"the Runtime API at {self.address} closed the connection")
        if response.keep_alive:
            self._reused = True
        else:
            self.close()
        return response

    async def _read_response(self) -> tuple[Response | None, bool]:
        """The next response, or None if the peer closed the connection before it was complete."""
        reader = self._reader
        assert reader is not None
        parser = self._parser
        received_any = False
        response = parser.next_response()
        while response is None:
            data = await reader.read(_READ_SIZE)
            if not data:
                if not received_any and parser.idle:
                    return None, False
                parser.feed(b"")
                response = parser.next_response()
                if response is None:
                    return None, True
                break
            received_any = True
            parser.feed(data)
            response = parser.next_response()
        if not parser.idle:
            # No request is outstanding: these bytes answer nothing. Running the invocation would mean
            # running an event cut short by a wrong Content-Length (as the blocking client refuses it).
            raise ProtocolError("the Runtime API sent more bytes than its answer's Content-Length announced")
        return response, received_any

    # -- Runtime API calls ---------------------------------------------------------------------------

    async def next(self) -> Invocation:
        """Wait for the next invocation (``GET /next``)."""
        response = await self._exchange(self._encoder.next_request, retry_if_stale=True)
        if response.status != 200:
            raise RuntimeAPIError(
                f"the Runtime API answered /next with {response.status}: {response.body[:200]!r}"
            )
        return protocol.invocation_from_next(response.headers, response.body)

    async def post_response(
        self, invocation: Invocation, body: bytes, content_type: bytes = b"application/json"
    ) -> None:
        """Post a buffered response; raises ``StaleInvocation`` on 410 Gone."""
        head = self._encoder.response_head(
            invocation.request_id, len(body), invocation.invocation_id, content_type
        )
        check_accepted(await self._exchange(head, body), "response")

    async def post_error(self, invocation: Invocation, error_type: str, body: bytes) -> None:
        """Post an invocation error."""
        request = self._encoder.error_request(
            invocation.request_id, error_type, body, invocation.invocation_id
        )
        check_accepted(await self._exchange(request), "error")

    # -- streamed responses (ResponseStream's side: these are called from the handler, synchronously) --

    def stream_head(self, invocation: Invocation, content_type: str) -> bytes:
        return self._encoder.stream_head(invocation.request_id, invocation.invocation_id, content_type)

    def send_parts(self, parts: list[bytes]) -> None:
        """Hand ``parts`` of a streamed request to the connection (asyncio sends them as it can)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise ConnectionLost("the connection to the Runtime API closed mid-stream")
        writer.writelines(parts)

    def end_stream(self, last: bytes) -> None:
        """Send the end of a streamed body; :meth:`stream_answer` then reads the Runtime API's answer."""
        self.send_parts([last])
        self._stream_ended = True

    async def stream_answer(self) -> None:
        """Await the Runtime API's answer to the stream that just ended, and check it."""
        if not self._stream_ended:
            return
        self._stream_ended = False
        writer = self._writer
        assert writer is not None
        try:
            await writer.drain()
            response, _ = await self._read_response()
        except (ConnectionError, OSError) as error:
            self.close()
            raise ConnectionLost(f"the Runtime API closed the connection after a stream: {error}") from None
        except ProtocolError:
            self.close()
            raise
        if response is None:
            self.close()
            raise ConnectionLost("the Runtime API closed the connection after a stream")
        if response.keep_alive:
            self._reused = True
        else:
            self.close()
        check_accepted(response, "streamed response")
