"""The local server's exposure: loopback unless told otherwise (and a warning when told), client header
values checked before they reach the function's context, request heads and bodies bounded."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from lambda_runtime.local import LocalConfig, LocalServer
from lambda_runtime.local.server import is_loopback

from .conftest import ServeLocally, messages


def test_the_default_host_is_loopback() -> None:
    assert LocalConfig().host == "127.0.0.1"
    assert LocalConfig.from_environment({}).host == "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_listening_beyond_loopback_says_so(
    host: str, warned: bool, local_logs: pytest.LogCaptureFixture
) -> None:
    with LocalServer(LocalConfig(host=host, port=0)):
        pass
    warnings = [line for line in messages(local_logs) if "beyond this machine" in line]
    assert len(warnings) == (1 if warned else 0)
    if warned:
        assert "0.0.0.0" in warnings[0] and "LOCAL_LAMBDA_HOST=127.0.0.1" in warnings[0]


def context_seen(event: Any, context: Any) -> dict[str, Any]:
    client_context = context.client_context
    return {
        "tenant_id": context.tenant_id,
        "custom": client_context.custom if client_context is not None else None,
    }


def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


BAD_HEADERS: dict[str, dict[str, str | bytes]] = {
    "tenant-empty": {"X-Amz-Tenant-Id": ""},
    "tenant-too-long": {"X-Amz-Tenant-Id": "t" * 257},
    "tenant-control-character": {"X-Amz-Tenant-Id": "a\tb"},
    "tenant-not-ascii": {"X-Amz-Tenant-Id": "t\u00e9nant".encode()},
    "context-not-base64": {"X-Amz-Client-Context": "{not base64}"},
    "context-not-json": {"X-Amz-Client-Context": base64.b64encode(b"\xff\xfe").decode()},
    "context-not-an-object": {"X-Amz-Client-Context": encoded(["a"])},
    "context-too-long": {"X-Amz-Client-Context": encoded({"custom": {"k": "v" * 3000}})},
}


@pytest.mark.parametrize("headers", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_client_headers_get_a_clear_400_and_never_reach_the_function(
    headers: dict[str, str | bytes], serve_locally: ServeLocally, client: httpx.Client
) -> None:
    calls: list[object] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        calls.append(event)
        return context_seen(event, context)

    served = serve_locally(handler)
    refused = client.post(served.url, json="bad", headers=headers)
    assert refused.status_code == 400
    body = refused.json()
    assert body["errorType"] == "InvalidRequestContentException"
    assert ("X-Amz-Tenant-Id" if "X-Amz-Tenant-Id" in headers else "X-Amz-Client-Context") in body[
        "errorMessage"
    ]
    # The server keeps serving, and the refused event never reached the function.
    assert client.post(served.url, json="good").json() == {"tenant_id": None, "custom": None}
    assert calls == ["good"]


def test_headers_at_the_limits_are_accepted(serve_locally: ServeLocally, client: httpx.Client) -> None:
    served = serve_locally(context_seen)
    context = encoded({"custom": {"k": "v" * 2600}})
    assert len(context) <= 3583
    answer = client.post(
        served.url, json={}, headers={"X-Amz-Tenant-Id": "t" * 256, "X-Amz-Client-Context": context}
    )
    assert answer.json() == {"tenant_id": "t" * 256, "custom": {"k": "v" * 2600}}


def test_a_huge_request_head_is_refused_and_the_server_keeps_serving(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    served = serve_locally(lambda event, context: event)
    refused = client.post(served.url, json={}, headers={"X-Filler": "f" * 100_000})
    assert refused.status_code == 431
    assert client.post(served.url, json=7).json() == 7


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    serve_locally: ServeLocally, client: httpx.Client
) -> None:
    """A Content-Length over 6 MB is refused from the head alone (test_invoke.py sends such bodies)."""
    served = serve_locally(lambda event, context: event)
    refused = client.post(served.url, content=b"0" * (6 * 1024 * 1024 + 1))
    assert refused.status_code == 413
    assert refused.json()["errorType"] == "RequestEntityTooLargeException"
    assert client.post(served.url, json=1).json() == 1
