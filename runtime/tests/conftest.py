"""Shared fixtures: a clean environment, a test Runtime API, and runtimes run in-process on a thread
or as a real ``python -m lambda_runtime`` process. Every wait is bounded."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime import LambdaManagedRuntime, LambdaRuntime, current_context, logs
from lambda_runtime.testing import InvocationResult, RuntimeAPIServer

# How long the test Runtime API holds a /next open when no event is queued, before answering 500; a
# runtime that asks for one invocation too many therefore stops (and fails its test) instead of hanging.
NEXT_TIMEOUT = 5.0
RUN_TIMEOUT = 20.0
PROCESS_TIMEOUT = 20.0

# Everything the runtime reads from its environment: each test starts without any of it.
RUNTIME_ENVIRONMENT = (
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "LOG_LEVEL",
    "LAMBDA_TASK_ROOT",
    "MAX_INVOCATIONS",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
)

# The two invocation loops: LambdaRuntime's blocking one, and the asyncio one that LambdaManagedRuntime
# runs an ``async def`` handler on when AWS_LAMBDA_MAX_CONCURRENCY is above 1. A test of behaviour both
# must share is parametrized over them (with the ``run`` and ``run_tasks`` fixtures).
LOOPS = ("blocking", "asyncio")

RunRuntime = Callable[..., "int | None"]
Serve = Callable[..., list[InvocationResult]]
RunProcess = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Lambda variable leaks in from the shell, or from one test (or runtime) into the next."""
    for name in RUNTIME_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_runtime_logging() -> Iterator[None]:
    """The runtime installs its log handler once per process, with the format and level the environment
    asks for then: take it off after each test so that the next one installs its own."""
    root = logging.getLogger()
    level = root.level
    yield
    if logs._installed is not None:
        root.removeHandler(logs._installed)
        logs._installed = None
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_context_left_behind() -> Iterator[None]:
    """A runtime run on this thread leaves its last invocation's context in the context variable (see
    test_logging.py): clear it, so that no later test's records carry a stale request id."""
    yield
    current_context.set(None)


@pytest.fixture(autouse=True)
def one_runtime_at_a_time() -> Iterator[None]:
    """A test must leave no LambdaRuntime claimed behind it (run() releases the claim when it returns)."""
    yield
    claimed, LambdaRuntime._claimed = LambdaRuntime._claimed, False
    assert not claimed, "the test left a LambdaRuntime that never ran"


def run_on_thread(target: Callable[[], None], timeout: float = RUN_TIMEOUT) -> int | None:
    """Call ``target`` on a thread; return the SystemExit code it raised (None if it returned)."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            target()
        except SystemExit as stop:
            outcome["exit"] = stop.code
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=main, name="lambda-runtime", daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the runtime was still running after {timeout} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("exit")


@pytest.fixture
def api() -> Iterator[RuntimeAPIServer]:
    """A real Runtime API on 127.0.0.1 (an ephemeral port)."""
    server = RuntimeAPIServer(next_timeout=NEXT_TIMEOUT).start()
    yield server
    # close() waits for the server's 50 ms poll: let it do that while the next test runs.
    threading.Thread(target=server.close, name="close-runtime-api", daemon=True).start()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> RunRuntime:
    """``run(handler, address, invocations)``: a LambdaRuntime on a thread, stopped after ``invocations``
    (MAX_INVOCATIONS); returns its exit code, None when run() returned."""

    def run(handler: object, address: str, invocations: int | None = None) -> int | None:
        if invocations is not None:
            monkeypatch.setenv("MAX_INVOCATIONS", str(invocations))
        runtime = LambdaRuntime(handler, runtime_api=address)
        return run_on_thread(runtime.run)

    return run


@pytest.fixture
def run_tasks(monkeypatch: pytest.MonkeyPatch) -> RunRuntime:
    """``run_tasks(async_handler, address, invocations)``: as ``run``, on the asyncio loop instead: a
    LambdaManagedRuntime with two workers, each a task with its own connection, on a thread."""

    def run_tasks(handler: object, address: str, invocations: int | None = None) -> int | None:
        monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "2")
        if invocations is not None:
            monkeypatch.setenv("MAX_INVOCATIONS", str(invocations))
        runtime = LambdaManagedRuntime(handler, runtime_api=address)
        return run_on_thread(runtime.run)

    return run_tasks


@pytest.fixture
def serve(api: RuntimeAPIServer, run: RunRuntime) -> Serve:
    """``serve(handler, *events)``: run ``handler`` for ``events`` (bytes as they are, anything else as
    JSON) and return what the runtime posted for each, in order."""

    def serve(handler: object, *events: Any) -> list[InvocationResult]:
        request_ids = [
            api.enqueue(event if isinstance(event, bytes) else json.dumps(event)) for event in events
        ]
        assert run(handler, api.address, len(request_ids)) is None
        return [api.wait_for(request_id, timeout=5) for request_id in request_ids]

    return serve


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """``write_module(source, name="app")``: a handler module in ``tmp_path``, importable in-process
    (and forgotten again after the test)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write_module(source: str, name: str = "app") -> Path:
        path = tmp_path / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        return path

    yield write_module
    for name in names:
        sys.modules.pop(name, None)


def serve_one_event(
    command: list[str], handler: str, cwd: Path, event: Any = None
) -> tuple[subprocess.CompletedProcess[bytes], RuntimeAPIServer]:
    """Serve one event (``{}`` by default) with ``python <command> <handler>`` in ``cwd``, as a separate
    process: how it finished, and the test Runtime API it used (its results, init errors...)."""
    with RuntimeAPIServer(next_timeout=PROCESS_TIMEOUT) as api:
        api.enqueue({} if event is None else event)
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, MAX_INVOCATIONS="1")
        finished = subprocess.run(
            [sys.executable, *command, handler],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
    return finished, api


@pytest.fixture
def run_process(tmp_path: Path) -> RunProcess:
    """``run_process(*arguments, env={...})``: ``python -m lambda_runtime *arguments`` in ``tmp_path``,
    its output as text with line breaks untouched."""

    def run_process(
        *arguments: str, env: Mapping[str, str] | None = None, timeout: float = PROCESS_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        finished = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", *arguments],
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        # Decoded by hand: text mode would turn the CR inside a one-line record into a line break.
        return subprocess.CompletedProcess(
            finished.args, finished.returncode, finished.stdout.decode(), finished.stderr.decode()
        )

    return run_process
