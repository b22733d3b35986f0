"""The runtime against a Runtime API that fails on purpose (faulty_api.py): for each fault, the behaviour
docs/faults.md decides. It recovers where the protocol allows it, reports what it can, and otherwise
stops with exit 1 and one CRITICAL line; it never hangs and never answers an invocation twice."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import LOOPS, RUN_TIMEOUT
from faulty_api import FAULTS, Fault, FaultyRuntimeAPI, Planned
from lambda_runtime import transport
from raw_api import invocation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

# Short, so that the stall faults cost seconds; the faults that must be waited out stay well under it.
STALL = 1.0


@pytest.fixture(autouse=True)
def short_stall_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "STALL_TIMEOUT", STALL)


@pytest.fixture
def critical(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    yield caplog


def critical_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.CRITICAL]


def echo(event: bytes, context: object) -> bytes:
    return event


def fail(event: bytes, context: object) -> bytes:
    raise ValueError("the handler failed")


def stream(event: bytes, stream: object, context: object) -> None:
    stream.write(event)  # type: ignore[attr-defined]


def stream_then_fail(event: bytes, stream: object, context: object) -> None:
    stream.write(event)  # type: ignore[attr-defined]
    raise ValueError("the stream failed")


async def echo_async(event: bytes, context: object) -> bytes:
    return event


async def fail_async(event: bytes, context: object) -> bytes:
    raise ValueError("the handler failed")


async def stream_async(event: bytes, stream: object, context: object) -> None:
    stream.write(event)  # type: ignore[attr-defined]


async def stream_then_fail_async(event: bytes, stream: object, context: object) -> None:
    stream.write(event)  # type: ignore[attr-defined]
    raise ValueError("the stream failed")


def recorder(loop: str, ran: list[bytes]) -> object:
    """An echo handler for ``loop`` (``async def`` for the asyncio one) that records every event."""

    def handler(event: bytes, context: object) -> bytes:
        ran.append(event)
        return event

    async def async_handler(event: bytes, context: object) -> bytes:
        return handler(event, context)

    return handler if loop == "blocking" else async_handler


def three(fault: Fault) -> list[Planned]:
    """One invocation before the faulty one (the connection is then reused), and one after."""
    return [Planned("r1", b'"one"'), Planned("r2", b'"two"', fault), Planned("r3", b'"three"')]


def statuses(api: FaultyRuntimeAPI, request_id: str) -> list[tuple[str, int | None]]:
    return [(answer.kind, answer.status) for answer in api.answers(request_id)]


# --- faults in the answer to /next --------------------------------------------------------------------

# The faults the runtime gets over: every invocation is answered once, the runtime serves on.
RECOVERED = {
    "next-dropped-before-answer": 2,  # a second connection, and /next once more
    "next-reset-before-answer": 2,
    "next-large-header": 1,
    "next-chunked": 1,
    "next-delayed": 1,
}


@pytest.mark.parametrize(("name", "connections"), RECOVERED.items(), ids=RECOVERED.keys())
def test_next_faults_the_runtime_gets_over(
    name: str, connections: int, run: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    with FaultyRuntimeAPI(three(FAULTS[name])) as api:
        assert run(echo, api.address, 3) is None
    for request_id, body in (("r1", b'"one"'), ("r2", b'"two"'), ("r3", b'"three"')):
        [answer] = api.answers(request_id)
        assert (answer.kind, answer.status, answer.body) == ("response", 202, body)
    assert api.connections == connections
    assert critical_lines(critical) == []


def test_a_large_header_within_the_limit_reaches_the_context(run: RunRuntime) -> None:
    seen = []

    def handler(event: bytes, context: object) -> bytes:
        seen.append(context.client_context.custom["k"])  # type: ignore[attr-defined]
        return event

    with FaultyRuntimeAPI([Planned("r1", b"{}", FAULTS["next-large-header"])]) as api:
        assert run(handler, api.address, 1) is None
    assert seen == ["v" * 40_000]


# The faults that end the runtime: exit 1 after one CRITICAL line saying what happened. The faulty
# invocation gets no answer (Lambda times it out); nothing after it is fetched.
FATAL = {
    "next-dropped-in-head": "closed the connection in the middle of a response",
    "next-dropped-in-body": "closed the connection before the whole body came",
    "next-dropped-after-answer": "closed the connection",
    "next-500": "answered /next with 500",
    "next-400": "answered /next with 400",
    "next-403": "answered /next with 403",
    "next-garbage": "malformed status line",
    "next-without-request-id": "without Lambda-Runtime-Aws-Request-Id",
    "next-huge-header": "response head over 65536 bytes",
    "next-malformed-header": "malformed header line",
    "next-content-length-short": "more bytes than its answer's Content-Length announced",
    "next-content-length-long": "stalled",
    "next-content-length-long-then-close": "closed the connection before the whole body came",
    "next-chunked-cut-short": "closed the connection inside a chunk",
    "next-chunked-stalled": "stalled",
}


@pytest.mark.parametrize(("name", "says"), FATAL.items(), ids=FATAL.keys())
def test_next_faults_that_stop_the_runtime(
    name: str, says: str, run: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    ran: list[bytes] = []

    def handler(event: bytes, context: object) -> bytes:
        ran.append(event)
        return event

    with FaultyRuntimeAPI(three(FAULTS[name])) as api:
        assert run(handler, api.address, 3) == 1
        assert statuses(api, "r1") == [("response", 202)]
        assert api.answers("r2") == []  # a dropped connection swallows the post that was sent on it
        assert api.answers("r3") == []
    [line] = critical_lines(critical)
    assert says in line
    # Only a connection dropped after a whole answer lets the handler run; a wrong answer never does.
    assert ran == ([b'"one"', b'"two"'] if name == "next-dropped-after-answer" else [b'"one"'])
    assert "r3" not in api.handed_out


def test_a_connection_dropped_before_the_first_answer_is_not_retried(
    run: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    """On a new connection, nothing says the peer was merely idle: that is a Runtime API going away."""
    with FaultyRuntimeAPI([Planned("r1", b"{}", FAULTS["next-dropped-before-answer"])]) as api:
        assert run(echo, api.address, 1) == 1
    assert (api.connections, len(api.requests_to("/next")), api.posts) == (1, 1, [])
    [line] = critical_lines(critical)
    assert "closed the connection" in line


@pytest.mark.parametrize("loop", LOOPS)
def test_an_event_cut_short_by_a_wrong_content_length_is_never_run(
    loop: str, run: RunRuntime, run_tasks: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    """Bytes after the answer its Content-Length framed: that answer is not the event Lambda sent."""
    ran: list[bytes] = []
    runner = run if loop == "blocking" else run_tasks
    planned = [Planned("r1", b'{"a": 1}', FAULTS["next-content-length-short"])]
    with FaultyRuntimeAPI(planned, next_timeout=10.0) as api:
        assert runner(recorder(loop, ran), api.address, 1) == 1
        assert api.posts == []
    assert ran == []
    [line] = critical_lines(critical)
    assert "more bytes than its answer's Content-Length announced" in line


# --- faults in the answer to a post, for every kind of handler -------------------------------------------

HANDLERS = {"response": echo, "error": fail, "stream": stream, "stream-error": stream_then_fail}
# The same kinds for the asyncio loop, which runs only ``async def`` handlers.
ASYNC_HANDLERS = {
    "response": echo_async,
    "error": fail_async,
    "stream": stream_async,
    "stream-error": stream_then_fail_async,
}

# What the faulty invocation's posts get, by handler kind, when the runtime goes on.
RECOVERED_POSTS = {
    "post-413": {
        "response": [("response", 413), ("error", 202)],
        "error": [("error", 413), ("error", 202)],
        "stream": [("response", 413), ("error", 202)],
        "stream-error": [("response", 413), ("error", 202)],
    },
    "post-400": {
        "response": [("response", 400), ("error", 202)],
        "error": [("error", 400)],
        "stream": [("response", 400), ("error", 202)],
        "stream-error": [("response", 400), ("error", 202)],
    },
    "post-403": {
        "response": [("response", 403), ("error", 202)],
        "error": [("error", 403)],
        "stream": [("response", 403), ("error", 202)],
        "stream-error": [("response", 403), ("error", 202)],
    },
    "post-410": {kind: [("error" if kind == "error" else "response", 410)] for kind in HANDLERS},
    "post-silent-a-while": {kind: [("error" if kind == "error" else "response", 202)] for kind in HANDLERS},
}


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("kind", HANDLERS)
@pytest.mark.parametrize("name", RECOVERED_POSTS)
def test_post_faults_the_runtime_gets_over(
    name: str,
    kind: str,
    loop: str,
    run: RunRuntime,
    run_tasks: RunRuntime,
    critical: pytest.LogCaptureFixture,
) -> None:
    runner, handler = (run, HANDLERS[kind]) if loop == "blocking" else (run_tasks, ASYNC_HANDLERS[kind])
    with FaultyRuntimeAPI(three(FAULTS[name])) as api:
        assert runner(handler, api.address, 3) is None
        assert statuses(api, "r2") == RECOVERED_POSTS[name][kind]
        for request_id in ("r1", "r3"):
            assert len(api.accepted(request_id)) == 1 and len(api.answers(request_id)) == 1
    assert critical_lines(critical) == []
    error_posts = [answer for answer in api.answers("r2") if answer.kind == "error" and answer.status == 202]
    if name == "post-413":
        # Refused as too large: the error that replaces the response says so; a refused error is posted
        # again as itself, cut down.
        header, error_type = (
            ("Function.ValueError", "ValueError")
            if kind == "error"
            else ("Function.ResponseSizeTooLarge", "Function.ResponseSizeTooLarge")
        )
        assert error_posts[0].headers["lambda-runtime-function-error-type"] == header
        assert json.loads(error_posts[0].body)["errorType"] == error_type
        assert len(error_posts[0].body) <= 4096
    elif name in ("post-400", "post-403") and kind != "error":
        assert error_posts[0].headers["lambda-runtime-function-error-type"] == "Runtime.ResponseRejected"
        assert json.loads(error_posts[0].body)["errorType"] == "Runtime.ResponseRejected"


FATAL_POSTS = {
    "post-500": "with 500",
    "post-silent-too-long": "stalled",
    "post-answer-stalled": "stalled",
    "post-dropped": "closed the connection",
}


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("kind", HANDLERS)
@pytest.mark.parametrize(("name", "says"), FATAL_POSTS.items(), ids=FATAL_POSTS.keys())
def test_post_faults_that_stop_the_runtime(
    name: str,
    says: str,
    kind: str,
    loop: str,
    run: RunRuntime,
    run_tasks: RunRuntime,
    critical: pytest.LogCaptureFixture,
) -> None:
    runner, handler = (run, HANDLERS[kind]) if loop == "blocking" else (run_tasks, ASYNC_HANDLERS[kind])
    with FaultyRuntimeAPI(three(FAULTS[name])) as api:
        assert runner(handler, api.address, 3) == 1
        # The post went once and is never sent again, whatever became of it.
        assert len(api.answers("r2")) == 1
        if loop == "blocking":
            assert api.answers("r3") == []
        else:  # the other worker may have fetched r3 meanwhile: it is answered once, if at all
            assert len(api.answers("r3")) <= 1
    [line] = critical_lines(critical)
    assert says in line


# --- the stall bound, on both loops -----------------------------------------------------------------------

# What the runtime was waiting for when the answer to each kind of handler's post stalled, in its words.
STALLED_ON = {
    "response": "on a request to the Runtime API",
    "error": "on a request to the Runtime API",
    "stream": "waiting for the answer to a streamed response",
    "stream-error": "waiting for the answer to a streamed response",
}


def stalled_line(on: str) -> str:
    return f"Stopping: the Runtime API stalled: no progress {on} for {STALL:g} s"


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("kind", HANDLERS)
@pytest.mark.parametrize("name", ["post-silent-too-long", "post-answer-stalled"])
def test_a_stalled_answer_to_a_post_stops_the_runtime(
    name: str,
    kind: str,
    loop: str,
    run: RunRuntime,
    run_tasks: RunRuntime,
    critical: pytest.LogCaptureFixture,
) -> None:
    """No answer at all, or an answer that stops midway: after the stall bound, exit 1 and one line that
    says what was waited for, the same line on both loops; the post is not sent again."""
    runner, handler = (run, HANDLERS[kind]) if loop == "blocking" else (run_tasks, ASYNC_HANDLERS[kind])
    # The server answers (or goes on) after 3 s: a runtime without the bound would wait and serve on.
    with FaultyRuntimeAPI([Planned("r1", b'"one"', FAULTS[name])], next_timeout=10.0) as api:
        assert runner(handler, api.address, 1) == 1
        assert len(api.answers("r1")) == 1
    assert critical_lines(critical) == [stalled_line(STALLED_ON[kind])]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("name", ["next-content-length-long", "next-chunked-stalled"])
def test_a_next_answer_that_stops_midway_stops_the_runtime(
    name: str, loop: str, run: RunRuntime, run_tasks: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    """The first byte of an invocation came: the rest of it is bounded; the half event never runs."""
    ran: list[bytes] = []
    runner = run if loop == "blocking" else run_tasks
    with FaultyRuntimeAPI([Planned("r1", b'"one"', FAULTS[name])], next_timeout=10.0) as api:
        assert runner(recorder(loop, ran), api.address, 1) == 1
        assert api.posts == []
    assert ran == []
    assert critical_lines(critical) == [stalled_line("on a request to the Runtime API")]


@pytest.mark.parametrize("loop", LOOPS)
def test_the_wait_for_an_invocation_is_not_bounded(
    loop: str,
    run: RunRuntime,
    run_tasks: RunRuntime,
    critical: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A /next with no byte of an answer for five times the bound is an idle function, not a stall: the
    invocation that finally comes is served. r3 is asked for on a connection that has just carried a post
    (the asyncio client's watchdog may still be set from it)."""
    monkeypatch.setattr(transport, "STALL_TIMEOUT", 0.2)
    late = Fault(next_delay=1.0)
    planned = [Planned("r1", b'"one"'), Planned("r2", b'"two"', late), Planned("r3", b'"three"', late)]
    runner, handler = (run, echo) if loop == "blocking" else (run_tasks, echo_async)
    with FaultyRuntimeAPI(planned, next_timeout=10.0) as api:
        assert runner(handler, api.address, 3) is None
        for request_id, body in (("r1", b'"one"'), ("r2", b'"two"'), ("r3", b'"three"')):
            [answer] = api.answers(request_id)
            assert (answer.kind, answer.status, answer.body) == ("response", 202, body)
    assert critical_lines(critical) == []


class _DeafRuntimeAPI:
    """Hands out one invocation, then reads nothing more: a streamed response soon cannot go out."""

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(RUN_TIMEOUT)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="deaf-runtime-api", daemon=True)
        self.error: BaseException | None = None

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> _DeafRuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(RUN_TIMEOUT)
        self._listener.close()
        assert not self._thread.is_alive(), "the deaf Runtime API did not stop"
        if self.error is not None and exc_info[0] is None:
            raise self.error

    def _serve(self) -> None:
        try:
            connection, _ = self._listener.accept()
            with connection:
                connection.settimeout(RUN_TIMEOUT)
                request = b""
                while b"\r\n\r\n" not in request:
                    data = connection.recv(65536)
                    if not data:
                        return
                    request += data
                connection.sendall(invocation(self._request_id, b'"big"'))
                self._stop.wait(RUN_TIMEOUT)
        except BaseException as error:  # reported by __exit__
            self.error = error


STREAM_CHUNK = b"x" * (1024 * 1024)
# Far more than loopback's socket buffers take in before a sender must wait for the reader.
STREAM_CHUNKS = 64


def stream_a_lot(event: bytes, stream: object, context: object) -> None:
    for _ in range(STREAM_CHUNKS):
        stream.write(STREAM_CHUNK)  # type: ignore[attr-defined]


async def stream_a_lot_async(event: bytes, stream: object, context: object) -> None:
    stream_a_lot(event, stream, context)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_stream_that_cannot_go_out_stops_the_runtime(
    loop: str, run: RunRuntime, run_tasks: RunRuntime, critical: pytest.LogCaptureFixture
) -> None:
    """The Runtime API stops reading a streamed response: the send that cannot progress is given up on
    after the stall bound (the blocking client's write inside the handler, the asyncio client's send of
    what the handler handed it), with the same line."""
    runner, handler = (run, stream_a_lot) if loop == "blocking" else (run_tasks, stream_a_lot_async)
    with _DeafRuntimeAPI("r1") as api:
        assert runner(handler, api.address, 1) == 1
    assert critical_lines(critical) == [stalled_line("sending a streamed response")]


# --- one clear line from a real process -----------------------------------------------------------------


# The asyncio loop in a real process: LambdaManagedRuntime (chosen by LAMBDA_MANAGED_RUNTIME) with an
# ``async def`` handler and two workers; one invocation, so that the second worker fetches nothing.
PROCESS_LOOPS = {
    "blocking": ("def handler(event, context):\n    return event\n", {}),
    "asyncio": (
        "async def handler(event, context):\n    return event\n",
        {"LAMBDA_MANAGED_RUNTIME": "1", "AWS_LAMBDA_MAX_CONCURRENCY": "2", "MAX_INVOCATIONS": "1"},
    ),
}


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("next-403", "answered /next with 403"),
        ("next-huge-header", "response head over"),
        ("next-content-length-short", "more bytes than"),
        ("next-chunked-stalled", "stalled"),
        ("post-silent-too-long", "stalled"),
        ("post-answer-stalled", "stalled"),
    ],
)
def test_a_process_stops_with_one_clear_line(name: str, says: str, loop: str, tmp_path: Path) -> None:
    source, environment = PROCESS_LOOPS[loop]
    (tmp_path / "app.py").write_text(source)
    program = (
        "import lambda_runtime.transport as t, lambda_runtime.cli as cli\n"
        f"t.STALL_TIMEOUT = {STALL}\n"
        "raise SystemExit(cli.main(['app.handler']))\n"
    )
    with FaultyRuntimeAPI([Planned("r1", b'{"a": 1}', FAULTS[name])], next_timeout=10.0) as api:
        finished = subprocess.run(
            [sys.executable, "-c", program],
            cwd=tmp_path,
            env={"AWS_LAMBDA_RUNTIME_API": api.address, "PATH": "/usr/bin:/bin", **environment},
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    lines = output.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("[CRITICAL]") and says in lines[0], output
