"""The runtime's own CPU per invocation, with no socket and no second process.

``bench.py`` times whole round trips to a mock Runtime API, so what it measures includes the kernel,
the mock and, on a virtual machine, how long an idle CPU takes to wake up. This script takes all of that
away: the runtime's real loop (``LambdaRuntime._serve``: GET /next, parse, build the context, decode,
call the HelloWorld echo, encode, POST, read the 202) runs against an in-memory socket that answers
every ``recv`` with a prebuilt /next answer or 202, and the floor's loop (``bench_floor.py``'s parsing)
runs against the same socket. Best of ``--repeat`` runs of ``--invocations`` each.

    python scripts/bench_cpu.py                 # in an environment with lambda-runtime installed
"""

from __future__ import annotations

import argparse
import os
import time

from bench_floor import header_value, read_message
from bench_handler import handler

NEXT_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Lambda-Runtime-Aws-Request-Id: 00000000-0000-4000-8000-000000000001\r\n"
    b"Lambda-Runtime-Deadline-Ms: 1999999999999\r\n"
    b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
    b"Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=0\r\n"
    b'Content-Length: 15\r\n\r\n{"name": "Ada"}'
)
ACCEPTED = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
    b'{"status":"OK"}\n'
)


class ScriptedSocket:
    """Answers /next and /response alternately, whatever is sent; enough of a socket for both loops."""

    def __init__(self, *args: object) -> None:
        self._calls = 0

    def recv(self, size: int) -> bytes:
        self._calls += 1
        return NEXT_ANSWER if self._calls & 1 else ACCEPTED

    def sendall(self, data: bytes) -> None:
        pass

    def setsockopt(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass


def floor_loop(invocations: int) -> float:
    sock = ScriptedSocket()
    next_request = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b'{"message": "Hello, Ada!"}'
    started = time.perf_counter()
    buffer = b""
    for _ in range(invocations):
        sock.sendall(next_request)
        head, _event, buffer = read_message(sock, buffer)  # type: ignore[arg-type]
        request_id = header_value(head, b"lambda-runtime-aws-request-id") or b""
        sock.sendall(b"POST /r/" + request_id + b"/response HTTP/1.1\r\nContent-Length: 26\r\n\r\n" + body)
        head, _answer, buffer = read_message(sock, buffer)  # type: ignore[arg-type]
    return time.perf_counter() - started


def runtime_loop(invocations: int) -> float:
    from lambda_runtime import transport
    from lambda_runtime.runtime import LambdaRuntime

    transport._open_connection = ScriptedSocket  # type: ignore[assignment]
    runtime = LambdaRuntime(handler)
    try:
        client = transport.RuntimeClient("127.0.0.1:9")
        adapted = runtime._initialise(client, os.environ)
        runtime._serve(client, adapted, 200)  # warm up: the lazy codec, the caches
        started = time.perf_counter()
        runtime._serve(client, adapted, invocations)
        return time.perf_counter() - started
    finally:
        LambdaRuntime._claimed = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--invocations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, loop in (("floor", floor_loop), ("lambda-runtime", runtime_loop)):
        best = min(loop(args.invocations) for _ in range(args.repeat))
        print(f"{name:15s} {best / args.invocations * 1e6:6.2f} µs/invocation (best of {args.repeat})")


if __name__ == "__main__":
    main()
