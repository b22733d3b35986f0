"""Tests for BackgroundTasks: the handler with a recording stream, then the real runtime.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` against it in a subprocess, exactly as Lambda would run the function. The ordering test
watches the Runtime API and the function's log lines as they happen, to prove that the response is
posted before the background work ends, and that the work ends before the next invocation is fetched.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lambda_runtime.testing import RuntimeAPIServer, make_context, run_function

# isort: split
# The function under test, ./app.py (pytest puts "." on sys.path): kept apart from the installed packages
# above, however ruff is configured to tell them apart.
import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))
QUICK = {"BACKGROUND_WORK_MS": "10"}


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


class RecordingStream:
    """Stands in for ``ResponseStream`` in direct calls: records the calls in a shared timeline."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline
        self.chunks: list[bytes] = []
        self.finished = False

    def write(self, data: bytes | str) -> None:
        assert not self.finished, "write() after finish()"
        self.chunks.append(data.encode() if isinstance(data, str) else bytes(data))
        self.timeline.append("write")

    def finish(self) -> None:
        self.finished = True
        self.timeline.append("finish")

    def write_and_finish(self, data: bytes | str) -> None:
        self.write(data)
        self.finish()


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the handler's steps; the background work only notes that it ran."""
    steps: list[str] = []
    monkeypatch.setattr(app, "background_work", lambda message, log: steps.append(f"work on {message}"))
    return steps


# --- The handler on its own ------------------------------------------------------------------------


def test_finishes_the_response_before_the_background_work(timeline: list[str]) -> None:
    stream = RecordingStream(timeline)
    app.handler(b'{"message": "Hi"}', stream, make_context())  # type: ignore[arg-type]
    assert json.loads(b"".join(stream.chunks)) == {"echoed_message": "Hi"}
    assert timeline == ["write", "finish", "work on Hi"]


def test_a_bad_event_is_rejected_before_anything_is_written_or_done(timeline: list[str]) -> None:
    stream = RecordingStream(timeline)
    with pytest.raises(app.InvalidEventError, match='the event has no "message" field'):
        app.handler(b'{"msg": "Hi"}', stream, make_context())  # type: ignore[arg-type]
    assert timeline == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not JSON", 'the event is not JSON; expected {"message": "Hello"}'),
        (b'["Hi"]', 'expected a JSON object like {"message": "Hello"}, got list'),
        (b'{"message": 42}', '"message" must be a string, got int; expected {"message": "Hello"}'),
        (b"{}", 'the event has no "message" field; expected {"message": "Hello"}'),
    ],
)
def test_bad_events_say_what_to_send(payload: bytes, message: str) -> None:
    with pytest.raises(app.InvalidEventError) as raised:
        app.handler(payload, RecordingStream([]), make_context())  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_a_failure_in_the_background_work_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(message: str, log: logging.Logger) -> None:
        raise ConnectionError("the audit service is down")

    monkeypatch.setattr(app, "background_work", fail)
    stream = RecordingStream([])
    with caplog.at_level(logging.INFO):
        app.handler(b'{"message": "Hi"}', stream, make_context())  # type: ignore[arg-type]
    assert stream.finished  # the caller got its answer regardless
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failure.getMessage().startswith("background work failed after")
    assert failure.exc_info is not None
    assert isinstance(failure.exc_info[1], ConnectionError)


def test_the_background_work_takes_the_configured_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "WORK_SECONDS", 0.05)
    started = time.monotonic()
    app.background_work("Hi", logging.getLogger("test"))
    assert time.monotonic() - started >= 0.05


@pytest.mark.parametrize(
    ("environ", "seconds"),
    [({}, 3.0), ({"BACKGROUND_WORK_MS": " "}, 3.0), ({"BACKGROUND_WORK_MS": "250"}, 0.25)],
)
def test_work_time_comes_from_the_environment(environ: dict[str, str], seconds: float) -> None:
    assert app.work_seconds_from(environ) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2s", "BACKGROUND_WORK_MS must be a whole number, got '2s'"),
        ("-1", "BACKGROUND_WORK_MS must be between 0 and 60000, got -1"),
        ("600000", "BACKGROUND_WORK_MS must be between 0 and 60000, got 600000"),
    ],
)
def test_an_unusable_work_time_is_rejected(value: str, message: str) -> None:
    with pytest.raises(app.ConfigurationError) as raised:
        app.work_seconds_from({"BACKGROUND_WORK_MS": value})
    assert str(raised.value) == message


# --- End to end, through a real Runtime API ---------------------------------------------------------


class FunctionProcess:
    """``python -m lambda_runtime app.handler`` in a subprocess, its output lines timestamped as they come."""

    def __init__(self, api: RuntimeAPIServer, env: dict[str, str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lambda_runtime", "app.handler"],
            cwd=EXAMPLE_DIR,
            env={**os.environ, **env, "AWS_LAMBDA_RUNTIME_API": api.address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def output(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> float:
    """Poll ``condition`` until it holds; returns when (``time.monotonic()``) it was first seen to."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        time.sleep(0.002)
    return time.monotonic()


def next_requests(api: RuntimeAPIServer) -> int:
    return sum(1 for method, path, _ in list(api.requests) if method == "GET" and path.endswith("/next"))


def test_answers_first_then_works_then_takes_the_next_invocation() -> None:
    work = 0.8  # seconds: long enough to tell the steps apart on a busy machine, short enough for a test
    with RuntimeAPIServer(next_timeout=30) as api:
        function = FunctionProcess(api, {"BACKGROUND_WORK_MS": str(int(work * 1000)), "MAX_INVOCATIONS": "2"})
        try:
            first = api.enqueue(b'{"message": "first"}')
            response = api.wait_for(first, timeout=15)
            answered = time.monotonic()
            # Right when the response arrives, the background work is still going on: the function has
            # not logged its end, and has not asked for another invocation.
            assert not any("background work done" in line for _, line in function.output())
            assert next_requests(api) == 1

            asked_again = wait_until(lambda: next_requests(api) == 2)
            second = api.enqueue(b'{"message": "second"}')
            api.wait_for(second, timeout=15)
            assert function.process.wait(timeout=15) == 0
        finally:
            function.stop()

    assert not response.is_error
    assert response.streamed
    assert response.json() == {"echoed_message": "first"}
    # The next invocation was fetched only after the background work: at least `work` later.
    assert asked_again - answered >= work * 0.9

    lines = [line for _, line in function.output()]
    first_lines = [line for line in lines if first in line]
    second_lines = [line for line in lines if second in line]
    steps = ["message received", "response sent after", "working on the message", "background work done"]
    assert [step for line in first_lines for step in steps if step in line] == steps, lines
    # Everything the first invocation logged, its end included, comes before anything of the second.
    assert lines.index(first_lines[-1]) < lines.index(second_lines[0])
    assert "background work done" in first_lines[-1]
    # The response left well before the work was done: the log line of the end came `work` later.
    [done_seen] = [
        when for when, line in function.output() if first in line and "background work done" in line
    ]
    assert done_seen - answered >= work * 0.5

    # The timing in the logs tells the same story: sent within milliseconds, done `work` later.
    sent_ms = _milliseconds_after("response sent after", first_lines)
    done_ms = _milliseconds_after("background work done after", first_lines)
    assert sent_ms < 500
    assert done_ms - sent_ms >= work * 1000 * 0.9


def _milliseconds_after(phrase: str, lines: list[str]) -> float:
    [line] = [line for line in lines if phrase in line]
    return float(line.split(phrase, 1)[1].split()[0])


def test_runtime_echoes_the_message_and_reports_bad_events() -> None:
    good, bad, next_good = run_function(
        "app.handler",
        [b'{"message": "Hi"}', b'{"message": null}', b'{"message": "again"}'],
        cwd=EXAMPLE_DIR,
        env=QUICK,
    )
    assert good.json() == {"echoed_message": "Hi"}
    assert good.streamed
    # Rejected before the first byte: an ordinary function error, and no background work for it.
    assert bad.is_error
    assert not bad.streamed
    error = bad.json()
    assert error["errorType"] == "InvalidEventError"
    assert error["errorMessage"] == '"message" must be a string, got NoneType; expected {"message": "Hello"}'
    assert next_good.json() == {"echoed_message": "again"}


def test_an_unusable_work_time_fails_init_with_a_clear_message() -> None:
    with RuntimeAPIServer(next_timeout=5) as api:
        completed = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "app.handler"],
            cwd=EXAMPLE_DIR,
            env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "BACKGROUND_WORK_MS": "soon"},
            capture_output=True,
            timeout=30,
            check=False,
        )
    assert completed.returncode == 1
    [init_error] = api.init_errors
    assert (
        "ConfigurationError: BACKGROUND_WORK_MS must be a whole number, got 'soon'"
        in (init_error.json()["errorMessage"])
    )


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert expected_output_path(event_path).is_file(), f"{event_path.name} has no expected output"


def test_every_sample_event_produces_its_expected_output() -> None:
    results = run_function(
        "app.handler", [path.read_bytes() for path in SAMPLE_EVENTS], cwd=EXAMPLE_DIR, env=QUICK
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        # Compared as JSON, not bytes: key order and spacing are the encoder's business.
        assert result.json() == json.loads(expected_output_path(event_path).read_bytes()), event_path.name
