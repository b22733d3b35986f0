"""The runtime's life: MAX_INVOCATIONS, one LambdaRuntime per process, the user agent on every request,
and a clean stop (one log line, non-zero exit, no traceback, no hang) when the Runtime API fails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import lambda_runtime
from lambda_runtime import AlreadyRunningError, LambdaRuntime
from lambda_runtime.testing import RuntimeAPIServer
from raw_api import ACCEPTED, HANG_UP, RawRuntimeAPI, Reply, http_response, invocation, unused_address

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunProcess, RunRuntime, Serve


def echo(event: object, context: object) -> object:
    return event


def test_the_runtime_api_address_comes_from_the_environment(
    api: RuntimeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    monkeypatch.setenv("MAX_INVOCATIONS", "1")
    request_id = api.enqueue({"from": "environment"})
    LambdaRuntime(echo).run()
    assert api.wait_for(request_id).json() == {"from": "environment"}


# --- MAX_INVOCATIONS ----------------------------------------------------------------------------------


def test_max_invocations_stops_after_n(api: RuntimeAPIServer, run: RunRuntime) -> None:
    request_ids = [api.enqueue(index) for index in range(5)]
    assert run(echo, api.address, 3) is None
    assert [result.request_id for result in api.posts] == request_ids[:3]
    assert [method for method, _, _ in api.requests].count("GET") == 3


@pytest.mark.parametrize("value", ["0", "-1", "three", "2.5"])
def test_an_invalid_max_invocations_is_an_init_error(
    value: str, api: RuntimeAPIServer, run: RunRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INVOCATIONS", value)
    assert run(echo, api.address) == 1
    [init_error] = api.init_errors
    assert init_error.error_type == "Runtime.InvalidConfiguration"
    assert not [request for request in api.requests if request[0] == "GET"]


# --- one runtime per process --------------------------------------------------------------------------


def test_a_second_runtime_is_refused_while_one_exists(serve: Serve) -> None:
    def handler(event: object, context: object) -> str:
        try:
            LambdaRuntime(echo)
        except AlreadyRunningError as error:
            return f"{type(error).__name__}: {error}"
        return "created a second runtime"

    [result] = serve(handler, {})
    assert result.json().startswith("AlreadyRunningError: a LambdaRuntime already exists")
    assert AlreadyRunningError.error_type == "Runtime.AlreadyRunning"


def test_a_runtime_holds_the_claim_until_its_run_returns(
    api: RuntimeAPIServer, run: RunRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = LambdaRuntime(echo, runtime_api=api.address)
    with pytest.raises(AlreadyRunningError):
        LambdaRuntime(echo)
    api.enqueue(1)
    api.enqueue(2)
    monkeypatch.setenv("MAX_INVOCATIONS", "1")
    first.run()
    assert run(echo, api.address, 1) is None, "run() returning must release the claim"
    assert [result.json() for result in api.posts] == [1, 2]


# --- user agent ---------------------------------------------------------------------------------------


def test_every_request_carries_the_user_agent(api: RuntimeAPIServer, run: RunRuntime) -> None:
    def handler(event: bytes, context: object) -> bytes:
        if event == b"fail":
            raise ValueError(event)
        return event

    request_ids = [api.enqueue(event) for event in (b"ok", b"fail", b"ok", b"gone")]
    api.response_status[request_ids[-1]] = 410
    assert run(handler, api.address, 4) is None
    assert [result.is_error for result in api.posts] == [False, True, False, False]
    assert len(api.requests) == 8
    assert {headers["user-agent"] for _, _, headers in api.requests} == {
        f"lambda-runtime-python/{lambda_runtime.__version__}"
    }


# --- the handler stopping the process -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "error_type", "exit_code"),
    [(SystemExit(3), "SystemExit", 3), (KeyboardInterrupt(), "KeyboardInterrupt", 130)],
)
def test_a_handler_that_stops_the_process_is_reported_first(
    raised: BaseException, error_type: str, exit_code: int, api: RuntimeAPIServer, run: RunRuntime
) -> None:
    def handler(event: object, context: object) -> None:
        raise raised

    request_id = api.enqueue({})
    assert run(handler, api.address, 2) == exit_code
    assert api.wait_for(request_id).error_type == f"Function.{error_type}"
    assert [method for method, _, _ in api.requests].count("GET") == 1


# --- the Runtime API failing: one line, exit 1 ----------------------------------------------------------


FAILURES = {
    "500-on-first-next": ([Reply(http_response(500, b'{"errorMessage":"broken"}'))], "500"),
    "500-after-an-invocation": ([Reply(invocation("r1")), ACCEPTED, Reply(http_response(500))], "500"),
    "500-on-response": ([Reply(invocation("r1")), Reply(http_response(500))], "500"),
    "closed-before-next-answered": ([HANG_UP], "closed the connection"),
    "closed-in-the-head": ([Reply(b"HTTP/1.1 200 OK\r\nLambda-Runt", close=True)], "closed the connection"),
    "closed-in-the-body": (
        [Reply(invocation("r1", b"0123456789")[:-4], close=True)],
        "closed the connection",
    ),
    "closed-on-a-post": ([Reply(invocation("r1")), HANG_UP], "closed the connection"),
    "garbage": ([Reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")], "malformed status line"),
    "garbage-length": ([Reply(b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nx")], "Content-Length"),
    "no-request-id": ([Reply(http_response(200, b"{}"))], "without Lambda-Runtime-Aws-Request-Id"),
    "unusable-request-id": ([Reply(invocation("../../init/error"))], "unusable request id"),
}


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    return tmp_path


@pytest.mark.parametrize(("script", "says"), FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_runtime_api_ends_the_process_with_one_clear_line(
    script: list[Reply], says: str, function_dir: Path, run_process: RunProcess
) -> None:
    with RawRuntimeAPI(script) as api:
        finished = run_process("app.handler", env={"AWS_LAMBDA_RUNTIME_API": api.address})
    assert_one_clear_line(finished, says)


def test_no_runtime_api_listening_ends_the_process_with_one_clear_line(
    function_dir: Path, run_process: RunProcess
) -> None:
    finished = run_process("app.handler", env={"AWS_LAMBDA_RUNTIME_API": unused_address()})
    assert_one_clear_line(finished, "cannot connect to the Runtime API")


def assert_one_clear_line(finished: subprocess.CompletedProcess[str], says: str) -> None:
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert "Traceback" not in output
    lines = output.rstrip("\n").split("\n")
    assert len(lines) == 1, output
    assert says in lines[0]
    assert lines[0].startswith("[CRITICAL]")


def test_a_failing_runtime_api_stops_an_in_process_runtime_with_exit_code_1(run: RunRuntime) -> None:
    with RawRuntimeAPI([Reply(invocation("r1")), ACCEPTED]) as api:
        assert run(echo, api.address) == 1
    assert [request.method for request in api.requests] == ["GET", "POST", "GET"]
