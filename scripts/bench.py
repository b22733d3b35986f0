"""The benchmark: lambda-runtime against awslambdaric and a raw-socket floor, in one run.

Each contender is a child process talking to a mock Runtime API served from this process. For each
it measures the cold start (spawn to the first ``GET /next``), the time to the first answer (spawn
to the first ``POST .../response``), microseconds per invocation after a warm-up, and the child's
peak RSS; then it prints a Markdown table of medians, the ratios, and a PASS/FAIL check of the
project's targets. ``--scenario`` picks the workload: the untyped echo (``hello``, the default), the
same echo with a pydantic model in and out (``typed``, whose runtime's own time is held against
``hello``'s), or ``all``. ``python scripts/bench.py --help`` lists the options; ``scripts/README.md``
explains the columns and how the typed target is computed.

Standard library only, so that it runs in any environment that has the contenders installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

SCRIPTS = Path(__file__).resolve().parent

FUNCTION_NAME = "bench"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"

# How long a child gets, once its job is done, to exit by itself, and then to die after SIGTERM.
EXIT_GRACE_SECONDS = 10.0
TERM_GRACE_SECONDS = 5.0

# ---------------------------------------------------------------------------------------------------
# Scenarios: what the function does. Each contender runs each scenario it has a command for.


@dataclass(frozen=True)
class Scenario:
    """One workload: the event the mock sends and what every contender must answer."""

    name: str
    description: str
    event: bytes
    expected_response: object  # the JSON-decoded body every /response must carry
    handler: str  # module.function, importable from scripts/
    script: str | None  # a file in scripts/ that runs the handler under LambdaRuntime when executed
    floor_script: str | None  # the raw-socket client that answers this scenario with the least work
    no_floor: str = ""  # why there is no floor client, when there is none
    requires: str | None = None  # a module the contenders' interpreter must import, or all are skipped
    awslambdaric_handler: str | None = None  # what awslambdaric runs, where it cannot run `handler`
    runtime_targets: bool = True  # whether TARGETS (set for the untyped echo) apply
    # A typed scenario: the untyped scenario the lambda-runtime contenders also run, interleaved, and how
    # much slower than it their own time per invocation may be once the model's cost is taken out.
    baseline: str | None = None
    max_own_time_ratio: float | None = None


HELLO = Scenario(
    name="hello",
    description="HelloWorld echo: {'name': 'Ada'} -> {'message': 'Hello, Ada!'}",
    event=b'{"name": "Ada"}',
    expected_response={"message": "Hello, Ada!"},
    handler="bench_handler.handler",
    script="bench_handler.py",
    floor_script="bench_floor.py",
)

TYPED = Scenario(
    name="typed",
    description="the echo with a pydantic model in and out: Person(name='Ada') -> Greeting('Hello, Ada!')",
    event=b'{"name": "Ada"}',
    expected_response={"message": "Hello, Ada!"},
    handler="bench_typed_handler.handler",
    script="bench_typed_handler.py",
    floor_script=None,
    no_floor="the floor decodes nothing, so it has no typed form",
    requires="pydantic",
    awslambdaric_handler="bench_typed_handler.by_hand",  # the same validate and dump, written by hand
    runtime_targets=False,
    baseline=HELLO.name,
    max_own_time_ratio=1.20,
)

SCENARIOS = {scenario.name: scenario for scenario in (HELLO, TYPED)}
ALL = "all"

# ---------------------------------------------------------------------------------------------------
# Contenders: how each runtime is started.

FLOOR = "floor"
# The floor started as `python -m bench_floor`: what `python -m` itself costs (runpy and what it imports,
# milliseconds before any module of the runtime's is read). The CLI form's cold start is also checked
# against it, like for like: `python -m` pays runpy before any code of the runtime's runs, where a script
# started by path pays instead to compile its own source (see Contender.launch_floor).
FLOOR_MODULE = "floor (python -m)"
OURS_CLI = "lambda-runtime (CLI)"
OURS_BOOTSTRAP = "lambda-runtime (bootstrap)"
OURS_SCRIPT = "lambda-runtime (script)"
AWSLAMBDARIC = "awslambdaric"

# What the zip's bootstrap (lambda_runtime/artifact/wrapper.py) runs on Lambda: the CLI's entry point,
# started with -c rather than -m, which imports runpy first.
BOOTSTRAP_START = "import sys; from lambda_runtime.runtime import main; sys.exit(main())"


@dataclass(frozen=True)
class Contender:
    """A runtime under test: the interpreter arguments that start it for a scenario."""

    key: str  # for --contenders
    name: str
    arguments: Callable[[Scenario], list[str] | None]  # None: no command for this scenario
    requires: str | None  # a module that must be importable, or the contender is skipped
    exits_by_itself: bool  # True: honours MAX_INVOCATIONS; False: is terminated once done
    is_ours: bool
    # The raw client started the same way (by path, or with -m): its cold start target is also checked
    # against that floor.
    launch_floor: str = FLOOR


CONTENDERS = (
    Contender(
        "floor",
        FLOOR,
        lambda s: [s.floor_script] if s.floor_script else None,
        None,
        exits_by_itself=True,
        is_ours=False,
    ),
    Contender(
        "floor-m",
        FLOOR_MODULE,
        lambda s: ["-m", s.floor_script.removesuffix(".py")] if s.floor_script else None,
        None,
        exits_by_itself=True,
        is_ours=False,
    ),
    Contender(
        "cli",
        OURS_CLI,
        lambda s: ["-m", "lambda_runtime", s.handler],
        "lambda_runtime",
        exits_by_itself=True,
        is_ours=True,
        launch_floor=FLOOR_MODULE,
    ),
    Contender(
        "bootstrap",
        OURS_BOOTSTRAP,
        lambda s: ["-c", BOOTSTRAP_START, s.handler],
        "lambda_runtime",
        exits_by_itself=True,
        is_ours=True,
    ),
    Contender(
        "script",
        OURS_SCRIPT,
        lambda s: [s.script] if s.script else None,
        "lambda_runtime",
        exits_by_itself=True,
        is_ours=True,
    ),
    Contender(
        "awslambdaric",
        AWSLAMBDARIC,
        lambda s: ["-m", "awslambdaric", s.awslambdaric_handler or s.handler],
        "awslambdaric",
        exits_by_itself=False,
        is_ours=False,
    ),
)

# ---------------------------------------------------------------------------------------------------
# Targets, from the issue that asked for this benchmark: each "ours" contender against a reference.


@dataclass(frozen=True)
class Target:
    metric: str  # a RunResult field
    label: str
    reference: str  # a contender name
    max_ratio: float


TARGETS = (
    Target("cold_start_ms", "cold start", FLOOR, 1.15),
    Target("cold_start_ms", "cold start", AWSLAMBDARIC, 0.75),
    Target("us_per_invocation", "µs/invocation", FLOOR, 1.15),
    Target("us_per_invocation", "µs/invocation", AWSLAMBDARIC, 0.70),
    Target("peak_rss_mib", "peak RSS", AWSLAMBDARIC, 1.00),
)

TIMES = "\N{MULTIPLICATION SIGN}"
RATIO_METRICS = (("cold_start_ms", "cold"), ("us_per_invocation", "µs"), ("peak_rss_mib", "RSS"))

# ---------------------------------------------------------------------------------------------------
# The mock Runtime API.

API = b"/2018-06-01/runtime"
NEXT_PATH = API + b"/invocation/next"
INVOCATION_PREFIX = API + b"/invocation/"
INIT_ERROR_PATH = API + b"/init/error"

ACCEPTED = (
    b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n'
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
RECV_SIZE = 65536


def _plain_reply(status: str, message: str) -> bytes:
    body = json.dumps({"errorMessage": message, "errorType": status}).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


BAD_REQUEST_ID = _plain_reply("400 Bad Request", "unknown or already answered request id")
NOT_FOUND = _plain_reply("404 Not Found", "no such Runtime API route")

# A request as the connection reader hands it over: method, path, body.
Request = tuple[bytes, bytes, bytes]


def request_id(index: int) -> bytes:
    """The request id of invocation ``index``: UUID-shaped, unique, and easy to read back."""
    return b"00000000-0000-4000-8000-%012d" % index


def next_reply(index: int, event: bytes, deadline_ms: int) -> bytes:
    """The complete ``/next`` response for invocation ``index``, headers as Lambda sends them."""
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {request_id(index).decode()}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\n"
        f"Lambda-Runtime-Trace-Id: Root=1-00000000-{index:024x};Parent=0000000000000001;Sampled=0\r\n"
        f"Content-Length: {len(event)}\r\n"
        "\r\n"
    )
    return head.encode() + event


class ConnectionReader:
    """Reads HTTP/1.1 requests off one socket: Content-Length or chunked bodies, Expect: 100-continue.

    ``Connection: close`` needs no handling: a client that sends it closes the socket itself once it
    has the answer, and the next read sees the end of the stream.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def read(self) -> Request | None:
        """The next request, or None once the client has closed the connection."""
        # This method is the larger part of the mock's share of each measured invocation, and every
        # byte search costs a few hundred nanoseconds here: the common requests (no body, or a
        # Content-Length body that came with the head) take as few as it can.
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            data = self._sock.recv(RECV_SIZE)
            if not data:
                return None
            buffer += data
            end = buffer.find(b"\r\n\r\n")
        method, path, _ = buffer.split(b" ", 2)
        body_start = end + 4
        if method == b"GET":
            # A GET body has no meaning in HTTP and no runtime sends one: the headers can be skipped.
            self._buffer = buffer[body_start:]
            return method, path, b""
        # Lower-cased, as header names are case-insensitive, and with the last header's CRLF so that
        # every header line ends in one.
        headers = buffer[: end + 2].lower()
        start = headers.find(b"\r\ncontent-length:")
        if start >= 0:
            body_end = body_start + int(headers[start + 17 : headers.find(b"\r\n", start + 17)])
            if len(buffer) < body_end:
                buffer = self._receive_body(buffer, body_start, body_end, headers)
            self._buffer = buffer[body_end:]
            return method, path, buffer[body_start:body_end]
        self._buffer = buffer[body_start:]
        if b"\r\ntransfer-encoding:" in headers:  # chunked: the only transfer coding a client sends
            return method, path, self._read_chunked(headers)
        return method, path, b""

    def _receive_body(self, buffer: bytes, body_start: int, body_end: int, headers: bytes) -> bytes:
        if len(buffer) == body_start:
            self._continue_if_expected(headers)
        while len(buffer) < body_end:
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionError("the client closed the connection mid-body")
            buffer += data
        return buffer

    def _continue_if_expected(self, headers: bytes) -> None:
        # curl-based clients may wait for this (up to a second) before they send the body.
        if _header(headers, b"expect") == b"100-continue":
            self._sock.sendall(CONTINUE)

    def _read_chunked(self, headers: bytes) -> bytes:
        if not self._buffer:
            self._continue_if_expected(headers)
        chunks = []
        while size := int(self._read_line().partition(b";")[0], 16):
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF that ends each chunk
        while self._read_line():  # trailers, up to the empty line that ends the message
            pass
        return b"".join(chunks)

    def _receive(self) -> None:
        data = self._sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionError("the client closed the connection mid-body")
        self._buffer += data

    def _read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._receive()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body

    def _read_line(self) -> bytes:
        end = self._buffer.find(b"\r\n")
        while end < 0:
            self._receive()
            end = self._buffer.find(b"\r\n")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line


def _header(lowered_head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower-case) in a lower-cased head whose lines all end in CRLF."""
    start = lowered_head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return lowered_head[start : lowered_head.find(b"\r\n", start)].strip()


@dataclass
class Trace:
    """What the mock saw of one run. Times are ``time.perf_counter()`` in this process."""

    first_next: float | None = None
    first_response: float | None = None
    timed_start: float | None = None  # the first /next after the warm-up invocations
    last_response: float | None = None
    cpu_at_timed_start: float | None = None  # this process's CPU time (the mock's, in effect)
    cpu_at_last_response: float | None = None
    issued: int = 0
    answered: int = 0
    errors: list[bytes] = field(default_factory=list)
    init_error: bytes | None = None
    problems: list[str] = field(default_factory=list)
    response_bodies: set[bytes] = field(default_factory=set)


class LoopbackServer:
    """A server on 127.0.0.1 with a thread per connection running ``_serve`` (blocking reads): the
    listener, the accept loop and a bounded stop, for the benchmarks' mocks. A subclass calls
    ``super().__init__()`` last: it starts accepting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() wakes up this often to notice stop(); it is never on the measured path.
        self._listener.settimeout(0.1)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._start_thread(self._accept_loop)

    def stop(self) -> None:
        """Close everything; threads blocked on a socket wake up with an error and end."""
        self._stopping.set()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._listener.close()

    def _start_thread(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(connection)
            self._start_thread(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        raise NotImplementedError


class MockRuntimeAPI(LoopbackServer):
    """A Runtime API on 127.0.0.1 that serves ``invocations`` copies of ``event``, then holds /next.

    Built to stay out of the measurement: every ``/next`` answer is prebuilt, and each connection
    has its own thread doing blocking reads, so the hot path is recv, a few finds, sendall. A client
    that reconnects, or opens a second connection, gets served just the same.
    """

    def __init__(self, event: bytes, invocations: int, warmup: int, wake: threading.Event) -> None:
        self.invocations = invocations
        self._warmup = warmup
        self._wake = wake  # set when the run is complete or the function reported an init error
        # Called on the mock's thread with the function blocked, waiting for its last answer.
        self.before_final_reply: Callable[[], None] | None = None
        self.trace = Trace()
        deadline_ms = int(time.time() * 1000) + 15 * 60 * 1000  # Lambda's longest timeout
        self._next_replies = [next_reply(index, event, deadline_ms) for index in range(invocations)]
        # The /response and /error paths that may answer each invocation.
        self._answer_paths = [
            (
                INVOCATION_PREFIX + request_id(index) + b"/response",
                INVOCATION_PREFIX + request_id(index) + b"/error",
            )
            for index in range(invocations)
        ]
        self._response_path: bytes | None = None  # of the invocation in progress, if any
        self._error_path: bytes | None = None
        self.idle = threading.Event()  # set once the function waits on /next with no event left
        super().__init__()

    @property
    def complete(self) -> bool:
        return self.trace.answered >= self.invocations

    def _serve(self, connection: socket.socket) -> None:
        reader = ConnectionReader(connection)
        try:
            while request := reader.read():
                reply = self._reply(*request)
                if reply is None:
                    # Nothing left to invoke: hold /next open, as Lambda does, until the bench stops.
                    self.idle.set()
                    self._stopping.wait()
                    return
                connection.sendall(reply)
        except (OSError, ValueError) as error:
            # A contender that is terminated once done may leave a request half sent: not a problem.
            if not self._stopping.is_set() and not self.complete:
                self._problem(f"connection failed: {error!r}")
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def _reply(self, method: bytes, path: bytes, body: bytes) -> bytes | None:
        """The answer to one request; None to hold a /next for which no event is left."""
        # Every invocation's two requests are matched against precomputed paths: this is the mock's
        # share of each measured invocation, so it does as little as it can.
        with self._lock:
            if path == NEXT_PATH and method == b"GET":
                return self._issue_next()
            if path == self._response_path and method == b"POST":
                return self._complete(body, is_error=False)
            if path == self._error_path and method == b"POST":
                return self._complete(body, is_error=True)
        return self._reply_unusual(method, path, body)

    def _issue_next(self) -> bytes | None:
        trace = self.trace
        index = trace.issued
        if index == self.invocations:
            return None
        trace.issued = index + 1
        self._response_path, self._error_path = self._answer_paths[index]
        # Clocks are read only where a timestamp is kept.
        if index == 0:
            trace.first_next = time.perf_counter()
        if index == self._warmup:
            trace.timed_start = time.perf_counter()
            trace.cpu_at_timed_start = time.process_time()
        return self._next_replies[index]

    def _complete(self, body: bytes, is_error: bool) -> bytes:
        trace = self.trace
        # One invocation at a time, as in Lambda: a second answer to it is refused.
        self._response_path = self._error_path = None
        trace.answered = answered = trace.answered + 1
        if is_error:
            trace.errors.append(body)
        else:
            trace.response_bodies.add(body)
        if answered == 1:
            trace.first_response = time.perf_counter()
        if answered == self.invocations:
            trace.last_response = time.perf_counter()
            trace.cpu_at_last_response = time.process_time()
            if self.before_final_reply:
                self.before_final_reply()
            self._wake.set()
        return ACCEPTED

    def _reply_unusual(self, method: bytes, path: bytes, body: bytes) -> bytes:
        if path == INIT_ERROR_PATH and method == b"POST":
            self.trace.init_error = body
            self._wake.set()
            return ACCEPTED
        if path.startswith(INVOCATION_PREFIX) and method == b"POST":
            self._problem(f"answer for an unknown or already answered invocation: {path.decode()}")
            return BAD_REQUEST_ID
        self._problem(f"unexpected request {method.decode()} {path.decode()}")
        return NOT_FOUND

    def _problem(self, text: str) -> None:
        if len(self.trace.problems) < 10:
            self.trace.problems.append(text)
        self._wake.set()


# ---------------------------------------------------------------------------------------------------
# Running one contender once.


@dataclass
class RunResult:
    contender: str
    run: int  # 0 for the priming round, then 1..runs
    failure: str | None = None
    cold_start_ms: float | None = None
    first_response_ms: float | None = None
    us_per_invocation: float | None = None
    peak_rss_mib: float | None = None
    peak_rss_source: str | None = None  # "VmHWM", or "ru_maxrss" where /proc is missing
    mock_cpu_us_per_invocation: float | None = None
    exit_status: int | None = None


@dataclass(frozen=True)
class Settings:
    python: str
    python_version: str  # "3.11", as in AWS_EXECUTION_ENV
    scenario: Scenario
    invocations: int
    warmup: int
    timeout: float


class ExitWatcher:
    """Reaps the child in a thread with ``wait4``, which also yields the child's peak RSS."""

    def __init__(self, pid: int, wake: threading.Event) -> None:
        self.pid = pid
        self.status: int | None = None
        self.peak_rss_kib: int | None = None
        self._wake = wake
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    @property
    def exited(self) -> bool:
        return self.status is not None

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return self.exited

    def _wait(self) -> None:
        _, status, usage = os.wait4(self.pid, 0)
        # Only a fallback for peak_rss_since_exec_kib. It is in KiB on Linux but in bytes on macOS.
        self.peak_rss_kib = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
        self.status = os.waitstatus_to_exitcode(status)
        self._wake.set()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the child outlives the grace period."""
        for sig, grace in ((signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, TERM_GRACE_SECONDS)):
            if self.exited:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            self.join(grace)


def lambda_environment(address: str, settings: Settings) -> dict[str, str]:
    """The child's environment: this one plus what Lambda sets for a 128 MB Python function."""
    env = dict(os.environ)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": address,
            "_HANDLER": settings.scenario.handler,
            "LAMBDA_TASK_ROOT": str(SCRIPTS),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{settings.python_version}",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]00000000000000000000000000000000",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TZ": ":UTC",
            "MAX_INVOCATIONS": str(settings.invocations),
        }
    )
    return env


def run_once(contender: Contender, arguments: list[str], settings: Settings, run: int) -> RunResult:
    """Spawn the contender against a fresh mock, wait (bounded) for it to finish, and measure."""
    wake = threading.Event()
    api = MockRuntimeAPI(settings.scenario.event, settings.invocations, settings.warmup, wake)
    try:
        with tempfile.TemporaryFile() as output:
            return spawn_and_measure(contender, arguments, settings, run, api, output, wake)
    finally:
        api.stop()


def spawn_and_measure(
    contender: Contender,
    arguments: list[str],
    settings: Settings,
    run: int,
    api: MockRuntimeAPI,
    output: IO[bytes],
    wake: threading.Event,
) -> RunResult:
    result = RunResult(contender.name, run)
    env = lambda_environment(api.address, settings)
    spawned_at = time.perf_counter()
    # The child is reaped by ExitWatcher (wait4), never by Popen, so Popen.wait/poll are not used.
    child = subprocess.Popen(
        [settings.python, *arguments],
        cwd=SCRIPTS,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    watcher = ExitWatcher(child.pid, wake)
    peak_rss: list[int | None] = []
    # Sampled while the child waits for its last answer, so it covers its whole life but exit.
    api.before_final_reply = lambda: peak_rss.append(peak_rss_since_exec_kib(child.pid))
    failure = supervise(contender, api, watcher, spawned_at + settings.timeout, wake)
    child.returncode = watcher.status  # tells Popen the child is reaped
    api.stop()
    result.exit_status = watcher.status
    # What the mock saw (an init error, a wrong answer) says more than how the process ended.
    result.failure = check_trace(api.trace, settings) or failure
    measure(result, api.trace, spawned_at, settings)
    result.peak_rss_mib, result.peak_rss_source = choose_peak_rss(peak_rss, watcher)
    if result.failure:
        result.failure += output_tail(output)
    return result


def peak_rss_since_exec_kib(pid: int) -> int | None:
    """``VmHWM`` of a live process: its peak RSS since it exec'd the interpreter (Linux only).

    ``ru_maxrss`` from ``wait4`` is no good here: the kernel carries the high-water mark of the
    address space a child had before exec, and a child of this process starts out with (vfork) or as
    a copy of (fork) this process's memory, so every contender would show at least the bench's RSS.
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def choose_peak_rss(samples: list[int | None], watcher: ExitWatcher) -> tuple[float | None, str | None]:
    if samples and samples[0] is not None:
        return samples[0] / 1024, "VmHWM"
    if watcher.peak_rss_kib is not None:
        return watcher.peak_rss_kib / 1024, "ru_maxrss"  # includes the bench's own RSS; see above
    return None, None


def supervise(
    contender: Contender, api: MockRuntimeAPI, watcher: ExitWatcher, deadline: float, wake: threading.Event
) -> str | None:
    """Wait until the run is over and the child is gone; return what went wrong, if anything."""
    # The mock sets `wake` when all invocations are answered (or on an init error or a protocol
    # problem); the watcher sets it when the child exits.
    if not wake.wait(max(0.0, deadline - time.perf_counter())):
        watcher.stop()
        return f"timed out after {api.trace.answered} of {api.invocations} invocations"
    if watcher.exited:
        if api.complete and (watcher.status == 0 or not contender.exits_by_itself):
            return None
        return (
            f"exited with status {watcher.status} after {api.trace.answered} of {api.invocations} invocations"
        )
    if not api.complete:
        watcher.stop()
        return "stopped early: the mock saw an init error or a protocol problem"
    if contender.exits_by_itself:
        if not watcher.join(EXIT_GRACE_SECONDS):
            watcher.stop()
            return f"did not exit within {EXIT_GRACE_SECONDS:.0f} s of its last invocation"
        return None if watcher.status == 0 else f"exited with status {watcher.status}"
    # awslambdaric waits for the next event forever: it is stopped once it asks for one (bounded).
    # Polling is fine here: the measured part of the run is over.
    wait_until(lambda: api.idle.is_set() or watcher.exited, EXIT_GRACE_SECONDS)
    watcher.stop()
    return None if watcher.exited else "could not be killed"


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def check_trace(trace: Trace, settings: Settings) -> str | None:
    """Whatever the mock saw that makes the run invalid, even if the child exited cleanly."""
    if trace.init_error is not None:
        return f"init error: {trace.init_error[:300].decode(errors='replace')}"
    if trace.errors:
        return (
            f"{len(trace.errors)} invocation errors, first: {trace.errors[0][:300].decode(errors='replace')}"
        )
    if trace.problems:
        return "; ".join(trace.problems)
    for body in trace.response_bodies:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = body
        if answer != settings.scenario.expected_response:
            return f"wrong response {body[:200]!r}"
    return None


def measure(result: RunResult, trace: Trace, spawned_at: float, settings: Settings) -> None:
    if trace.first_next is not None:
        result.cold_start_ms = (trace.first_next - spawned_at) * 1e3
    if trace.first_response is not None:
        result.first_response_ms = (trace.first_response - spawned_at) * 1e3
    if trace.timed_start is not None and trace.last_response is not None:
        timed = settings.invocations - settings.warmup
        result.us_per_invocation = (trace.last_response - trace.timed_start) * 1e6 / timed
        if trace.cpu_at_timed_start is not None and trace.cpu_at_last_response is not None:
            mock_cpu = trace.cpu_at_last_response - trace.cpu_at_timed_start
            result.mock_cpu_us_per_invocation = mock_cpu * 1e6 / timed


def output_tail(output: IO[bytes], lines: int = 15) -> str:
    output.seek(0)
    tail = output.read().decode(errors="replace").splitlines()[-lines:]
    return "".join(f"\n    | {line}" for line in tail)


# ---------------------------------------------------------------------------------------------------
# The whole benchmark: probe, prime, interleaved runs, summary.


@dataclass
class ContenderReport:
    contender: Contender
    scenario: Scenario
    arguments: list[str] | None  # None when there is no command for the scenario
    skipped: str | None = None
    runs: list[RunResult] = field(default_factory=list)
    medians: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.contender.name

    @property
    def measured(self) -> bool:
        return bool(self.medians)

    @property
    def why_unmeasured(self) -> str:
        if self.skipped:
            return self.skipped
        failures = [result.failure for result in self.runs if result.failure]
        return f"failed: {failures[0].splitlines()[0]}" if failures else "not run"


PROBE = """
import importlib, json, sys
importable = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        continue
    importable.append(name)
print(json.dumps(["%d.%d" % sys.version_info[:2], importable]))
"""


# Byte-compiles the contenders' packages and the handler module, as a deployed package would carry them
# (pip compiles what it installs; an editable install, or PYTHONDONTWRITEBYTECODE=1, leaves source only,
# and compiling at every start would be measured as cold start).
COMPILE = """
import compileall, importlib.util, os, sys
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        continue
    locations = spec.submodule_search_locations
    if locations:
        for location in locations:
            compileall.compile_dir(location, quiet=1)
    else:
        compileall.compile_file(spec.origin, quiet=1)
"""


def compile_bytecode(python: str, modules: Sequence[str]) -> None:
    subprocess.run([python, "-c", COMPILE, *modules], cwd=SCRIPTS, timeout=120, check=True)


def probe_interpreter(python: str) -> tuple[str, set[str]]:
    """The interpreter's ``major.minor`` and which contender and scenario modules it can import (from
    scripts/)."""
    required = [contender.requires for contender in CONTENDERS] + [s.requires for s in SCENARIOS.values()]
    modules = sorted({module for module in required if module})
    completed = subprocess.run(
        [python, "-c", PROBE, *modules], cwd=SCRIPTS, capture_output=True, text=True, timeout=60, check=True
    )
    version, importable = json.loads(completed.stdout.splitlines()[-1])
    return version, set(importable)


def select_contenders(
    keys: Sequence[str] | None, scenario: Scenario, importable: set[str]
) -> list[ContenderReport]:
    reports = []
    for contender in CONTENDERS:
        if keys and contender.key not in keys:
            continue
        report = ContenderReport(contender, scenario, contender.arguments(scenario))
        if report.arguments is None:
            report.skipped = (contender.name == FLOOR and scenario.no_floor) or (
                f"no command for scenario {scenario.name!r}"
            )
        elif contender.requires and contender.requires not in importable:
            report.skipped = f"`{contender.requires}` is not importable by the benchmarked interpreter"
        elif scenario.requires and scenario.requires not in importable:
            report.skipped = (
                f"`{scenario.requires}` is not importable by the benchmarked interpreter "
                f"(scenario {scenario.name!r} needs it: pip install 'lambda-runtime[json]')"
            )
        reports.append(report)
    return reports


def plan(
    selected: Sequence[Scenario], keys: Sequence[str] | None, importable: set[str]
) -> dict[str, list[ContenderReport]]:
    """The contenders of each selected scenario, and of the baselines the typed ones are held against.

    A baseline that was not selected itself is run only by the lambda-runtime contenders that run the
    typed scenario: its numbers are a reference, not a report.
    """
    plans = {scenario.name: select_contenders(keys, scenario, importable) for scenario in selected}
    for scenario in selected:
        if scenario.baseline is None or scenario.baseline in plans:
            continue
        needed = {
            report.contender.key
            for report in plans[scenario.name]
            if report.contender.is_ours and not report.skipped
        }
        baseline = SCENARIOS[scenario.baseline]
        plans[baseline.name] = [
            report
            for report in select_contenders(keys, baseline, importable)
            if report.contender.key in needed
        ]
    return plans


def interleaved(plans: dict[str, list[ContenderReport]]) -> list[ContenderReport]:
    """Every report, contender by contender (each one's scenarios back to back), in CONTENDERS order."""
    order = {contender.key: index for index, contender in enumerate(CONTENDERS)}
    scenario_order = {name: index for index, name in enumerate(SCENARIOS)}
    reports = [report for reports in plans.values() for report in reports]
    return sorted(
        reports, key=lambda r: (order[r.contender.key], scenario_order.get(r.scenario.name, len(SCENARIOS)))
    )


def round_order(reports: list[ContenderReport], run: int) -> list[ContenderReport]:
    """The reports in the order of round ``run``: on even rounds each contender runs its scenarios in the
    opposite order, so that neither of a typed scenario and its baseline always goes first."""
    if run % 2:
        return reports
    groups: dict[str, list[ContenderReport]] = {}
    for report in reports:
        groups.setdefault(report.contender.key, []).append(report)
    return [report for group in groups.values() for report in reversed(group)]


def run_benchmark(
    reports: list[ContenderReport],
    settings: Settings,
    runs: int,
    prime: bool,
    after_round: Callable[[int], None] | None = None,
) -> None:
    # With more than one scenario, each line says which one it is about.
    several = len({report.scenario.name for report in reports}) > 1

    def label(report: ContenderReport) -> str:
        return f"[{report.scenario.name}] " if several else ""

    def run_one(report: ContenderReport, run: int) -> RunResult:
        scenario_settings = replace(settings, scenario=report.scenario)
        return run_once(report.contender, report.arguments or [], scenario_settings, run)

    for report in reports:
        if report.skipped:
            log(f"skip {label(report)}{report.name}: {report.skipped}")
    if prime:
        modules = {
            report.contender.requires for report in active_reports(reports) if report.contender.requires
        }
        for report in active_reports(reports):
            scenario = report.scenario
            modules.update(
                handler.partition(".")[0]
                for handler in (scenario.handler, scenario.awslambdaric_handler)
                if handler
            )
            if scenario.requires:
                modules.add(scenario.requires)
        compile_bytecode(settings.python, sorted(modules | {"bench_handler"}))
        # One discarded round first: it warms the page cache for everyone. A contender that fails here
        # would most likely fail (or hang) every run: it is left out.
        for report in active_reports(reports):
            result = run_one(report, run=0)
            log(f"prime {label(report)}{describe(result)}")
            if result.failure:
                report.runs.append(result)
                report.skipped = f"failed in the priming round: {result.failure.splitlines()[0]}"
    for run in range(1, runs + 1):
        # Interleaved run by run, so that drift in the machine's speed hits every contender alike.
        for report in round_order(active_reports(reports), run):
            result = run_one(report, run)
            report.runs.append(result)
            log(f"run {run}/{runs} {label(report)}{describe(result)}")
        if after_round is not None:
            after_round(run)
    for report in active_reports(reports):
        report.medians = medians([result for result in report.runs if not result.failure])


def active_reports(reports: list[ContenderReport]) -> list[ContenderReport]:
    return [report for report in reports if not report.skipped and report.arguments is not None]


def medians(results: list[RunResult]) -> dict[str, float]:
    """The median of each metric over the runs that measured it."""
    metrics = (
        "cold_start_ms",
        "first_response_ms",
        "us_per_invocation",
        "peak_rss_mib",
        "mock_cpu_us_per_invocation",
    )
    values = {
        metric: [value for result in results if (value := getattr(result, metric)) is not None]
        for metric in metrics
    }
    return {metric: statistics.median(found) for metric, found in values.items() if found}


def describe(result: RunResult) -> str:
    if result.failure:
        return f"{result.contender}: FAILED: {result.failure}"
    return (
        f"{result.contender}: cold start {_number(result.cold_start_ms, 1)} ms, "
        f"first response {_number(result.first_response_ms, 1)} ms, "
        f"{_number(result.us_per_invocation, 1)} µs/invocation, {_number(result.peak_rss_mib, 1)} MiB, "
        f"mock {_number(result.mock_cpu_us_per_invocation, 1)} µs CPU/invocation"
    )


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Reporting.


def ratio(reports: dict[str, ContenderReport], name: str, reference: str, metric: str) -> float | None:
    value = reports[name].medians.get(metric) if name in reports else None
    base = reports[reference].medians.get(metric) if reference in reports else None
    return value / base if value is not None and base else None


def format_ratios(reports: dict[str, ContenderReport], name: str, reference: str) -> str:
    if name == reference or reference not in reports or not reports[reference].measured:
        return "—"
    parts = [f"{label} {_times(ratio(reports, name, reference, metric))}" for metric, label in RATIO_METRICS]
    return " / ".join(parts)


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}{TIMES}"


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(reports: dict[str, ContenderReport]) -> str:
    lines = [
        (
            "| contender | cold start ms | first response ms | µs/invocation | peak RSS MiB "
            "| vs floor | vs awslambdaric |"
        ),
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, report in reports.items():
        if not report.measured:
            lines.append(f"| {name} | {report.why_unmeasured} | | | | | |")
            continue
        m = report.medians
        lines.append(
            f"| {name} | {_number(m.get('cold_start_ms'), 1)} | {_number(m.get('first_response_ms'), 1)} "
            f"| {_number(m.get('us_per_invocation'), 1)} | {_number(m.get('peak_rss_mib'), 1)} "
            f"| {format_ratios(reports, name, FLOOR)} | {format_ratios(reports, name, AWSLAMBDARIC)} |"
        )
    return "\n".join(lines)


@dataclass
class TargetCheck:
    contender: str
    target: str
    ratio: float | None
    passed: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


def check_targets(reports: dict[str, ContenderReport]) -> list[TargetCheck]:
    checks = []
    for contender in CONTENDERS:
        if not contender.is_ours or contender.name not in reports:
            continue
        for target in TARGETS:
            references = [target.reference]
            launch_floor = contender.launch_floor  # how a process is started shows only in its cold start
            if target.reference == FLOOR and target.metric == "cold_start_ms" and launch_floor != FLOOR:
                references.append(launch_floor)
            for reference in references:
                measured = ratio(reports, contender.name, reference, target.metric)
                description = f"{target.label} ≤ {target.max_ratio:.2f}{TIMES} {reference}"
                passed = None if measured is None else measured <= target.max_ratio
                checks.append(TargetCheck(contender.name, description, measured, passed))
    return checks


def format_checks(checks: list[TargetCheck]) -> list[str]:
    if not checks:
        return ["no target applies: no lambda-runtime contender was selected"]
    name_width = max(len(check.contender) for check in checks)
    target_width = max(len(check.target) for check in checks)
    return [
        f"{check.verdict}  {check.contender:<{name_width}}  {check.target:<{target_width}}  "
        f"measured {_times(check.ratio)}"
        for check in checks
    ]


def format_overheads(reports: dict[str, ContenderReport]) -> list[str]:
    """Each contender's cost above the floor in absolute terms.

    A ratio to the floor flatters a runtime by as much as the mock costs (the mock's share is in both
    numbers); the difference does not depend on the mock at all.
    """
    floor = reports.get(FLOOR)
    if floor is None or not floor.measured:
        return []
    measured = [report for report in reports.values() if report.measured and report is not floor]
    width = max((len(report.name) for report in measured), default=0)
    lines = []
    for report in measured:
        cold = _difference(report, floor, "cold_start_ms")
        per_invocation = _difference(report, floor, "us_per_invocation")
        lines.append(
            f"above the floor  {report.name:<{width}}  {cold} ms cold start, {per_invocation} µs/invocation"
        )
    module_floor, cli = reports.get(FLOOR_MODULE), reports.get(OURS_CLI)
    if module_floor is not None and module_floor.measured and cli is not None and cli.measured:
        launch = _difference(cli, module_floor, "cold_start_ms")
        lines.append(
            f"above the floor  {OURS_CLI} against {FLOOR_MODULE}: {launch} ms cold start, "
            f"{_times(ratio(reports, OURS_CLI, FLOOR_MODULE, 'cold_start_ms'))}"
        )
    return lines


def _difference(report: ContenderReport, base: ContenderReport, metric: str) -> str:
    value, reference = report.medians.get(metric), base.medians.get(metric)
    return "n/a" if value is None or reference is None else f"{value - reference:+.1f}"


def format_mock_shares(reports: dict[str, ContenderReport]) -> list[str]:
    """The mock's own CPU time per invocation, and its share of each contender's time per invocation."""
    measured = [report for report in reports.values() if report.measured]
    width = max((len(report.name) for report in measured), default=0)
    lines = []
    for report in measured:
        mock_cpu = report.medians.get("mock_cpu_us_per_invocation")
        per_invocation = report.medians.get("us_per_invocation")
        if mock_cpu is None or not per_invocation:
            continue
        lines.append(
            f"mock CPU         {report.name:<{width}}  {mock_cpu:.1f} µs/invocation, "
            f"{100 * mock_cpu / per_invocation:.0f}% of its {per_invocation:.1f} µs/invocation"
        )
    return lines


def ratio_table(reports: dict[str, ContenderReport], name: str) -> dict[str, dict[str, float | None]]:
    return {
        reference: {metric: ratio(reports, name, reference, metric) for metric, _ in RATIO_METRICS}
        for reference in (FLOOR, AWSLAMBDARIC)
        if reference != name and reference in reports
    }


def json_document(
    settings: Settings, runs: int, reports: dict[str, ContenderReport], checks: list[TargetCheck]
) -> dict[str, Any]:
    return {
        "settings": {
            "scenario": settings.scenario.name,
            "python": settings.python,
            "python_version": settings.python_version,
            "invocations": settings.invocations,
            "warmup": settings.warmup,
            "runs": runs,
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "contenders": {
            name: {
                "arguments": report.arguments,
                "skipped": report.skipped,
                "medians": report.medians,
                "ratios": ratio_table(reports, name),
                "runs": [asdict(result) for result in report.runs],
            }
            for name, report in reports.items()
        },
        "targets": [asdict(check) | {"verdict": check.verdict} for check in checks],
    }


# ---------------------------------------------------------------------------------------------------
# Typed scenarios: the model's own cost, and the runtime's own time beyond it.

# Run by the contenders' interpreter in scripts/: the handler's own event and result types, through the
# same TypeAdapter calls the runtime makes (validate_json on the event bytes, dump_json by alias on the
# handler's result), each timed alone in a tight loop. Best of 5, so the least the model can cost.
MODEL_COST = """
import importlib, json, sys, timeit, typing
from pydantic import TypeAdapter
module_name, _, function_name = sys.argv[1].rpartition(".")
function = getattr(importlib.import_module(module_name), function_name)
hints = typing.get_type_hints(function)
validate = TypeAdapter(hints[function.__code__.co_varnames[0]]).validate_json
dump = TypeAdapter(hints["return"]).dump_json
event = sys.argv[2].encode()
result = function(validate(event), None)
names = {"validate": validate, "dump": dump, "event": event, "result": result}
def best(statement):
    timer = timeit.Timer(statement, globals=names)
    number, _ = timer.autorange()
    return min(timer.repeat(5, number)) / number * 1e6
validate_us, dump_us = best("validate(event)"), best("dump(result, by_alias=True)")
print(json.dumps({"validate_json_us": validate_us, "dump_json_us": dump_us}))
"""


@dataclass
class ModelCost:
    """What pydantic itself spends on one invocation's event and result, in microseconds."""

    validate_json_us: float
    dump_json_us: float

    @property
    def total_us(self) -> float:
        return self.validate_json_us + self.dump_json_us


def measure_model_cost(python: str, scenario: Scenario) -> ModelCost | None:
    try:
        completed = subprocess.run(
            [python, "-c", MODEL_COST, scenario.handler, scenario.event.decode()],
            cwd=SCRIPTS,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return ModelCost(**json.loads(completed.stdout.splitlines()[-1]))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, TypeError) as error:
        log(f"cannot measure the model's cost for scenario {scenario.name!r}: {error}")
        return None


def median_cost(samples: list[ModelCost]) -> ModelCost | None:
    if not samples:
        return None
    return ModelCost(
        statistics.median(sample.validate_json_us for sample in samples),
        statistics.median(sample.dump_json_us for sample in samples),
    )


@dataclass
class OwnTime:
    """A lambda-runtime contender's time per typed invocation, less the model's, against its untyped time.

    The verdict uses the ratio round by round: in each round the typed run, the untyped run and the
    model's timing happen back to back, so a machine that slows down for a while moves all three. The
    ratio of the medians is shown as well.
    """

    contender: str
    typed_us: float | None  # medians over the rounds
    model_us: float | None
    untyped_us: float | None
    round_ratios: list[float]  # (typed - model) / untyped, of each round that measured all three
    max_ratio: float

    @property
    def own_us(self) -> float | None:
        if self.typed_us is None or self.model_us is None:
            return None
        return self.typed_us - self.model_us

    @property
    def ratio_of_medians(self) -> float | None:
        own = self.own_us
        return own / self.untyped_us if own is not None and self.untyped_us else None

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.round_ratios) if self.round_ratios else None

    def check(self, baseline: str) -> TargetCheck:
        ratio = self.ratio
        target = f"own µs/invocation ≤ {self.max_ratio:.2f}{TIMES} untyped ({baseline})"
        return TargetCheck(self.contender, target, ratio, None if ratio is None else ratio <= self.max_ratio)


def own_times(
    scenario: Scenario,
    reports: dict[str, ContenderReport],
    baseline: dict[str, ContenderReport],
    costs: dict[int, ModelCost],
) -> list[OwnTime]:
    cost = median_cost(list(costs.values()))
    results = []
    for name, report in reports.items():
        if not report.contender.is_ours or report.skipped:
            continue
        untyped = baseline.get(name)
        untyped_runs = {result.run: result for result in untyped.runs} if untyped else {}
        round_ratios = []
        for result in report.runs:
            other = untyped_runs.get(result.run)
            cost_then = costs.get(result.run)
            if cost_then is None or other is None or result.failure or other.failure:
                continue
            if result.us_per_invocation and other.us_per_invocation:
                own = result.us_per_invocation - cost_then.total_us
                round_ratios.append(own / other.us_per_invocation)
        results.append(
            OwnTime(
                name,
                report.medians.get("us_per_invocation"),
                cost.total_us if cost else None,
                untyped.medians.get("us_per_invocation") if untyped else None,
                round_ratios,
                scenario.max_own_time_ratio or 0.0,
            )
        )
    return results


def format_own_times(scenario: Scenario, costs: dict[int, ModelCost], owns: list[OwnTime]) -> list[str]:
    cost = median_cost(list(costs.values()))
    if cost is None:
        lines = ["model cost       not measured"]
    else:
        lines = [
            f"model cost       validate_json {cost.validate_json_us:.2f} µs + dump_json "
            f"{cost.dump_json_us:.2f} µs = {cost.total_us:.2f} µs/invocation "
            f"(timeit, best of 5, median of {len(costs)} rounds)"
        ]
    width = max((len(own.contender) for own in owns), default=0)
    for own in owns:
        if own.own_us is None or own.untyped_us is None or own.typed_us is None or own.model_us is None:
            lines.append(f"own time         {own.contender:<{width}}  not measured")
            continue
        lines.append(
            f"own time         {own.contender:<{width}}  {scenario.name} {own.typed_us:.1f} - model "
            f"{own.model_us:.1f} = {own.own_us:.1f} µs/invocation against untyped ({scenario.baseline}) "
            f"{own.untyped_us:.1f}: {own.own_us - own.untyped_us:+.1f} µs, {_times(own.ratio_of_medians)}"
        )
        rounds = " ".join(_times(ratio) for ratio in own.round_ratios)
        lines.append(
            f"own time         {own.contender:<{width}}  round by round {rounds}: median {_times(own.ratio)}"
        )
    return lines


# ---------------------------------------------------------------------------------------------------
# Command line.


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--invocations", type=int, default=3000, help="invocations per run (default 3000)")
    parser.add_argument(
        "--warmup", type=int, default=100, help="untimed invocations at the start of a run (default 100)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="runs per contender, medians reported (default 5)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the contenders (default: this one)"
    )
    parser.add_argument(
        "--scenario",
        choices=[*sorted(SCENARIOS), ALL],
        default=HELLO.name,
        help=f"the workload: {', '.join(sorted(SCENARIOS))}, or {ALL} of them in one run (default hello)",
    )
    parser.add_argument(
        "--contenders",
        type=lambda text: [name.strip() for name in text.split(",")],
        help=f"comma-separated subset of: {', '.join(c.key for c in CONTENDERS)} (default: all)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one run may take (default 120)")
    parser.add_argument("--no-prime", action="store_true", help="skip the discarded first round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results here")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a target fails or could not be measured"
    )
    args = parser.parse_args(argv)
    if args.invocations <= args.warmup or args.warmup < 0:
        parser.error("--invocations must exceed --warmup, which must not be negative")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    known = {c.key for c in CONTENDERS}
    if args.contenders and not set(args.contenders) <= known:
        parser.error(f"unknown contender in --contenders; choose from {', '.join(sorted(known))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    selected = list(SCENARIOS.values()) if args.scenario == ALL else [SCENARIOS[args.scenario]]
    try:
        python_version, importable = probe_interpreter(args.python)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        log(f"cannot run {args.python}: {error}")
        return 2
    settings = Settings(args.python, python_version, selected[0], args.invocations, args.warmup, args.timeout)
    for scenario in selected:
        log(
            f"scenario {scenario.name}: {scenario.description}; {args.invocations} invocations "
            f"({args.warmup} warm-up) x {args.runs} runs with {args.python} (Python {python_version})"
        )
    plans = plan(selected, args.contenders, importable)
    for name, planned in plans.items():
        if SCENARIOS[name] not in selected and planned:
            contenders = ", ".join(report.name for report in planned)
            log(f"scenario {name}: the untyped baseline, run by {contenders} in the same rounds")

    # The model's cost is measured once per round, between the contenders' runs, for each typed
    # scenario that a lambda-runtime contender runs.
    model_costs: dict[str, dict[int, ModelCost]] = {
        scenario.name: {}
        for scenario in selected
        if scenario.baseline and any(r.contender.is_ours for r in active_reports(plans[scenario.name]))
    }

    def measure_model_costs(run: int) -> None:
        for name, samples in model_costs.items():
            cost = measure_model_cost(args.python, SCENARIOS[name])
            if cost is not None:
                samples[run] = cost
                log(
                    f"run {run}/{args.runs} [{name}] model cost: validate_json "
                    f"{cost.validate_json_us:.2f} µs, dump_json {cost.dump_json_us:.2f} µs"
                )

    run_benchmark(
        interleaved(plans), settings, args.runs, prime=not args.no_prime, after_round=measure_model_costs
    )

    all_checks: list[TargetCheck] = []
    documents: dict[str, dict[str, Any]] = {}
    for index, scenario in enumerate(selected):
        reports = {report.name: report for report in plans[scenario.name]}
        checks = check_targets(reports) if scenario.runtime_targets else []
        typed_notes: list[str] = []
        extra: dict[str, Any] = {}
        if scenario.baseline:
            baseline = {report.name: report for report in plans.get(scenario.baseline, [])}
            costs = model_costs.get(scenario.name, {})
            cost = median_cost(list(costs.values()))
            owns = own_times(scenario, reports, baseline, costs)
            checks += [own.check(scenario.baseline) for own in owns]
            typed_notes = [*format_own_times(scenario, costs, owns), ""]
            extra = {
                "model_cost": {
                    "median": asdict(cost) if cost else None,
                    "runs": {str(run): asdict(sample) for run, sample in costs.items()},
                },
                "baseline": {
                    "scenario": scenario.baseline,
                    "medians": {name: report.medians for name, report in baseline.items()},
                },
                "own_time": [
                    asdict(own)
                    | {"own_us": own.own_us, "ratio": own.ratio, "ratio_of_medians": own.ratio_of_medians}
                    for own in owns
                ],
            }
        all_checks += checks

        runs = f"{args.runs} runs" if args.runs > 1 else "1 run"
        if index:
            print()
        print(
            f"Scenario `{scenario.name}`: median of {runs} of {args.invocations} invocations per contender "
            f"(µs/invocation over the last {args.invocations - args.warmup}); Python {python_version}, "
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs.\n"
        )
        print(markdown_table(reports))
        notes = [
            *format_checks(checks),
            "",
            *typed_notes,
            *format_overheads(reports),
            *format_mock_shares(reports),
        ]
        print("\n```text\n" + "\n".join(notes) + "\n```")
        scenario_settings = replace(settings, scenario=scenario)
        documents[scenario.name] = json_document(scenario_settings, args.runs, reports, checks) | extra
    if args.json:
        document = documents[selected[0].name] if len(selected) == 1 else {"scenarios": documents}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    # Under --check a target that could not be measured fails too: it was not shown to hold.
    if args.check and (not all_checks or any(check.passed is not True for check in all_checks)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
