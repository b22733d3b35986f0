"""The helpers lambda_runtime.testing gives function authors: RuntimeAPIServer and run_function."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lambda_runtime.protocol import ProtocolError
from lambda_runtime.testing import RuntimeAPIServer, run_function
from lambda_runtime.transport import RuntimeAPIError, RuntimeClient

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime


def test_next_without_events_answers_500_after_the_timeout() -> None:
    with RuntimeAPIServer(next_timeout=0.1) as api:
        client = RuntimeClient(api.address, timeout=5)
        started = time.monotonic()
        with pytest.raises(RuntimeAPIError, match="500"):
            client.next()
        client.close()
    assert time.monotonic() - started < 2


def test_a_header_given_as_empty_is_left_out() -> None:
    with RuntimeAPIServer(next_timeout=1) as api:
        api.enqueue({}, headers={"Lambda-Runtime-Aws-Request-Id": ""})
        client = RuntimeClient(api.address, timeout=5)
        with pytest.raises(ProtocolError, match="without Lambda-Runtime-Aws-Request-Id"):
            client.next()
        client.close()


def test_wait_for_gives_up_after_its_timeout() -> None:
    with RuntimeAPIServer() as api:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="never-posted"):
            api.wait_for("never-posted", timeout=0.1)
    assert time.monotonic() - started < 2


def test_the_test_server_answers_without_delay(run: RunRuntime) -> None:
    """Each /next and post is a few hundred microseconds on loopback; a server that writes a response's
    head and body in two segments without TCP_NODELAY meets the client's delayed ACK and costs 40 ms
    per request instead, which makes every function's test suite slow."""
    with RuntimeAPIServer(next_timeout=5) as api:
        for index in range(20):
            api.enqueue(index)
        started = time.monotonic()
        assert run(lambda event, context: event, api.address, 20) is None
        elapsed = time.monotonic() - started
        assert len(api.posts) == 20
    assert elapsed < 0.5, f"20 invocations took {elapsed:.2f} s"


def test_run_function_runs_a_module_handler_in_a_process(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {'double': event * 2}\n")
    results = run_function("app.handler", [1, [True], b'"raw"'], cwd=tmp_path, timeout=20)
    assert [result.json() for result in results] == [
        {"double": 2},
        {"double": [True, True]},
        {"double": "rawraw"},
    ]


def test_enqueue_sends_bytes_and_text_as_they_are_and_anything_else_as_json(
    api: RuntimeAPIServer, run: RunRuntime
) -> None:
    """As enqueue() documents it: bytes raw, a str as UTF-8 text (JSON written by hand), and any other
    Python value JSON-encoded."""
    received: list[object] = []
    api.enqueue(b'{"raw": "bytes"}')
    api.enqueue({"a": "dict"})
    api.enqueue('{"json": "text", "accent": "é"}')
    api.enqueue(["a", "list"])
    assert run(lambda event, context: received.append(event), api.address, 4) is None
    assert received == [{"raw": "bytes"}, {"a": "dict"}, {"json": "text", "accent": "é"}, ["a", "list"]]


def test_run_function_reports_a_function_that_fails_to_start(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("raise RuntimeError('broken at import')\n")
    with pytest.raises(RuntimeError, match="exited with 1") as caught:
        run_function("app.handler", [{}], cwd=tmp_path, timeout=20)
    assert "broken at import" in str(caught.value)
