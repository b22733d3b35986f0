"""MultiTenant: a function in Lambda tenant isolation mode, behind an API Gateway REST API.

Each request comes from one tenant: API Gateway maps the caller's ``X-Tenant-Id`` header to the
``X-Amz-Tenant-Id`` header of the Lambda invocation, and Lambda runs it in an execution environment that
serves that tenant and no other. The runtime hands the tenant id to the handler as ``context.tenant_id``
(and puts it on every log line). The function keeps, in memory, each tenant's request count and a
bounded history of its recent requests, and answers ``GET /visits`` with them.

In memory is exactly right here: with tenant isolation an environment's memory only ever holds its own
tenant's data, and it lasts as long as the environment (a new one starts from zero). Run locally, one
process serves every tenant, which is why the store is keyed by tenant all the same.

A request without a tenant id (possible only when the function is invoked another way, e.g. locally)
gets a 400 that says what to send.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

import json
import logging
from collections import deque
from dataclasses import dataclass, field

from lambda_runtime import LambdaContext, LambdaRuntime

# How many recent requests each tenant's history keeps: memory stays bounded however long an
# environment lives.
HISTORY_LIMIT = 5

log = logging.getLogger("multitenant")


@dataclass
class TenantRecord:
    """What this environment has seen of one tenant."""

    tenant_id: str
    request_count: int = 0
    first_request_epoch_ms: int | None = None
    history: deque[dict[str, object]] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))

    def add(self, request: dict[str, object], epoch_ms: int) -> None:
        """Count one request and remember it, forgetting the oldest past ``HISTORY_LIMIT``."""
        self.request_count += 1
        if self.first_request_epoch_ms is None:
            self.first_request_epoch_ms = epoch_ms
        self.history.append({"requestNumber": self.request_count, **request})

    def as_json(self) -> dict[str, object]:
        """The record as the API answers it."""
        return {
            "tenantId": self.tenant_id,
            "requestCount": self.request_count,
            "firstRequestEpochMs": self.first_request_epoch_ms,
            "recentRequests": list(self.history),
        }


tenants: dict[str, TenantRecord] = {}


def handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    """Count the request for the invoking tenant and answer its record (API Gateway proxy format).

    Args:
        event: An API Gateway REST API (payload format 1.0) proxy event.
        context: The invocation's context; ``context.tenant_id`` names the tenant.

    Returns:
        An API Gateway proxy response: 200 with the tenant's record, or 400 without a tenant id.
    """
    tenant_id = context.tenant_id
    if tenant_id is None:
        log.warning("request without a tenant id")
        return json_response(
            400,
            {
                "message": "no tenant id: call GET /visits with an X-Tenant-Id header "
                "(locally: POST /invoke with X-Amz-Tenant-Id)"
            },
        )
    request_context = event.get("requestContext")
    request_context = request_context if isinstance(request_context, dict) else {}
    epoch_ms = request_context.get("requestTimeEpoch")
    epoch_ms = epoch_ms if isinstance(epoch_ms, int) else 0
    record = tenants.get(tenant_id)
    if record is None:
        record = tenants[tenant_id] = TenantRecord(tenant_id)
    record.add(
        {
            "requestId": request_context.get("requestId"),
            "method": event.get("httpMethod"),
            "path": event.get("path"),
            "epochMs": epoch_ms,
        },
        epoch_ms,
    )
    log.info("request %d for this tenant", record.request_count)  # the line carries the tenant id
    return json_response(200, record.as_json())


def json_response(status: int, body: dict[str, object]) -> dict[str, object]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


if __name__ == "__main__":
    LambdaRuntime(handler).run()
