"""The streaming benchmark's floor: the least a runtime can do to stream a response over a socket.

One keep-alive connection with TCP_NODELAY; per invocation a prebuilt ``GET /next``, the response read
just far enough to find the request id, then a chunked ``POST .../response`` whose chunks (framing
included) are one prebuilt buffer sent again and again, and the final empty chunk. Same sizes as
``bench_stream_handler.py`` (``BENCH_STREAM_BYTES``, ``BENCH_WRITE_BYTES``).
"""

import os
from _socket import socket

from bench_floor import API, serve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from bench_floor import Answer

STREAM_BYTES = int(os.environ.get("BENCH_STREAM_BYTES", 64 * 1024 * 1024))
WRITE_BYTES = int(os.environ.get("BENCH_WRITE_BYTES", 64 * 1024))


def streamed_answer(host_header: bytes) -> "Answer":
    """A chunked POST .../response: its head, the prebuilt chunk again and again, the last chunk."""
    prefix = b"POST " + API + b"/invocation/"
    suffix = (
        b"/response HTTP/1.1\r\n"
        + host_header
        + b"Content-Type: application/octet-stream\r\n"
        + b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    writes, remainder = divmod(STREAM_BYTES, WRITE_BYTES)
    piece = b"%x\r\n" % WRITE_BYTES + b"x" * WRITE_BYTES + b"\r\n"
    tail = (b"%x\r\n" % remainder + b"x" * remainder + b"\r\n" if remainder else b"") + b"0\r\n\r\n"

    def answer(sock: socket, request_id: bytes) -> None:
        sock.sendall(prefix + request_id + suffix)
        for _ in range(writes):
            sock.sendall(piece)
        sock.sendall(tail)

    return answer


if __name__ == "__main__":
    serve(streamed_answer)
