"""The sans-IO wire protocol, byte for byte and without sockets: paths, response parsing (whole, byte
by byte, in any split), /next headers into an Invocation, request encoding, and the error body."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lambda_runtime
from lambda_runtime import protocol
from lambda_runtime.protocol import ProtocolError, RequestEncoder, Response, ResponseParser, parse_head
from lambda_runtime.protocol import server as server_protocol

ERROR_TYPE_HEADER = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
HOST = "127.0.0.1:9001"
USER_AGENT = f"lambda-runtime-python/{lambda_runtime.__version__}"
COMMON = f"Host: {HOST}\r\nUser-Agent: {USER_AGENT}\r\n".encode()

# Any text at all: lone surrogates and control characters come up often, not once in a thousand.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(categories=["Cs"]),
        st.characters(categories=["Cc"]),
    )
)


def parse_all(*pieces: bytes, eof: bool = False) -> list[Response]:
    """Feed ``pieces`` one by one (then the end of the connection if ``eof``) and collect every response
    that completes. An empty piece would mean the end of the connection: give none."""
    parser = ResponseParser()
    responses = []
    for piece in [*pieces, b""] if eof else pieces:
        parser.feed(piece)
        while (response := parser.next_response()) is not None:
            responses.append(response)
    return responses


def parse_one(data: bytes, eof: bool = False) -> Response:
    [response] = parse_all(data, eof=eof)
    return response


def summary(responses: list[Response]) -> list[tuple[int, bytes]]:
    return [(response.status, response.body) for response in responses]


# --- paths and constants ------------------------------------------------------------------------------


def test_runtime_api_paths() -> None:
    assert protocol.NEXT_PATH == "/2018-06-01/runtime/invocation/next"
    assert protocol.INIT_ERROR_PATH == "/2018-06-01/runtime/init/error"
    assert protocol.response_path("abc-1") == "/2018-06-01/runtime/invocation/abc-1/response"
    assert protocol.error_path("abc-1") == "/2018-06-01/runtime/invocation/abc-1/error"


def test_user_agent_names_the_runtime_and_its_version() -> None:
    assert protocol.USER_AGENT == USER_AGENT


def test_buffered_response_limit_is_lambdas() -> None:
    assert protocol.MAX_BUFFERED_RESPONSE_BYTES == 6_291_556


# --- parse_head ---------------------------------------------------------------------------------------


def test_parse_head_reads_status_and_lower_cases_header_names() -> None:
    status, headers, keep_alive = parse_head(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id:  abc \r\nContent-Length: 2"
    )
    assert (status, headers, keep_alive) == (
        200,
        {"lambda-runtime-aws-request-id": "abc", "content-length": "2"},
        True,
    )


def test_parse_head_joins_repeated_headers() -> None:
    _, headers, _ = parse_head(b"HTTP/1.1 200 OK\r\nVia: a\r\nVia: b")
    assert headers == {"via": "a, b"}


def test_parse_head_accepts_a_status_line_without_reason_phrase() -> None:
    assert parse_head(b"HTTP/1.1 202")[0] == 202


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Close", False),
        (b"HTTP/1.0 200 OK", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive", True),
    ],
)
def test_parse_head_keep_alive_follows_the_http_version_and_connection_header(
    head: bytes, keep_alive: bool
) -> None:
    assert parse_head(head)[2] is keep_alive


@pytest.mark.parametrize(
    "status_line",
    [
        b"",
        b"garbage",
        b"HTTP/2 200 OK",
        b"HTTP/1.1 OK",
        b"HTTP/1.1 20x OK",
        b"HTTP/1.1  200 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 200OK",
        b"HTTP/1.1 2\xb20 OK",  # a latin-1 superscript two is a digit to str.isdigit()
        b"ICY 200 OK",
    ],
)
def test_parse_head_rejects_malformed_status_lines(status_line: bytes) -> None:
    with pytest.raises(ProtocolError, match="status line"):
        parse_head(status_line + b"\r\nContent-Length: 0")


@pytest.mark.parametrize(
    "header_line",
    [
        b"No-Colon",
        b": no name",
        b"Space-Before-Colon : x",
        b"Tab-Before-Colon\t: x",
        b"Bare\nLF: x",
        b" Folded: x",
    ],
)
def test_parse_head_rejects_malformed_header_lines(header_line: bytes) -> None:
    with pytest.raises(ProtocolError, match="header"):
        parse_head(b"HTTP/1.1 200 OK\r\n" + header_line)


# --- ResponseParser -----------------------------------------------------------------------------------

# Several responses back to back, as a keep-alive connection may carry them.
CONVERSATION = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nContent-Length: 5\r\n\r\nhello"
    b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;name=value\r\nchun\r\nA\r\nked body!!\r\n0;last\r\nX-Trailer: 1\r\nY-Trailer: 2\r\n\r\n"
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    b"HTTP/1.1 204 No Content\r\n\r\n"
    b'HTTP/1.1 410 Gone\r\nContent-Length: 7\r\n\r\n{"x":1}'
)
CONVERSATION_RESPONSES = [
    (200, b"hello"),
    (200, b"chunked body!!"),
    (202, b""),
    (204, b""),
    (410, b'{"x":1}'),
]


def test_parser_reads_a_conversation_fed_at_once() -> None:
    assert summary(parse_all(CONVERSATION)) == CONVERSATION_RESPONSES


def test_parser_reads_a_conversation_fed_byte_by_byte() -> None:
    pieces = [CONVERSATION[index : index + 1] for index in range(len(CONVERSATION))]
    assert summary(parse_all(*pieces)) == CONVERSATION_RESPONSES


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CONVERSATION)), max_size=40))
def test_parser_reads_a_conversation_in_any_split(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(CONVERSATION)]
    pieces = [CONVERSATION[start:end] for start, end in itertools.pairwise(bounds) if end > start]
    assert summary(parse_all(*pieces)) == CONVERSATION_RESPONSES


@pytest.mark.parametrize("split", [1, 40, 45, 46, 47, 48, 60, 61, 62])
def test_parser_reads_a_chunked_body_split_anywhere(split: int) -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    assert summary(parse_all(data[:split], data[split:])) == [(200, b"abc")]


def test_chunk_extensions_trailers_and_upper_case_hex_sizes() -> None:
    response = parse_one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'1A ; ext="quoted"\r\n' + b"z" * 26 + b"\r\n0\r\nExpires: never\r\n\r\n"
    )
    assert response.body == b"z" * 26
    assert response.keep_alive


def test_the_parser_keeps_the_bytes_after_a_response_for_the_next() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 202 Accepted\r\nContent-Le")
    first = parser.next_response()
    assert first is not None and first.body == b"a"
    assert parser.next_response() is None
    parser.feed(b"ngth: 0\r\n\r\n")
    second = parser.next_response()
    assert second is not None and second.status == 202


def test_interim_responses_are_skipped() -> None:
    responses = parse_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n")
    assert responses == []
    assert summary(
        parse_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    ) == [(200, b"ok")]


def test_a_body_without_length_ends_with_the_connection() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n\r\npart one, ")
    parser.feed(b"part two")
    assert parser.next_response() is None
    parser.feed(b"")
    response = parser.next_response()
    assert response is not None
    assert (response.body, response.keep_alive) == (b"part one, part two", False)


def test_keep_alive_unless_the_server_says_close() -> None:
    assert parse_one(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive
    assert not parse_one(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").keep_alive


def test_bytes_wanted_says_how_much_of_a_content_length_body_is_missing() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123")
    assert parser.next_response() is None
    assert parser.bytes_wanted == 7


@pytest.mark.parametrize(
    "truncated",
    [
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n",
    ],
    ids=["head", "content-length-body", "chunk", "between-chunks", "trailers"],
)
def test_a_connection_closed_inside_a_response_is_a_protocol_error(truncated: bytes) -> None:
    with pytest.raises(ProtocolError, match="closed the connection"):
        parse_all(truncated, eof=True)


@pytest.mark.parametrize("size_line", [b"zz", b"", b";ext", b"-1", b"0x5", b"+5", b"0_5", b"5 5"])
def test_malformed_chunk_sizes_are_protocol_errors(size_line: bytes) -> None:
    with pytest.raises(ProtocolError, match="chunk size"):
        parse_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\nhello\r\n0\r\n\r\n"
        )


def test_chunk_data_not_followed_by_crlf_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="CRLF"):
        parse_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n")


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1.5", b"", b"0x10", b"\xb2"])
def test_malformed_content_length_is_a_protocol_error(length: bytes) -> None:
    with pytest.raises(ProtocolError, match="Content-Length"):
        parse_all(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\nbody")


def test_a_head_over_the_limit_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="head over"):
        parse_all(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * protocol.MAX_HEAD_BYTES)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (protocol.MAX_BODY_BYTES + 1),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (protocol.MAX_BODY_BYTES + 1),
    ],
    ids=["content-length", "chunk-size"],
)
def test_a_body_over_the_limit_is_refused_as_soon_as_it_is_announced(head: bytes) -> None:
    with pytest.raises(ProtocolError, match="over the limit"):
        parse_all(head)


def test_a_chunked_body_growing_over_the_limit_is_refused() -> None:
    parser = ResponseParser(max_body=10)
    parser.feed(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"
    )
    with pytest.raises(ProtocolError, match="over the limit"):
        parser.next_response()


# --- /next into an Invocation -------------------------------------------------------------------------

EVERY_HEADER = {
    "lambda-runtime-aws-request-id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
    "lambda-runtime-deadline-ms": "1542409706888",
    "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime",
    "lambda-runtime-trace-id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
    "lambda-runtime-client-context": '{"client": {"app_title": "app"}, "custom": {}, "env": {}}',
    "lambda-runtime-cognito-identity": '{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
    "lambda-runtime-aws-tenant-id": "tenant-42",
    "lambda-runtime-invocation-id": "inv-0001",
}


def test_invocation_from_next_reads_every_header() -> None:
    invocation = protocol.invocation_from_next(EVERY_HEADER, b'{"a": 1}')
    assert invocation.request_id == "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
    assert invocation.event == b'{"a": 1}'
    assert invocation.deadline_ms == 1542409706888
    assert invocation.invoked_function_arn == EVERY_HEADER["lambda-runtime-invoked-function-arn"]
    assert invocation.trace_id == EVERY_HEADER["lambda-runtime-trace-id"]
    assert invocation.client_context == EVERY_HEADER["lambda-runtime-client-context"]
    assert invocation.cognito_identity == EVERY_HEADER["lambda-runtime-cognito-identity"]
    assert invocation.tenant_id == "tenant-42"
    assert invocation.invocation_id == "inv-0001"


def test_invocation_from_next_needs_only_the_request_id() -> None:
    invocation = protocol.invocation_from_next({"lambda-runtime-aws-request-id": "only-id"}, b"")
    assert (invocation.request_id, invocation.event) == ("only-id", b"")
    absent = [
        "deadline_ms",
        "invoked_function_arn",
        "trace_id",
        "client_context",
        "cognito_identity",
        "tenant_id",
        "invocation_id",
    ]
    assert {name: getattr(invocation, name) for name in absent} == dict.fromkeys(absent)


def test_invocation_repr_does_not_dump_the_event() -> None:
    invocation = protocol.invocation_from_next({"lambda-runtime-aws-request-id": "r"}, b"x" * 1000)
    assert repr(invocation) == "Invocation(request_id='r', event=<1000 bytes>)"


@pytest.mark.parametrize(
    ("headers", "complaint"),
    [
        ({}, "without Lambda-Runtime-Aws-Request-Id"),
        ({"lambda-runtime-aws-request-id": "a/b"}, "request id"),
        ({"lambda-runtime-aws-request-id": "ok", "lambda-runtime-deadline-ms": "soon"}, "deadline"),
        ({"lambda-runtime-aws-request-id": "ok", "lambda-runtime-invocation-id": "a b"}, "invocation id"),
    ],
)
def test_invocation_from_next_rejects_unusable_headers(headers: dict[str, str], complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        protocol.invocation_from_next(headers, b"{}")


@pytest.mark.parametrize("value", ["8476a536-e9f4-11e8-9739-2dfe598c3fcd", "a.b_c:d+e=f", "x" * 256])
def test_check_id_accepts_ids(value: str) -> None:
    assert protocol.check_id(value, "request id") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a\rb",
        "a\nb",
        "a\r\nX-Injected: 1",
        "a b",
        "a/b",
        "../next",
        "a\tb",
        "a?b",
        "a%2Fb",
        "é",
        "x" * 257,
    ],
)
def test_check_id_rejects_what_could_change_a_request(value: str) -> None:
    with pytest.raises(ProtocolError, match="unusable request id"):
        protocol.check_id(value, "request id")


# --- requests, byte for byte --------------------------------------------------------------------------


def test_next_request_bytes() -> None:
    assert RequestEncoder(HOST).next_request == (
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n" + COMMON + b"\r\n"
    )


def test_response_head_bytes_without_invocation_id() -> None:
    assert RequestEncoder(HOST).response_head("req-1", 17) == (
        b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"
        + COMMON
        + b"Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    )


def test_response_head_bytes_with_invocation_id_and_content_type() -> None:
    assert RequestEncoder(HOST).response_head("req-1", 0, "inv-9", b"application/octet-stream") == (
        b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"
        + COMMON
        + b"Lambda-Runtime-Invocation-Id: inv-9\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: 0\r\n\r\n"
    )


def test_error_request_bytes() -> None:
    body = b'{"errorMessage":"x"}'
    assert RequestEncoder(HOST).error_request("req-1", "ValueError", body, "inv-9") == (
        b"POST /2018-06-01/runtime/invocation/req-1/error HTTP/1.1\r\n"
        + COMMON
        + b"Lambda-Runtime-Invocation-Id: inv-9\r\n"
        b"Lambda-Runtime-Function-Error-Type: Function.ValueError\r\n"
        b"Content-Type: application/json\r\nContent-Length: 20\r\n\r\n" + body
    )
    without_id = RequestEncoder(HOST).error_request("req-1", "ValueError", body)
    assert b"Invocation-Id" not in without_id


def test_init_error_request_bytes() -> None:
    body = b'{"errorType":"Runtime.ImportModuleError"}'
    assert RequestEncoder(HOST).init_error_request("Runtime.ImportModuleError", body) == (
        b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\n"
        + COMMON
        + b"Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n"
        b"Content-Type: application/json\r\nContent-Length: 41\r\n\r\n" + body
    )


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "header"),
    [
        ("ValueError", "Function.ValueError"),
        ("HTTP404_Error", "Function.HTTPError"),
        ("_Private", "Function.Private"),
        ("É", "Function.Unhandled"),
        ("X", "Function.Unhandled"),
        ("lower_case", "Function.Lowercase"),
        ("Ünïcode_Error", "Function.NcodeError"),
        ("Runtime.MarshalError", "Runtime.MarshalError"),
        ("Function.ResponseSizeTooLarge", "Function.ResponseSizeTooLarge"),
        ("Other.Thing", "Function.OtherThing"),
    ],
)
def test_error_type_header_values(error_type: str, header: str) -> None:
    assert protocol.error_type_header(error_type) == header
    assert ERROR_TYPE_HEADER.fullmatch(header)


@given(ANY_TEXT)
def test_error_type_header_always_matches_what_lambda_accepts(error_type: str) -> None:
    assert ERROR_TYPE_HEADER.fullmatch(protocol.error_type_header(error_type))


def test_error_body_fields() -> None:
    body = protocol.error_body("ValueError", "bad value", ['  File "app.py", line 1, in handler\n'], "req-1")
    assert json.loads(body) == {
        "errorMessage": "bad value",
        "errorType": "ValueError",
        "stackTrace": ['  File "app.py", line 1, in handler\n'],
        "requestId": "req-1",
    }
    assert "requestId" not in json.loads(protocol.error_body("Runtime.ImportModuleError", "no module"))


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT, st.lists(ANY_TEXT, max_size=3))
def test_error_body_is_valid_ascii_json_for_any_text(error_type: str, message: str, stack: list[str]) -> None:
    body = protocol.error_body(error_type, message, stack, "req-1")
    assert body.isascii()
    assert json.loads(body) == {
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": stack,
        "requestId": "req-1",
    }


def test_error_body_for_a_huge_message() -> None:
    message = "\u2603\ud800\x00\n" * 250_000
    assert json.loads(protocol.error_body("MemoryHog", message))["errorMessage"] == message


# --- the hot loop's fast paths: the same answers as the general parser, or None -------------------

CANONICAL_NAMES = {
    "lambda-runtime-aws-request-id": "Lambda-Runtime-Aws-Request-Id",
    "lambda-runtime-deadline-ms": "Lambda-Runtime-Deadline-Ms",
    "lambda-runtime-invoked-function-arn": "Lambda-Runtime-Invoked-Function-Arn",
    "lambda-runtime-trace-id": "Lambda-Runtime-Trace-Id",
    "lambda-runtime-client-context": "Lambda-Runtime-Client-Context",
    "lambda-runtime-cognito-identity": "Lambda-Runtime-Cognito-Identity",
    "lambda-runtime-aws-tenant-id": "Lambda-Runtime-Aws-Tenant-Id",
    "lambda-runtime-invocation-id": "Lambda-Runtime-Invocation-Id",
}


def next_message(headers: dict[str, str], body: bytes = b'{"a": 1}', status: bytes = b"200 OK") -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    head = "\r\n".join(["Content-Type: application/json", *lines, f"Content-Length: {len(body)}"])
    return b"HTTP/1.1 " + status + b"\r\n" + head.encode("latin-1") + b"\r\n\r\n" + body


def slow_invocation(data: bytes) -> protocol.Invocation:
    response = protocol.parse_complete_response(data)
    assert response is not None
    return protocol.invocation_from_next(response.headers, response.body)


def fields(invocation: protocol.Invocation) -> dict[str, object]:
    return {name: getattr(invocation, name) for name in protocol.Invocation.__slots__}


@pytest.mark.parametrize("present", [list(CANONICAL_NAMES), ["lambda-runtime-aws-request-id"]])
def test_the_fast_next_parse_gives_what_the_general_one_gives(present: list[str]) -> None:
    data = next_message({CANONICAL_NAMES[name]: EVERY_HEADER[name] for name in present})
    fast = protocol.parse_next_response(data)
    assert fast is not None
    assert fields(fast) == fields(slow_invocation(data))
    assert fast.event == b'{"a": 1}'


REQUEST_ID = {"Lambda-Runtime-Aws-Request-Id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd"}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(next_message({"lambda-runtime-aws-request-id": "r1"}), id="lower-case-names"),
        pytest.param(next_message({**REQUEST_ID, "Connection": "close"}), id="connection-close"),
        pytest.param(
            next_message({**REQUEST_ID, "X-Twice": "1"}).replace(b"X-Twice: 1", b"X-Twice: 1\r\nX-Twice: 2"),
            id="repeated-header",
        ),
        pytest.param(
            next_message({**REQUEST_ID, "X-Tight": "1"}).replace(b"X-Tight: 1", b"X-Tight:1"),
            id="no-space-after-colon",
        ),
        pytest.param(next_message({"Lambda-Runtime-Deadline-Ms": "1"}), id="no-request-id"),
        pytest.param(next_message({"Lambda-Runtime-Aws-Request-Id": ""}), id="empty-request-id"),
        pytest.param(
            next_message({**REQUEST_ID, "Lambda-Runtime-Invocation-Id": ""}), id="empty-invocation-id"
        ),
        pytest.param(next_message({"Lambda-Runtime-Aws-Request-Id": "a b/../c"}), id="unsafe-request-id"),
        pytest.param(next_message({**REQUEST_ID, "Lambda-Runtime-Deadline-Ms": "soon"}), id="bad-deadline"),
        pytest.param(
            next_message({**REQUEST_ID, "Lambda-Runtime-Invocation-Id": "x y"}), id="bad-invocation-id"
        ),
        pytest.param(next_message(REQUEST_ID)[:-1], id="body-cut-short"),
        pytest.param(next_message(REQUEST_ID) + b"HTTP/1.1 202", id="more-than-one-response"),
        pytest.param(next_message(REQUEST_ID, status=b"500 Internal Server Error"), id="status-500"),
        pytest.param(
            next_message(REQUEST_ID).replace(b"Content-Length: 8", b"Transfer-Encoding: chunked"),
            id="chunked",
        ),
        pytest.param(next_message(REQUEST_ID).replace(b"HTTP/1.1", b"HTTP/1.0"), id="http-1.0"),
    ],
)
def test_anything_unusual_is_left_to_the_general_parser(data: bytes) -> None:
    assert protocol.parse_next_response(data) is None


ACCEPTED = (
    b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n'
)


def test_a_plain_202_is_recognised_fast() -> None:
    assert protocol.is_plain_accepted(ACCEPTED)
    assert protocol.is_plain_accepted(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    "data",
    [
        ACCEPTED.replace(b"202 Accepted", b"200 OK"),
        ACCEPTED.replace(b"202 Accepted", b"410 Gone"),
        ACCEPTED.replace(b"Content-Type", b"Connection: close\r\nContent-Type"),
        ACCEPTED.replace(b"Content-Length: 16", b"content-length: 16"),
        ACCEPTED.replace(b"Content-Length: 16", b"Transfer-Encoding: chunked"),
        ACCEPTED[:-3],
        ACCEPTED + b"HTTP/1.1 ",
    ],
)
def test_anything_but_a_plain_202_is_left_to_the_general_parser(data: bytes) -> None:
    assert not protocol.is_plain_accepted(data)


# --- properties: any message, any split -----------------------------------------------------------------

TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~", min_size=1, max_size=30
)
# A header value as it survives the wire: visible latin-1 and inner spaces, no line breaks, no edge blanks.
HEADER_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=200
).map(str.strip)
HEADERS = st.dictionaries(TOKEN, HEADER_VALUE, max_size=8).map(
    lambda headers: {name: value for name, value in headers.items() if name.lower() not in _FRAMING}
)
_FRAMING = ("content-length", "transfer-encoding", "connection")


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds) if end > start]


def unique_by_case(headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in headers.items():
        seen.setdefault(name.lower(), value)
    return seen


@settings(max_examples=150, deadline=None)
@given(HEADERS, st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=12), st.booleans())
def test_any_headers_and_body_come_back_whole_in_any_split(
    headers: dict[str, str], body: bytes, cuts: list[int], chunked: bool
) -> None:
    fields = unique_by_case(headers)
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode("latin-1")
    if chunked:
        framed = b"".join(protocol.chunk(body[i : i + 7]) for i in range(0, len(body), 7)) + b"0\r\n\r\n"
        message = b"HTTP/1.1 200 OK\r\n" + head + b"Transfer-Encoding: chunked\r\n\r\n" + framed
    else:
        message = b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    [response] = parse_all(*split_at(message, cuts))
    assert response.body == body
    assert {name: response.headers[name] for name in fields} == fields
    if not chunked:
        whole = protocol.parse_complete_response(message)
        assert whole is not None and (whole.body, whole.headers) == (body, response.headers)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=50), max_size=10),
    ANY_TEXT,
    st.lists(st.integers(min_value=0), max_size=8),
)
def test_chunk_framing_and_error_trailers_round_trip(
    chunks: list[bytes], message: str, cuts: list[int]
) -> None:
    """What the runtime streams (chunks, then error trailers) reads back as the same bytes and error."""
    error = protocol.error_body("ValueError", message, [], "r1", protocol.MAX_TRAILER_ERROR_BODY_BYTES)
    ending = protocol.error_trailers("ValueError", error)
    stream = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(map(protocol.chunk, chunks))
    [response] = parse_all(*split_at(stream + ending, cuts))
    assert response.body == b"".join(chunks)
    trailers = parse_head(b"HTTP/1.1 200 OK\r\n" + ending[3:-4])[1]
    assert server_protocol.error_from_trailers(trailers) == ("Function.ValueError", error)
    assert json.loads(error)["errorMessage"] == message


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=100, max_value=599),
    st.dictionaries(TOKEN, HEADER_VALUE, max_size=5),
    st.lists(HEADER_VALUE, max_size=3),
    st.binary(max_size=100),
    st.lists(st.integers(min_value=0), max_size=6),
)
def test_the_streaming_prelude_round_trips_in_any_split(
    status: int, headers: dict[str, str], cookies: list[str], body: bytes, cuts: list[int]
) -> None:
    stream = protocol.http_integration_prelude(status, headers, cookies) + body
    buffer, split = b"", None
    for piece in split_at(stream, cuts):
        buffer += piece
        split = server_protocol.split_http_integration_prelude(buffer)
        if split is not None:
            break
    assert split is not None
    prelude, rest = split
    # The body may follow in later pieces: what came with the prelude is its start.
    assert body.startswith(rest)
    parsed_status, parsed_headers = server_protocol.parse_http_integration_prelude(prelude)
    assert parsed_status == status
    assert parsed_headers == [*headers.items(), *(("Set-Cookie", cookie) for cookie in cookies)]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(CANONICAL_NAMES)), HEADER_VALUE, max_size=8),
    st.binary(max_size=64),
    st.sampled_from([b"200 OK", b"202 Accepted", b"500 Internal Server Error"]),
)
def test_the_fast_paths_agree_with_the_general_parser(
    values: dict[str, str], body: bytes, status: bytes
) -> None:
    data = next_message({CANONICAL_NAMES[name]: value for name, value in values.items()}, body, status)
    fast = protocol.parse_next_response(data)
    try:
        slow = slow_invocation(data) if status == b"200 OK" else None
    except ProtocolError:  # the general parser refuses it: the fast one must not take it
        slow = None
    if fast is not None:
        assert slow is not None and fields(fast) == fields(slow)
    general = protocol.parse_complete_response(data)
    assert general is not None
    # The fast path may leave anything to the general parser (a header value that looks like a
    # Connection header, say); what it takes must be a 202 that keeps the connection.
    if protocol.is_plain_accepted(data):
        assert general.status == 202 and general.keep_alive
    elif b"onnection:" not in data and b"ransfer-" not in data:
        assert general.status != 202


@settings(max_examples=100, deadline=None)
@given(
    ANY_TEXT,
    st.text(max_size=5000),
    st.lists(ANY_TEXT, max_size=20),
    st.integers(min_value=1024, max_value=20_000),
)
def test_the_error_body_fits_any_limit_for_any_text(
    error_type: str, message: str, stack: list[str], limit: int
) -> None:
    message = message * 10  # often over the limit once escaped
    body = protocol.error_body(error_type, message, stack, "req-1", limit)
    assert len(body) <= limit and body.isascii()
    document = json.loads(body)
    assert document["requestId"] == "req-1"
    assert message.startswith(document["errorMessage"].removesuffix(protocol._TRUNCATED))
