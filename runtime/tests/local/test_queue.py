"""Concurrent clients: FIFO order, one response per client, cancellation that touches only its own
invocation, AWS_LAMBDA_MAX_CONCURRENCY, and a shutdown that fails every waiting client without
hanging or leaking tasks and threads."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from lambda_runtime import LambdaContext
from lambda_runtime.local import LocalConfig, LocalServer
from lambda_runtime.transport import RuntimeClient

from .conftest import WAIT, ServeLocally, eventually, messages, run_async, wait_until


def gated_handler(gate: threading.Event, seen: list[int], gated: int = 0) -> Any:
    """A handler that records each event's ``n`` and holds invocation ``gated`` until ``gate`` is set."""

    def handler(event: dict[str, int], context: LambdaContext) -> dict[str, int]:
        seen.append(event["n"])
        if event["n"] == gated:
            assert gate.wait(WAIT), "the test never opened the gate"
        return {"n": event["n"]}

    return handler


def async_client(connections: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=httpx.Timeout(WAIT), limits=limits)


def test_50_rapid_invocations_reach_the_function_in_fifo_order_and_all_are_answered(
    serve_locally: ServeLocally,
) -> None:
    gate = threading.Event()
    seen: list[int] = []
    served = serve_locally(gated_handler(gate, seen))
    server = served.server

    async def scenario() -> None:
        async with async_client() as client:
            # The first invocation holds the function; the other 49 queue behind it, in the order sent.
            tasks = [asyncio.create_task(client.post(served.url, json={"n": 0}))]
            await eventually(lambda: server.running == 1, what="the first invocation to run")
            for n in range(1, 50):
                tasks.append(asyncio.create_task(client.post(served.url, json={"n": n})))
                await eventually(lambda n=n: server.queued == n, what=f"invocation {n} to queue")  # type: ignore[misc]
            gate.set()
            responses = await asyncio.gather(*tasks)
            assert [response.json()["n"] for response in responses] == list(range(50))
            assert all(response.status_code == 200 for response in responses)

            # 50 more, sent all at once: every client gets its own answer.
            burst = await asyncio.gather(*(client.post(served.url, json={"n": 100 + n}) for n in range(50)))
            assert [response.json()["n"] for response in burst] == [100 + n for n in range(50)]

    run_async(scenario)
    assert seen[:50] == list(range(50))
    assert sorted(seen[50:]) == [100 + n for n in range(50)]
    assert server.queued == server.running == 0


def test_of_3_waiting_clients_only_the_cancelled_one_fails(serve_locally: ServeLocally) -> None:
    gate = threading.Event()
    seen: list[int] = []
    served = serve_locally(gated_handler(gate, seen))
    server = served.server

    async def scenario() -> None:
        async with async_client() as client:
            running = asyncio.create_task(client.post(served.url, json={"n": 0}))
            await eventually(lambda: server.running == 1)
            waiting = []
            for n in (1, 2, 3):
                waiting.append(asyncio.create_task(client.post(served.url, json={"n": n})))
                await eventually(lambda n=n: server.queued == n)  # type: ignore[misc]
            waiting[1].cancel()  # client 2 gives up: its connection closes
            await eventually(lambda: server.queued == 2, what="the cancelled invocation to leave the queue")
            gate.set()
            first, second, third = await asyncio.gather(running, waiting[0], waiting[2])
            assert (first.json(), second.json(), third.json()) == ({"n": 0}, {"n": 1}, {"n": 3})
            with pytest.raises(asyncio.CancelledError):
                await waiting[1]

    run_async(scenario)
    assert seen == [0, 1, 3]  # the function never saw the cancelled invocation


def test_5_concurrent_invocations_one_cancelled_while_running(
    serve_locally: ServeLocally, local_logs: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()
    seen: list[int] = []
    served = serve_locally(gated_handler(gate, seen, gated=0))
    server = served.server

    async def scenario() -> None:
        async with async_client() as client:
            tasks = [asyncio.create_task(client.post(served.url, json={"n": 0}))]
            await eventually(lambda: server.running == 1)
            for n in range(1, 5):
                tasks.append(asyncio.create_task(client.post(served.url, json={"n": n})))
                await eventually(lambda n=n: server.queued == n)  # type: ignore[misc]
            tasks[0].cancel()  # its invocation is already with the function
            await eventually(
                lambda: any("went away while the function was running" in m for m in messages(local_logs)),
                what="the server to notice the cancellation",
            )
            gate.set()
            answered = await asyncio.gather(*tasks[1:])
            assert [response.json() for response in answered] == [{"n": n} for n in range(1, 5)]

    run_async(scenario)
    # The function ran all five; the cancelled one's answer was accepted (202) and dropped.
    assert seen == [0, 1, 2, 3, 4]
    wait_until(lambda: any("was discarded" in m for m in messages(local_logs)))
    assert served.runtime_thread is not None and served.runtime_thread.is_alive()


def test_max_concurrency_hands_out_that_many_invocations_at_once(serve_locally: ServeLocally) -> None:
    served = serve_locally(max_concurrency=2)
    server = served.server
    handed: list[Any] = []
    lock = threading.Lock()

    def worker() -> None:
        runtime = RuntimeClient(served.address, timeout=WAIT)
        invocation = runtime.next()
        with lock:
            handed.append((runtime, invocation))

    async def scenario() -> None:
        async with async_client() as client:
            tasks = [asyncio.create_task(client.post(served.url, json={"n": n})) for n in range(3)]
            await eventually(lambda: server.queued == 3)
            workers = [threading.Thread(target=worker, daemon=True) for _ in range(3)]
            for thread in workers:
                thread.start()
            await eventually(lambda: len(handed) == 2, what="two invocations handed out")
            await asyncio.sleep(0.1)
            assert (len(handed), server.running, server.queued) == (2, 2, 1)  # the third /next waits
            with lock:
                runtime, invocation = handed[0]
            runtime.post_response(invocation, b'"done"')
            await eventually(lambda: len(handed) == 3, what="the third invocation after a slot freed")
            for runtime, invocation in handed[1:]:
                runtime.post_response(invocation, b'"done"')
            responses = await asyncio.gather(*tasks)
            assert [response.json() for response in responses] == ["done"] * 3
            for thread in workers:
                thread.join(WAIT)
            for runtime, _ in handed:
                runtime.close()

    run_async(scenario)


def test_shutdown_fails_every_waiting_client_and_never_hangs(serve_locally: ServeLocally) -> None:
    gate = threading.Event()
    seen: list[int] = []
    served = serve_locally(gated_handler(gate, seen))
    server = served.server
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with async_client() as client:
            tasks = [asyncio.create_task(client.post(served.url, json={"n": 0}))]
            await eventually(lambda: server.running == 1)
            for n in range(1, 4):
                tasks.append(asyncio.create_task(client.post(served.url, json={"n": n})))
            await eventually(lambda: server.queued == 3)
            began = time.monotonic()
            await asyncio.to_thread(server.stop)
            outcome["stop_seconds"] = time.monotonic() - began
            outcome["responses"] = await asyncio.gather(*tasks)

    run_async(scenario)
    gate.set()
    assert outcome["stop_seconds"] < 3
    for response in outcome["responses"]:
        assert response.status_code == 503
        assert response.json()["errorType"] == "LocalServerShutdown"
        assert "shutting down" in response.json()["errorMessage"]
        assert "x-amz-function-error" not in response.headers
    # Its server gone, the runtime stops on its own.
    assert served.runtime_exit() == 1
    assert seen == [0]


def test_async_use_leaves_no_task_and_no_thread_behind() -> None:
    threads_before = set(threading.enumerate())

    async def scenario() -> None:
        baseline = asyncio.all_tasks()
        server = LocalServer(LocalConfig(port=0))
        await server.start_async()
        runtime = RuntimeClient(server.address, timeout=WAIT)
        async with async_client() as client:
            # One invocation handed to a runtime, two queued, one idle keep-alive connection.
            first = asyncio.create_task(client.post(server.url, json={"n": 0}))
            await eventually(lambda: server.queued == 1)
            invocation = await asyncio.to_thread(runtime.next)
            await eventually(lambda: server.running == 1)
            others = [asyncio.create_task(client.post(server.url, json={"n": n})) for n in (1, 2)]
            await eventually(lambda: server.queued == 2)
            # A second runtime connection waits on /next while the server stops (limit 1: it waits).
            waiting_runtime = RuntimeClient(server.address, timeout=WAIT)
            pending_next = asyncio.create_task(asyncio.to_thread(_next_status, waiting_runtime))
            await asyncio.sleep(0.05)
            began = time.monotonic()
            await server.stop_async()
            assert time.monotonic() - began < 3
            responses = await asyncio.gather(first, *others)
            assert {response.status_code for response in responses} == {503}
            assert await pending_next == "stopped"
        with pytest.raises(Exception):  # noqa: B017 - the server is gone: any connection error will do
            runtime.post_response(invocation, b"{}")
        runtime.close()
        waiting_runtime.close()
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == baseline

    run_async(scenario)
    wait_until(lambda: set(threading.enumerate()) <= threads_before, what="worker threads to end")


def _next_status(runtime: RuntimeClient) -> str:
    try:
        runtime.next()
    except Exception:
        return "stopped"
    return "got an invocation"


def test_threaded_use_leaves_no_thread_behind(client: httpx.Client) -> None:
    threads_before = set(threading.enumerate())
    with LocalServer(LocalConfig(port=0)) as server:
        assert any(thread.name == "lambda-local-server" for thread in threading.enumerate())
        assert client.get(server.url).status_code == 405
    assert set(threading.enumerate()) <= threads_before


def test_a_port_in_use_is_reported_at_start() -> None:
    with LocalServer(LocalConfig(port=0)) as first:
        port = int(first.address.rpartition(":")[2])
        with pytest.raises(OSError):
            LocalServer(LocalConfig(port=port)).start()
