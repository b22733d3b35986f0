"""A raw-socket Runtime API that misbehaves on cue, for what ``RuntimeAPIServer`` cannot do.

Each request the runtime sends gets the next :class:`Reply` of a script: exact bytes (a chunked /next
body, garbage, a 500), sent whole or in pieces, and the connection kept or closed; or no answer at all,
only a closed connection. Every request is recorded with the number of the connection it came on, so a
test can count connections. Once the script runs out, every request gets a 500 and a close.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TIMEOUT = 10.0


@dataclass(frozen=True)
class Reply:
    """What to do with one request: send ``data`` (in ``pieces`` writes, a few ms apart), then close
    the connection if ``close`` (cleanly, with FIN; abortively, with a TCP reset, if ``reset``).
    ``Reply(close=True)`` answers nothing and closes."""

    data: bytes = b""
    close: bool = False
    pieces: int = 1
    reset: bool = False


HANG_UP = Reply(close=True)
RESET = Reply(close=True, reset=True)
ACCEPTED = Reply(b'HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n')
SERVER_ERROR = Reply(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}", close=True)


def unused_address() -> str:
    """A ``host:port`` on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        host, port = placeholder.getsockname()
    return f"{host}:{port}"


def http_response(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response with a Content-Length body."""
    head = f"HTTP/1.1 {status} Status\r\n" + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return head.encode("latin-1") + b"Content-Length: %d\r\n\r\n" % len(body) + body


def invocation(request_id: str, body: bytes = b"{}", headers: Mapping[str, str] | None = None) -> bytes:
    """A /next response carrying ``body`` for ``request_id``."""
    return http_response(
        200,
        body,
        {"Lambda-Runtime-Aws-Request-Id": request_id, "Lambda-Runtime-Deadline-Ms": "9999999999999"}
        | dict(headers or {}),
    )


def chunked_invocation(request_id: str, chunks: Iterable[bytes], trailers: bytes = b"") -> bytes:
    """A /next response whose body is sent chunked (with a chunk extension on each size line)."""
    head = (
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
        % request_id.encode()
    )
    body = b"".join(
        b"%x;part=%d\r\n%s\r\n" % (len(chunk), index, chunk) for index, chunk in enumerate(chunks)
    )
    return head + body + b"0\r\n" + trailers + b"\r\n"


@dataclass
class RawRequest:
    """One request as it arrived: its head (request line and headers), body and connection number."""

    head: bytes
    body: bytes
    connection: int

    @property
    def method(self) -> str:
        return self.head.split(b" ", 1)[0].decode()

    @property
    def path(self) -> str:
        return self.head.split(b" ", 2)[1].decode()

    @property
    def headers(self) -> dict[str, str]:
        lines = self.head.decode("latin-1").split("\r\n")[1:]
        return {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
        }


class RawRuntimeAPI:
    """``with RawRuntimeAPI([Reply(...), ...]) as api:`` serves the script on 127.0.0.1."""

    def __init__(self, script: Iterable[Reply]) -> None:
        self._script = list(script)
        self.requests: list[RawRequest] = []
        self.connections = 0
        self.error: BaseException | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # accept() polls the stop flag
        self._stopping = threading.Event()
        self._connection: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="raw-runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RawRuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=TIMEOUT)
        self._listener.close()
        assert not self._thread.is_alive(), "the raw Runtime API did not stop"
        if self.error is not None and exc_info[0] is None:
            raise self.error

    def requests_to(self, suffix: str) -> list[RawRequest]:
        """The requests whose path ends with ``suffix`` (``"/next"``, ``"/response"``...)."""
        return [request for request in self.requests if request.path.endswith(suffix)]

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    continue
                self.connections += 1
                connection.settimeout(TIMEOUT)
                self._connection = connection
                with connection:
                    self._serve_connection(_Reader(connection), connection)
                self._connection = None
        except BaseException as error:  # reported by __exit__
            self.error = error

    def _serve_connection(self, reader: _Reader, connection: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                head = reader.read_until(b"\r\n\r\n")
            except OSError:
                return
            if head is None:
                return
            self.requests.append(RawRequest(head, self._read_body(reader, head), self.connections))
            reply = self._script.pop(0) if self._script else SERVER_ERROR
            if reply.data:
                self._send(connection, reply)
            if reply.reset:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if reply.close:
                self._close_gracefully(connection)
                return

    @staticmethod
    def _close_gracefully(connection: socket.socket) -> None:
        """Send FIN, then read and drop whatever the runtime still sends until it closes its end.

        Closing a socket with unread bytes in it would send a reset instead of FIN: a request the runtime
        wrote in the meantime must not turn a clean close into a reset."""
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(65536):
                pass

    @staticmethod
    def _send(connection: socket.socket, reply: Reply) -> None:
        size = -(-len(reply.data) // reply.pieces)
        for start in range(0, len(reply.data), size):
            if start:
                time.sleep(0.005)  # let the runtime see each piece on its own
            connection.sendall(reply.data[start : start + size])

    @staticmethod
    def _read_body(reader: _Reader, head: bytes) -> bytes:
        headers = RawRequest(head, b"", 0).headers
        if "chunked" not in headers.get("transfer-encoding", ""):
            return reader.read_exactly(int(headers.get("content-length", "0")))
        parts = []
        while (size_line := reader.read_until(b"\r\n")) is not None:
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while reader.read_until(b"\r\n") not in (b"\r\n", None):
                    pass
                break
            parts.append(reader.read_exactly(size + 2)[:-2])
        return b"".join(parts)


class _Reader:
    """Buffered reads from a socket, by delimiter or by size."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._buffer = bytearray()

    def _fill(self) -> bool:
        data = self._connection.recv(1 << 20)
        self._buffer += data
        return bool(data)

    def read_until(self, delimiter: bytes, end_on_empty_line: bool = False) -> bytes | None:
        """The bytes up to and including ``delimiter`` (trailers, with ``end_on_empty_line``: up to the
        empty line that ends them); None if the peer closed first."""
        start = 0
        while True:
            index = self._buffer.find(delimiter, start)
            if index >= 0:
                end = index + len(delimiter)
                if end_on_empty_line and not self._buffer[:end].endswith(b"\r\n\r\n") and end != 2:
                    start = end
                    continue
                data = bytes(self._buffer[:end])
                del self._buffer[:end]
                return data
            if not self._fill():
                return None

    def read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                raise ConnectionError("the connection closed inside a body")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data
