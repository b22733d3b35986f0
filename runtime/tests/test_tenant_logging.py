"""Tenant isolation: the tenant id of an invocation (``Lambda-Runtime-Aws-Tenant-Id``) is on every log
line written during it, in both formats, on the function's lines (any logger) and on the runtime's own
(the raw event at TRACE level, a handler's error, a 410 Gone), and on none of the next invocation's when
that one has no tenant. ``print()`` output is not a log record and carries nothing: as with awslambdaric.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from lambda_runtime.testing import RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

TENANT_HEADER = "Lambda-Runtime-Aws-Tenant-Id"


def logs_and_maybe_fails(event: Any, context: Any) -> str:
    logging.getLogger().info("root logger")
    logging.getLogger("app.billing").warning("named logger")
    context.logger.info("context logger")
    if event.get("fail"):
        raise ValueError("tenant data is invalid")
    return "ok"


def parse(line: str, log_format: str) -> tuple[str, str | None, str]:
    """The request id, the tenant id (None when absent) and the message of one record."""
    if log_format == "JSON":
        document = json.loads(line)
        return document["requestId"], document.get("tenantId"), document["message"]
    _, _, request_id, rest = line.split("\t", 3)
    first, _, message = rest.partition("\t")
    if first.startswith("tenant="):
        return request_id, first.removeprefix("tenant="), message
    return request_id, None, rest


@pytest.mark.parametrize("log_format", ["TEXT", "JSON"])
def test_every_line_of_an_invocation_carries_its_tenant_and_only_its_own(
    log_format: str,
    api: RuntimeAPIServer,
    run: RunRuntime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", log_format)
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "TRACE")  # the runtime then logs each raw event too
    invocations = [
        ({"n": 1}, "blue"),
        ({"n": 2, "fail": True}, "blue"),
        ({"n": 3}, None),
        ({"n": 4, "fail": True}, "green"),
    ]
    tenants: dict[str, str | None] = {}
    for event, tenant in invocations:
        request_id = api.enqueue(event, headers={TENANT_HEADER: tenant} if tenant else None)
        tenants[request_id] = tenant
    first = next(iter(tenants))
    api.response_status[first] = 410  # the runtime logs that the answer came too late
    capsys.readouterr()
    assert run(logs_and_maybe_fails, api.address, len(invocations)) is None
    lines = [line for line in capsys.readouterr().out.split("\n") if line]

    seen: dict[str, list[str]] = {request_id: [] for request_id in tenants}
    for line in lines:
        request_id, tenant, message = parse(line, log_format)
        assert tenant == tenants[request_id], line
        if tenant is None:
            assert '"tenantId"' not in line and "\ttenant=" not in line, line
        seen[request_id].append(message)

    user_lines = ["root logger", "named logger", "context logger"]
    ok, failed, plain, failed_green = seen.values()
    assert ok[0].startswith("Event: ") and ok[1:4] == user_lines and "410 Gone" in ok[4]
    assert failed[0].startswith("Event: ") and failed[1:4] == user_lines
    assert failed[4].startswith("ValueError: tenant data is invalid")
    assert plain[0].startswith("Event: ") and plain[1:] == user_lines
    assert failed_green[4].startswith("ValueError: tenant data is invalid")
    assert len(lines) == 5 + 5 + 4 + 5
