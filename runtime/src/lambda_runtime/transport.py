"""A lean blocking HTTP/1.1 client for the Runtime API, on one keep-alive socket.

The Runtime API is a fixed local peer, so this client does only what it needs: it writes the bytes the
protocol module builds and reads responses through its parser. ``http.client`` would cost cold-start
milliseconds (it imports ``email``) and tens of microseconds per request. Even the ``socket`` module
is left out: it is a Python wrapper (enums, ``makefile``, ``create_connection``) around the C module
``_socket``, and importing it (``selectors``, ``enum``, ``collections``, ``functools``...) costs more of
the cold start than the whole runtime does. A handler that imports ``socket`` itself pays for it then.
"""

import _socket
import sys

from . import protocol
from .protocol import (
    Invocation,
    ProtocolError,
    RequestEncoder,
    Response,
    ResponseParser,
    is_plain_accepted,
    parse_complete_response,
    parse_next_response,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import overload

    # Turns one recv's bytes into the caller's result when they are the common, simple answer.
    QuickParse = Callable[[bytes], "Response | Invocation | None"]

# Below glibc's mmap threshold (128 KiB): a larger read buffer costs an mmap/munmap pair per recv, which
# was most of the runtime's time per invocation. Large bodies are read in bigger steps (bytes_wanted).
_RECV_SIZE = 64 * 1024
_LARGE_RECV_SIZE = 1024 * 1024
# Bodies above this are sent as a second buffer instead of being copied behind the head.
_COPY_LIMIT = 64 * 1024

# How long the Runtime API may stay silent in the middle of an exchange (the answer to a post, the rest of
# an answer that has begun, a send that cannot progress) before the runtime gives up on it. Only the wait
# for an invocation (the first byte of a /next answer) is unbounded. The bound is kept by the kernel
# (SO_RCVTIMEO, SO_SNDTIMEO, set once per connection), so the hot path pays nothing for it.
STALL_TIMEOUT = 60.0

# What a plain 202 reads as; nothing of it but the status is ever used.
_ACCEPTED = Response(202, {}, b"", True)


class RuntimeAPIError(Exception):
    """The Runtime API answered in a way that means this runtime must stop (a 500, a closed socket)."""


class ConnectionLost(RuntimeAPIError):
    """The connection to the Runtime API closed or failed."""


class Stalled(Exception):
    """The Runtime API sent nothing, or read nothing, for ``STALL_TIMEOUT`` seconds mid-exchange (raised
    by the asyncio client's watchdog; the blocking client's socket timeouts raise ``BlockingIOError``)."""


def stalled(what: str) -> ConnectionLost:
    """The error a stall ends the runtime with (``what`` says which wait stalled), for both clients."""
    return ConnectionLost(f"the Runtime API stalled: no progress {what} for {STALL_TIMEOUT:g} s")


class StaleInvocation(Exception):
    """The Runtime API answered 410 Gone: the invocation already timed out, the answer was dropped."""


class RejectedResponse(Exception):
    """The Runtime API refused a response (4xx other than 410); the invocation can still get an error."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"the Runtime API refused the response with {status}: {body[:200]!r}")
        self.status = status
        self.body = body


def split_address(address: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too) as found in ``AWS_LAMBDA_RUNTIME_API``."""
    host, colon, port_text = address.rpartition(":")
    if not colon or not host or not port_text.isdigit():
        raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
    return host.strip("[]"), int(port_text)


def _open_connection(host: str, port: int, timeout: float | None) -> _socket.socket:
    """``socket.create_connection`` without its cold-start cost.

    A ``str`` host makes ``getaddrinfo`` import the idna codec (milliseconds at start-up); the Runtime
    API's host is an IP address or a plain ASCII name, so it is passed as bytes.
    """
    last_error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(
        host.encode("ascii"), port, 0, _socket.SOCK_STREAM
    ):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as error:
            sock.close()
            last_error = error
            continue
        return sock
    raise last_error or OSError(f"no address found for {host}")


class RuntimeClient:
    """Talks to the Runtime API at ``address`` (``host:port``) over one keep-alive connection.

    A new connection is opened only where HTTP allows a retry: when a keep-alive connection turns out
    to be closed before the ``/next`` request got any answer. Anything else that breaks the
    connection raises :class:`ConnectionLost`.
    """

    def __init__(self, address: str, timeout: float | None = None) -> None:
        self.address = address
        self._host, self._port = split_address(address)
        self._timeout = timeout
        self._encoder = RequestEncoder(address)
        self._next_request = self._encoder.next_request
        self._sock: _socket.socket | None = None
        self._parser = ResponseParser()
        self._reused = False
        self._received_any = False
        # The last answer found to be a plain 202: the Runtime API's next one is most often the same
        # bytes (its Date header changes once a second), which one comparison then recognises.
        self._accepted_answer = b""
        self._quick_accepted = self._recognise_accepted

    # -- connection ----------------------------------------------------------------------------------

    def _connect(self) -> _socket.socket:
        try:
            sock = _open_connection(self._host, self._port, self._timeout)
        except OSError as error:
            raise ConnectionLost(f"cannot connect to the Runtime API at {self.address}: {error}") from None
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        if self._timeout is None:
            # A struct timeval, two C longs (8 bytes on every 64-bit platform Lambda runs), packed by
            # hand: importing struct would cost the cold start for these 16 bytes.
            seconds = int(STALL_TIMEOUT)
            micros = int((STALL_TIMEOUT - seconds) * 1_000_000)
            interval = seconds.to_bytes(8, sys.byteorder) + micros.to_bytes(8, sys.byteorder)
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVTIMEO, interval)
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDTIMEO, interval)
        self._sock = sock
        self._parser = ResponseParser()
        self._reused = False
        return sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    if TYPE_CHECKING:

        @overload
        def _exchange(
            self,
            request: bytes,
            body: bytes = b"",
            retry_if_stale: bool = False,
            quick: None = None,
            patient: bool = False,
        ) -> Response: ...

        @overload
        def _exchange(
            self,
            request: bytes,
            body: bytes = b"",
            retry_if_stale: bool = False,
            quick: QuickParse | None = None,
            patient: bool = False,
        ) -> Response | Invocation: ...

    def _exchange(
        self,
        request: bytes,
        body: bytes = b"",
        retry_if_stale: bool = False,
        quick: "QuickParse | None" = None,
        patient: bool = False,
    ) -> Response | Invocation:
        """Send one request and read its response, keeping the connection for the next one.

        ``quick`` may turn a simple, complete answer straight into the caller's result (see
        ``protocol.parse_next_response``); anything else comes back as a :class:`Response`. Only a
        ``patient`` exchange (``/next``) waits without bound for the first byte of its answer.
        """
        sock = self._sock or self._connect()
        reused = self._reused
        self._received_any = False
        try:
            if body and len(body) > _COPY_LIMIT:
                sock.sendall(request)
                sock.sendall(body)
            else:
                sock.sendall(request + body if body else request)
            # The first read and the quick parse are done here, not in a method of their own: this is
            # most requests' whole answer, and a call less per request is measurable on the hot path.
            try:
                data = sock.recv(_RECV_SIZE)
            except BlockingIOError:  # STALL_TIMEOUT passed without a byte
                if not patient:
                    raise
                data = self._wait_for_answer(sock)
            if quick is not None and data:
                result = quick(data)
                if result is not None:  # a quick parse accepts only answers that keep the connection
                    self._reused = True
                    return result
            response = self._finish_response(sock, data)
        except BlockingIOError:  # STALL_TIMEOUT passed, or a send could not progress
            self.close()
            raise stalled("on a request to the Runtime API") from None
        except (_StaleConnection, BrokenPipeError, ConnectionResetError) as error:
            # Nothing of an answer arrived: if this connection had served a request before, the peer
            # may have closed it while idle. Only then, and only for /next, is a retry safe.
            self.close()
            if isinstance(error, ConnectionResetError) and self._received_any:
                raise ConnectionLost(f"the connection to the Runtime API failed: {error}") from None
            if retry_if_stale and reused:
                return self._exchange(request, body, False, quick, patient)
            raise ConnectionLost(f"the Runtime API at {self.address} closed the connection") from None
        except OSError as error:
            self.close()
            raise ConnectionLost(f"the connection to the Runtime API failed: {error}") from None
        except ProtocolError:
            self.close()
            raise
        self._keep_or_close(response)
        return response

    def _recognise_accepted(self, data: bytes) -> Response | None:
        if data == self._accepted_answer or is_plain_accepted(data):
            self._accepted_answer = data
            return _ACCEPTED
        return None

    def _keep_or_close(self, response: Response) -> None:
        """Keep the connection for the next request, unless the response said it ends here."""
        if response.keep_alive:
            self._reused = True
        else:
            self.close()

    def _finish_response(self, sock: _socket.socket, data: bytes) -> Response:
        """The answer that begins with ``data`` (the first read of an exchange), read to its end."""
        # Every exchange ends with the parser idle, or with the connection closed (and a new parser for
        # the next one): the first bytes read start the answer.
        if not data:
            raise _StaleConnection
        self._received_any = True
        response = parse_complete_response(data)
        if response is not None:
            return response
        parser = self._parser
        parser.feed(data)
        response = parser.next_response()
        while response is None:
            wanted = parser.bytes_wanted
            parser.feed(sock.recv(_RECV_SIZE if wanted <= _RECV_SIZE else min(wanted, _LARGE_RECV_SIZE)))
            response = parser.next_response()
        if not parser.idle:
            # No request is outstanding: these bytes answer nothing. Running the invocation would mean
            # running an event cut short by a wrong Content-Length.
            raise ProtocolError("the Runtime API sent more bytes than its answer's Content-Length announced")
        return response

    @staticmethod
    def _wait_for_answer(sock: _socket.socket) -> bytes:
        """The first bytes of a /next answer, however long the wait for an invocation is."""
        while True:
            try:
                return sock.recv(_RECV_SIZE)
            except BlockingIOError:
                continue

    # -- Runtime API calls ---------------------------------------------------------------------------

    def next(self) -> Invocation:
        """Block until the next invocation arrives (``GET /next``)."""
        response = self._exchange(self._next_request, b"", True, parse_next_response, True)
        if type(response) is Invocation:
            return response
        assert isinstance(response, Response)
        if response.status != 200:
            raise RuntimeAPIError(
                f"the Runtime API answered /next with {response.status}: {response.body[:200]!r}"
            )
        return protocol.invocation_from_next(response.headers, response.body)

    def post_response(
        self, invocation: Invocation, body: bytes, content_type: bytes = b"application/json"
    ) -> None:
        """Post a buffered response; raises :class:`StaleInvocation` on 410 Gone."""
        head = self._encoder.response_head(
            invocation.request_id, len(body), invocation.invocation_id, content_type
        )
        response = self._exchange(head, body, quick=self._quick_accepted)
        if response is not _ACCEPTED:
            self._check_accepted(response, "response")

    def post_error(self, invocation: Invocation, error_type: str, body: bytes) -> None:
        """Post an invocation error; ``error_type`` is the errorType (the header is derived from it)."""
        request = self._encoder.error_request(
            invocation.request_id, error_type, body, invocation.invocation_id
        )
        self._check_accepted(self._exchange(request), "error")

    def post_init_error(self, error_type: str, body: bytes) -> None:
        """Report that the function could not be initialised."""
        request = self._encoder.init_error_request(error_type, body)
        self._check_accepted(self._exchange(request), "init error")

    # -- streamed responses: the caller sends the head and the chunks, then ends the body -------------

    def send_parts(self, parts: list[bytes]) -> None:
        """Write ``parts`` of a streamed request in one system call where the kernel allows it."""
        sock = self._sock or self._connect()
        try:
            sent = sock.sendmsg(parts)
            total = sum(map(len, parts))
            if sent < total:
                sock.sendall(b"".join(parts)[sent:])
        except BlockingIOError:
            self.close()
            raise stalled("sending a streamed response") from None
        except OSError as error:
            self.close()
            raise ConnectionLost(f"the connection to the Runtime API failed mid-stream: {error}") from None

    def end_stream(self, last: bytes) -> None:
        """Send the end of a streamed body (last chunk and trailers) and check the Runtime API's answer."""
        self.send_parts([last])
        sock = self._sock
        assert sock is not None
        try:
            response = self._finish_response(sock, sock.recv(_RECV_SIZE))
        except BlockingIOError:  # STALL_TIMEOUT passed, or a send could not progress
            self.close()
            raise stalled("waiting for the answer to a streamed response") from None
        except (_StaleConnection, OSError) as error:
            self.close()
            raise ConnectionLost(f"the Runtime API closed the connection after a stream: {error}") from None
        except ProtocolError:
            self.close()
            raise
        self._keep_or_close(response)
        self._check_accepted(response, "streamed response")

    def stream_head(self, invocation: Invocation, content_type: str) -> bytes:
        return self._encoder.stream_head(invocation.request_id, invocation.invocation_id, content_type)

    @staticmethod
    def _check_accepted(response: Response | Invocation, what: str) -> None:
        assert isinstance(response, Response)  # only /next has a quick parse into an Invocation
        status = response.status
        if status == 202 or status == 200:
            return
        if status == 410:
            raise StaleInvocation(f"the Runtime API answered 410 Gone to the {what}")
        if 400 <= status < 500:
            raise RejectedResponse(status, response.body)
        raise RuntimeAPIError(f"the Runtime API answered the {what} with {status}: {response.body[:200]!r}")


class _StaleConnection(Exception):
    """The peer closed the connection before answering a single byte."""


# For the asyncio client: the same reading of a post's answer, in one place.
check_accepted = RuntimeClient._check_accepted
