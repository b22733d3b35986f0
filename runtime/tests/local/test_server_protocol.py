"""The server side of the sans-IO protocol module: pure functions, tested byte for byte."""

from __future__ import annotations

import base64
import json

import pytest

from lambda_runtime import protocol
from lambda_runtime.protocol import Invocation, ProtocolError
from lambda_runtime.protocol import server as server_protocol


def test_next_response_headers_carry_every_field_there_is() -> None:
    invocation = Invocation(
        "req-1",
        b"{}",
        deadline_ms=1_700_000_000_123,
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        trace_id="Root=1-65000000-abcdef012345678901234567;Parent=0123456789abcdef;Sampled=0",
        client_context='{"custom":{"a":1}}',
        tenant_id="tenant-7",
        invocation_id="inv-1",
    )
    headers = server_protocol.next_response_headers(invocation)
    assert headers == [
        ("Lambda-Runtime-Aws-Request-Id", "req-1"),
        ("Lambda-Runtime-Deadline-Ms", "1700000000123"),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:f"),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
        ("Lambda-Runtime-Client-Context", '{"custom":{"a":1}}'),
        ("Lambda-Runtime-Aws-Tenant-Id", "tenant-7"),
        ("Lambda-Runtime-Invocation-Id", "inv-1"),
    ]
    # What the server sends, the runtime's parser reads back.
    parsed = protocol.invocation_from_next({name.lower(): value for name, value in headers}, b"{}")
    assert (parsed.request_id, parsed.deadline_ms, parsed.tenant_id, parsed.invocation_id) == (
        "req-1",
        1_700_000_000_123,
        "tenant-7",
        "inv-1",
    )
    assert parsed.client_context == '{"custom":{"a":1}}'


def test_next_response_headers_leave_out_what_is_absent() -> None:
    assert server_protocol.next_response_headers(Invocation("r", b"")) == [
        ("Lambda-Runtime-Aws-Request-Id", "r")
    ]
    with pytest.raises(ProtocolError):
        server_protocol.next_response_headers(Invocation("bad id\r\n", b""))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/2018-06-01/runtime/invocation/abc-1/response", ("abc-1", "response")),
        ("/2018-06-01/runtime/invocation/abc-1/error", ("abc-1", "error")),
        ("/2018-06-01/runtime/invocation/next", None),
        ("/2018-06-01/runtime/invocation//response", None),
        ("/2018-06-01/runtime/invocation/abc/other", None),
        ("/2018-06-01/runtime/init/error", None),
    ],
)
def test_parse_invocation_path(path: str, expected: tuple[str, str] | None) -> None:
    assert server_protocol.parse_invocation_path(path) == expected


def test_the_prelude_is_found_only_once_its_separator_has_come() -> None:
    prelude = protocol.http_integration_prelude(201, {"X-A": "b"}, ["c=d"])
    assert server_protocol.split_http_integration_prelude(prelude[:-1]) is None
    assert server_protocol.split_http_integration_prelude(prelude + b"body") == (prelude[:-8], b"body")
    with pytest.raises(ProtocolError, match="no status-and-headers prelude"):
        server_protocol.split_http_integration_prelude(b"x" * (server_protocol.MAX_PRELUDE_BYTES + 9))


def test_parse_http_integration_prelude() -> None:
    prelude = protocol.http_integration_prelude(418, {"Content-Type": "text/plain"}, ["a=1", "b=2"])[:-8]
    assert server_protocol.parse_http_integration_prelude(prelude) == (
        418,
        [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    assert server_protocol.parse_http_integration_prelude(b"{}") == (200, [])
    assert server_protocol.parse_http_integration_prelude(
        b'{"statusCode":200,"headers":{"X-N":5,"X-B":true}}'
    ) == (
        200,
        [("X-N", "5"), ("X-B", "true")],
    )


@pytest.mark.parametrize(
    "prelude",
    [
        b"not json",
        b"[]",
        b'{"statusCode": "200"}',
        b'{"statusCode": 600}',
        b'{"statusCode": true}',
        b'{"headers": ["X-A: b"]}',
        b'{"cookies": "a=1"}',
        b'{"headers": {"Bad Name": "x"}}',
        b'{"headers": {"X": "line\\r\\nbreak"}}',
    ],
)
def test_a_malformed_prelude_is_a_protocol_error(prelude: bytes) -> None:
    with pytest.raises(ProtocolError):
        server_protocol.parse_http_integration_prelude(prelude)


def test_error_from_trailers() -> None:
    body = protocol.error_body("KeyError", "'x'")
    trailers = {name.lower(): value for name, value in server_protocol.error_trailer_fields("KeyError", body)}
    assert server_protocol.error_from_trailers(trailers) == ("Function.KeyError", body)
    assert server_protocol.error_from_trailers({}) is None
    error_type, fallback = server_protocol.error_from_trailers(
        {"lambda-runtime-function-error-type": "Function.X", "lambda-runtime-function-error-body": "%%%"}
    ) or ("", b"")
    assert error_type == "Function.X"
    assert "not valid base64" in json.loads(fallback)["errorMessage"]
    _, missing = server_protocol.error_from_trailers(
        {"lambda-runtime-function-error-type": "Function.X"}
    ) or (
        "",
        b"",
    )
    assert json.loads(missing)["errorType"] == "Function.X"


def test_error_trailer_fields_match_the_runtimes_own_trailers() -> None:
    body = protocol.error_body("ValueError", "bad")
    fields = server_protocol.error_trailer_fields("ValueError", body)
    wire = protocol.error_trailers("ValueError", body)
    for name, value in fields:
        assert f"{name}: {value}\r\n".encode() in wire
    assert base64.b64decode(fields[1][1]) == body


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        ("Function.ValueError", b'{"errorType": "ValueError"}', "ValueError"),
        ("Function.ValueError", b"not json", "Function.ValueError"),
        (None, b"{}", "Unhandled"),
        (None, b'{"errorType": "Bad\\r\\nType"}', "BadType"),
    ],
)
def test_function_error_type(header: str | None, body: bytes, expected: str) -> None:
    assert server_protocol.function_error_type(header, body) == expected
