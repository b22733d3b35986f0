"""LambdaContext as a handler sees it: the function's environment, every /next header (present or
absent), the typed client context and Cognito identity, deadlines, and the per-invocation trace id in
the context, the context variable and _X_AMZN_TRACE_ID."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from lambda_runtime import ClientContext, CognitoIdentity, LambdaContext, current_context
from lambda_runtime.testing import RuntimeAPIServer, make_context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
CLIENT_CONTEXT = {
    "client": {
        "installation_id": "install-1",
        "app_title": "My App",
        "app_version_name": "1.2.3",
        "app_version_code": "123",
        "app_package_name": "com.example.app",
    },
    "custom": {"tier": "gold"},
    "env": {"platform": "Android", "locale": "fr_FR"},
}
IDENTITY = {"cognitoIdentityId": "us-east-1:1234", "cognitoIdentityPoolId": "us-east-1:pool"}
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live"
EVERY_HEADER = {
    "Lambda-Runtime-Invoked-Function-Arn": ARN,
    "Lambda-Runtime-Trace-Id": TRACE_ID,
    "Lambda-Runtime-Client-Context": json.dumps(CLIENT_CONTEXT),
    "Lambda-Runtime-Cognito-Identity": json.dumps(IDENTITY),
    "Lambda-Runtime-Aws-Tenant-Id": "tenant-blue",
}
# RuntimeAPIServer leaves out a header given as "": this is /next with the request id alone.
ONLY_THE_REQUEST_ID = {"Lambda-Runtime-Deadline-Ms": "", "Lambda-Runtime-Invoked-Function-Arn": ""}


class Snapshot:
    """A context a handler was given, and what the process looked like while the handler held it."""

    def __init__(self, context: LambdaContext) -> None:
        self.context = context
        self.current = current_context.get()
        self.environ_trace_id = os.environ.get("_X_AMZN_TRACE_ID")
        self.remaining = context.get_remaining_time_in_millis()


def invoke(
    api: RuntimeAPIServer, run: RunRuntime, *headers: dict[str, str], **options: Any
) -> list[Snapshot]:
    """Serve one invocation per set of /next headers; return a snapshot of each."""
    snapshots: list[Snapshot] = []
    request_ids = [api.enqueue({}, headers=each, **options) for each in headers]
    assert (
        run(lambda event, context: snapshots.append(Snapshot(context)), api.address, len(request_ids)) is None
    )
    assert [snapshot.context.request_id for snapshot in snapshots] == request_ids
    return snapshots


def test_every_header_reaches_the_context(api: RuntimeAPIServer, run: RunRuntime) -> None:
    deadline = int(time.time() * 1000) + 60_000
    [snapshot] = invoke(api, run, EVERY_HEADER, deadline_ms=deadline)
    context = snapshot.context
    assert context.aws_request_id == context.request_id
    assert context.deadline_ms == deadline
    assert 50_000 < snapshot.remaining <= 60_000
    assert context.invoked_function_arn == ARN
    assert context.trace_id == TRACE_ID
    assert context.tenant_id == "tenant-blue"


def test_the_client_context_is_typed(api: RuntimeAPIServer, run: RunRuntime) -> None:
    [snapshot] = invoke(api, run, EVERY_HEADER)
    client_context = snapshot.context.client_context
    assert isinstance(client_context, ClientContext)
    assert client_context.client is not None
    client = client_context.client
    assert (client.installation_id, client.app_title, client.app_version_name) == (
        "install-1",
        "My App",
        "1.2.3",
    )
    assert (client.app_version_code, client.app_package_name) == ("123", "com.example.app")
    assert client_context.custom == {"tier": "gold"}
    assert client_context.env == {"platform": "Android", "locale": "fr_FR"}


def test_the_cognito_identity_is_typed(api: RuntimeAPIServer, run: RunRuntime) -> None:
    [snapshot] = invoke(api, run, EVERY_HEADER)
    identity = snapshot.context.identity
    assert isinstance(identity, CognitoIdentity)
    assert (identity.cognito_identity_id, identity.cognito_identity_pool_id) == (
        "us-east-1:1234",
        "us-east-1:pool",
    )


def test_absent_optional_headers_are_none(api: RuntimeAPIServer, run: RunRuntime) -> None:
    [snapshot] = invoke(api, run, ONLY_THE_REQUEST_ID)
    context = snapshot.context
    assert (context.deadline_ms, context.invoked_function_arn, context.trace_id, context.tenant_id) == (
        None,
        None,
        None,
        None,
    )
    assert context.client_context is None
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == (None, None)
    assert snapshot.remaining == 0
    assert snapshot.environ_trace_id is None


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"a string"', "{"])
def test_a_client_context_that_is_not_a_json_object_is_none(
    text: str, api: RuntimeAPIServer, run: RunRuntime
) -> None:
    [snapshot] = invoke(
        api, run, {"Lambda-Runtime-Client-Context": text, "Lambda-Runtime-Cognito-Identity": text}
    )
    assert snapshot.context.client_context is None
    assert snapshot.context.identity.cognito_identity_id is None


def test_a_client_context_without_client_has_client_none(api: RuntimeAPIServer, run: RunRuntime) -> None:
    [snapshot] = invoke(api, run, {"Lambda-Runtime-Client-Context": '{"custom": {"k": "v"}}'})
    client_context = snapshot.context.client_context
    assert client_context is not None
    assert (client_context.client, client_context.custom, client_context.env) == (None, {"k": "v"}, None)


def test_the_function_environment_reaches_the_context(
    api: RuntimeAPIServer, run: RunRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_LAMBDA_FUNCTION_NAME": "orders",
        "AWS_LAMBDA_FUNCTION_VERSION": "7",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[7]abcdef",
    }.items():
        monkeypatch.setenv(name, value)
    [snapshot] = invoke(api, run, {})
    context = snapshot.context
    assert (context.function_name, context.function_version) == ("orders", "7")
    assert context.memory_limit_in_mb == "512", "a str, as awslambdaric gives it"
    assert (context.log_group_name, context.log_stream_name) == ("/aws/lambda/orders", "2026/01/01/[7]abcdef")


def test_function_environment_defaults(api: RuntimeAPIServer, run: RunRuntime) -> None:
    [snapshot] = invoke(api, run, {})
    context = snapshot.context
    assert (context.function_name, context.function_version, context.memory_limit_in_mb) == (
        "",
        "$LATEST",
        "128",
    )
    assert (context.log_group_name, context.log_stream_name) == ("", "")


def test_the_trace_id_is_per_invocation(api: RuntimeAPIServer, run: RunRuntime) -> None:
    other = TRACE_ID.replace("Sampled=1", "Sampled=0")
    traced, untraced, traced_again = invoke(
        api, run, {"Lambda-Runtime-Trace-Id": TRACE_ID}, {}, {"Lambda-Runtime-Trace-Id": other}
    )
    assert (traced.context.trace_id, traced.environ_trace_id) == (TRACE_ID, TRACE_ID)
    assert (untraced.context.trace_id, untraced.environ_trace_id) == (None, None)
    assert (traced_again.context.trace_id, traced_again.environ_trace_id) == (other, other)


def test_the_context_variable_holds_the_invocations_context(api: RuntimeAPIServer, run: RunRuntime) -> None:
    snapshots = invoke(api, run, {"Lambda-Runtime-Trace-Id": TRACE_ID}, {})
    assert [snapshot.current for snapshot in snapshots] == [snapshot.context for snapshot in snapshots]
    assert snapshots[0].current.trace_id == TRACE_ID
    assert current_context.get() is None, "the runtime's thread kept its context to itself"


def test_remaining_time_counts_down_to_zero() -> None:
    context = LambdaContext("r", deadline_ms=int(time.time() * 1000) + 200)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.02)
    assert 0 < context.get_remaining_time_in_millis() < first <= 200
    assert LambdaContext("r", deadline_ms=int(time.time() * 1000) - 5).get_remaining_time_in_millis() == 0


def test_an_awslambdaric_handler_runs_unchanged(
    api: RuntimeAPIServer, run: RunRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        context.log(f"START {context.aws_request_id}\n")
        return {
            "statusCode": 200,
            "body": json.dumps(
                {
                    "name": context.function_name,
                    "memory": int(context.memory_limit_in_mb),
                    "remaining": context.get_remaining_time_in_millis() > 0,
                    "app": context.client_context.client.app_title if context.client_context else None,
                    "cognito": context.identity.cognito_identity_id,
                    "arn": context.invoked_function_arn,
                    "group": context.log_group_name,
                }
            ),
        }

    request_id = api.enqueue({"path": "/"}, headers=EVERY_HEADER)
    assert run(lambda_handler, api.address, 1) is None
    body = json.loads(api.wait_for(request_id).json()["body"])
    assert body == {
        "name": "",
        "memory": 128,
        "remaining": True,
        "app": "My App",
        "cognito": "us-east-1:1234",
        "arn": ARN,
        "group": "",
    }
    assert f"START {request_id}\n" in capsys.readouterr().out


def test_make_context_builds_what_lambda_would() -> None:
    context = make_context(
        "req-9",
        function_name="orders",
        memory_limit_in_mb=1024,
        remaining_time_ms=5000,
        trace_id=TRACE_ID,
        tenant_id="t-1",
        client_context=CLIENT_CONTEXT,
        identity=IDENTITY,
    )
    assert (context.request_id, context.function_name, context.memory_limit_in_mb) == (
        "req-9",
        "orders",
        "1024",
    )
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert 4000 < context.get_remaining_time_in_millis() <= 5000
    assert (context.trace_id, context.tenant_id) == (TRACE_ID, "t-1")
    assert context.client_context is not None and context.client_context.custom == {"tier": "gold"}
    assert context.identity.cognito_identity_pool_id == "us-east-1:pool"
    assert context.log_group_name == "/aws/lambda/orders"
    assert "req-9" in repr(context) and "orders" in repr(context)
