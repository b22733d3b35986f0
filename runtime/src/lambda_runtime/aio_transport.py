"""The Runtime API client on asyncio, for ``async def`` handlers sharing one event loop.

It is the blocking ``transport`` turned inside out: the same requests, built by ``protocol``'s
:class:`~lambda_runtime.protocol.RequestEncoder`, the same responses, read by its parsers, over one
keep-alive connection per worker; only the socket is asyncio's. Imported only by
``LambdaManagedRuntime`` with an ``async def`` handler (asyncio costs tens of milliseconds of start-up).

A streamed response goes through the same :class:`~lambda_runtime.ResponseStream` as on the blocking
client: its writes are handed to the connection at once (:meth:`AsyncRuntimeClient.send_parts`), and the
Runtime API's answer to the finished stream is awaited by the worker once the handler returns
(:meth:`AsyncRuntimeClient.stream_answer`).

The blocking client's stall bound holds here too, with the same meaning and the same error: in the middle
of an exchange (the answer to a post, the rest of an answer that has begun, a request or a stream still
going out), the Runtime API must move a byte every ``transport.STALL_TIMEOUT`` seconds, or the connection
is closed and :class:`~lambda_runtime.transport.ConnectionLost` says it stalled. Only the wait for an
invocation, the first byte of a ``/next`` answer, is unbounded. A ``wait_for`` around every read would
cost a task and a timer per read; instead one watchdog timer per connection looks at the time of the last
progress when it fires, and sets itself again for the new deadline, so an exchange mostly costs one
clock reading.
"""

from __future__ import annotations

import asyncio

from . import protocol, transport
from .protocol import Invocation, ProtocolError, RequestEncoder, Response, ResponseParser
from .transport import ConnectionLost, RuntimeAPIError, Stalled, check_accepted, split_address, stalled

_READ_SIZE = 64 * 1024

# What was waited for when the Runtime API stalled, in the blocking client's words.
_ON_A_REQUEST = "on a request to the Runtime API"
_SENDING_A_STREAM = "sending a streamed response"
_AFTER_A_STREAM = "waiting for the answer to a streamed response"


class AsyncRuntimeClient:
    """One worker's connection to the Runtime API at ``address`` (``host:port``), on asyncio."""

    _loop: asyncio.AbstractEventLoop  # the loop the connection was opened on

    def __init__(self, address: str) -> None:
        self.address = address
        self._host, self._port = split_address(address)
        self._encoder = RequestEncoder(address)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = ResponseParser()
        self._reused = False
        self._stream_ended = False
        # The stall bound: what is being waited for (None: nothing bounded is, the connection is idle or
        # waits for an invocation), when the Runtime API last moved a byte, how many bytes of the request
        # were still to go out at the watchdog's last look, the watchdog's timer, and what the wait that
        # stalled was for, once the watchdog gave up on it.
        self._waiting_on: str | None = None
        self._progress = 0.0
        self._buffered = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self._stalled_on: str | None = None

    # -- connection ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection unless it is open (a stream's first write needs it open)."""
        if self._writer is not None:
            return
        try:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except OSError as error:
            raise ConnectionLost(f"cannot connect to the Runtime API at {self.address}: {error}") from None
        self._loop = asyncio.get_running_loop()
        self._parser = ResponseParser()
        self._reused = False
        self._stalled_on = None

    def close(self) -> None:
        """Close the connection (the next exchange opens a new one)."""
        writer, self._writer, self._reader = self._writer, None, None
        self._waiting_on = None
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()
        if writer is not None:
            writer.close()

    def _lost(self, error: BaseException, failed: str) -> ConnectionLost:
        """Close the connection; what to raise for ``error``, met on a wait that ``failed`` describes."""
        stalled_on = self._stalled_on
        self.close()
        if stalled_on is not None:  # the watchdog closed it: that, not the error it caused, is the news
            return stalled(stalled_on)
        return ConnectionLost(f"{failed}: {error}")

    # -- the stall bound -----------------------------------------------------------------------------

    def _expect_progress(self, what: str) -> None:
        """Bound the wait that starts now: from here on, until the answer is read or the connection is
        closed, the Runtime API must move a byte every ``STALL_TIMEOUT`` seconds."""
        assert self._writer is not None
        self._waiting_on = what
        self._progress = now = self._loop.time()
        self._buffered = self._writer.transport.get_write_buffer_size()
        if self._watchdog is None:
            # A timer still set from an earlier wait fires before this wait's deadline and sets itself
            # again: waits that end within the bound (all of them, normally) cost no timer of their own.
            self._watchdog = self._loop.call_at(now + transport.STALL_TIMEOUT, self._watch)

    def _watch(self) -> None:
        """The watchdog: give up on a wait with no progress for ``STALL_TIMEOUT`` seconds, else look again
        when it would have lasted that long."""
        self._watchdog = None
        what, writer = self._waiting_on, self._writer
        if what is None or writer is None:
            return  # nothing bounded is waited for: the next bounded wait sets the timer again
        now = self._loop.time()
        buffered = writer.transport.get_write_buffer_size()
        if buffered < self._buffered:
            # Bytes of the request went out since the last look; when is not known, so (never giving up
            # too early) now.
            self._progress = now
        self._buffered = buffered
        bound = transport.STALL_TIMEOUT
        if now - self._progress >= bound:
            if what == _AFTER_A_STREAM and buffered:
                # The stream itself had not gone out (drain() may not wait for it: on 3.12+ writelines()
                # leaves the protocol unpaused).
                what = _SENDING_A_STREAM
            self._give_up(what)
            return
        deadline = self._progress + bound
        if buffered:
            # Sending is seen only at these looks: look more often while bytes are still to go out, so that
            # a send that stops is given up on within 1.25 times the bound.
            deadline = min(deadline, now + bound / 4)
        self._watchdog = self._loop.call_at(deadline, self._watch)

    def _give_up(self, what: str) -> None:
        """End the stalled wait: an awaited read raises ``Stalled``; an awaited drain fails as the
        connection is cut. The awaiting side turns either into the stall's ``ConnectionLost``."""
        self._stalled_on = what
        reader, writer = self._reader, self._writer
        if reader is not None:
            reader.set_exception(Stalled())
        if writer is not None:
            writer.transport.abort()

    # -- exchanges -----------------------------------------------------------------------------------

    async def _exchange(
        self, request: bytes, body: bytes = b"", retry_if_stale: bool = False, patient: bool = False
    ) -> Response:
        """Send one request and read its answer, keeping the connection for the next one. Only a
        ``patient`` exchange (``/next``) waits without bound for the first byte of its answer."""
        await self.connect()
        reused = self._reused
        writer = self._writer
        assert writer is not None
        try:
            writer.write(request + body if body else request)
            if not patient:
                self._expect_progress(_ON_A_REQUEST)
            response, received_any = await self._read_response()
        except (Stalled, ConnectionError, OSError) as error:
            raise self._lost(error, "the connection to the Runtime API failed") from None
        except ProtocolError:
            self.close()
            raise
        self._waiting_on = None
        if response is None:
            # Closed before a single byte of an answer: an idle keep-alive connection the peer dropped.
            self.close()
            if retry_if_stale and reused and not received_any:
                return await self._exchange(request, body, retry_if_stale=False, patient=patient)
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
            if response is None:  # an answer has begun: the rest of it is bounded, /next's too
                if self._waiting_on is None:
                    self._expect_progress(_ON_A_REQUEST)
                else:
                    self._progress = self._loop.time()
        if not parser.idle:
            # No request is outstanding: these bytes answer nothing. Running the invocation would mean
            # running an event cut short by a wrong Content-Length (as the blocking client refuses it).
            raise ProtocolError("the Runtime API sent more bytes than its answer's Content-Length announced")
        return response, received_any

    # -- Runtime API calls ---------------------------------------------------------------------------

    async def next(self) -> Invocation:
        """Wait for the next invocation (``GET /next``)."""
        response = await self._exchange(self._encoder.next_request, retry_if_stale=True, patient=True)
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
            # The handler's writes were only handed to asyncio: what is still to go out is sent now, and
            # the watchdog tells a send that stopped from an answer that does not come.
            self._expect_progress(_AFTER_A_STREAM)
            await writer.drain()
            response, _ = await self._read_response()
        except (Stalled, ConnectionError, OSError) as error:
            raise self._lost(error, "the Runtime API closed the connection after a stream") from None
        except ProtocolError:
            self.close()
            raise
        self._waiting_on = None
        if response is None:
            self.close()
            raise ConnectionLost("the Runtime API closed the connection after a stream")
        if response.keep_alive:
            self._reused = True
        else:
            self.close()
        check_accepted(response, "streamed response")
