"""Tests for Streaming: the handler called directly with a recording stream, then the real runtime.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` against it in a subprocess, exactly as Lambda would run the function. They set
``LINE_DELAY_MS`` to a few milliseconds so that the suite stays fast.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lambda_runtime.testing import RuntimeAPIServer, make_context, run_function

# isort: split
# The function under test, ./app.py (pytest puts "." on sys.path): kept apart from the installed packages
# above, however ruff is configured to tell them apart.
import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(EVENTS_DIR.glob("*.json"))
FUNCTION_URL_EVENT = (EVENTS_DIR / "function-url.json").read_bytes()

# What the runtime puts between the Function URL prelude (status and headers, as JSON) and the body.
PRELUDE_SEPARATOR = b"\x00" * 8
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
FAST = {"LINE_DELAY_MS": "5"}


class RecordingStream:
    """Stands in for ``ResponseStream`` in direct calls: records what the handler writes, and when."""

    def __init__(self) -> None:
        self.status_and_headers: tuple[int, dict[str, str] | None, list[str] | None] | None = None
        self.writes: list[tuple[float, bytes]] = []
        self.finished = False

    def write_status_and_headers(
        self, status_code: int, headers: dict[str, str] | None = None, cookies: list[str] | None = None
    ) -> None:
        assert not self.writes, "write_status_and_headers() after the first body byte"
        self.status_and_headers = (status_code, headers, cookies)

    def write(self, data: bytes | str) -> None:
        assert not self.finished, "write() after finish()"
        self.writes.append((time.monotonic(), data.encode() if isinstance(data, str) else bytes(data)))

    def finish(self) -> None:
        self.finished = True

    def write_and_finish(self, data: bytes | str) -> None:
        self.write(data)
        self.finish()

    @property
    def chunks(self) -> list[bytes]:
        return [data for _, data in self.writes]


def expected_lines(count: int) -> bytes:
    return "".join(f"line {number} of {count}\n" for number in range(1, count + 1)).encode()


def split_prelude(body: bytes) -> tuple[dict[str, object], bytes]:
    """The Function URL prelude (decoded) and the body after it."""
    prelude, separator, rest = body.partition(PRELUDE_SEPARATOR)
    assert separator, f"no prelude in {body[:80]!r}"
    return json.loads(prelude), rest


@pytest.fixture
def three_quick_lines(monkeypatch: pytest.MonkeyPatch) -> app.Settings:
    settings = app.Settings(line_count=3, delay_seconds=0.05)
    monkeypatch.setattr(app, "SETTINGS", settings)
    return settings


# --- The handler on its own ------------------------------------------------------------------------


@pytest.mark.usefixtures("three_quick_lines")
def test_writes_numbered_lines_in_order_then_finishes() -> None:
    stream = RecordingStream()
    app.handler(b"{}", stream, make_context())  # type: ignore[arg-type]
    assert stream.chunks == [b"line 1 of 3\n", b"line 2 of 3\n", b"line 3 of 3\n"]
    assert stream.finished


def test_each_line_is_written_before_the_pause_not_after(three_quick_lines: app.Settings) -> None:
    stream = RecordingStream()
    called = time.monotonic()
    app.handler(b"{}", stream, make_context())  # type: ignore[arg-type]
    returned = time.monotonic()
    times = [called] + [written for written, _ in stream.writes]
    delay = three_quick_lines.delay_seconds
    # The first line goes out at once; each next one a pause later; no pause after the last one.
    assert times[1] - times[0] < delay
    for earlier, later in itertools.pairwise(times[1:]):
        assert later - earlier >= delay * 0.9
    assert returned - times[-1] < delay


@pytest.mark.usefixtures("three_quick_lines")
def test_a_direct_invocation_gets_no_http_status_and_headers() -> None:
    stream = RecordingStream()
    app.handler(b'{"anything": "at all"}', stream, make_context())  # type: ignore[arg-type]
    assert stream.status_and_headers is None


@pytest.mark.usefixtures("three_quick_lines")
def test_a_function_url_request_gets_status_and_headers_before_the_body() -> None:
    stream = RecordingStream()
    app.handler(FUNCTION_URL_EVENT, stream, make_context())  # type: ignore[arg-type]
    assert stream.status_and_headers == (
        200,
        {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store, no-transform"},
        None,
    )
    assert b"".join(stream.chunks) == expected_lines(3)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(FUNCTION_URL_EVENT, True, id="function-url"),
        pytest.param(
            b'{"version": "2.0", "requestContext": {"http": {"method": "POST"}}}', True, id="minimal"
        ),
        pytest.param(b"{}", False, id="empty-object"),
        pytest.param(b"", False, id="empty-payload"),
        pytest.param(b"not JSON {", False, id="not-json"),
        pytest.param(b'["version", "2.0"]', False, id="array"),
        pytest.param(b'{"version": "1.0", "requestContext": {"httpMethod": "GET"}}', False, id="rest-api-v1"),
        pytest.param(b'{"version": "2.0", "requestContext": {}}', False, id="no-http"),
        pytest.param(b'{"version": "2.0", "requestContext": "http"}', False, id="context-not-object"),
    ],
)
def test_recognises_function_url_requests(payload: bytes, expected: bool) -> None:
    assert app.is_function_url_request(payload) is expected


def test_settings_default_to_ten_lines_half_a_second_apart() -> None:
    assert app.Settings.from_environment({}) == app.Settings(10, 0.5)
    assert app.Settings.from_environment({"LINE_COUNT": " ", "LINE_DELAY_MS": ""}) == app.Settings(10, 0.5)


def test_settings_come_from_the_environment() -> None:
    assert app.Settings.from_environment({"LINE_COUNT": "3", "LINE_DELAY_MS": "0"}) == app.Settings(3, 0.0)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LINE_COUNT": "ten"}, "LINE_COUNT must be a whole number, got 'ten'"),
        ({"LINE_COUNT": "0"}, "LINE_COUNT must be between 1 and 1000, got 0"),
        ({"LINE_DELAY_MS": "0.5"}, "LINE_DELAY_MS must be a whole number, got '0.5'"),
        ({"LINE_DELAY_MS": "-1"}, "LINE_DELAY_MS must be between 0 and 10000, got -1"),
    ],
)
def test_unusable_settings_are_rejected(environ: dict[str, str], message: str) -> None:
    with pytest.raises(app.ConfigurationError, match="^" + message.replace(".", r"\.") + "$"):
        app.Settings.from_environment(environ)


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_runtime_streams_the_lines_in_order() -> None:
    [result] = run_function(
        "app.handler", [b"{}"], cwd=EXAMPLE_DIR, env={"LINE_COUNT": "5", "LINE_DELAY_MS": "20"}
    )
    assert not result.is_error, result.body
    # Streamed: posted in Lambda's streaming mode, as a chunked body, not as one buffered response.
    assert result.streamed
    assert result.headers["transfer-encoding"] == "chunked"
    # A direct invocation: no Function URL prelude, the body is the lines and nothing else.
    assert result.headers["content-type"] == "application/octet-stream"
    assert result.body == expected_lines(5)
    assert result.body.decode().splitlines() == [f"line {number} of 5" for number in range(1, 6)]


def test_runtime_streams_a_function_url_response_with_its_status_and_headers() -> None:
    [result] = run_function(
        "app.handler", [FUNCTION_URL_EVENT], cwd=EXAMPLE_DIR, env={"LINE_COUNT": "3", **FAST}
    )
    assert not result.is_error, result.body
    assert result.streamed
    assert result.headers["content-type"] == HTTP_INTEGRATION
    prelude, body = split_prelude(result.body)
    assert prelude == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store, no-transform"},
    }
    assert body == expected_lines(3)


def test_the_async_handler_streams_the_same_lines() -> None:
    direct, function_url = run_function(
        "app.async_handler", [b"{}", FUNCTION_URL_EVENT], cwd=EXAMPLE_DIR, env={"LINE_COUNT": "4", **FAST}
    )
    assert direct.streamed
    assert direct.body == expected_lines(4)
    assert function_url.headers["content-type"] == HTTP_INTEGRATION
    assert split_prelude(function_url.body)[1] == expected_lines(4)


def test_one_process_serves_one_stream_after_another() -> None:
    results = run_function("app.handler", [b"{}", FUNCTION_URL_EVENT, b"{}"], cwd=EXAMPLE_DIR, env=FAST)
    assert [result.is_error for result in results] == [False, False, False]
    assert results[0].body == results[2].body == expected_lines(10)
    assert split_prelude(results[1].body)[1] == expected_lines(10)


def test_an_unusable_setting_fails_init_with_a_clear_message() -> None:
    with RuntimeAPIServer(next_timeout=5) as api:
        env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "LINE_COUNT": "ten"}
        completed = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "app.handler"],
            cwd=EXAMPLE_DIR,
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
    assert completed.returncode == 1
    [init_error] = api.init_errors
    error = init_error.json()
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "ConfigurationError: LINE_COUNT must be a whole number, got 'ten'" in error["errorMessage"]


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert event_path.with_suffix(".expected.txt").is_file(), f"{event_path.name} has no expected output"


def test_every_sample_event_produces_its_expected_output() -> None:
    # `<name>.expected.txt` is the body the caller reads: for a Function URL request, what follows the
    # status and headers (which the Function URL turns into the HTTP response's own).
    results = run_function(
        "app.handler", [path.read_bytes() for path in SAMPLE_EVENTS], cwd=EXAMPLE_DIR, env=FAST
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        body = result.body
        if result.headers["content-type"] == HTTP_INTEGRATION:
            body = split_prelude(body)[1]
        assert body == event_path.with_suffix(".expected.txt").read_bytes(), event_path.name
