"""The local server as people start it: ``run()`` outside Lambda, ``python -m lambda_runtime serve``,
``serve --api-only`` with another runtime (``awslambdaric``) behind it, Ctrl-C, and without h11."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from lambda_runtime import LambdaContext, LambdaRuntime
from lambda_runtime.runtime import LOCAL_EXTRA_MISSING

from .conftest import WAIT, messages, wait_until

APP = """\
import json

def handler(event, context):
    custom = context.client_context.custom if context.client_context else None
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "tenant_id": getattr(context, "tenant_id", None),
        "custom": custom,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
    }

def fails(event, context):
    raise ValueError("no such order")
"""

READY = re.compile(r"listening on (\S+?): invoke with POST (\S+)")


def _ctrl_c_as_usual() -> None:
    """In the child, before exec: SIGINT back to its default, so that Python turns it into
    KeyboardInterrupt. A shell starts background jobs (a CI job run with ``&``) with SIGINT ignored, and
    Python keeps an ignored SIGINT ignored, which is not what these tests are about."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Process:
    """A child process whose stdout is read line by line on a thread (so reads can time out)."""

    def __init__(self, arguments: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            arguments,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ctrl_c_as_usual,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.errors: list[str] = []
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, self.output, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, self.errors, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: IO[str], store: list[str], to_queue: bool) -> None:
        for line in stream:
            store.append(line)
            if to_queue:
                self.lines.put(line)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern.pattern!r}; output: {self.text()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            match = pattern.search(line)
            if match:
                return match

    def finish(self, timeout: float = WAIT) -> int:
        code = self.popen.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        return code

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(WAIT)

    def text(self) -> str:
        return "".join(self.output) + "".join(self.errors)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def child_environment(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_LAMBDA_", "LOCAL_LAMBDA_"))
        and name not in ("_HANDLER", "MAX_INVOCATIONS")
    }
    env.update(extra)
    return env


def start(processes: list[Process], arguments: list[str], cwd: Path, **env: str) -> Process:
    process = Process(arguments, cwd, child_environment(**env))
    processes.append(process)
    return process


def test_awslambdaric_serves_through_the_stand_alone_runtime_api(
    app_dir: Path, processes: list[Process], client: httpx.Client
) -> None:
    # Installed by the `tests` session; the sessions on other Pythons leave it out (no wheel for each).
    pytest.importorskip("awslambdaric", reason="awslambdaric is not installed in this environment")
    server = start(
        processes, [sys.executable, "-m", "lambda_runtime", "serve", "--api-only", "--port", "0"], app_dir
    )
    address = server.wait_for_line(re.compile(r"^AWS_LAMBDA_RUNTIME_API=(\S+)$")).group(1)
    url = f"http://{address}/invoke"
    ric = start(
        processes,
        [sys.executable, "-m", "awslambdaric", "app.handler"],
        app_dir,
        AWS_LAMBDA_RUNTIME_API=address,
    )

    context = base64.b64encode(json.dumps({"custom": {"source": "test"}}).encode()).decode()
    for n in range(3):
        response = client.post(
            url,
            json={"n": n},
            headers={"X-Amz-Tenant-Id": "blue", "X-Amz-Client-Context": context},
            timeout=20,
        )
        assert response.status_code == 200, ric.text()
        body = response.json()
        assert body["event"] == {"n": n}
        assert body["request_id"] == response.headers["x-amzn-requestid"]
        assert body["tenant_id"] == "blue"
        assert body["custom"] == {"source": "test"}
        assert 890_000 < body["remaining_ms"] <= 900_000
        assert body["arn"].endswith(":function:local-function")
    assert ric.popen.poll() is None  # awslambdaric never exits by itself: the fixture kills it

    ric.stop()
    failing = start(
        processes,
        [sys.executable, "-m", "awslambdaric", "app.fails"],
        app_dir,
        AWS_LAMBDA_RUNTIME_API=address,
    )
    response = client.post(url, json={}, timeout=20)
    assert response.status_code == 500, failing.text()
    assert response.headers["x-amz-function-error"] == "ValueError"
    assert response.json()["errorMessage"] == "no such order"


def test_serve_runs_the_function_in_process_and_ctrl_c_exits_0(
    app_dir: Path, processes: list[Process], client: httpx.Client
) -> None:
    process = start(
        processes, [sys.executable, "-m", "lambda_runtime", "serve", "app.handler", "--port", "0"], app_dir
    )
    url = process.wait_for_line(READY).group(2)
    assert client.post(url, json={"hello": 1}).json()["event"] == {"hello": 1}
    process.popen.send_signal(signal.SIGINT)
    assert process.finish() == 0, process.text()
    assert "Traceback" not in process.text()
    assert "Local Lambda server stopped" in process.text()


def test_run_without_a_runtime_api_serves_locally_until_max_invocations(
    app_dir: Path, processes: list[Process], client: httpx.Client
) -> None:
    process = start(
        processes,
        [sys.executable, "-m", "lambda_runtime", "app.handler"],
        app_dir,
        LOCAL_LAMBDA_PORT="0",
        MAX_INVOCATIONS="2",
    )
    url = process.wait_for_line(READY).group(2)
    assert [client.post(url, json=n).json()["event"] for n in (1, 2)] == [1, 2]
    assert process.finish() == 0, process.text()
    assert "Traceback" not in process.text()


def test_api_only_ctrl_c_exits_0_and_fails_waiting_clients(app_dir: Path, processes: list[Process]) -> None:
    process = start(
        processes,
        [sys.executable, "-m", "lambda_runtime", "serve", "--api-only", "--port", "0"],
        app_dir,
        LOG_LEVEL="DEBUG",
    )
    url = process.wait_for_line(READY).group(2)
    outcome: dict[str, httpx.Response] = {}
    waiting = threading.Thread(
        target=lambda: outcome.update(r=httpx.post(url, json={}, timeout=WAIT)), daemon=True
    )
    waiting.start()
    process.wait_for_line(re.compile(r"Invocation \S+ queued"))  # no runtime: it stays queued
    process.popen.send_signal(signal.SIGINT)
    assert process.finish() == 0, process.text()
    waiting.join(WAIT)
    assert outcome["r"].status_code == 503
    assert "Traceback" not in process.text()


def test_run_in_process_without_a_runtime_api(
    monkeypatch: pytest.MonkeyPatch, local_logs: Any, client: httpx.Client
) -> None:
    monkeypatch.setenv("LOCAL_LAMBDA_PORT", "0")
    monkeypatch.setenv("MAX_INVOCATIONS", "2")
    threads_before = set(threading.enumerate())

    def handler(event: Any, context: LambdaContext) -> Any:
        return {"twice": event * 2}

    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            LambdaRuntime(handler).run()
            outcome["returned"] = True
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    wait_until(lambda: any(READY.search(m) for m in messages(local_logs)), what="the ready line")
    url = next(match.group(2) for m in messages(local_logs) if (match := READY.search(m)))
    assert client.post(url, json=21).json() == {"twice": 42}
    assert client.post(url, json="ab").json() == {"twice": "abab"}
    thread.join(WAIT)
    assert outcome == {"returned": True}
    # The server went with the runtime.
    with pytest.raises(httpx.ConnectError):
        client.post(url, json=1)
    wait_until(lambda: set(threading.enumerate()) <= threads_before, what="the server thread to end")


# h11 made unimportable, as when the 'local' extra is not installed.
BLOCK_H11 = (
    "import sys; sys.modules['h11'] = None; "
    "from lambda_runtime.cli import main; raise SystemExit(main({args!r}))"
)


@pytest.mark.parametrize("arguments", [["app.handler"], ["serve", "app.handler"], ["serve", "--api-only"]])
def test_without_h11_one_line_says_how_to_install_it(arguments: list[str], app_dir: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", BLOCK_H11.format(args=arguments)],
        cwd=app_dir,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert finished.returncode == 1
    assert finished.stderr == LOCAL_EXTRA_MISSING
    assert finished.stderr.count("\n") == 1
    assert 'pip install "lambda-runtime[local]"' in finished.stderr
    assert finished.stdout == ""


def test_serve_refuses_contradictory_arguments(app_dir: Path) -> None:
    for arguments in (["serve", "--api-only", "app.handler"], ["serve"], ["serve", "--port", "x"]):
        finished = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", *arguments],
            cwd=app_dir,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert finished.returncode == 2, arguments
        assert "usage:" in finished.stderr


def test_importing_the_package_loads_neither_h11_nor_asyncio() -> None:
    probe = (
        "import lambda_runtime, lambda_runtime.cli, lambda_runtime.runtime, sys; "
        "assert 'h11' not in sys.modules and 'asyncio' not in sys.modules and 'argparse' not in sys.modules"
    )
    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert finished.returncode == 0, finished.stderr


@pytest.mark.parametrize("arguments", [["app.handler"], ["serve", "--api-only"]])
def test_a_port_in_use_is_one_line_and_exit_1(arguments: list[str], app_dir: Path) -> None:
    from lambda_runtime.local import LocalConfig, LocalServer

    with LocalServer(LocalConfig(port=0)) as taken:
        finished = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", *arguments],
            cwd=app_dir,
            env=child_environment(LOCAL_LAMBDA_PORT=taken.address.rpartition(":")[2]),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
    assert finished.returncode == 1, finished.stderr
    assert finished.stderr.startswith("lambda-runtime: cannot start the local server: ")
    assert finished.stderr.count("\n") == 1
