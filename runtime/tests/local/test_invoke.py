"""Invoking through the local server: answers, errors, what reaches the function's context, limits,
malformed requests and deadlines."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from lambda_runtime import LambdaContext
from lambda_runtime.local import LocalConfig, LocalServer

from .conftest import WAIT, ServeLocally, messages, wait_until


def echo(event: Any, context: LambdaContext) -> dict[str, Any]:
    return {"event": event, "request_id": context.aws_request_id}


def test_a_buffered_answer_comes_back_as_the_function_gave_it(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally(echo)
    response = client.post(served.url, json={"name": "World"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amz-executed-version"] == "$LATEST"
    body = response.json()
    assert body["event"] == {"name": "World"}
    assert body["request_id"] == response.headers["x-amzn-requestid"]


def test_the_content_type_the_function_gave_is_relayed(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally()
    results: dict[str, Any] = {}

    def fake_runtime() -> None:
        # A runtime of our own, through the project's blocking client.
        from lambda_runtime.transport import RuntimeClient

        runtime = RuntimeClient(served.address, timeout=WAIT)
        invocation = runtime.next()
        results["invocation"] = invocation
        runtime.post_response(invocation, b"<p>hello</p>", content_type=b"text/html; charset=utf-8")
        runtime.close()

    thread = threading.Thread(target=fake_runtime, daemon=True)
    thread.start()
    response = client.post(served.url, content=b"raw bytes, not JSON")
    thread.join(WAIT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>hello</p>"
    invocation = results["invocation"]
    assert invocation.event == b"raw bytes, not JSON"
    assert invocation.invoked_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:local-function"
    assert invocation.trace_id.startswith("Root=1-")
    assert invocation.invocation_id is not None


def test_tenant_id_client_context_and_deadline_reach_the_context(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        client_context = context.client_context
        assert client_context is not None
        return {
            "tenant_id": context.tenant_id,
            "custom": client_context.custom,
            "app_title": client_context.client.app_title if client_context.client else None,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "function_arn": context.invoked_function_arn,
        }

    served = serve_locally(handler, function_name="orders")
    document = {"client": {"app_title": "Shop"}, "custom": {"cart": "ünïcode"}}
    response = client.post(
        served.url,
        json={},
        headers={
            "X-Amz-Tenant-Id": "tenant-42",
            "X-Amz-Client-Context": base64.b64encode(json.dumps(document).encode()).decode(),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == "tenant-42"
    assert body["custom"] == {"cart": "ünïcode"}
    assert body["app_title"] == "Shop"
    assert 890_000 < body["remaining_ms"] <= 900_000  # LOCAL_LAMBDA_TIMEOUT's default, 900 s
    assert body["function_arn"].endswith(":function:orders")


def test_without_a_tenant_id_the_context_has_none(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally(lambda event, context: {"tenant_id": context.tenant_id})
    assert client.post(served.url, json={}).json() == {"tenant_id": None}


@pytest.mark.parametrize(
    "headers",
    [{"X-Amz-Client-Context": "not base64!"}, {"X-Amz-Client-Context": base64.b64encode(b"[1]").decode()}],
    ids=["not-base64", "not-an-object"],
)
def test_a_bad_client_context_is_refused_with_400(
    headers: dict[str, str], serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally(echo)
    response = client.post(served.url, json={}, headers=headers)
    assert response.status_code == 400
    assert response.json()["errorType"] == "InvalidRequestContentException"
    assert client.post(served.url, json=1).status_code == 200


def test_a_function_error_is_relayed_as_500_with_the_error_json(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    def handler(event: Any, context: LambdaContext) -> None:
        raise ValueError("the order has no items")

    served = serve_locally(handler)
    response = client.post(served.url, json={})
    assert response.status_code == 500
    assert response.headers["x-amz-function-error"] == "ValueError"
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the order has no items"
    assert error["requestId"] == response.headers["x-amzn-requestid"]
    assert any("handler" in line for line in error["stackTrace"])
    # The function goes on serving.
    assert client.post(served.url, json={}).status_code == 500


def test_an_init_error_fails_the_next_client_with_500(
    serve_locally: ServeLocally, client: httpx.Client, local_logs: pytest.LogCaptureFixture
) -> None:
    served = serve_locally("no_such_module_anywhere.handler")
    assert served.runtime_exit() == 1
    response = client.post(served.url, json={})
    assert response.status_code == 500
    assert response.headers["x-amz-function-error"] == "Runtime.ImportModuleError"
    assert "no_such_module_anywhere" in response.json()["errorMessage"]
    assert any("failed to initialise" in message for message in messages(local_logs))


def test_an_init_error_fails_a_client_already_waiting(serve_locally: ServeLocally) -> None:
    served = serve_locally()
    with httpx.Client(timeout=WAIT) as http:
        outcome: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: outcome.update(r=http.post(served.url, json={})), daemon=True
        )
        thread.start()
        wait_until(lambda: served.server.queued == 1, what="the invocation to be queued")
        from lambda_runtime.transport import RuntimeClient

        runtime = RuntimeClient(served.address, timeout=WAIT)
        runtime.post_init_error("Runtime.UserCodeSyntaxError", b'{"errorMessage":"bad","errorType":"X"}')
        runtime.close()
        thread.join(WAIT)
    assert outcome["r"].status_code == 500
    assert outcome["r"].headers["x-amz-function-error"] == "X"
    assert outcome["r"].json()["errorMessage"] == "bad"


def test_an_invocation_past_its_deadline_fails_and_the_late_answer_gets_410(
    serve_locally: ServeLocally, client: httpx.Client, local_logs: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    seen: list[int] = []

    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        seen.append(context.get_remaining_time_in_millis())
        if event == "slow":
            assert release.wait(WAIT)
        return {"ok": event}

    served = serve_locally(handler, timeout=0.3)
    started = time.monotonic()
    response = client.post(served.url, json="slow")
    assert time.monotonic() - started < 3
    assert response.status_code == 500
    assert response.headers["x-amz-function-error"] == "Sandbox.Timedout"
    assert response.json()["errorMessage"] == "Task timed out after 0.30 seconds"
    assert 0 <= seen[0] <= 300
    release.set()
    # The runtime's late answer got 410 Gone; it logged that and went on to the next invocation.
    assert client.post(served.url, json="fast").json() == {"ok": "fast"}
    assert any("after its deadline" in message for message in messages(local_logs))


def test_a_payload_over_6_mb_gets_413_and_the_server_keeps_serving(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally(lambda event, context: {"size": len(event)})
    response = client.post(served.url, content=b"x" * (7 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["errorType"] == "RequestEntityTooLargeException"

    def chunks() -> Any:
        for _ in range(7):
            yield b"y" * (1024 * 1024)

    chunked = client.post(served.url, content=chunks())  # no Content-Length: refused as it arrives
    assert chunked.status_code == 413
    assert client.post(served.url, json="x" * 1000).json() == {"size": 1000}


def raw_exchange(address: str, data: bytes) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /invoke HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"POST /invoke HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        b"POST /invoke HTTP/1.1\r\nHost x\r\n\r\n",
    ],
    ids=["request-line", "content-length", "chunk-size", "header-line"],
)
def test_malformed_http_gets_400_and_the_server_keeps_serving(
    request_bytes: bytes, serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally(echo)
    answer = raw_exchange(served.address, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"malformed HTTP request" in answer
    assert client.post(served.url, json=1).json()["event"] == 1


def test_unknown_paths_and_methods(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally()
    base = f"http://{served.address}"
    assert client.get(served.url).status_code == 405
    assert client.get(served.url).headers["allow"] == "POST"
    assert client.post(f"{base}/elsewhere", json={}).status_code == 404
    assert client.post(f"{base}/2018-06-01/runtime/invocation/next").status_code == 405
    assert client.get(f"{base}/2018-06-01/runtime/unknown").status_code == 404
    unknown = client.post(f"{base}/2018-06-01/runtime/invocation/not-an-id/response", content=b"{}")
    assert unknown.status_code == 400
    assert unknown.json()["errorType"] == "InvalidRequestID"


def test_the_invocation_endpoint_is_configurable(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally(echo, invocation_endpoint="/run")
    assert served.url.endswith("/run")
    assert client.post(served.url, json=2).json()["event"] == 2


def test_a_second_answer_for_one_invocation_is_refused(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally()
    from lambda_runtime.transport import RejectedResponse, RuntimeClient

    outcome: dict[str, Any] = {}

    def fake_runtime() -> None:
        runtime = RuntimeClient(served.address, timeout=WAIT)
        invocation = runtime.next()
        runtime.post_response(invocation, b'"first"')
        try:
            runtime.post_response(invocation, b'"second"')
        except RejectedResponse as rejection:
            outcome["status"] = rejection.status
        runtime.close()

    thread = threading.Thread(target=fake_runtime, daemon=True)
    thread.start()
    assert client.post(served.url, json={}).json() == "first"
    thread.join(WAIT)
    assert outcome["status"] == 400


def test_a_stale_invocation_id_is_refused_with_410(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally()
    from lambda_runtime.transport import RuntimeClient, StaleInvocation

    outcome: dict[str, Any] = {}

    def fake_runtime() -> None:
        runtime = RuntimeClient(served.address, timeout=WAIT)
        invocation = runtime.next()
        real_id, invocation.invocation_id = invocation.invocation_id, "someone-else"
        try:
            runtime.post_response(invocation, b'"stale"')
        except StaleInvocation:
            outcome["stale"] = True
        invocation.invocation_id = real_id
        runtime.post_response(invocation, b'"fresh"')
        runtime.close()

    thread = threading.Thread(target=fake_runtime, daemon=True)
    thread.start()
    assert client.post(served.url, json={}).json() == "fresh"
    thread.join(WAIT)
    assert outcome == {"stale": True}


def test_the_configuration_comes_from_the_environment() -> None:
    config = LocalConfig.from_environment(
        {
            "LOCAL_LAMBDA_HOST": "0.0.0.0",
            "LOCAL_LAMBDA_PORT": "7100",
            "LOCAL_LAMBDA_INVOCATION_ENDPOINT": "/go",
            "LOCAL_LAMBDA_TIMEOUT": "2.5",
            "AWS_LAMBDA_MAX_CONCURRENCY": "4",
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
        },
        port=7200,
    )
    assert (config.host, config.port, config.invocation_endpoint) == ("0.0.0.0", 7200, "/go")
    assert (config.timeout, config.max_concurrency, config.function_name) == (2.5, 4, "fn")
    assert LocalConfig.from_environment({}) == LocalConfig()
    assert LocalServer(config).address == "127.0.0.1:7200"  # listening everywhere, reached locally
    for name, value in [
        ("LOCAL_LAMBDA_PORT", "seven"),
        ("LOCAL_LAMBDA_TIMEOUT", "0"),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "0"),
        ("LOCAL_LAMBDA_INVOCATION_ENDPOINT", "invoke"),
    ]:
        with pytest.raises(ValueError, match=name):
            LocalConfig.from_environment({name: value})
