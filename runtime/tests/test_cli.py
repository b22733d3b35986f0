"""The command line: ``python -m lambda_runtime [MODULE.HANDLER]`` as ``python -m awslambdaric`` takes it,
the handler from ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ``--version``, ``--help``, and usage errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import lambda_runtime
from lambda_runtime import cli, runtime
from lambda_runtime.testing import RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunProcess

ServeProcess = Callable[..., list[object]]


def test_version(run_process: RunProcess) -> None:
    finished = run_process("--version")
    assert (finished.returncode, finished.stdout, finished.stderr) == (
        0,
        f"lambda-runtime {lambda_runtime.__version__}\n",
        "",
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag: str, run_process: RunProcess) -> None:
    finished = run_process(flag)
    assert finished.returncode == 0
    assert finished.stdout.startswith("usage: python -m lambda_runtime [MODULE.HANDLER]\n")
    assert "_HANDLER" in finished.stdout and "AWS_LAMBDA_RUNTIME_API" in finished.stdout


def test_the_console_script_is_the_same_command() -> None:
    script = Path(sys.executable).with_name("lambda-runtime")
    finished = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=20, check=False)
    assert (finished.returncode, finished.stdout) == (0, f"lambda-runtime {lambda_runtime.__version__}\n")


# ``python -m lambda_runtime`` and the zip's bootstrap call runtime.main, which serves a handler itself
# and hands every other command line to cli.main (the ``lambda-runtime`` script): both answer alike.
ENTRY_POINTS = pytest.mark.parametrize("main", [cli.main, runtime.main], ids=["cli", "runtime"])


@ENTRY_POINTS
@pytest.mark.parametrize(
    "arguments", [["a.handler", "b.handler"], ["--verbose"], ["-x", "app.handler"], ["--handler.x"]]
)
def test_usage_errors_exit_2(
    main: Callable[[list[str]], int], arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: python -m lambda_runtime")


@ENTRY_POINTS
def test_no_handler_at_all_exits_2(
    main: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("_HANDLER", raising=False)
    assert main([]) == 2
    assert "no handler: pass MODULE.HANDLER or set _HANDLER" in capsys.readouterr().err


def test_the_runtime_entry_point_hands_commands_to_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert runtime.main(["--version"]) == 0
    assert capsys.readouterr().out == f"lambda-runtime {lambda_runtime.__version__}\n"


APP = "def handler(event, context):\n    return {'from': __name__, 'event': event}\n"


@pytest.fixture
def serve_process(api: RuntimeAPIServer, run_process: RunProcess) -> Callable[..., list[object]]:
    """``serve_process(*arguments, env={...})``: run the command for two events; the decoded results."""

    def serve_process(*arguments: str, env: dict[str, str] | None = None) -> list[object]:
        request_ids = [api.enqueue(index) for index in range(2)]
        finished = run_process(
            *arguments, env={"AWS_LAMBDA_RUNTIME_API": api.address, "MAX_INVOCATIONS": "2", **(env or {})}
        )
        assert finished.returncode == 0, finished.stdout + finished.stderr
        return [api.wait_for(request_id, timeout=5).json() for request_id in request_ids]

    return serve_process


def test_the_handler_argument(tmp_path: Path, serve_process: ServeProcess) -> None:
    (tmp_path / "app.py").write_text(APP)
    assert serve_process("app.handler") == [
        {"from": "app", "event": 0},
        {"from": "app", "event": 1},
    ]


def test_the_handler_from_underscore_handler_when_no_argument_is_given(
    tmp_path: Path, serve_process: ServeProcess
) -> None:
    (tmp_path / "app.py").write_text(APP)
    assert serve_process(env={"_HANDLER": "app.handler"})[1] == {"from": "app", "event": 1}


def test_the_argument_wins_over_underscore_handler(tmp_path: Path, serve_process: ServeProcess) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "other.py").write_text(APP)
    results = serve_process("other.handler", env={"_HANDLER": "app.handler"})
    assert [result["from"] for result in results] == ["other", "other"]  # type: ignore[index]


def test_lambda_task_root_is_where_the_handler_is_found(tmp_path: Path, serve_process: ServeProcess) -> None:
    task_root = tmp_path / "var" / "task"
    task_root.mkdir(parents=True)
    (task_root / "function.py").write_text(APP)
    results = serve_process("function.handler", env={"LAMBDA_TASK_ROOT": str(task_root)})
    assert results[0] == {"from": "function", "event": 0}


def test_a_handler_path_with_slashes(tmp_path: Path, serve_process: ServeProcess) -> None:
    (tmp_path / "src" / "orders").mkdir(parents=True)
    (tmp_path / "src" / "orders" / "api.py").write_text(APP)
    results = serve_process("src/orders/api.handler")
    assert results[0] == {"from": "src.orders.api", "event": 0}


@pytest.mark.parametrize("address", ["localhost", "localhost:http", ":9001"])
def test_a_malformed_runtime_api_address_exits_1_with_a_clear_message(
    address: str, tmp_path: Path, run_process: RunProcess
) -> None:
    (tmp_path / "app.py").write_text(APP)
    finished = run_process("app.handler", env={"AWS_LAMBDA_RUNTIME_API": address})
    assert finished.returncode == 1
    assert f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}" in finished.stderr
    assert "Traceback" not in finished.stdout + finished.stderr
