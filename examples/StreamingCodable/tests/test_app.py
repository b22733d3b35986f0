"""Tests for StreamingCodable: decoding, the handler with a recording stream, then the real runtime.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` against it in a subprocess, exactly as Lambda would run the function. Every request they
send asks for a short ``delay_ms`` so that the suite stays fast.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lambda_runtime.testing import make_context, run_function

# isort: split
# The function under test, ./app.py (pytest puts "." on sys.path): kept apart from the installed packages
# above, however ruff is configured to tell them apart.
import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(EVENTS_DIR.glob("*.json"))

PRELUDE_SEPARATOR = b"\x00" * 8
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
TEXT_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store, no-transform"}
EXPECTED_SHAPE = '; expected JSON like {"count": 3, "message": "Hello", "delay_ms": 500}'


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_bytes())  # type: ignore[no-any-return]


def function_url_event(body: str | bytes | None, *, base64_encoded: bool = False) -> bytes:
    """The sample Function URL request with another body (base64-encoding it when asked)."""
    event = copy.deepcopy(load_event("function-url.json"))
    if body is None:
        del event["body"]
        event["requestContext"]["http"]["method"] = "GET"
    elif base64_encoded:
        event["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
    else:
        event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    return json.dumps(event).encode()


def lines(count: int, message: str) -> bytes:
    return "".join(f"[{number}/{count}] {message}\n" for number in range(1, count + 1)).encode()


def split_prelude(body: bytes) -> tuple[dict[str, Any], bytes]:
    """The Function URL prelude (decoded) and the body after it."""
    prelude, separator, rest = body.partition(PRELUDE_SEPARATOR)
    assert separator, f"no prelude in {body[:80]!r}"
    return json.loads(prelude), rest


class RecordingStream:
    """Stands in for ``ResponseStream`` in direct calls: records what the handler writes."""

    def __init__(self) -> None:
        self.status_and_headers: tuple[int, dict[str, str] | None] | None = None
        self.chunks: list[bytes] = []
        self.finished = False

    def write_status_and_headers(
        self, status_code: int, headers: dict[str, str] | None = None, cookies: list[str] | None = None
    ) -> None:
        assert not self.chunks, "write_status_and_headers() after the first body byte"
        self.status_and_headers = (status_code, headers)

    def write(self, data: bytes | str) -> None:
        assert not self.finished, "write() after finish()"
        self.chunks.append(data.encode() if isinstance(data, str) else bytes(data))

    def finish(self) -> None:
        self.finished = True

    def write_and_finish(self, data: bytes | str) -> None:
        self.write(data)
        self.finish()

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def call_handler(event: bytes) -> RecordingStream:
    stream = RecordingStream()
    app.handler(event, stream, make_context())  # type: ignore[arg-type]
    return stream


# --- Decoding ---------------------------------------------------------------------------------------


def test_decodes_a_direct_invocation() -> None:
    decoded = app.decode_event(b'{"count": 2, "message": "Hi", "delay_ms": 0}')
    assert decoded == app.DecodedEvent(app.StreamingRequest(count=2, message="Hi", delay_ms=0), False)


def test_the_delay_defaults_to_half_a_second() -> None:
    assert app.decode_event(b'{"count": 1, "message": "Hi"}').request.delay_ms == 500


def test_a_stream_may_pause_ten_seconds_in_all() -> None:
    assert app.decode_event(b'{"count": 11, "message": "Hi", "delay_ms": 1000}').request.count == 11
    assert app.decode_event(b'{"count": 3, "message": "Hi", "delay_ms": 5000}').request.delay_ms == 5000


def test_decodes_a_function_url_request_with_a_plain_body() -> None:
    decoded = app.decode_event((EVENTS_DIR / "function-url.json").read_bytes())
    assert decoded.via_function_url
    assert decoded.request == app.StreamingRequest(count=3, message="Hello from a Function URL", delay_ms=100)


def test_decodes_a_function_url_request_with_a_base64_body() -> None:
    event = load_event("function-url-base64-body.json")
    assert event["isBase64Encoded"] is True
    assert not event["body"].startswith("{")  # really encoded
    decoded = app.decode_event(json.dumps(event).encode())
    assert decoded.via_function_url
    assert decoded.request == app.StreamingRequest(
        count=2, message="Zoë sent this as application/octet-stream", delay_ms=100
    )


def test_plain_and_base64_bodies_decode_to_the_same_request() -> None:
    body = '{"count": 4, "message": "same", "delay_ms": 10}'
    plain = app.decode_event(function_url_event(body))
    encoded = app.decode_event(function_url_event(body, base64_encoded=True))
    assert (
        plain == encoded == app.DecodedEvent(app.StreamingRequest(count=4, message="same", delay_ms=10), True)
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b"not JSON", "the payload is not a JSON object; send JSON like", id="not-json"),
        pytest.param(b'[3, "Hello"]', "the payload is not a JSON object", id="array"),
        pytest.param(b"\xff\xfe", "the payload is not a JSON object", id="not-utf-8"),
        pytest.param(b"{}", "invalid request: count: Field required; message: Field required", id="empty"),
        pytest.param(
            b'{"count": 0, "message": "Hi"}', "count: Input should be greater than or equal to 1", id="zero"
        ),
        pytest.param(
            b'{"count": 101, "message": "Hi"}',
            "count: Input should be less than or equal to 100",
            id="too-many",
        ),
        pytest.param(
            b'{"count": "3", "message": "Hi"}', "count: Input should be a valid integer", id="string"
        ),
        pytest.param(
            b'{"count": true, "message": "Hi"}', "count: Input should be a valid integer", id="bool"
        ),
        pytest.param(
            b'{"count": 1, "message": ""}', "message: String should have at least 1 character", id="blank"
        ),
        pytest.param(
            b'{"count": 1, "message": "Hi", "delay_ms": 60000}',
            "delay_ms: Input should be less than or equal to 5000",
            id="slow",
        ),
        pytest.param(
            b'{"count": 11, "message": "Hi", "delay_ms": 1001}',
            "invalid request: 11 lines 1001 ms apart would take 10010 ms, more than the 10000 ms",
            id="too-long-in-all",
        ),
        pytest.param(
            b'{"count": 1, "message": "Hi", "delayMs": 10}',
            "delayMs: Extra inputs are not permitted",
            id="misspelt",
        ),
    ],
)
def test_rejects_a_bad_direct_request_saying_why(payload: bytes, message: str) -> None:
    with pytest.raises(app.InvalidRequestError) as raised:
        app.decode_event(payload)
    assert message in str(raised.value)
    # Every rejection ends by showing what to send.
    assert str(raised.value).endswith('JSON like {"count": 3, "message": "Hello", "delay_ms": 500}')


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(
            function_url_event(None),
            'the GET request has no body; POST the request as JSON, like {"count": 3',
            id="no-body",
        ),
        pytest.param(function_url_event(""), "the POST request has no body", id="empty-body"),
        pytest.param(
            function_url_event("count=3&message=Hi"),
            "invalid request: the body is not valid JSON" + EXPECTED_SHAPE,
            id="form-body",
        ),
        pytest.param(
            function_url_event("[3]"), "invalid request: the request must be a JSON object", id="array-body"
        ),
        pytest.param(
            function_url_event('{"count": 0, "message": "Hi"}', base64_encoded=True),
            "count: Input should be greater than or equal to 1",
            id="invalid-base64-body",
        ),
        pytest.param(
            json.dumps({**load_event("function-url.json"), "body": "%%%", "isBase64Encoded": True}).encode(),
            "the body is marked base64-encoded but is not valid base64",
            id="bad-base64",
        ),
    ],
)
def test_rejects_a_bad_function_url_request_saying_why(event: bytes, message: str) -> None:
    with pytest.raises(app.InvalidRequestError) as raised:
        app.decode_event(event)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(load_event("function-url.json"), True, id="function-url"),
        pytest.param({"count": 1, "message": "Hi"}, False, id="request"),
        pytest.param({"version": "1.0", "requestContext": {"httpMethod": "POST"}}, False, id="rest-api-v1"),
        pytest.param({"version": "2.0", "requestContext": {}}, False, id="no-http"),
        pytest.param(None, False, id="not-an-object"),
    ],
)
def test_recognises_function_url_requests(document: dict[str, Any] | None, expected: bool) -> None:
    assert app.is_function_url_request(document) is expected


# --- The handler on its own ------------------------------------------------------------------------


def test_streams_the_message_count_times_to_a_direct_caller() -> None:
    stream = call_handler(b'{"count": 3, "message": "Hi", "delay_ms": 1}')
    assert stream.chunks == [b"[1/3] Hi\n", b"[2/3] Hi\n", b"[3/3] Hi\n"]
    assert stream.status_and_headers is None  # no HTTP response to describe
    assert stream.finished


def test_gives_a_function_url_caller_a_status_and_headers_first() -> None:
    stream = call_handler(function_url_event('{"count": 2, "message": "Hi", "delay_ms": 1}'))
    assert stream.status_and_headers == (200, TEXT_HEADERS)
    assert stream.body == lines(2, "Hi")


def test_answers_a_bad_function_url_request_with_400_and_the_reason() -> None:
    stream = call_handler(function_url_event('{"count": 0, "message": "Hi"}'))
    assert stream.status_and_headers == (400, TEXT_HEADERS)
    assert stream.body == (
        b"invalid request: count: Input should be greater than or equal to 1"
        + EXPECTED_SHAPE.encode()
        + b"\n"
    )
    assert stream.finished


def test_raises_for_a_bad_direct_request_before_writing_anything() -> None:
    stream = RecordingStream()
    with pytest.raises(app.InvalidRequestError, match="count: Input should be greater than or equal to 1"):
        app.handler(b'{"count": 0, "message": "Hi"}', stream, make_context())  # type: ignore[arg-type]
    assert stream.chunks == []
    assert stream.status_and_headers is None


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_runtime_streams_a_direct_invocation() -> None:
    [result] = run_function(
        "app.handler", [b'{"count": 4, "message": "Hello", "delay_ms": 10}'], cwd=EXAMPLE_DIR
    )
    assert not result.is_error, result.body
    assert result.streamed
    assert result.headers["transfer-encoding"] == "chunked"
    assert result.headers["content-type"] == "application/octet-stream"  # no prelude
    assert result.body == lines(4, "Hello")


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["plain-body", "base64-body"])
def test_runtime_streams_a_function_url_request(base64_encoded: bool) -> None:
    event = function_url_event(
        '{"count": 2, "message": "Zoë", "delay_ms": 10}', base64_encoded=base64_encoded
    )
    [result] = run_function("app.handler", [event], cwd=EXAMPLE_DIR)
    assert not result.is_error, result.body
    assert result.streamed
    assert result.headers["content-type"] == HTTP_INTEGRATION
    prelude, body = split_prelude(result.body)
    assert prelude == {"statusCode": 200, "headers": TEXT_HEADERS}
    assert body == lines(2, "Zoë")


def test_runtime_reports_a_bad_direct_request_as_a_function_error() -> None:
    bad, good = run_function(
        "app.handler",
        [b'{"count": "three", "message": "Hi"}', b'{"count": 1, "message": "next", "delay_ms": 0}'],
        cwd=EXAMPLE_DIR,
    )
    assert bad.is_error
    error = bad.json()
    assert error["errorType"] == "InvalidRequestError"
    assert error["errorMessage"] == "invalid request: count: Input should be a valid integer" + EXPECTED_SHAPE
    # Nothing was written before the error, so it went to Lambda as a plain error, not a broken stream.
    assert not bad.streamed
    # The function goes on with the next invocation.
    assert not good.is_error
    assert good.body == lines(1, "next")


def test_runtime_answers_a_bad_function_url_request_with_400() -> None:
    [result] = run_function("app.handler", [function_url_event(None)], cwd=EXAMPLE_DIR)
    assert not result.is_error  # a response, for the caller to read; not a function error
    prelude, body = split_prelude(result.body)
    assert prelude == {"statusCode": 400, "headers": TEXT_HEADERS}
    assert body.startswith(b"the GET request has no body; POST the request as JSON")


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert event_path.with_suffix(".expected.txt").is_file(), f"{event_path.name} has no expected output"


def test_every_sample_event_produces_its_expected_output() -> None:
    # `<name>.expected.txt` is the body the caller reads: for a Function URL request, what follows the
    # status and headers (which the Function URL turns into the HTTP response's own).
    results = run_function("app.handler", [path.read_bytes() for path in SAMPLE_EVENTS], cwd=EXAMPLE_DIR)
    statuses = {}
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        body = result.body
        if result.headers["content-type"] == HTTP_INTEGRATION:
            prelude, body = split_prelude(body)
            statuses[event_path.name] = prelude["statusCode"]
        assert body == event_path.with_suffix(".expected.txt").read_bytes(), event_path.name
    assert statuses == {
        "function-url.json": 200,
        "function-url-base64-body.json": 200,
        "function-url-invalid-request.json": 400,
    }
