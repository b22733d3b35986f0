"""The lifecycle extra: init and shutdown hooks, the shutdown budget, a graceful stop on SIGTERM and
SIGINT (while waiting for /next and while an invocation is in flight), and the internal extension that
makes Lambda send SIGTERM, registered against a test server that plays the Extensions API."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_on_thread
from lambda_runtime import LambdaRuntime, lifecycle, protocol
from lambda_runtime.lifecycle import Lifecycle
from lambda_runtime.lifecycle.extension import EXTENSION_NAME, ShutdownExtension
from lambda_runtime.protocol import extensions as extension_protocol
from lambda_runtime.testing import RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

PROCESS_TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def fresh_lifecycle() -> Iterator[Lifecycle]:
    """Hooks are registered process-wide: each test starts with none."""
    yield lifecycle._reset_for_tests()
    lifecycle._reset_for_tests()


def echo(event: object, context: object) -> object:
    return event


# --- hooks, in process --------------------------------------------------------------------------------


def test_init_hooks_run_before_the_first_invocation_and_shutdown_hooks_after_the_last(
    api: RuntimeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def handler(event: object, context: object) -> object:
        calls.append(f"invoke {event}")
        return event

    runtime = LambdaRuntime(handler, runtime_api=api.address)

    @runtime.on_init
    def open_pool() -> None:
        calls.append("init")

    @runtime.on_shutdown
    def close_pool() -> None:
        calls.append("shutdown")

    request_ids = [api.enqueue(index) for index in range(2)]
    monkeypatch.setenv("MAX_INVOCATIONS", "2")
    assert run_on_thread(runtime.run) is None
    assert [api.wait_for(request_id).json() for request_id in request_ids] == [0, 1]
    assert calls == ["init", "invoke 0", "invoke 1", "shutdown"]


def test_generator_and_async_hooks_open_at_init_and_close_at_shutdown(
    api: RuntimeAPIServer, run: RunRuntime
) -> None:
    calls: list[str] = []

    @lifecycle.on_init
    def database() -> Iterator[None]:
        calls.append("open database")
        yield
        calls.append("close database")

    @lifecycle.on_init
    async def client() -> object:
        await asyncio.sleep(0)
        calls.append("open client")
        yield
        calls.append("close client")

    @lifecycle.on_shutdown
    async def flush() -> None:
        await asyncio.sleep(0.01)
        calls.append("flush")

    request_id = api.enqueue({"x": 1})
    assert run(echo, api.address, 1) is None
    assert api.wait_for(request_id).json() == {"x": 1}
    # Shutdown hooks first (they may still use the resources), then the resources, last opened first.
    assert calls == ["open database", "open client", "flush", "close client", "close database"]


def test_a_failing_init_hook_is_an_init_error(api: RuntimeAPIServer, run: RunRuntime) -> None:
    @lifecycle.on_init
    def connect() -> None:
        raise ConnectionRefusedError("the database is not there")

    assert run(echo, api.address, 1) == 1
    [init_error] = api.init_errors
    assert init_error.error_type == "Function.ConnectionRefusedError"
    assert b"the database is not there" in init_error.body
    assert not [request for request in api.requests if request[1] == protocol.NEXT_PATH]


def test_an_invalid_budget_is_an_init_error(
    api: RuntimeAPIServer, run: RunRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_SHUTDOWN_BUDGET_MS", "half a second")
    lifecycle.on_shutdown(lambda: None)
    assert run(echo, api.address, 1) == 1
    [init_error] = api.init_errors
    assert init_error.error_type == "Runtime.InvalidConfiguration"
    assert b"LAMBDA_SHUTDOWN_BUDGET_MS" in init_error.body


def test_a_failing_shutdown_hook_is_logged_and_the_others_still_run(
    fresh_lifecycle: Lifecycle, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    fresh_lifecycle.on_shutdown(lambda: calls.append("first registered"))

    @fresh_lifecycle.on_shutdown
    def broken() -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.INFO, logger="lambda_runtime"):
        fresh_lifecycle.shut_down()
    assert calls == ["first registered"]
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "broken failed: OSError: disk full" in failure.getMessage()
    fresh_lifecycle.shut_down()  # only once
    assert calls == ["first registered"]


def run_off_the_main_thread(target: object) -> None:
    thread = threading.Thread(target=target)  # type: ignore[arg-type]
    thread.start()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("where", ["main thread", "other thread"])
def test_a_hook_over_budget_is_abandoned_and_the_rest_skipped(
    where: str, fresh_lifecycle: Lifecycle, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    fresh_lifecycle.shutdown_budget = 0.2
    fresh_lifecycle.on_shutdown(lambda: calls.append("never reached"))

    @fresh_lifecycle.on_shutdown
    def slow() -> None:
        calls.append("slow started")
        time.sleep(5)
        calls.append("slow finished")

    fresh_lifecycle.on_shutdown(lambda: calls.append("fast"))
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="lambda_runtime"):
        if where == "main thread":
            fresh_lifecycle.shut_down()
        else:
            run_off_the_main_thread(fresh_lifecycle.shut_down)
    elapsed = time.monotonic() - started
    assert calls == ["fast", "slow started"]
    assert 0.15 < elapsed < 2.0  # generous: the machine is shared
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("slow did not finish within the 200 ms budget: abandoned" in message for message in messages)
    assert any("used up: skipped" in message for message in messages)


def test_an_async_hook_over_budget_is_cancelled(
    fresh_lifecycle: Lifecycle, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_lifecycle.shutdown_budget = 0.1
    cancelled: list[bool] = []

    @fresh_lifecycle.on_shutdown
    async def slow_flush() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    run_off_the_main_thread(fresh_lifecycle.shut_down)
    deadline = time.monotonic() + 2  # the cancellation completes on the hook's own thread
    while not cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cancelled == [True]
    assert any("slow_flush did not finish" in record.getMessage() for record in caplog.records)


def test_a_stop_request_while_an_invocation_runs_lets_it_finish(
    api: RuntimeAPIServer, run: RunRuntime
) -> None:
    """Off the main thread there are no signal handlers: request_stop is what a signal handler calls."""
    calls: list[str] = []

    def handler(event: object, context: object) -> object:
        lifecycle.current_lifecycle().request_stop("a test")
        time.sleep(0.05)
        calls.append("finished")
        return event

    lifecycle.on_shutdown(lambda: calls.append("shutdown"))
    first, second = api.enqueue(["first"]), api.enqueue(["second"])
    assert run(handler, api.address) == 0
    assert api.wait_for(first).json() == ["first"]
    assert second not in api.results
    assert calls == ["finished", "shutdown"]


# --- the Extensions API -------------------------------------------------------------------------------


def test_the_register_request_on_the_wire() -> None:
    request = extension_protocol.extension_register_request("127.0.0.1:9001", EXTENSION_NAME)
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /2020-01-01/extension/register HTTP/1.1"
    assert f"Lambda-Extension-Name: {EXTENSION_NAME}" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert body == b'{"events":[]}'
    assert extension_protocol.extension_register_request("h:1", "x", ["INVOKE"]).endswith(
        b'{"events":["INVOKE"]}'
    )
    with pytest.raises(ValueError, match="unknown extension events"):
        extension_protocol.extension_register_request("h:1", "x", ["SPINDOWN"])
    with pytest.raises(ValueError, match="extension name"):
        extension_protocol.extension_register_request("h:1", "bad\r\nname")


def test_the_next_request_and_the_answers() -> None:
    assert extension_protocol.extension_next_request("h:1", "abc-123") == (
        b"GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: h:1\r\n"
        + f"User-Agent: {protocol.USER_AGENT}\r\n".encode()
        + b"Lambda-Extension-Identifier: abc-123\r\n\r\n"
    )
    with pytest.raises(protocol.ProtocolError):
        extension_protocol.extension_next_request("h:1", "a\r\nb")
    assert (
        extension_protocol.extension_identifier(200, {"lambda-extension-identifier": "id-1"}, b"{}") == "id-1"
    )
    with pytest.raises(protocol.ProtocolError, match="refused the registration with 403"):
        extension_protocol.extension_identifier(403, {}, b'{"errorType":"Extension.Forbidden"}')
    with pytest.raises(protocol.ProtocolError, match="no extension identifier"):
        extension_protocol.extension_identifier(200, {}, b"{}")
    shutdown = b'{"eventType":"SHUTDOWN","shutdownReason":"spindown"}'
    assert extension_protocol.extension_event_type(shutdown) == "SHUTDOWN"
    with pytest.raises(protocol.ProtocolError):
        extension_protocol.extension_event_type(b"[]")


def test_the_extension_registers_for_no_event_and_waits_on_its_own_connection(api: RuntimeAPIServer) -> None:
    extension = ShutdownExtension(api.address)
    identifier = extension.register()
    extension.start()
    deadline = time.monotonic() + 5
    while api.extension_waits < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.extensions == [(EXTENSION_NAME, [])]
    assert api.extension_waits == 1
    [register] = [
        request for request in api.requests if request[1] == extension_protocol.EXTENSION_REGISTER_PATH
    ]
    assert register[2]["lambda-extension-name"] == EXTENSION_NAME
    [wait] = [request for request in api.requests if request[1] == extension_protocol.EXTENSION_NEXT_PATH]
    assert wait[2]["lambda-extension-identifier"] == identifier
    extension.close()


def test_a_refused_registration_is_a_warning_and_the_runtime_serves_on(
    monkeypatch: pytest.MonkeyPatch, run: RunRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoExtensions(RuntimeAPIServer):
        def _register_extension(self, name: str, body: bytes) -> str | None:
            return None

    with NoExtensions(next_timeout=5) as api:
        monkeypatch.setenv("LAMBDA_SHUTDOWN_EXTENSION", "1")
        request_id = api.enqueue({"still": "served"})
        assert run(echo, api.address, 1) is None
        assert api.wait_for(request_id).json() == {"still": "served"}
    output = capsys.readouterr().out
    assert "could not register the internal extension" in output
    assert "refused the registration with 400" in output


# --- a real process and real signals ------------------------------------------------------------------

APP = """
import time
from lambda_runtime.lifecycle import on_init, on_shutdown

@on_init
def journal():
    global log
    log = open(LOG_PATH, "a")
    log.write("opened\\n")
    log.flush()
    yield
    log.write("closed\\n")
    log.close()

@on_shutdown
def flush():
    log.write("shutdown hook\\n")

def handler(event, context):
    log.write(f"started {event['name']}\\n")
    log.flush()
    time.sleep(event.get("sleep", 0))
    log.write(f"finished {event['name']}\\n")
    return {"hello": event["name"]}
"""


def start_function(tmp_path: Path, api: RuntimeAPIServer, **env: str) -> subprocess.Popen[bytes]:
    journal = tmp_path / "journal.txt"
    (tmp_path / "app.py").write_text(f"LOG_PATH = {str(journal)!r}\n" + textwrap.dedent(APP))
    return subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", "app.handler"],
        cwd=tmp_path,
        env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_line(path: Path, line: str, timeout: float = PROCESS_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text().splitlines():
            return
        time.sleep(0.02)
    raise AssertionError(f"{line!r} never appeared in {path}: {path.read_text() if path.exists() else ''}")


def stop(process: subprocess.Popen[bytes], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=PROCESS_TIMEOUT)
        raise AssertionError(f"the function did not stop on {signum}: {output.decode()}") from None
    return process.returncode, output.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_for_next_runs_the_hooks_and_exits_0(tmp_path: Path, signum: int) -> None:
    with RuntimeAPIServer(next_timeout=60) as api:
        request_id = api.enqueue({"name": "Ada"})
        process = start_function(tmp_path, api, LAMBDA_SHUTDOWN_EXTENSION="true")
        assert api.wait_for(request_id, timeout=PROCESS_TIMEOUT).json() == {"hello": "Ada"}
        # The runtime is now blocked in recv() on its next /next, which the server holds open.
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while [r[1] for r in api.requests].count(protocol.NEXT_PATH) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        code, output = stop(process, signum)
        elapsed = time.monotonic() - started
        assert api.extensions == [(EXTENSION_NAME, [])]
        assert api.extension_waits == 1
    assert code == 0, output
    assert elapsed < 5, output  # the wait for /next was cut short, not sat out
    journal = (tmp_path / "journal.txt").read_text().splitlines()
    assert journal == ["opened", "started Ada", "finished Ada", "shutdown hook", "closed"]
    assert f"Shutting down after {signal.Signals(signum).name}" in output


def test_sigterm_during_an_invocation_lets_it_finish_and_post_first(tmp_path: Path) -> None:
    with RuntimeAPIServer(next_timeout=60) as api:
        first = api.enqueue({"name": "Grace", "sleep": 1.0})
        second = api.enqueue({"name": "never served"})
        process = start_function(tmp_path, api)
        wait_for_line(tmp_path / "journal.txt", "started Grace")
        code, output = stop(process, signal.SIGTERM)
        assert api.wait_for(first, timeout=1).json() == {"hello": "Grace"}
        assert second not in api.results
        assert [r[1] for r in api.requests].count(protocol.NEXT_PATH) == 1  # it stopped fetching
        assert api.extensions == []  # not asked for
    assert code == 0, output
    journal = (tmp_path / "journal.txt").read_text().splitlines()
    assert journal == ["opened", "started Grace", "finished Grace", "shutdown hook", "closed"]


def test_without_the_extra_sigterm_keeps_its_default_meaning(tmp_path: Path) -> None:
    """No lifecycle import, no variable: the runtime installs nothing and SIGTERM kills the process."""
    (tmp_path / "plain.py").write_text("def handler(event, context):\n    return event\n")
    with RuntimeAPIServer(next_timeout=60) as api:
        request_id = api.enqueue({"plain": True})
        process = subprocess.Popen(
            [sys.executable, "-m", "lambda_runtime", "plain.handler"],
            cwd=tmp_path,
            env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert api.wait_for(request_id, timeout=PROCESS_TIMEOUT).json() == {"plain": True}
        code, _ = stop(process, signal.SIGTERM)
    assert code == -signal.SIGTERM


def test_a_second_ctrl_c_interrupts_a_slow_invocation_but_not_the_hooks(fresh_lifecycle: Lifecycle) -> None:
    from lambda_runtime.lifecycle.signals import STOP_SIGNALS, install_stop_signals

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        assert install_stop_signals(fresh_lifecycle)  # pytest runs tests on the main thread
        stop = signal.getsignal(signal.SIGINT)
        assert callable(stop)
        stop(signal.SIGINT, None)  # the first: a stop request, the invocation in flight goes on
        assert fresh_lifecycle.stop_requested
        with pytest.raises(KeyboardInterrupt):
            stop(signal.SIGINT, None)  # the second: do not wait for it
        fresh_lifecycle.shut_down()
        stop(signal.SIGINT, None)  # once the hooks run, signals change nothing
        stop(signal.SIGTERM, None)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert not install_stop_signals_off_the_main_thread(fresh_lifecycle)


def install_stop_signals_off_the_main_thread(target: Lifecycle) -> bool:
    from lambda_runtime.lifecycle.signals import install_stop_signals

    installed: list[bool] = []
    run_off_the_main_thread(lambda: installed.append(install_stop_signals(target)))
    return installed[0]


@pytest.mark.parametrize(
    ("mode", "env", "inits", "signum"),
    [
        ("a process per worker", {}, 2, signal.SIGTERM),
        ("threads in one process", {"LAMBDA_MANAGED_RUNTIME": "1"}, 1, signal.SIGTERM),
        ("threads in one process", {"LAMBDA_MANAGED_RUNTIME": "1"}, 1, signal.SIGINT),
    ],
    ids=["processes-SIGTERM", "threads-SIGTERM", "threads-SIGINT"],
)
def test_a_stop_signal_with_several_workers_runs_each_inits_hooks_once_and_exits_0(
    tmp_path: Path, mode: str, env: dict[str, str], inits: int, signum: int
) -> None:
    """With AWS_LAMBDA_MAX_CONCURRENCY=2, every init that ran (one per worker process, or one shared by
    the threads) gets its shutdown hooks and its resource closed, after the invocation in flight."""
    with RuntimeAPIServer(next_timeout=60) as api:
        request_id = api.enqueue({"name": "Ada"})
        process = start_function(tmp_path, api, AWS_LAMBDA_MAX_CONCURRENCY="2", **env)
        assert api.wait_for(request_id, timeout=PROCESS_TIMEOUT).json() == {"hello": "Ada"}
        # Both workers are now waiting in /next: the two first requests and the one after the answer.
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while [r[1] for r in api.requests].count(protocol.NEXT_PATH) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        code, output = stop(process, signum)
    assert code == 0, output
    journal = (tmp_path / "journal.txt").read_text().splitlines()
    assert journal.count("opened") == inits, journal
    assert journal.count("shutdown hook") == inits, journal
    assert journal.count("closed") == inits, journal
    last_hook = len(journal) - 1 - journal[::-1].index("shutdown hook")
    assert journal.index("finished Ada") < last_hook, journal  # the busy worker's hooks came after it
    assert journal.count("started Ada") == journal.count("finished Ada") == 1, journal
