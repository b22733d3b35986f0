"""Fixtures for the local server: a server on an ephemeral port (on its own thread), a LambdaRuntime
serving a handler through it (on another thread), httpx clients, and bounded waits.

Every wait here has a timeout; every server and runtime a test starts is stopped and joined after it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lambda_runtime import LambdaRuntime
from lambda_runtime.local import LocalConfig, LocalServer

WAIT = 10.0  # the longest any single wait may take
JOIN = 10.0

LOCAL_ENVIRONMENT = (
    "LOCAL_LAMBDA_HOST",
    "LOCAL_LAMBDA_PORT",
    "LOCAL_LAMBDA_INVOCATION_ENDPOINT",
    "LOCAL_LAMBDA_TIMEOUT",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture(autouse=True)
def clean_local_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LOCAL_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


async def eventually(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """``wait_until`` for a coroutine: poll without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def run_async(scenario: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Run an async test scenario on a fresh event loop, bounded in time."""

    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


@dataclass
class Served:
    """A local server and, when a handler was given, the LambdaRuntime serving it on a thread."""

    server: LocalServer
    runtime_thread: threading.Thread | None = None
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def address(self) -> str:
        return self.server.address

    def runtime_exit(self, timeout: float = JOIN) -> object:
        """Wait for the runtime thread to end; its SystemExit code (None if run() returned)."""
        assert self.runtime_thread is not None
        self.runtime_thread.join(timeout)
        assert not self.runtime_thread.is_alive(), "the runtime did not stop"
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome.get("exit")


ServeLocally = Callable[..., Served]


@pytest.fixture
def serve_locally(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServeLocally]:
    """``serve_locally(handler=None, *, invocations=None, **config)``: a LocalServer on 127.0.0.1 (an
    ephemeral port) with ``LocalConfig(**config)``, and ``handler`` served through it by a LambdaRuntime
    on a thread (stopping after ``invocations``, if given). Stopped and joined after the test."""
    started: list[Served] = []

    def serve_locally(handler: object = None, *, invocations: int | None = None, **config: Any) -> Served:
        server = LocalServer(LocalConfig(**{"port": 0, **config}))
        server.start()
        served = Served(server)
        started.append(served)
        if handler is not None:
            if invocations is not None:
                monkeypatch.setenv("MAX_INVOCATIONS", str(invocations))
            runtime = LambdaRuntime(handler, runtime_api=server.address)

            def main() -> None:
                try:
                    runtime.run()
                except SystemExit as stop:
                    served.outcome["exit"] = stop.code
                except BaseException as error:
                    served.outcome["error"] = error

            served.runtime_thread = threading.Thread(target=main, name="local-test-runtime", daemon=True)
            served.runtime_thread.start()
        return served

    yield serve_locally
    for served in started:
        began = time.monotonic()
        served.server.stop(timeout=JOIN)
        assert time.monotonic() - began < 5, "stopping the local server took too long"
        if served.runtime_thread is not None:
            # Without its server the runtime's next /next fails, and it stops.
            served.runtime_thread.join(JOIN)
            assert not served.runtime_thread.is_alive(), "the runtime did not stop with its server"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(WAIT)) as http:
        yield http


@pytest.fixture
def local_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The local server's log records (it logs through the runtime's logger, ``lambda_runtime``)."""
    caplog.set_level(logging.DEBUG, logger="lambda_runtime")
    return caplog


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in list(caplog.records)]
