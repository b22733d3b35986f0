"""Streamed responses through the local server: relayed chunk by chunk as they arrive, the Function URL
prelude turned into the HTTP status and headers, and errors after the first byte as trailers."""

from __future__ import annotations

import base64
import json
import socket
import threading
from typing import Any

import h11
import httpx
import pytest

from lambda_runtime import LambdaContext, ResponseStream, protocol
from lambda_runtime.protocol import Invocation
from lambda_runtime.transport import RuntimeClient

from .conftest import WAIT, ServeLocally


def test_repeated_streaming_invocations_on_one_server(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
        n = json.loads(event)["n"]  # a streaming handler gets the raw payload
        for part in range(3):
            stream.write(f"{n}:{part};")

    served = serve_locally(handler)
    for n in range(8):
        response = client.post(served.url, json={"n": n})
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.text == f"{n}:0;{n}:1;{n}:2;"


def test_a_streamed_body_reaches_the_client_before_the_handler_finishes(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    first_chunk_read = threading.Event()
    finished = threading.Event()

    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"first chunk")
        # The handler cannot go on until the client has read the first chunk: had the server buffered
        # the stream, the test would time out here instead.
        assert first_chunk_read.wait(WAIT), "the client never got the first chunk"
        stream.write(b" and the rest")
        finished.set()

    served = serve_locally(handler)
    for _ in range(2):
        first_chunk_read.clear()
        finished.clear()
        with client.stream("POST", served.url, json={}) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            assert next(chunks) == b"first chunk"
            assert not finished.is_set()
            first_chunk_read.set()
            assert b"".join(chunks) == b" and the rest"
        assert finished.wait(WAIT)


def test_the_function_url_prelude_becomes_status_headers_and_cookies(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write_status_and_headers(
            201, {"Content-Type": "text/plain", "X-Order": "42"}, ["session=abc; Path=/", "theme=dark"]
        )
        stream.write("created")

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-order"] == "42"
    assert response.headers.get_list("set-cookie") == ["session=abc; Path=/", "theme=dark"]
    assert response.text == "created"


def test_a_prelude_with_no_body(serve_locally: ServeLocally, client: httpx.Client) -> None:
    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write_status_and_headers(204)

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert response.status_code == 204
    assert response.content == b""


def fake_stream(
    served_address: str, parts: list[bytes], end: bytes = protocol.END_OF_STREAM
) -> threading.Thread:
    """A runtime of our own that streams ``parts`` (raw chunk bodies) as the answer to the next
    invocation, as an HTTP-integration response."""

    def run() -> None:
        runtime = RuntimeClient(served_address, timeout=WAIT)
        invocation: Invocation = runtime.next()
        frames = [runtime.stream_head(invocation, protocol.HTTP_INTEGRATION_CONTENT_TYPE)]
        frames += [protocol.chunk(part) for part in parts]
        for frame in frames:
            runtime.send_parts([frame])
        runtime.end_stream(end)
        runtime.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_prelude_split_across_chunks(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally()
    prelude = protocol.http_integration_prelude(202, {"X-Split": "yes"})
    thread = fake_stream(served.address, [prelude[:5], prelude[5:-4], prelude[-4:] + b"bo", b"dy"])
    response = client.post(served.url, json={})
    thread.join(WAIT)
    assert response.status_code == 202
    assert response.headers["x-split"] == "yes"
    assert response.text == "body"


def test_a_prelude_header_http_cannot_carry_gets_502(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally()
    for headers in ({"X(bad)": "1"}, {"Ünïcode": "1"}):
        thread = fake_stream(served.address, [protocol.http_integration_prelude(200, headers) + b"body"])
        response = client.post(served.url, json={})
        thread.join(WAIT)
        assert response.status_code == 502
        assert response.json()["errorType"] == "Runtime.InvalidPrelude"


@pytest.mark.parametrize(
    "parts",
    [
        [b"not json" + protocol.PRELUDE_SEPARATOR + b"body"],
        [b'{"statusCode": 99}' + protocol.PRELUDE_SEPARATOR],
    ],
    ids=["not-json", "bad-status"],
)
def test_a_broken_prelude_gets_502(
    parts: list[bytes], serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally()
    thread = fake_stream(served.address, parts)
    response = client.post(served.url, json={})
    thread.join(WAIT)
    assert response.status_code == 502
    assert response.json()["errorType"] == "Runtime.InvalidPrelude"


def read_with_trailers(address: str, body: bytes) -> tuple[h11.Response, bytes, dict[str, str]]:
    """POST ``body`` to /invoke with h11 as the client, to see the trailers httpx does not show."""
    host, _, port = address.rpartition(":")
    connection = h11.Connection(h11.CLIENT)
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        request = h11.Request(
            method="POST", target="/invoke", headers=[("Host", address), ("Content-Length", str(len(body)))]
        )
        sock.sendall(
            connection.send(request)
            + connection.send(h11.Data(data=body))
            + connection.send(h11.EndOfMessage())
        )
        head: h11.Response | None = None
        data = b""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                data += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                trailers = {name.decode(): value.decode() for name, value in event.headers}
                return head, data, trailers
            else:
                raise AssertionError(f"unexpected {event!r}")


def test_an_error_after_the_first_byte_ends_the_body_with_the_error_trailers(
    serve_locally: ServeLocally,
) -> None:
    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"partial ")
        raise KeyError("lost")

    served = serve_locally(handler)
    head, data, trailers = read_with_trailers(served.address, b"{}")
    assert head.status_code == 200
    assert data == b"partial "
    assert trailers["lambda-runtime-function-error-type"] == "Function.KeyError"
    error = json.loads(base64.b64decode(trailers["lambda-runtime-function-error-body"]))
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'lost'"


def test_an_error_before_the_first_byte_is_a_plain_500(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        raise RuntimeError("before anything")

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert response.status_code == 500
    assert response.headers["x-amz-function-error"] == "RuntimeError"
    assert response.json()["errorMessage"] == "before anything"


def test_a_stream_cut_by_the_deadline_ends_with_a_timeout_trailer(serve_locally: ServeLocally) -> None:
    release = threading.Event()

    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"started")
        release.wait(WAIT)

    served = serve_locally(handler, timeout=0.3)
    head, data, trailers = read_with_trailers(served.address, b"{}")
    release.set()
    assert (head.status_code, data) == (200, b"started")
    assert trailers["lambda-runtime-function-error-type"] == "Function.SandboxTimedout"
    error = json.loads(base64.b64decode(trailers["lambda-runtime-function-error-body"]))
    assert error["errorType"] == "Sandbox.Timedout"


def test_the_functions_own_framing_headers_do_not_break_the_stream(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write_status_and_headers(200, {"Content-Length": "3", "Connection": "close", "X-Kept": "1"})
        stream.write("more than three bytes")

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert response.text == "more than three bytes"
    assert response.headers["x-kept"] == "1"
    assert "content-length" not in response.headers


def test_stopping_while_a_complete_204_is_still_streaming(
    serve_locally: ServeLocally, client: httpx.Client, local_logs: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write_status_and_headers(204)
        stream.write(b"a body a 204 cannot have")
        release.wait(WAIT)

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert (response.status_code, response.content) == (204, b"")
    served.server.stop()  # the invocation is still running: its client gets nothing more, and no error
    release.set()
    assert not [record for record in local_logs.records if "failed to serve" in record.getMessage()]
