"""Handlers that misbehave: BaseExceptions that are not SystemExit or KeyboardInterrupt (those two are in
test_lifecycle.py), runaway recursion, megabytes printed to stdout, results that cannot be encoded. Each
is reported as the invocation's error; then the runtime serves on, or ends cleanly, as docs/faults.md
says. (Unencodable results: test_errors.py; streams never finished: test_streaming.py and
local/test_stress.py.)"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.testing import RuntimeAPIServer, run_function

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime, Serve


class Custom(BaseException):
    """A BaseException of the function's own."""


each_base_exception = pytest.mark.parametrize(
    "raised",
    [GeneratorExit("closing"), Custom("mine"), asyncio.CancelledError("cancelled")],
    ids=["GeneratorExit", "custom", "CancelledError"],
)


@each_base_exception
def test_another_base_exception_is_reported_then_ends_the_process_cleanly(
    raised: BaseException, api: RuntimeAPIServer, run: RunRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(event: object, context: object) -> None:
        raise raised

    request_id = api.enqueue({})
    api.enqueue({})  # never fetched
    assert run(handler, api.address, 2) == 1
    result = api.wait_for(request_id)
    name = type(raised).__name__
    assert result.error_type == f"Function.{name}"
    assert json.loads(result.body)["errorType"] == name
    assert [method for method, _, _ in api.requests].count("GET") == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert line == f"Stopping: the handler raised {name}, which ends the process"


def test_a_base_exception_from_an_async_handler_is_reported_too(
    api: RuntimeAPIServer, run: RunRuntime
) -> None:
    async def handler(event: object, context: object) -> None:
        raise Custom("from a coroutine")

    request_id = api.enqueue({})
    assert run(handler, api.address, 1) == 1
    assert api.wait_for(request_id).error_type == "Function.Custom"


@each_base_exception
def test_another_base_exception_ends_the_asyncio_workers_too(
    raised: BaseException, api: RuntimeAPIServer, run_tasks: RunRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    """On the asyncio loop too: reported, then the runtime stops with exit 1, after one line saying why.
    (A CancelledError the runtime did not ask for must not pass for the task being cancelled.)"""

    async def handler(event: object, context: object) -> None:
        raise raised

    request_id = api.enqueue({})
    assert run_tasks(handler, api.address, 1) == 1
    name = type(raised).__name__
    result = api.wait_for(request_id)
    assert result.error_type == f"Function.{name}"
    assert json.loads(result.body)["errorType"] == name
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert line.startswith("Worker ") and line.endswith("; stopping the runtime"), line
    assert name in line


def test_runaway_recursion_is_reported_and_the_loop_goes_on(serve: Serve) -> None:
    def recurse(depth: int) -> int:
        return recurse(depth + 1) + 1

    def handler(event: Any, context: object) -> object:
        return recurse(0) if event == "deep" else "fine"

    deep, fine = serve(handler, "deep", "after")
    error = json.loads(deep.body)
    assert (deep.error_type, error["errorType"]) == ("Function.RecursionError", "RecursionError")
    assert "recursion" in error["errorMessage"]
    assert 0 < len(deep.body) <= 6_291_556
    assert (fine.is_error, fine.json()) == (False, "fine")
    assert sys.getrecursionlimit() >= 1000  # nothing the runtime did changed the limit


def test_a_stack_overflow_while_encoding_is_a_marshal_error(serve: Serve) -> None:
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]

    bad, fine = serve(lambda event, context: nested if event == "bad" else "fine", "bad", "after")
    assert bad.error_type == "Runtime.MarshalError"
    assert (fine.is_error, fine.json()) == (False, "fine")


def test_megabytes_printed_to_stdout_do_not_stall_the_function(tmp_path: Path) -> None:
    """Lambda reads stdout through a pipe: 4 MB printed per invocation (2 MB of lines, and one 2 MB line) flow
    through it while the runtime keeps answering."""
    (tmp_path / "app.py").write_text(
        "import sys\n"
        "def handler(event, context):\n"
        "    for index in range(20_000):\n"
        "        print('line', index, 'x' * 90)\n"
        "    sys.stdout.write('y' * 2_000_000 + '\\n')\n"
        "    print('z' * 100, end='', flush=True)\n"
        "    return {'n': event['n']}\n"
    )
    results = run_function("app.handler", [{"n": 1}, {"n": 2}], cwd=tmp_path, timeout=60)
    assert [(result.is_error, result.json()) for result in results] == [(False, {"n": 1}), (False, {"n": 2})]
