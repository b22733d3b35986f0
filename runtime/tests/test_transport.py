"""The blocking transport on real sockets: one keep-alive connection, every shape of /next body read
correctly, a reconnect only where HTTP allows one (a stale connection before /next got any answer),
and never a second copy of a post."""

from __future__ import annotations

import socket

import pytest

from lambda_runtime.transport import (
    ConnectionLost,
    RejectedResponse,
    RuntimeAPIError,
    RuntimeClient,
    StaleInvocation,
    split_address,
)
from raw_api import (
    ACCEPTED,
    HANG_UP,
    RESET,
    RawRuntimeAPI,
    Reply,
    chunked_invocation,
    http_response,
    invocation,
    unused_address,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime


def echo(event: bytes, context: object) -> bytes:
    return event


def posted_bodies(api: RawRuntimeAPI) -> list[bytes]:
    return [request.body for request in api.requests_to("/response")]


# --- the runtime over one connection ------------------------------------------------------------------


def test_many_invocations_share_one_connection(run: RunRuntime) -> None:
    script = [
        reply for index in range(25) for reply in (Reply(invocation(f"r{index}", b"%d" % index)), ACCEPTED)
    ]
    with RawRuntimeAPI(script) as api:
        assert run(echo, api.address, 25) is None
    assert api.connections == 1
    assert {request.connection for request in api.requests} == {1}
    assert posted_bodies(api) == [b"%d" % index for index in range(25)]


def test_the_socket_has_tcp_nodelay() -> None:
    with RawRuntimeAPI([Reply(invocation("r1"))]) as api:
        client = RuntimeClient(api.address, timeout=5)
        try:
            client.next()
            assert client._sock is not None
            assert client._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            client.close()


BODY = b'{"text": "' + "ünïcödé ".encode() * 4000 + b'"}'

NEXT_ANSWERS = {
    "content-length": Reply(invocation("r1", BODY)),
    "content-length-in-pieces": Reply(invocation("r1", BODY), pieces=9),
    "chunked": Reply(chunked_invocation("r1", [BODY[:10], BODY[10:20000], BODY[20000:]])),
    "chunked-with-trailers-in-pieces": Reply(
        chunked_invocation("r1", [BODY[:1], BODY[1:]], trailers=b"X-Checksum: 1\r\n"), pieces=13
    ),
    "after-100-continue": Reply(b"HTTP/1.1 100 Continue\r\n\r\n" + invocation("r1", BODY), pieces=2),
    "close-delimited": Reply(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\n" + BODY, close=True, pieces=3
    ),
}


@pytest.mark.parametrize("answer", NEXT_ANSWERS.values(), ids=NEXT_ANSWERS.keys())
def test_next_bodies_are_read_exactly(answer: Reply, run: RunRuntime) -> None:
    with RawRuntimeAPI([answer, ACCEPTED]) as api:
        assert run(echo, api.address, 1) is None
    assert posted_bodies(api) == [BODY]


def test_a_connection_close_answer_means_a_new_connection_for_the_next_request(run: RunRuntime) -> None:
    closing = {"Connection": "close"}
    script = [
        reply
        for index in range(3)
        for reply in (
            Reply(invocation(f"r{index}", b"x", closing), close=True),
            Reply(http_response(202, b"{}", closing), close=True),
        )
    ]
    with RawRuntimeAPI(script) as api:
        assert run(echo, api.address, 3) is None
    assert api.connections == 6
    assert [request.connection for request in api.requests] == [1, 2, 3, 4, 5, 6]
    assert posted_bodies(api) == [b"x"] * 3


# --- reconnects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("hang_up", [HANG_UP, RESET], ids=["closed", "reset"])
def test_a_stale_connection_is_reopened_for_next(hang_up: Reply, run: RunRuntime) -> None:
    """The server dropped the idle keep-alive connection: /next got no answer, so asking again is safe."""
    script = [Reply(invocation("r1", b"one")), ACCEPTED, hang_up, Reply(invocation("r2", b"two")), ACCEPTED]
    with RawRuntimeAPI(script) as api:
        assert run(echo, api.address, 2) is None
    assert [(request.method, request.connection) for request in api.requests] == [
        ("GET", 1),
        ("POST", 1),
        ("GET", 1),
        ("GET", 2),
        ("POST", 2),
    ]
    assert posted_bodies(api) == [b"one", b"two"]


def test_a_connection_the_server_closed_while_idle_is_reopened(run: RunRuntime) -> None:
    """The server closed the keep-alive connection right after answering a post; the runtime learns it
    only when its next /next gets no answer."""
    script = [
        Reply(invocation("r1", b"one")),
        Reply(ACCEPTED.data, close=True),
        Reply(invocation("r2", b"two")),
    ]
    with RawRuntimeAPI([*script, ACCEPTED]) as api:
        assert run(echo, api.address, 2) is None
    assert [(request.method, request.connection) for request in api.requests] == [
        ("GET", 1),
        ("POST", 1),
        ("GET", 2),
        ("POST", 2),
    ]
    assert posted_bodies(api) == [b"one", b"two"]


def test_the_first_request_on_a_new_connection_is_not_retried(run: RunRuntime) -> None:
    with RawRuntimeAPI([HANG_UP, Reply(invocation("r1"))]) as api:
        assert run(echo, api.address, 1) == 1
    assert api.connections == 1
    assert len(api.requests_to("/next")) == 1


def fail(event: bytes, context: object) -> bytes:
    raise ValueError("no")


@pytest.mark.parametrize(
    ("handler", "post"), [(echo, "/response"), (fail, "/error")], ids=["response", "error"]
)
def test_a_post_is_never_retried(handler: object, post: str, run: RunRuntime) -> None:
    """The answer may have been processed before the connection broke: sending it twice is not allowed,
    so the runtime stops instead."""
    script = [Reply(invocation("r1")), ACCEPTED, Reply(invocation("r2")), HANG_UP, Reply(invocation("r3"))]
    with RawRuntimeAPI(script) as api:
        assert run(handler, api.address, 3) == 1
    assert [request.path.rsplit("/", 2)[-2:] for request in api.requests_to(post)] == [
        ["r1", post[1:]],
        ["r2", post[1:]],
    ]
    assert api.connections == 1


# --- the client's answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "raised"),
    [(410, StaleInvocation), (413, RejectedResponse), (400, RejectedResponse), (500, RuntimeAPIError)],
)
def test_post_statuses_become_exceptions(status: int, raised: type[Exception]) -> None:
    with RawRuntimeAPI([Reply(invocation("r1")), Reply(http_response(status, b'{"errorType":"x"}'))]) as api:
        client = RuntimeClient(api.address, timeout=5)
        try:
            with pytest.raises(raised) as caught:
                client.post_response(client.next(), b"{}")
        finally:
            client.close()
    if isinstance(caught.value, RejectedResponse):
        assert (caught.value.status, caught.value.body) == (status, b'{"errorType":"x"}')


def test_a_500_on_next_is_a_runtime_api_error() -> None:
    with RawRuntimeAPI([Reply(http_response(500, b"oops"))]) as api:
        client = RuntimeClient(api.address, timeout=5)
        with pytest.raises(RuntimeAPIError, match="answered /next with 500"):
            client.next()
        client.close()


def test_no_listener_is_connection_lost() -> None:
    with pytest.raises(ConnectionLost, match="cannot connect"):
        RuntimeClient(unused_address(), timeout=5).next()


def test_a_large_response_is_sent_whole() -> None:
    body = bytes(range(256)) * 8192  # 2 MiB, sent apart from its head
    with RawRuntimeAPI([Reply(invocation("r1")), ACCEPTED]) as api:
        client = RuntimeClient(api.address, timeout=5)
        client.post_response(client.next(), body, b"application/octet-stream")
        client.close()
    [post] = api.requests_to("/response")
    assert post.body == body
    assert post.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("localhost:80", ("localhost", 80)),
        ("[::1]:9001", ("::1", 9001)),
    ],
)
def test_split_address(address: str, parts: tuple[str, int]) -> None:
    assert split_address(address) == parts


@pytest.mark.parametrize("address", ["", "localhost", ":9001", "host:", "host:port", "host:-1"])
def test_split_address_rejects_what_is_not_host_and_port(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        split_address(address)
