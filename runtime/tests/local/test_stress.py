"""The local server under load: 1,000 concurrent clients, some of them going away at random (while
queued, while the function runs, in the middle of a stream), and afterwards every remaining client was
answered correctly and nothing leaked: no task, thread or socket is left behind. Also: a streaming
handler that blocks past its deadline costs its client the deadline, not the server."""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from typing import Any

import httpx
import pytest

from lambda_runtime import LambdaContext, LambdaRuntime, ResponseStream
from lambda_runtime.local import LocalConfig, LocalServer

from .conftest import JOIN, WAIT, ServeLocally, run_async, wait_until

CLIENTS = 1000


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def streamer(raw: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Three pieces, a moment apart: long enough for a client to leave in the middle."""
    event = json.loads(raw)
    for index in range(3):
        stream.write(f"{event['n']}:{index};")
        if event["slow"]:
            time.sleep(0.002)


async def one_client(http: httpx.AsyncClient, url: str, n: int, fate: str) -> tuple[int, str, str | None]:
    """``fate``: ``stay`` reads the whole answer; ``leave-early`` goes away at a random moment;
    ``leave-mid-stream`` goes away after the first piece of the stream."""
    body = {"n": n, "slow": fate == "leave-mid-stream" or n % 10 == 0}
    if fate == "leave-early":
        request = asyncio.ensure_future(http.post(url, json=body))
        await asyncio.sleep(random.uniform(0, 0.5))
        request.cancel()
        try:
            response = await request
        except asyncio.CancelledError:
            return n, fate, None
        return n, fate, response.text
    async with http.stream("POST", url, json=body) as response:
        if fate == "leave-mid-stream":
            async for _ in response.aiter_raw():
                break  # leaving the block closes the connection with the rest unread
            return n, fate, None
        return n, fate, (await response.aread()).decode()


def test_a_thousand_concurrent_clients_some_leaving(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1000)
    fates = [rng.choice(["stay"] * 8 + ["leave-early", "leave-mid-stream"]) for _ in range(CLIENTS)]
    threads_before = set(threading.enumerate())
    fds_before = open_fds()

    server = LocalServer(LocalConfig(port=0))
    server.start()
    runtime = LambdaRuntime(streamer, runtime_api=server.address)
    outcome: dict[str, object] = {}

    def main() -> None:
        try:
            runtime.run()
        except SystemExit as stop:
            outcome["exit"] = stop.code

    runtime_thread = threading.Thread(target=main, name="stress-runtime", daemon=True)
    runtime_thread.start()

    async def scenario() -> list[tuple[int, str, str | None]]:
        tasks_before = asyncio.all_tasks()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=httpx.Timeout(40.0), limits=limits) as http:
            results = await asyncio.gather(
                *(one_client(http, server.url, n, fate) for n, fate in enumerate(fates))
            )
        # Cancelled requests finish unwinding, and the garbage collector may hand httpx's abandoned
        # response streams to the loop to close (async generator finalizers): a moment, bounded.
        for _ in range(200):
            if asyncio.all_tasks() == tasks_before:
                break
            await asyncio.sleep(0.01)
        assert asyncio.all_tasks() == tasks_before
        return results

    try:
        results = run_async(scenario, timeout=50.0)
        # Every client that stayed got its own whole answer.
        for n, fate, text in results:
            if fate == "stay":
                assert text == f"{n}:0;{n}:1;{n}:2;", (n, text)
        stayed = sum(fate == "stay" for fate in fates)
        assert stayed > CLIENTS * 0.7
        # Nothing is left waiting or running, and only the runtime's own connection is still open.
        wait_until(lambda: server.queued == 0 and server.running == 0, what="the queue to drain")
        wait_until(lambda: len(server._connections) <= 1, what="client connections to close")
    finally:
        server.stop(timeout=JOIN)
        runtime_thread.join(JOIN)
    assert not runtime_thread.is_alive()
    assert outcome.get("exit") == 1  # its Runtime API went away with the server
    wait_until(lambda: set(threading.enumerate()) <= threads_before, what="threads to end")
    wait_until(lambda: open_fds() <= fds_before, what="sockets to close")


def test_a_streaming_handler_blocked_past_its_deadline_costs_only_its_client_the_deadline(
    serve_locally: ServeLocally,
) -> None:
    """The runtime cannot stop a handler (Python cannot kill a thread safely); the deadline bounds what
    the client waits. Once the handler returns, its late stream gets 410 Gone and the runtime serves on."""
    release = threading.Event()

    def handler(event: Any, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"started;")
        if event == b'"block"':  # a streaming handler gets the raw event
            release.wait(WAIT)
            stream.write(b"too late")

    served = serve_locally(handler, timeout=0.5)
    with httpx.Client(timeout=WAIT) as http:
        began = time.monotonic()
        response = http.post(served.url, json="block")
        waited = time.monotonic() - began
        # Answered at the deadline: what was streamed so far, ended by the timeout error's trailers.
        assert 0.4 < waited < 5
        assert (response.status_code, response.content) == (200, b"started;")
        release.set()
        assert http.post(served.url, json="next").content == b"started;"
