"""Tests for ManagedInstances: each function called directly, then served by the real runtime with
four workers (AWS_LAMBDA_MAX_CONCURRENCY=4), as on Lambda Managed Instances, in both runtimes."""

import json
import time
from pathlib import Path

import pytest
from lambda_runtime.testing import make_context, run_function

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
FOUR_WORKERS = {"AWS_LAMBDA_MAX_CONCURRENCY": "4", "LINE_DELAY_MS": "0", "AFTER_RESPONSE_WORK_MS": "300"}


class Stream:
    """Records what a streaming handler writes, for calling it without the runtime."""

    def __init__(self) -> None:
        self.body = b""
        self.finished = False

    def write(self, data: bytes | str) -> None:
        self.body += data.encode() if isinstance(data, str) else data

    def finish(self) -> None:
        self.finished = True

    def write_and_finish(self, data: bytes | str) -> None:
        self.write(data)
        self.finish()


def test_greet_answers_in_the_requested_language() -> None:
    answer = app.greet(app.GreetingRequest(name="Grace", language="fr"), make_context())
    assert answer == app.Greeting(message="Bonjour, Grace!", language="fr")


def test_greet_falls_back_to_english() -> None:
    assert app.greet(app.GreetingRequest(name="Ada", language="xx"), make_context()).language == "en"


def test_stream_writes_numbered_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "LINE_DELAY_SECONDS", 0)
    stream = Stream()
    app.stream(b'{"count": 2}', stream, make_context())
    assert stream.body == b"line 1 of 2\nline 2 of 2\n" and stream.finished


def test_after_response_answers_before_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "AFTER_RESPONSE_WORK_SECONDS", 0)
    stream = Stream()
    app.after_response(b'{"task": "t-1"}', stream, make_context())
    assert json.loads(stream.body) == {"accepted": "t-1"} and stream.finished


@pytest.mark.parametrize("managed", ["0", "1"], ids=["LambdaRuntime", "LambdaManagedRuntime"])
def test_twenty_greetings_with_four_workers(managed: str) -> None:
    events = [{"name": f"user-{n}", "language": "de"} for n in range(20)] + [{"name": ""}]
    results = run_function(
        "app.greet", events, cwd=EXAMPLE_DIR, env={**FOUR_WORKERS, "LAMBDA_MANAGED_RUNTIME": managed}
    )
    for n, result in enumerate(results[:20]):
        assert result.json() == {"message": f"Hallo, user-{n}!", "language": "de"}
    assert results[20].is_error and json.loads(results[20].body)["errorType"] == "ValidationError"


def test_streams_and_work_after_the_response_with_four_workers() -> None:
    results = run_function("app.stream", [{"count": 3}] * 4, cwd=EXAMPLE_DIR, env=FOUR_WORKERS)
    assert all(
        result.streamed and result.body == b"line 1 of 3\nline 2 of 3\nline 3 of 3\n" for result in results
    )
    began = time.monotonic()
    results = run_function(
        "app.after_response", [{"task": f"t-{n}"} for n in range(4)], cwd=EXAMPLE_DIR, env=FOUR_WORKERS
    )
    assert [json.loads(result.body) for result in results] == [{"accepted": f"t-{n}"} for n in range(4)]
    # Four invocations each working 300 ms after their response, on four workers: side by side.
    assert time.monotonic() - began < 15
