"""Streamed responses: the wire format, the ResponseStream contract, and errors before and after the
first byte, against real Runtime API servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import LOOPS
from lambda_runtime import LambdaRuntime, ResponseSizeTooLarge, ResponseStream, protocol
from lambda_runtime.streaming import StreamStateError
from lambda_runtime.testing import InvocationResult, RuntimeAPIServer
from scripted_api import ScriptedRuntimeAPI

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

    RunHandlers = Callable[[object, object, str, int], "int | None"]

PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"


def serve(
    handler: object,
    events: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
    **options: Any,
) -> tuple[RuntimeAPIServer, list[InvocationResult]]:
    """Run ``handler`` in this process for ``events`` against a test Runtime API; return the results."""
    monkeypatch.setenv("MAX_INVOCATIONS", str(len(events)))
    with RuntimeAPIServer(next_timeout=10) as api:
        request_ids = [api.enqueue(event) for event in events]
        LambdaRuntime(handler, runtime_api=api.address, **options).run()
        return api, [api.wait_for(request_id, timeout=5) for request_id in request_ids]


def on_loop(loop: str, run: RunRuntime, run_tasks: RunRuntime) -> RunHandlers:
    """``run_on(handler, async_handler, address, invocations)``: ``handler`` on the blocking loop, or
    ``async_handler`` on the asyncio loop, as ``loop`` says; the runtime's exit code."""

    def run_on(handler: object, async_handler: object, address: str, invocations: int) -> int | None:
        if loop == "blocking":
            return run(handler, address, invocations)
        return run_tasks(async_handler, address, invocations)

    return run_on


def decoded_error(result: InvocationResult) -> dict[str, Any]:
    assert result.error_body is not None
    return json.loads(result.error_body)  # type: ignore[no-any-return]


# --- the protocol's pieces, byte for byte -------------------------------------------------------------


def test_stream_head_announces_streaming_chunked_and_the_error_trailers() -> None:
    encoder = protocol.RequestEncoder("127.0.0.1:9001")
    head = encoder.stream_head("req-1", "inv-9", protocol.STREAM_CONTENT_TYPE)
    assert head == (
        b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"
        b"Host: 127.0.0.1:9001\r\n"
        b"User-Agent: " + protocol.USER_AGENT.encode() + b"\r\n"
        b"Lambda-Runtime-Invocation-Id: inv-9\r\n"
        b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
    )


def test_chunks_are_framed_in_hex_and_an_empty_chunk_is_refused() -> None:
    assert protocol.chunk(b"hello") == b"5\r\nhello\r\n"
    assert protocol.chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert protocol.END_OF_STREAM == b"0\r\n\r\n"
    with pytest.raises(ValueError, match="empty chunk"):
        protocol.chunk(b"")


def test_error_trailers_carry_the_type_and_the_base64_error_body() -> None:
    body = protocol.error_body("ValueError", "bad ü\nline", ["  File x\n"], "req-1")
    trailers = protocol.error_trailers("ValueError", body)
    assert trailers.startswith(b"0\r\nLambda-Runtime-Function-Error-Type: Function.ValueError\r\n")
    assert trailers.endswith(b"\r\n\r\n")
    encoded = trailers.split(b"Lambda-Runtime-Function-Error-Body: ")[1].split(b"\r\n")[0]
    assert base64.b64decode(encoded) == body
    assert json.loads(base64.b64decode(encoded))["errorMessage"] == "bad ü\nline"


def test_function_url_prelude_is_json_then_eight_nul_bytes() -> None:
    prelude = protocol.http_integration_prelude(201, {"Content-Type": "text/plain"}, ["a=1", "b=2"])
    document, separator = prelude[:-8], prelude[-8:]
    assert separator == b"\x00" * 8
    assert json.loads(document) == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "cookies": ["a=1", "b=2"],
    }
    assert json.loads(protocol.http_integration_prelude(204)[:-8]) == {"statusCode": 204}
    for status in (99, 600, "200"):
        with pytest.raises(ValueError, match="status_code"):
            protocol.http_integration_prelude(status)  # type: ignore[arg-type]


# --- on the wire ----------------------------------------------------------------------------------------


def test_a_streamed_response_on_the_wire_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write(b"first ")
        stream.write("second")

    monkeypatch.setenv("MAX_INVOCATIONS", "1")
    with ScriptedRuntimeAPI([("req-1", b"{}")]) as api:
        LambdaRuntime(handler, runtime_api=api.address).run()
    assert api.error is None
    post = api.requests[1]
    assert post.request_line == "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1"
    assert b"Lambda-Runtime-Function-Response-Mode: streaming\r\n" in post.head
    assert b"Transfer-Encoding: chunked\r\n" in post.head
    assert b"Content-Length" not in post.head
    assert post.body == b"6\r\nfirst \r\n6\r\nsecond\r\n0\r\n"
    assert post.trailers == b"\r\n"


def test_several_streamed_invocations_in_a_row_share_one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write(event * 2)

    events = [(f"req-{index}", str(index).encode()) for index in range(5)]
    monkeypatch.setenv("MAX_INVOCATIONS", "5")
    with ScriptedRuntimeAPI(events) as api:
        LambdaRuntime(handler, runtime_api=api.address).run()
    assert api.error is None
    assert api.connections == 1
    posts = [request for request in api.requests if request.head.startswith(b"POST")]
    assert [post.body for post in posts] == [b"2\r\n%d%d\r\n0\r\n" % (index, index) for index in range(5)]


def test_memory_stays_flat_while_streaming_100_mb(tmp_path: Path) -> None:
    """A 100 MB stream in 64 KiB writes must not be held in memory.

    The function reads its own peak RSS (VmHWM, which exec resets, unlike the rusage a forked child
    inherits from pytest) before and after streaming.
    """
    (tmp_path / "big.py").write_text(
        textwrap.dedent(
            """
            CHUNK = b"x" * 65536

            def peak_kib():
                with open("/proc/self/status") as status:
                    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

            def handler(event: bytes, stream, context):
                before = peak_kib()
                for _ in range(1600):
                    stream.write(CHUNK)
                with open("peak.txt", "w") as report:
                    report.write(f"{before} {peak_kib()}")
            """
        )
    )
    with ScriptedRuntimeAPI([("req-big", b"{}")], keep_bodies=False) as api:
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, MAX_INVOCATIONS="1")
        finished = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "big.handler"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert api.requests[1].body_size == 1600 * 65536
    before_kib, after_kib = map(int, (tmp_path / "peak.txt").read_text().split())
    growth_mib = (after_kib - before_kib) / 1024
    assert growth_mib < 8, f"peak RSS grew by {growth_mib:.1f} MiB while streaming 100 MB"


# --- the ResponseStream contract ------------------------------------------------------------------------


def test_status_and_headers_become_the_function_url_prelude(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write_status_and_headers(202, {"Content-Type": "text/csv"}, ["session=1"])
        stream.write("a,b\n")

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert not result.is_error
    assert result.headers["content-type"] == PRELUDE_TYPE
    prelude, _, body = result.body.partition(b"\x00" * 8)
    assert json.loads(prelude) == {
        "statusCode": 202,
        "headers": {"Content-Type": "text/csv"},
        "cookies": ["session=1"],
    }
    assert body == b"a,b\n"


def test_status_and_headers_alone_still_send_the_prelude(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write_status_and_headers(204)

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert result.body == b'{"statusCode":204}' + b"\x00" * 8


def test_status_after_the_first_byte_fails_the_stream_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write("body first")
        stream.write_status_and_headers(200)

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert result.is_error and result.streamed
    assert result.body == b"body first"
    assert result.error_type == "Runtime.StreamStateError"
    assert "before the first body byte" in decoded_error(result)["errorMessage"]


def test_an_error_after_the_first_byte_ends_the_stream_with_trailers(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write("partial ")
        raise KeyError("missing")

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert result.streamed and result.is_error
    assert result.body == b"partial "
    assert result.error_type == "Function.KeyError"
    error = decoded_error(result)
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
    assert error["requestId"] == result.request_id
    assert any("test_streaming.py" in frame for frame in error["stackTrace"])


def test_an_error_before_the_first_byte_is_a_plain_error_post(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        raise ValueError(f"refused {event.decode()}")

    api, [result] = serve(handler, [b"nothing"], monkeypatch)
    assert result.is_error and not result.streamed
    assert result.error_type == "Function.ValueError"
    assert json.loads(result.body)["errorMessage"] == "refused nothing"
    assert [path.rsplit("/", 1)[-1] for method, path, _ in api.requests if method == "POST"] == ["error"]


def test_the_loop_goes_on_after_stream_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        if event == b"early":
            raise ValueError("early")
        stream.write(event)
        if event == b"late":
            raise ValueError("late")

    _, results = serve(handler, [b"early", b"late", b"fine"], monkeypatch)
    assert [(result.is_error, result.body if result.streamed else None) for result in results] == [
        (True, None),
        (True, b"late"),
        (False, b"fine"),
    ]


def test_the_limit_refuses_a_write_that_would_cross_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write(b"a" * 60)
        stream.write(b"b" * 60)

    _, [result] = serve(handler, [b"{}"], monkeypatch, max_stream_bytes=100)
    assert result.is_error and result.streamed
    assert result.body == b"a" * 60, "the write that crossed the limit must send nothing"
    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert "over the limit of 100 bytes" in decoded_error(result)["errorMessage"]


def test_a_first_write_over_the_limit_is_a_plain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    caught: list[BaseException] = []

    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        try:
            stream.write(b"z" * 11)
        except ResponseSizeTooLarge as error:
            caught.append(error)
            raise

    _, [result] = serve(handler, [b"{}"], monkeypatch, max_stream_bytes=10)
    assert len(caught) == 1
    assert result.is_error and not result.streamed
    assert result.error_type == "Function.ResponseSizeTooLarge"


def test_lambdas_own_limit_is_the_default() -> None:
    assert protocol.MAX_STREAMED_RESPONSE_BYTES == 200 * 1024 * 1024


def test_a_handler_that_returns_without_finishing_is_finished_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write("unfinished")

    def silent(event: bytes, stream: ResponseStream, context: object) -> None:
        pass

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert (result.is_error, result.body) == (False, b"unfinished")
    _, [empty] = serve(silent, [b"{}"], monkeypatch)
    assert (empty.is_error, empty.streamed, empty.body) == (False, True, b"")


def test_write_after_finish_raises_and_finish_twice_is_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write_and_finish("done")
        stream.finish()
        assert stream.finished
        try:
            stream.write("late")
        except StreamStateError as error:
            seen.append(str(error))

    _, [result] = serve(handler, [b"{}"], monkeypatch)
    assert (result.is_error, result.body) == (False, b"done")
    assert seen == ["write() after finish(): the response is already complete"]


@pytest.mark.parametrize("loop", LOOPS)
def test_an_error_after_finish_is_logged_and_the_response_stands(
    loop: str, api: RuntimeAPIServer, run: RunRuntime, run_tasks: RunRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write_and_finish("complete")
        raise RuntimeError("background work failed")

    async def async_handler(event: bytes, stream: ResponseStream, context: object) -> None:
        handler(event, stream, context)

    request_id = api.enqueue(b"{}")
    assert on_loop(loop, run, run_tasks)(handler, async_handler, api.address, 1) is None
    result = api.wait_for(request_id, timeout=5)
    assert (result.is_error, result.body) == (False, b"complete")
    assert len(api.posts) == 1
    assert "RuntimeError: background work failed (raised after the response stream was finished)" in [
        record.getMessage().split("\n")[0] for record in caplog.records
    ]


@pytest.mark.parametrize("loop", LOOPS)
def test_an_error_after_the_first_byte_is_cut_to_fit_the_trailers(
    loop: str, api: RuntimeAPIServer, run: RunRuntime, run_tasks: RunRuntime
) -> None:
    """The error body travels base64-encoded in one trailer line: a 100 KB message is cut to 32 KiB."""

    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write("partial ")
        raise ValueError("x" * 100_000)

    async def async_handler(event: bytes, stream: ResponseStream, context: object) -> None:
        handler(event, stream, context)

    request_id = api.enqueue(b"{}")
    assert on_loop(loop, run, run_tasks)(handler, async_handler, api.address, 1) is None
    result = api.wait_for(request_id, timeout=5)
    assert result.streamed and result.is_error
    assert result.body == b"partial "
    assert result.error_type == "Function.ValueError"
    assert result.error_body is not None
    assert 16 * 1024 < len(result.error_body) <= protocol.MAX_TRAILER_ERROR_BODY_BYTES
    error = decoded_error(result)
    assert (error["errorType"], error["requestId"]) == ("ValueError", request_id)
    assert error["errorMessage"].startswith("x" * 1000)
    assert error["errorMessage"].endswith("[truncated: the error was too large to report whole]")
    assert [post.request_id for post in api.posts] == [request_id], "one post: the stream, with trailers"


def test_work_after_finish_runs_after_the_response_and_before_the_next_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observations: list[tuple[str, bool, int]] = []
    api_holder: list[RuntimeAPIServer] = []

    def handler(event: bytes, stream: ResponseStream, context: Any) -> None:
        api = api_holder[0]
        stream.write_and_finish(b"answer")
        # The response must already be with the Runtime API, and no further /next sent yet.
        answered = api.wait_for(context.request_id, timeout=5) is not None
        next_calls = sum(1 for method, _, _ in api.requests if method == "GET")
        observations.append((event.decode(), answered, next_calls))

    monkeypatch.setenv("MAX_INVOCATIONS", "2")
    with RuntimeAPIServer(next_timeout=10) as api:
        api_holder.append(api)
        api.enqueue(b"one")
        api.enqueue(b"two")
        LambdaRuntime(handler, runtime_api=api.address).run()
    assert observations == [("one", True, 1), ("two", True, 2)]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize(
    ("fail", "dropped"), [(False, "stream"), (True, "failed stream")], ids=["finished", "failed"]
)
def test_a_410_on_a_stream_is_logged_and_the_loop_goes_on(
    fail: bool,
    dropped: str,
    loop: str,
    api: RuntimeAPIServer,
    run: RunRuntime,
    run_tasks: RunRuntime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(event: bytes, stream: ResponseStream, context: object) -> None:
        stream.write(event)
        if fail and event == b"stale":
            raise ValueError("failed after the first byte")

    async def async_handler(event: bytes, stream: ResponseStream, context: object) -> None:
        handler(event, stream, context)

    stale = api.enqueue(b"stale")
    fresh = api.enqueue(b"fresh")
    api.response_status[stale] = 410
    assert on_loop(loop, run, run_tasks)(handler, async_handler, api.address, 2) is None
    assert api.wait_for(fresh, timeout=5).body == b"fresh"
    assert [post.request_id for post in api.posts].count(stale) == 1, "nothing more is posted for it"
    gone = f"invocation {stale} had already timed out, its {dropped} was dropped"
    assert [record.levelname for record in caplog.records if gone in record.getMessage()] == ["WARNING"]


# --- handler kinds ------------------------------------------------------------------------------------


async def async_streamer(event: bytes, stream: ResponseStream, context: object) -> None:
    for part in event.split(b","):
        await asyncio.sleep(0)
        stream.write(part)


class ClassStreamer:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, event: bytes, stream: ResponseStream, context: object) -> None:
        self.calls += 1
        stream.write(b"%s#%d" % (event, self.calls))


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (async_streamer, [b"abc", b"d"]),
        (ClassStreamer, [b"a,b,c#1", b"d#2"]),
        (ClassStreamer().handle, [b"a,b,c#1", b"d#2"]),
    ],
    ids=["async-def", "class", "bound-method"],
)
def test_streaming_handler_kinds(
    handler: Callable[..., Any], expected: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, results = serve(handler, [b"a,b,c", b"d"], monkeypatch)
    assert [result.body for result in results] == expected
    assert all(result.streamed and not result.is_error for result in results)


def test_streaming_handlers_get_the_raw_event_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[object] = []

    def handler(event: Any, stream: ResponseStream, context: object) -> None:
        received.append(event)

    serve(handler, [b'{"json": "not decoded"}', b"\xff\xfe"], monkeypatch)
    assert received == [b'{"json": "not decoded"}', b"\xff\xfe"]
