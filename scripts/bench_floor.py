"""The benchmark's floor: the least a Lambda runtime can do, with nothing but a socket.

One keep-alive connection with TCP_NODELAY; per invocation a prebuilt ``GET /next``, the response
read just far enough to find its length and request id, and a ``POST .../response`` with a fixed
body. No JSON, no logging, no handler: whatever a real runtime spends above this is its own overhead.

It imports what lambda-runtime's own transport imports: the C module ``_socket`` rather than the
``socket`` wrapper, whose import (``selectors``, ``enum``, ``collections``...) would be a third of the
floor's cold start, which a runtime can do without.

Run by ``bench.py`` as ``python bench_floor.py`` with ``AWS_LAMBDA_RUNTIME_API`` and
``MAX_INVOCATIONS`` set; it exits after that many invocations.
"""

import os
from _socket import AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM, TCP_NODELAY, socket

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing only: importing collections.abc would cost the floor's cold start
    from collections.abc import Callable

    # Given the Host header line, what sends one POST .../response for a request id.
    Answer = Callable[[socket, bytes], None]

API = b"/2018-06-01/runtime"
# What bench_handler.handler answers to the bench's event, byte for byte as json.dumps writes it.
RESPONSE_BODY = b'{"message": "Hello, Ada!"}'
READ_SIZE = 65536


def read_message(sock: socket, buffer: bytes) -> tuple[bytes, bytes, bytes]:
    """Read one HTTP response; return its head, its body and what followed it on the socket."""
    end = buffer.find(b"\r\n\r\n")
    while end < 0:
        data = sock.recv(READ_SIZE)
        if not data:
            raise SystemExit("floor: the Runtime API closed the connection")
        buffer += data
        end = buffer.find(b"\r\n\r\n")
    head = buffer[:end]
    length = header_value(head, b"content-length")
    body_end = end + 4 + (int(length) if length else 0)
    while len(buffer) < body_end:
        data = sock.recv(READ_SIZE)
        if not data:
            raise SystemExit("floor: the Runtime API closed the connection mid-body")
        buffer += data
    return head, buffer[end + 4 : body_end], buffer[body_end:]


def header_value(head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (given lower-case) in a response head, if present."""
    # Header names are case-insensitive: search a lower-cased copy, slice the original.
    start = head.lower().find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else len(head)].strip()


def connect(address: str) -> socket:
    """One connection to ``host:port`` with TCP_NODELAY, as a runtime keeps for its whole life."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    # Not socket.create_connection: its getaddrinfo call imports the idna codec, milliseconds of cold
    # start, to resolve an address that is numeric anyway.
    sock = socket(AF_INET6 if ":" in host else AF_INET, SOCK_STREAM)
    sock.connect((host, int(port)))
    sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    return sock


def serve(prepare: "Callable[[bytes], Answer]") -> None:
    """The floor's loop: ``MAX_INVOCATIONS`` times, GET /next, send what ``prepare(host_header)`` answers
    with (built once, before the loop), and check its 202."""
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    invocations = int(os.environ["MAX_INVOCATIONS"])
    host_header = b"Host: " + address.encode() + b"\r\n"
    next_request = b"GET " + API + b"/invocation/next HTTP/1.1\r\n" + host_header + b"\r\n"
    answer = prepare(host_header)
    sock = connect(address)
    buffer = b""
    for _ in range(invocations):
        sock.sendall(next_request)
        head, _event, buffer = read_message(sock, buffer)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"floor: /next answered {head[:40]!r}")
        request_id = header_value(head, b"lambda-runtime-aws-request-id")
        if not request_id:
            raise SystemExit("floor: /next answered without a request id")
        answer(sock, request_id)
        head, _answer, buffer = read_message(sock, buffer)
        if not head.startswith(b"HTTP/1.1 202"):
            raise SystemExit(f"floor: /response answered {head[:40]!r}")
    sock.close()


def buffered_answer(host_header: bytes) -> "Answer":
    """POST .../response with the fixed JSON body, all but the request id prebuilt."""
    prefix = b"POST " + API + b"/invocation/"
    suffix = (
        b"/response HTTP/1.1\r\n"
        + host_header
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(RESPONSE_BODY)).encode()
        + b"\r\n\r\n"
        + RESPONSE_BODY
    )

    def answer(sock: socket, request_id: bytes) -> None:
        sock.sendall(prefix + request_id + suffix)

    return answer


if __name__ == "__main__":
    serve(buffered_answer)
