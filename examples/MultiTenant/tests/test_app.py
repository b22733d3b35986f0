"""Tests for MultiTenant: the handler called directly, then the real function as a process.

The events in ``events/`` are API Gateway REST API (payload format 1.0) requests to ``GET /visits``; the
tenant id does not travel in the event but beside it (``<event>.headers.json`` holds the
``X-Amz-Tenant-Id`` an invoker sends), and the runtime hands it over as ``context.tenant_id``.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lambda_runtime.testing import RuntimeAPIServer, make_context

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
TIMEOUT = 20.0


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_bytes())


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"] == {"content-type": "application/json"}
    return json.loads(response["body"])


@pytest.fixture(autouse=True)
def no_tenants_yet() -> Iterator[None]:
    app.tenants.clear()
    yield
    app.tenants.clear()


# --- The handler on its own ------------------------------------------------------------------------


def test_each_tenant_has_its_own_count_and_history() -> None:
    blue, green = make_context(tenant_id="blue"), make_context(tenant_id="green")
    app.handler(load_event("1-blue-first"), blue)
    app.handler(load_event("2-blue-again"), blue)
    response = app.handler(load_event("3-green-first"), green)
    assert response["statusCode"] == 200
    assert body_of(response)["requestCount"] == 1
    blue_record = body_of(app.handler(load_event("1-blue-first"), blue))
    assert blue_record["tenantId"] == "blue"
    assert blue_record["requestCount"] == 3
    assert [entry["requestNumber"] for entry in blue_record["recentRequests"]] == [1, 2, 3]


def test_the_history_is_bounded() -> None:
    context = make_context(tenant_id="blue")
    for _ in range(app.HISTORY_LIMIT + 3):
        record = body_of(app.handler(load_event("1-blue-first"), context))
    assert record["requestCount"] == app.HISTORY_LIMIT + 3
    assert [entry["requestNumber"] for entry in record["recentRequests"]] == list(
        range(4, app.HISTORY_LIMIT + 4)
    )
    assert record["firstRequestEpochMs"] == load_event("1-blue-first")["requestContext"]["requestTimeEpoch"]


def test_a_request_without_a_tenant_gets_a_400_that_says_what_to_send() -> None:
    response = app.handler(load_event("4-no-tenant"), make_context())
    assert response["statusCode"] == 400
    assert "X-Tenant-Id" in body_of(response)["message"]
    assert app.tenants == {}


def test_an_event_without_a_request_context_is_still_counted() -> None:
    record = body_of(app.handler({"httpMethod": "GET", "path": "/visits"}, make_context(tenant_id="t")))
    assert record["recentRequests"] == [
        {"requestNumber": 1, "requestId": None, "method": "GET", "path": "/visits", "epochMs": 0}
    ]


@pytest.mark.parametrize(
    "event", sorted(path.stem for path in EVENTS_DIR.glob("*.json") if path.name.count(".") == 1)
)
def test_the_sample_events_in_order_give_the_expected_answers(event: str) -> None:
    """Each sample event, after the ones before it (the order invoke_events.py sends them in)."""
    names = sorted(path.stem for path in EVENTS_DIR.glob("*.json") if path.name.count(".") == 1)
    for name in names[: names.index(event) + 1]:
        headers_file = EVENTS_DIR / f"{name}.headers.json"
        tenant = json.loads(headers_file.read_bytes())["X-Amz-Tenant-Id"] if headers_file.exists() else None
        response = app.handler(load_event(name), make_context(tenant_id=tenant))
    expected = json.loads((EVENTS_DIR / f"{event}.expected.json").read_bytes())
    assert response == expected


# --- The function as Lambda runs it ---------------------------------------------------------------


def test_the_runtime_passes_the_tenant_and_puts_it_on_every_log_line() -> None:
    with RuntimeAPIServer(next_timeout=TIMEOUT) as api:
        request_ids = [
            api.enqueue(load_event("1-blue-first"), headers={"Lambda-Runtime-Aws-Tenant-Id": "blue"}),
            api.enqueue(load_event("2-blue-again"), headers={"Lambda-Runtime-Aws-Tenant-Id": "blue"}),
            api.enqueue(load_event("4-no-tenant")),
        ]
        finished = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "app.handler"],
            cwd=EXAMPLE_DIR,
            env={
                **os.environ,
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "MAX_INVOCATIONS": "3",
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
            },
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr.decode()
        answers = [api.wait_for(request_id, timeout=TIMEOUT).json() for request_id in request_ids]
    assert [answer["statusCode"] for answer in answers] == [200, 200, 400]
    assert json.loads(answers[1]["body"])["requestCount"] == 2
    lines = [json.loads(line) for line in finished.stdout.decode().splitlines() if line.strip()]
    assert [(line["requestId"], line.get("tenantId"), line["level"]) for line in lines] == [
        (request_ids[0], "blue", "INFO"),
        (request_ids[1], "blue", "INFO"),
        (request_ids[2], None, "WARNING"),
    ]
