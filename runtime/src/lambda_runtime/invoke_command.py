"""``python -m lambda_runtime invoke``: send one event to a running local server and print the answer.

Standard library only (it works without the ``local`` extra), on a plain socket rather than
``http.client``: a streamed answer that fails after its first byte says so in the chunked body's
trailers, which ``http.client`` reads and throws away.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import sys
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from . import protocol
from .protocol import server as server_protocol

DESCRIPTION = """\
Send one event to a running local server (python -m lambda_runtime serve ...) and print the answer:
all of it once it is complete, or with --stream each chunk as it arrives. A function error goes to
stderr as Lambda's error JSON, and the command exits 1. The server is at --url, else
http://$LOCAL_LAMBDA_HOST:$LOCAL_LAMBDA_PORT$LOCAL_LAMBDA_INVOCATION_ENDPOINT
(http://127.0.0.1:7000/invoke).
"""
CONNECT_TIMEOUT = 10.0


class InvokeError(Exception):
    """The event could not be sent or the answer not read."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lambda_runtime invoke", description=DESCRIPTION)
    payload = parser.add_mutually_exclusive_group()
    payload.add_argument("--data", "-d", help="the event, as JSON text (default: {})")
    payload.add_argument(
        "--file", "-f", help="read the event from this file ('-' for stdin), bytes as they are"
    )
    parser.add_argument("--tenant-id", help="the tenant to invoke for (X-Amz-Tenant-Id)")
    parser.add_argument("--client-context", metavar="JSON", help="the client context, a JSON object")
    parser.add_argument("--stream", action="store_true", help="print the answer chunk by chunk as it arrives")
    parser.add_argument("--url", help="the invocation endpoint, e.g. http://127.0.0.1:7000/invoke")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the answer (default: no limit)"
    )
    return parser


def endpoint(
    url: str | None, environ: dict[str, str] | os._Environ[str] = os.environ
) -> tuple[str, int, str]:
    """``(host, port, path)`` of the invocation endpoint: ``url``, else the local server's variables."""
    if url:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise InvokeError(f"--url must be an http:// URL like http://127.0.0.1:7000/invoke, got {url!r}")
        return (
            parts.hostname,
            parts.port or 80,
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        )
    host = environ.get("LOCAL_LAMBDA_HOST", "").strip() or "127.0.0.1"
    port_text = environ.get("LOCAL_LAMBDA_PORT", "").strip() or "7000"
    if not port_text.isdigit():
        raise InvokeError(f"LOCAL_LAMBDA_PORT must be a port number, got {port_text!r}")
    path = environ.get("LOCAL_LAMBDA_INVOCATION_ENDPOINT", "").strip() or "/invoke"
    return host, int(port_text), path


def payload_of(options: argparse.Namespace) -> bytes:
    if options.file == "-":
        return sys.stdin.buffer.read()
    if options.file:
        try:
            with open(options.file, "rb") as event_file:
                return event_file.read()
        except OSError as error:
            raise InvokeError(f"cannot read {options.file}: {error.strerror}") from None
    text = "{}" if options.data is None else options.data
    try:
        json.loads(text)
    except ValueError as error:
        raise InvokeError(f"--data is not JSON ({error}); use --file to send other bytes") from None
    return text.encode()


def request_bytes(host: str, port: int, path: str, body: bytes, options: argparse.Namespace) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Length: {len(body)}",
        "Content-Type: application/json",
        "Connection: close",
    ]
    if options.tenant_id is not None:
        headers.append(f"X-Amz-Tenant-Id: {options.tenant_id}")
    if options.client_context is not None:
        try:
            document = json.loads(options.client_context)
        except ValueError as error:
            raise InvokeError(f"--client-context is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise InvokeError("--client-context must be a JSON object")
        encoded = base64.b64encode(json.dumps(document).encode()).decode("ascii")
        headers.append(f"X-Amz-Client-Context: {encoded}")
    if any("\r" in line or "\n" in line for line in headers):
        raise InvokeError("header values must not contain line breaks")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


class Answer:
    """The server's answer: status, headers, and the error a stream's trailers reported, if any."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self.stream_error: tuple[str, bytes] | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the head announces an answer, not an error (a stream may still fail later)."""
        return self.status < 400 and "x-amz-function-error" not in self.headers


def read_answer(reader: io.BufferedReader, on_body: Callable[[Answer, bytes], None]) -> Answer:
    """Read one HTTP response from ``reader``, handing each piece of its body to ``on_body`` as it comes."""
    head = bytearray()
    while True:
        line = reader.readline(65537)
        if not line:
            raise InvokeError("the server closed the connection before answering")
        if line in (b"\r\n", b"\n"):
            if head.startswith(b"HTTP/1.1 1") or head.startswith(b"HTTP/1.0 1"):
                head.clear()  # an interim 1xx: the real answer follows
                continue
            break
        head += line
    try:
        status, headers, _ = protocol.parse_head(bytes(head).rstrip(b"\r\n"))
    except protocol.ProtocolError as error:
        raise InvokeError(f"not an HTTP answer: {error}") from None
    answer = Answer(status, headers)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        trailers = _read_chunks(reader, lambda data: on_body(answer, data))
        answer.stream_error = server_protocol.error_from_trailers(trailers)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        body = reader.read(length)
        if len(body) != length:
            raise InvokeError("the server closed the connection before the whole answer came")
        on_body(answer, body)
    else:
        while data := reader.read1(65536):
            on_body(answer, data)
    return answer


def _read_chunks(reader: io.BufferedReader, on_body: Callable[[bytes], None]) -> dict[str, str]:
    while True:
        size_line = reader.readline(1024)
        if not size_line.endswith(b"\n"):
            raise InvokeError("the answer stream was cut off (the connection closed inside it)")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise InvokeError(f"malformed chunk size {size_text[:20]!r}") from None
        if size == 0:
            break
        data = reader.read(size)
        if len(data) != size or reader.readline(3) not in (b"\r\n", b"\n"):
            raise InvokeError("the answer stream was cut off (the connection closed inside a chunk)")
        on_body(data)
    trailers: dict[str, str] = {}
    while (line := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        trailers[name.strip().lower()] = value.strip()
    return trailers


def main(arguments: Sequence[str]) -> int:
    options = parser().parse_args(list(arguments))
    out = sys.stdout.buffer
    try:
        host, port, path = endpoint(options.url)
        request = request_bytes(host, port, path, payload_of(options), options)
        try:
            connection = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as error:
            raise InvokeError(
                f"cannot reach the local server at {host}:{port} ({error.strerror or error}); "
                "start it with: python -m lambda_runtime serve app.handler"
            ) from None
        with connection:
            connection.settimeout(options.timeout)
            connection.sendall(request)
            reader = connection.makefile("rb")
            received = bytearray()
            printed = b""  # the last byte printed so far

            def on_body(answer: Answer, data: bytes) -> None:
                nonlocal printed
                if options.stream and answer.succeeded:
                    out.write(data)
                    out.flush()
                    printed = data[-1:] or printed
                else:
                    received.extend(data)

            try:
                answer = read_answer(reader, on_body)
            except TimeoutError:
                raise InvokeError(f"no answer within {options.timeout} s") from None
            except OSError as error:
                raise InvokeError(f"the connection failed: {error}") from None
    except InvokeError as error:
        sys.stderr.write(f"lambda-runtime invoke: {error}\n")
        return 2
    return finish(answer, bytes(received), printed)


def finish(answer: Answer, body: bytes, printed: bytes) -> int:
    """Print what is left to print (``printed`` is the last byte already printed, if any), ending the
    output with a newline; the exit status: 0 for an answer, 1 for an error."""
    out = sys.stdout.buffer
    function_error = answer.headers.get("x-amz-function-error")
    if answer.stream_error is not None:
        out.write(body + b"\n")  # what the function sent before it failed, if not printed yet
        out.flush()
        error_type, error_body = answer.stream_error
        sys.stderr.write(f"lambda-runtime invoke: the stream failed with {error_type}\n")
        _write_error(error_body)
        return 1
    if not answer.succeeded:
        what = f"function error {function_error}" if function_error else f"HTTP {answer.status}"
        sys.stderr.write(f"lambda-runtime invoke: {what}\n")
        _write_error(body)
        return 1
    tail = body[-1:] or printed
    out.write(body if tail in (b"", b"\n") else body + b"\n")
    out.flush()
    return 0


def _write_error(body: bytes) -> None:
    sys.stderr.write(body.decode("utf-8", "replace") + ("" if body.endswith(b"\n") else "\n"))
    sys.stderr.flush()
