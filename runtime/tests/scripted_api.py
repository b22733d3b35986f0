"""A raw-socket Runtime API for tests that need the exact bytes on the wire.

It hands out scripted ``/next`` responses, answers every post with a fixed status, and records each
request's raw bytes and how many connections the runtime opened. Bodies can be discarded as they
arrive (``keep_bodies=False``) so a 100 MB stream costs the test no memory.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable

from lambda_runtime import protocol
from raw_api import _Reader

TIMEOUT = 20.0


class ScriptedRequest:
    """One request as received: its head, its body (or only its size) and its trailers."""

    def __init__(self, head: bytes, body: bytes, body_size: int, trailers: bytes) -> None:
        self.head = head
        self.body = body
        self.body_size = body_size
        self.trailers = trailers

    @property
    def raw(self) -> bytes:
        return self.head + self.body + self.trailers

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode()


class ScriptedRuntimeAPI:
    """Serves ``events`` (request id, body) on 127.0.0.1, one /next at a time, then answers 500."""

    def __init__(self, events: Iterable[tuple[str, bytes]], post_status: int = 202, keep_bodies: bool = True):
        self._events = list(events)
        self._post_status = post_status
        self._keep_bodies = keep_bodies
        self.requests: list[ScriptedRequest] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() in another thread is not woken by close(): poll a stop flag instead.
        self._listener.settimeout(0.1)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="scripted-api", daemon=True)
        self.error: BaseException | None = None

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> ScriptedRuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping = True
        self._thread.join(timeout=TIMEOUT)
        self._listener.close()
        assert not self._thread.is_alive(), "the scripted Runtime API did not stop"

    def _serve(self) -> None:
        try:
            while not self._stopping:
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    continue
                self.connections += 1
                with connection:
                    connection.settimeout(TIMEOUT)
                    if self._serve_connection(_Reader(connection), connection):
                        return
        except BaseException as error:  # surfaced by the test through .error
            self.error = error

    def _serve_connection(self, reader: _Reader, connection: socket.socket) -> bool:
        """Serve requests until the peer closes; True once the script is exhausted."""
        while True:
            head = reader.read_until(b"\r\n\r\n")
            if head is None:
                return False
            body, size, trailers = self._read_body(reader, head)
            self.requests.append(ScriptedRequest(head, body, size, trailers))
            if head.startswith(b"GET "):
                if not self._events:
                    connection.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                    return True
                request_id, event = self._events.pop(0)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %s\r\n"
                    b"Lambda-Runtime-Deadline-Ms: 9999999999999\r\nContent-Length: %d\r\n\r\n%s"
                    % (request_id.encode(), len(event), event)
                )
            else:
                connection.sendall(b"HTTP/1.1 %d Status\r\nContent-Length: 0\r\n\r\n" % self._post_status)

    def _read_body(self, reader: _Reader, head: bytes) -> tuple[bytes, int, bytes]:
        status, headers, _ = protocol.parse_head(b"HTTP/1.1 200 OK" + head[head.index(b"\r\n") : -4])
        del status
        if "chunked" not in headers.get("transfer-encoding", ""):
            body = reader.read_exactly(int(headers.get("content-length", "0")))
            return body, len(body), b""
        kept = bytearray()
        size_total = 0
        while True:
            size_line = reader.read_until(b"\r\n")
            assert size_line is not None, "the connection closed inside a chunked body"
            size = int(size_line[:-2], 16)
            if size == 0:
                trailers = reader.read_until(b"\r\n", end_on_empty_line=True)
                return bytes(kept) + size_line, size_total, trailers or b""
            data = reader.read_exactly(size + 2)
            size_total += size
            if self._keep_bodies:
                kept += size_line + data
