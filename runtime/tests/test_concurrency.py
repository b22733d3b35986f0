"""AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed Instances), in each mode, as real processes against a
real Runtime API on 127.0.0.1:

* ``process``: ``LambdaRuntime`` with a plain handler, one process per worker;
* ``threads``: ``LambdaManagedRuntime`` with a plain handler, one thread per worker;
* ``asyncio``: ``LambdaManagedRuntime`` with an ``async def`` handler, one task per worker.

Every wait is bounded; timing assertions measure from the moment every worker is waiting in /next, so
that process start-up and init are not counted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from lambda_runtime.testing import RuntimeAPIServer

MODES = ("process", "threads", "asyncio")
WAIT = 20.0

FUNCTION = """
import asyncio
import logging
import os
import sys
import time

from lambda_runtime import LambdaManagedRuntime, LambdaRuntime

MODE = os.environ.get("TEST_MODE", "process")


class Fatal(BaseException):
    "Not an Exception: what a worker cannot survive."


def answer(event, context):
    if event.get("fail"):
        raise ValueError(f"event {event.get('n')} asked to fail")
    if event.get("die"):
        if MODE == "process":
            sys.stdout.flush()
            os._exit(3)
        raise Fatal("the worker is gone")
    for _ in range(event.get("lines", 0)):
        print(event["char"] * event["width"])
    return {
        "n": event.get("n"),
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "environ_trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "context_trace": context.trace_id,
    }


def handler(event, context):
    context.logger.info("start %s", context.aws_request_id)
    time.sleep(event.get("sleep", 0))
    context.logger.info("end %s", context.aws_request_id)
    return answer(event, context)


async def async_handler(event, context):
    context.logger.info("start %s", context.aws_request_id)
    await asyncio.sleep(event.get("sleep", 0))
    context.logger.info("end %s", context.aws_request_id)
    return answer(event, context)


def stream_handler(event: bytes, stream, context):
    stream.write(b"first|")
    time.sleep(0.2)
    stream.write_and_finish(context.aws_request_id.encode())


async def async_stream_handler(event: bytes, stream, context):
    stream.write(b"first|")
    await asyncio.sleep(0.2)
    stream.write_and_finish(context.aws_request_id.encode())


if __name__ == "__main__":
    name = sys.argv[1]
    if MODE == "asyncio":
        name = {"handler": "async_handler", "stream_handler": "async_stream_handler"}.get(name, name)
    runtime_class = LambdaRuntime if MODE == "process" else LambdaManagedRuntime
    runtime_class(globals()[name]).run()
"""


class Function:
    """A function started as a real process in one of the modes."""

    def __init__(self, process: subprocess.Popen[bytes], api: RuntimeAPIServer, logs: Path) -> None:
        self.process = process
        self.api = api
        self.logs = logs  # stdout and stderr go to files: a pipe nobody reads would fill and block it

    def wait_until_waiting(self, workers: int) -> None:
        """Until ``workers`` GET /next are in (every worker is idle in /next)."""
        deadline = time.monotonic() + WAIT
        while sum(1 for request in list(self.api.requests) if request[0] == "GET") < workers:
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "the workers never all asked for an invocation"
            time.sleep(0.005)

    def finish(self, timeout: float = WAIT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"the function did not exit in {timeout} s") from None

    def stdout(self) -> bytes:
        return (self.logs / "stdout").read_bytes()

    def output(self) -> str:
        return (self.stdout() + (self.logs / "stderr").read_bytes()).decode(errors="replace")


@pytest.fixture
def start(tmp_path: Path, api: RuntimeAPIServer) -> Iterator[object]:
    (tmp_path / "app.py").write_text(textwrap.dedent(FUNCTION), encoding="utf-8")
    started: list[subprocess.Popen[bytes]] = []

    def start(
        mode: str,
        workers: int,
        *,
        handler: str = "handler",
        invocations: int | None = None,
        cli: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Function:
        environment = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_MAX_CONCURRENCY": str(workers),
            "TEST_MODE": mode,
            **(env or {}),
        }
        if invocations is not None:
            environment["MAX_INVOCATIONS"] = str(invocations)
        command = (
            [sys.executable, "-m", "lambda_runtime", f"app.{handler}"]
            if cli
            else [
                sys.executable,
                "app.py",
                handler,
            ]
        )
        logs = tmp_path / f"run-{len(started)}"
        logs.mkdir()
        with (logs / "stdout").open("wb") as stdout, (logs / "stderr").open("wb") as stderr:
            process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=stdout, stderr=stderr)
        started.append(process)
        return Function(process, api, logs)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("mode", MODES)
def test_eight_workers_serve_eight_slow_invocations_at_once(mode: str, start, api: RuntimeAPIServer) -> None:
    function = start(mode, 8, invocations=8)
    function.wait_until_waiting(8)
    began = time.monotonic()
    request_ids = [api.enqueue({"sleep": 0.2, "n": n}) for n in range(8)]
    results = [api.wait_for(request_id, timeout=WAIT) for request_id in request_ids]
    elapsed = time.monotonic() - began
    assert all(not result.is_error for result in results), [result.body for result in results]
    assert elapsed < 2 * 0.2, f"8 invocations of 200 ms on 8 workers took {elapsed * 1000:.0f} ms"
    assert [result.json()["n"] for result in results] == list(range(8))
    pids = {result.json()["pid"] for result in results}
    if mode == "process":
        assert len(pids) == 8, "each worker is a process of its own"
    else:
        assert len(pids) == 1, "the workers share one process"
    assert function.finish() == 0, function.output()


@pytest.mark.parametrize("mode", MODES)
def test_two_thousand_invocations_are_each_answered_exactly_once(
    mode: str, start, api: RuntimeAPIServer
) -> None:
    request_ids = [api.enqueue({"n": n}) for n in range(2000)]
    function = start(mode, 8, invocations=2000)
    assert function.finish(timeout=120) == 0, function.output()
    posts = Counter(post.request_id for post in api.posts)
    assert set(posts) == set(request_ids)
    assert set(posts.values()) == {1}, [rid for rid, count in posts.items() if count != 1][:5]
    for request_id in request_ids[::97]:
        result = api.results[request_id]
        assert not result.is_error
        assert result.json()["request_id"] == request_id
    nexts = sum(1 for request in api.requests if request[0] == "GET")
    assert nexts == 2000, "MAX_INVOCATIONS is a total across the workers: no /next beyond it"


@pytest.mark.parametrize("mode", MODES)
def test_a_raising_handler_fails_only_its_own_invocations(mode: str, start, api: RuntimeAPIServer) -> None:
    events = [{"n": n, "fail": n % 5 == 0, "sleep": 0.01} for n in range(40)]
    request_ids = [api.enqueue(event) for event in events]
    function = start(mode, 4, invocations=len(events))
    assert function.finish() == 0, function.output()
    for event, request_id in zip(events, request_ids, strict=True):
        result = api.results[request_id]
        if event["fail"]:
            assert result.is_error
            assert json.loads(result.body)["errorType"] == "ValueError"
            assert f"event {event['n']} asked to fail" in json.loads(result.body)["errorMessage"]
        else:
            assert not result.is_error, result.body
            assert result.json()["n"] == event["n"]


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_invocation_does_not_hold_up_the_others(mode: str, start, api: RuntimeAPIServer) -> None:
    function = start(mode, 4, invocations=13)
    function.wait_until_waiting(4)
    slow = api.enqueue({"sleep": 3, "n": -1})
    began = time.monotonic()
    quick = [api.enqueue({"sleep": 0.01, "n": n}) for n in range(12)]
    for request_id in quick:
        api.wait_for(request_id, timeout=WAIT)
    elapsed = time.monotonic() - began
    assert slow not in api.results, "the slow one is still running"
    assert elapsed < 2.0, f"12 quick invocations next to a slow one took {elapsed:.2f} s"
    assert not api.wait_for(slow, timeout=WAIT).is_error
    assert function.finish() == 0, function.output()


@pytest.mark.parametrize("mode", MODES)
def test_a_dying_worker_stops_the_runtime_with_an_error(mode: str, start, api: RuntimeAPIServer) -> None:
    function = start(mode, 4)
    function.wait_until_waiting(4)
    healthy = api.enqueue({"n": 1})
    api.wait_for(healthy, timeout=WAIT)
    api.enqueue({"die": True, "n": 2})
    code = function.finish()
    output = function.output()
    assert code == 1, output
    if mode == "process":
        death = r"Worker \d of 4 \(pid \d+\) exited with code 3; stopping the runtime"
        assert re.search(death, output), output
    else:
        assert re.search(r"Worker \d of 4 stopped unexpectedly \(Fatal: the worker is gone\)", output), output
    assert len(re.findall(r"stopping the runtime", output)) == 1, output


@pytest.mark.parametrize("mode", MODES)
def test_sigterm_reaches_every_worker(mode: str, start, api: RuntimeAPIServer) -> None:
    function = start(mode, 4)
    function.wait_until_waiting(4)
    pid = function.process.pid
    children = _children(pid)
    if mode == "process":
        assert len(children) == 4
    in_flight = [api.enqueue({"sleep": 0.5, "n": n}) for n in range(2)]
    deadline = time.monotonic() + WAIT
    while sum(1 for request in list(api.requests) if request[0] == "GET") < 6:  # the 2 taken, re-polled
        assert time.monotonic() < deadline
        time.sleep(0.005)
    if mode != "process":
        time.sleep(0.05)  # both invocations are inside the handler
    function.process.send_signal(signal.SIGTERM)
    code = function.finish(timeout=10)
    output = function.output()
    for child in children:
        assert not Path(f"/proc/{child}").exists(), f"worker process {child} outlived the runtime"
    if mode == "process":
        assert code == 0, output  # forwarded to each worker (which dies of it), then exits
    else:
        # In-process: stop fetching, let the invocations in flight finish, exit 0.
        assert code == 0, output
        for request_id in in_flight:
            assert not api.results[request_id].is_error
    assert "stopping the runtime" not in output, output


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(text) for text in path.read_text().split()] if path.exists() else []


def test_worker_output_reaches_stdout_in_whole_lines(start, api: RuntimeAPIServer) -> None:
    """Eight processes printing 100 KB lines at once (far above PIPE_BUF): no line is cut or mixed."""
    width, lines = 100_000, 15
    characters = "ABCDEFGH"
    for character in characters:
        api.enqueue({"lines": lines, "char": character, "width": width})
    function = start("process", 8, invocations=8, cli=True)
    assert function.finish(timeout=60) == 0, function.output()[-2000:]
    stdout = function.stdout()
    printed = [line for line in stdout.split(b"\n") if line and line[:1] in characters.encode()]
    assert len(printed) == lines * len(characters)
    for line in printed:
        assert len(line) == width and line == line[:1] * width, (len(line), line[:20], line[-20:])
    assert Counter(line[:1] for line in printed) == {character.encode(): lines for character in characters}


@pytest.mark.parametrize("mode", MODES)
def test_streaming_handlers_stream_concurrently(mode: str, start, api: RuntimeAPIServer) -> None:
    function = start(mode, 4, handler="stream_handler", invocations=4)
    function.wait_until_waiting(4)
    began = time.monotonic()
    request_ids = [api.enqueue(b"{}") for _ in range(4)]
    results = [api.wait_for(request_id, timeout=WAIT) for request_id in request_ids]
    assert time.monotonic() - began < 2 * 0.2 * 4 / 2, "the streams ran one after another"
    for request_id, result in zip(request_ids, results, strict=True):
        assert result.streamed and not result.is_error
        assert result.body == b"first|" + request_id.encode()
    assert function.finish() == 0, function.output()


@pytest.mark.parametrize("mode", MODES)
def test_each_log_record_names_its_own_invocation(mode: str, start, api: RuntimeAPIServer) -> None:
    request_ids = [api.enqueue({"sleep": 0.05, "n": n}) for n in range(16)]
    function = start(mode, 4, invocations=16)
    assert function.finish() == 0, function.output()
    stdout = function.stdout()
    records = re.findall(r"\[INFO\]\t\S+\t(\S*)\t(start|end) (\S+)", stdout.decode())
    assert len(records) == 32, stdout.decode()[-2000:]
    for record_id, _, message_id in records:
        assert record_id == message_id
    assert {message_id for _, _, message_id in records} == set(request_ids)


@pytest.mark.parametrize("mode", MODES)
def test_the_trace_id_variable_is_per_invocation_only_where_a_process_has_one(
    mode: str, start, api: RuntimeAPIServer
) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    request_id = api.enqueue({"n": 1}, headers={"Lambda-Runtime-Trace-Id": trace})
    function = start(mode, 2, invocations=1)
    assert function.finish() == 0, function.output()
    answer = api.results[request_id].json()
    assert answer["context_trace"] == trace
    assert answer["environ_trace"] == (trace if mode == "process" else None)


@pytest.mark.parametrize("mode", ("process", "threads"))
def test_an_init_error_is_reported_exactly_once(mode: str, api: RuntimeAPIServer, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('no configuration')\n")
    environment = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_MAX_CONCURRENCY": "4",
        "LAMBDA_MANAGED_RUNTIME": "0" if mode == "process" else "1",
    }
    finished = subprocess.run(
        [sys.executable, "-m", "lambda_runtime", "broken.handler"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        timeout=WAIT,
        check=False,
    )
    output = finished.stdout.decode() + finished.stderr.decode()
    assert finished.returncode == 1, output
    time.sleep(0.2)
    assert len(api.init_errors) == 1, output
    body = json.loads(api.init_errors[0].body)
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "no configuration" in body["errorMessage"]
    assert output.count("Init error: Runtime.ImportModuleError") == 1, output
    assert not any(request[0] == "GET" for request in api.requests), "no worker fetched an invocation"


def test_an_unusable_concurrency_setting_is_an_init_error(start, api: RuntimeAPIServer) -> None:
    function = start("process", 1, env={"AWS_LAMBDA_MAX_CONCURRENCY": "many"})
    assert function.finish() == 1
    assert len(api.init_errors) == 1
    assert json.loads(api.init_errors[0].body)["errorType"] == "Runtime.InvalidConfiguration"


@pytest.mark.parametrize("mode", MODES)
def test_the_local_server_runs_invocations_at_once_up_to_the_concurrency(mode: str, tmp_path: Path) -> None:
    """``python -m lambda_runtime serve`` with AWS_LAMBDA_MAX_CONCURRENCY=4: four slow invocations sent
    at once through /invoke all run together."""
    import concurrent.futures

    import httpx

    (tmp_path / "app.py").write_text(textwrap.dedent(FUNCTION), encoding="utf-8")
    handler = "app.async_handler" if mode == "asyncio" else "app.handler"
    environment = {
        **os.environ,
        "AWS_LAMBDA_MAX_CONCURRENCY": "4",
        "LOCAL_LAMBDA_PORT": "0",
        "TEST_MODE": mode,
        "LAMBDA_MANAGED_RUNTIME": "0" if mode == "process" else "1",
        "PYTHONUNBUFFERED": "1",
    }
    environment.pop("AWS_LAMBDA_RUNTIME_API", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lambda_runtime", "serve", handler],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WAIT
        while not (match := re.search(rb"listening on (\S+?):(\d+)", log.read_bytes())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        url = f"http://{match.group(1).decode()}:{match.group(2).decode()}/invoke"
        # One client for all (it is thread-safe): a client per request spends ~100 ms building its own
        # TLS context, which would be measured here.
        with httpx.Client(timeout=WAIT) as client, concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert client.post(url, json={"n": 0}).json()["n"] == 0  # every worker is up after this
            began = time.monotonic()
            futures = [pool.submit(client.post, url, json={"sleep": 0.3, "n": n}) for n in range(4)]
            answers = [future.result(timeout=WAIT).json() for future in futures]
            elapsed = time.monotonic() - began
        assert [answer["n"] for answer in answers] == [0, 1, 2, 3]
        assert elapsed < 2 * 0.3, f"4 invocations of 300 ms took {elapsed * 1000:.0f} ms"
        assert len({answer["pid"] for answer in answers}) == (4 if mode == "process" else 1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
