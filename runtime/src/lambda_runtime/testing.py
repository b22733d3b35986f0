"""Helpers for testing functions: a context factory and a real Runtime API server.

* :func:`make_context` builds a :class:`LambdaContext` for calling a handler directly in a unit test.
* :class:`RuntimeAPIServer` is a real HTTP server on 127.0.0.1 (an ephemeral port) that plays the
  Lambda Runtime API: enqueue events, point a runtime at ``server.address``, read what it posted.
* :func:`run_function` does both for a ``module.handler`` in a subprocess, the way Lambda would.

Standard library only, and never imported by the runtime itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import protocol
from .context import FunctionInfo, LambdaContext
from .protocol import extensions as extension_protocol

__all__ = ["InvocationResult", "RuntimeAPIServer", "make_context", "run_function"]


def make_context(
    request_id: str = "test-request",
    *,
    function_name: str = "test-function",
    function_version: str = "$LATEST",
    memory_limit_in_mb: int | str = 128,
    remaining_time_ms: int = 3000,
    invoked_function_arn: str | None = None,
    trace_id: str | None = None,
    tenant_id: str | None = None,
    client_context: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
) -> LambdaContext:
    """A :class:`LambdaContext` as Lambda would build it, for calling a handler directly.

    ``client_context`` takes the invoker's JSON shape (``{"client": {...}, "custom": {...}, "env":
    {...}}``) and ``identity`` Cognito's (``{"cognitoIdentityId": ..., "cognitoIdentityPoolId": ...}``).
    """
    function = FunctionInfo(
        {
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_limit_in_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]test",
        }
    )
    arn = invoked_function_arn or f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    return LambdaContext(
        request_id,
        deadline_ms=int(time.time() * 1000) + remaining_time_ms,
        invoked_function_arn=arn,
        trace_id=trace_id,
        client_context=json.dumps(client_context) if client_context is not None else None,
        cognito_identity=json.dumps(identity) if identity is not None else None,
        tenant_id=tenant_id,
        function=function,
    )


class InvocationResult:
    """What the runtime posted for one invocation: a response or an error.

    A streamed response that failed after its first byte is an error too: ``error_type`` and
    ``error_body`` then come from its trailers, and ``body`` holds what was streamed before the failure.
    """

    __slots__ = ("body", "error_body", "error_type", "headers", "is_error", "request_id", "trailers")

    def __init__(
        self,
        request_id: str,
        is_error: bool,
        body: bytes,
        headers: Mapping[str, str],
        trailers: Mapping[str, str] | None = None,
    ) -> None:
        self.request_id = request_id
        self.body = body
        self.headers = dict(headers)
        self.trailers = dict(trailers or {})
        trailer_type = self.trailers.get(protocol.ERROR_TYPE_HEADER)
        self.is_error = is_error or trailer_type is not None
        self.error_type: str | None = self.headers.get(protocol.ERROR_TYPE_HEADER) or trailer_type
        self.error_body: bytes | None = body if is_error else None
        if protocol.ERROR_BODY_HEADER in self.trailers:
            import base64

            self.error_body = base64.b64decode(self.trailers[protocol.ERROR_BODY_HEADER])

    @property
    def streamed(self) -> bool:
        """Whether the runtime streamed this response."""
        return self.headers.get(protocol.RESPONSE_MODE_HEADER) == "streaming"

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        kind = f"error {self.error_type}" if self.is_error else "response"
        return f"InvocationResult({self.request_id!r}, {kind}, {self.body[:120]!r})"


class _PendingEvent:
    __slots__ = ("body", "headers", "request_id")

    def __init__(self, request_id: str, body: bytes, headers: dict[str, str]) -> None:
        self.request_id = request_id
        self.body = body
        self.headers = headers


class _APIHTTPServer(ThreadingHTTPServer):
    # Every connection has a thread of its own, so /next long-polls from many workers wait side by side;
    # a deep accept queue lets them all connect at once (the default of 5 would make some retry after 1 s).
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime that was stopped (or killed) while it waited in /next is gone when the answer goes
        # out: that is not the server's error, and its traceback would only be noise.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class RuntimeAPIServer:
    """A Runtime API on 127.0.0.1 for tests: ``with RuntimeAPIServer() as api: ...``.

    * :meth:`enqueue` adds an event and returns its request id; ``GET /next`` hands events out in order
      and waits (up to ``next_timeout`` seconds) while there are none.
    * ``results`` maps request ids to the :class:`InvocationResult` posted for them; ``posts`` lists
      every post in arrival order (a second answer to one id shows up there); ``init_errors`` lists
      init error posts; :meth:`wait_for` waits for a request id's result.
    * ``response_status`` (request id -> status) makes the server answer that invocation's response or
      error with another status, e.g. 410 for a timed-out invocation.
    * It plays the Extensions API too: ``extensions`` lists the ``(name, events)`` of each registered
      extension, and an extension's ``/extension/event/next`` waits until the server closes (it sends no
      event); ``extension_waits`` counts those requests.
    """

    def __init__(self, next_timeout: float = 30.0) -> None:
        self.next_timeout = next_timeout
        self.results: dict[str, InvocationResult] = {}
        self.posts: list[InvocationResult] = []
        self.init_errors: list[InvocationResult] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.response_status: dict[str, int] = {}
        self.extensions: list[tuple[str, list[str]]] = []
        self.extension_waits = 0
        self._extension_ids: set[str] = set()
        self._events: deque[_PendingEvent] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self._server = _APIHTTPServer(("127.0.0.1", 0), _make_request_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def _serve(self) -> None:
        # A short poll interval keeps close() quick: tests start and stop many servers.
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> RuntimeAPIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RuntimeAPIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def enqueue(
        self,
        event: bytes | str | Any,
        *,
        request_id: str | None = None,
        deadline_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Queue an event; returns its request id.

        ``bytes`` go out as they are and ``str`` as UTF-8 text (so ``'{"name": "Ada"}'`` is a JSON
        object); anything else is JSON-encoded (so a dict or a list needs no quoting).

        ``headers`` adds or replaces ``/next`` headers (``Lambda-Runtime-Trace-Id``, ...); a header
        given the value ``""`` is left out, which lets a test omit even the request id.
        """
        if isinstance(event, str):
            body = event.encode()
        elif isinstance(event, (bytes, bytearray)):
            body = bytes(event)
        else:
            body = json.dumps(event).encode()
        request_id = request_id or str(uuid.uuid4())
        deadline = deadline_ms if deadline_ms is not None else int(time.time() * 1000) + 60_000
        all_headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:test",
        }
        all_headers.update(headers or {})
        with self._condition:
            self._events.append(_PendingEvent(request_id, body, {k: v for k, v in all_headers.items() if v}))
            self._condition.notify_all()
        return request_id

    def wait_for(self, request_id: str, timeout: float = 10.0) -> InvocationResult:
        """The result posted for ``request_id``; raises ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while request_id not in self.results:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no response or error was posted for {request_id} in {timeout} s")
                self._condition.wait(remaining)
            return self.results[request_id]

    # -- called from the request handler's threads -----------------------------------------------------

    def _take_event(self) -> _PendingEvent | None:
        deadline = time.monotonic() + self.next_timeout
        with self._condition:
            while not self._events:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._condition.wait(min(remaining, 0.5))
            return self._events.popleft()

    def _register_extension(self, name: str, body: bytes) -> str | None:
        try:
            events = json.loads(body or b"{}").get("events", [])
        except (ValueError, AttributeError):
            return None
        if (
            not name
            or not isinstance(events, list)
            or not set(events) <= set(extension_protocol.EXTENSION_EVENTS)
        ):
            return None
        identifier = str(uuid.uuid4())
        with self._condition:
            self.extensions.append((name, events))
            self._extension_ids.add(identifier)
            self._condition.notify_all()
        return identifier

    def _wait_as_extension(self, identifier: str) -> bool:
        """Hold an extension's ``/event/next`` until the server closes; False for an unknown identifier."""
        with self._condition:
            if identifier not in self._extension_ids:
                return False
            self.extension_waits += 1
            self._condition.notify_all()
            while not self._closed:
                self._condition.wait(0.5)
        return True

    def _record(self, result: InvocationResult, init_error: bool) -> int:
        with self._condition:
            if init_error:
                self.init_errors.append(result)
            else:
                self.posts.append(result)
                self.results.setdefault(result.request_id, result)
            self._condition.notify_all()
        return self.response_status.get(result.request_id, 202)


def _make_request_handler(api: RuntimeAPIServer) -> type[BaseHTTPRequestHandler]:
    invocation_prefix = f"/{protocol.API_VERSION}/runtime/invocation/"

    class RuntimeAPIHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The reply's head and body are separate writes: without this, Nagle's algorithm and delayed
        # ACKs hold every reply for ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _headers(self) -> dict[str, str]:
            return {name.lower(): value for name, value in self.headers.items()}

        def _read_body(self) -> tuple[bytes, dict[str, str]]:
            """The request body (chunked or not) and the trailers of a chunked one."""
            if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0)), {}
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            trailers: dict[str, str] = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                trailers[name.strip().lower()] = value.strip()
            return b"".join(parts), trailers

        def _reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the runtime went away (it exited, or was stopped)

        def do_GET(self) -> None:
            headers = self._headers()
            api.requests.append(("GET", self.path, headers))
            if self.path == extension_protocol.EXTENSION_NEXT_PATH:
                identifier = headers.get(extension_protocol.EXTENSION_IDENTIFIER_HEADER, "")
                if not api._wait_as_extension(identifier):
                    self._reply(403, b'{"errorMessage":"unknown extension identifier"}')
                    return
                self.close_connection = True
                self._reply(500, b'{"errorMessage":"the test Runtime API is shutting down"}')
                return
            if self.path != protocol.NEXT_PATH:
                self._reply(404, b'{"errorMessage":"not found"}')
                return
            event = api._take_event()
            if event is None:
                self.close_connection = True
                self._reply(500, b'{"errorMessage":"the test Runtime API is shutting down"}')
                return
            self._reply(200, event.body, event.headers)

        def do_POST(self) -> None:
            headers = self._headers()
            api.requests.append(("POST", self.path, headers))
            body, trailers = self._read_body()
            if self.path == extension_protocol.EXTENSION_REGISTER_PATH:
                identifier = api._register_extension(
                    headers.get(extension_protocol.EXTENSION_NAME_HEADER, ""), body
                )
                if identifier is None:
                    self._reply(400, b'{"errorMessage":"invalid registration"}')
                    return
                document = {"functionName": "test", "functionVersion": "$LATEST", "handler": "app.handler"}
                self._reply(
                    200,
                    json.dumps(document).encode(),
                    {"Lambda-Extension-Identifier": identifier, "Content-Type": "application/json"},
                )
                return
            if self.path == protocol.INIT_ERROR_PATH:
                api._record(InvocationResult("", True, body, headers), init_error=True)
                self._reply(202, b'{"status":"OK"}')
                return
            if not self.path.startswith(invocation_prefix):
                self._reply(404, b'{"errorMessage":"not found"}')
                return
            request_id, _, kind = self.path[len(invocation_prefix) :].partition("/")
            if kind not in ("response", "error"):
                self._reply(404, b'{"errorMessage":"not found"}')
                return
            result = InvocationResult(request_id, kind == "error", body, headers, trailers)
            status = api._record(result, init_error=False)
            self._reply(status, b'{"status":"OK"}' if status == 202 else b'{"errorMessage":"test status"}')

    return RuntimeAPIHandler


def run_function(
    handler_spec: str,
    events: Iterable[bytes | str | Any],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> list[InvocationResult]:
    """Run ``python -m lambda_runtime <handler_spec>`` against a test Runtime API with ``events``.

    The function runs in a subprocess (in ``cwd``) with ``MAX_INVOCATIONS`` set to the number of events,
    as Lambda would run it. Returns one result per event, in order. Raises ``RuntimeError``, with the
    function's output, if it exits with an error or does not finish within ``timeout`` seconds.
    """
    with RuntimeAPIServer(next_timeout=timeout) as api:
        request_ids = [api.enqueue(event) for event in events]
        child_env = dict(os.environ)
        child_env.update(env or {})
        child_env["AWS_LAMBDA_RUNTIME_API"] = api.address
        child_env["MAX_INVOCATIONS"] = str(len(request_ids))
        try:
            finished = subprocess.run(
                [sys.executable, "-m", "lambda_runtime", handler_spec],
                cwd=cwd,
                env=child_env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            output = _text(error.stdout) + _text(error.stderr)
            raise RuntimeError(f"{handler_spec} did not finish in {timeout} s; output:\n{output}") from None
        missing = [request_id for request_id in request_ids if request_id not in api.results]
        if finished.returncode != 0 or missing:
            raise RuntimeError(
                f"{handler_spec} exited with {finished.returncode}, {len(missing)} invocation(s) unanswered;"
                f" output:\n{_text(finished.stdout)}{_text(finished.stderr)}"
            )
        return [api.results[request_id] for request_id in request_ids]


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
