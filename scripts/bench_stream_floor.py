"""The streaming benchmark's floor: the least a runtime can do to stream a response over a socket.

One keep-alive connection with TCP_NODELAY; per invocation a prebuilt ``GET /next``, the response read
just far enough to find the request id, then a chunked ``POST .../response`` whose chunks (framing
included) are one prebuilt buffer sent again and again, and the final empty chunk. Same sizes as
``bench_stream_handler.py`` (``BENCH_STREAM_BYTES``, ``BENCH_WRITE_BYTES``).
"""

import os

from bench_floor import connect, header_value, read_message

API = b"/2018-06-01/runtime"
STREAM_BYTES = int(os.environ.get("BENCH_STREAM_BYTES", 64 * 1024 * 1024))
WRITE_BYTES = int(os.environ.get("BENCH_WRITE_BYTES", 64 * 1024))


def main() -> None:
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    invocations = int(os.environ["MAX_INVOCATIONS"])
    host_header = b"Host: " + address.encode() + b"\r\n"
    next_request = b"GET " + API + b"/invocation/next HTTP/1.1\r\n" + host_header + b"\r\n"
    head_prefix = b"POST " + API + b"/invocation/"
    head_suffix = (
        b"/response HTTP/1.1\r\n"
        + host_header
        + b"Content-Type: application/octet-stream\r\n"
        + b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    writes, remainder = divmod(STREAM_BYTES, WRITE_BYTES)
    piece = b"%x\r\n" % WRITE_BYTES + b"x" * WRITE_BYTES + b"\r\n"
    tail = (b"%x\r\n" % remainder + b"x" * remainder + b"\r\n" if remainder else b"") + b"0\r\n\r\n"

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
        sock.sendall(head_prefix + request_id + head_suffix)
        for _ in range(writes):
            sock.sendall(piece)
        sock.sendall(tail)
        head, _answer, buffer = read_message(sock, buffer)
        if not head.startswith(b"HTTP/1.1 202"):
            raise SystemExit(f"floor: /response answered {head[:40]!r}")
    sock.close()


if __name__ == "__main__":
    main()
