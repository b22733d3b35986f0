"""The invocation queue: first in, first out, to at most ``max_concurrency`` runtime callers at once.

Clients :meth:`~Dispatcher.submit` events; the runtime's ``/next`` requests take them in order
(:meth:`~Dispatcher.wait_next`). Each invocation carries a :class:`ResultChannel` back to its client.
A client that goes away leaves the queue (or, once its invocation runs, has the answer discarded);
an invocation that outlives its deadline fails with ``Sandbox.Timedout``; closing fails every client
still waiting. Everything here runs on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections import OrderedDict, deque

from .. import protocol
from .config import LocalConfig
from .results import Failure, ResultChannel

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

QUEUED = "queued"
RUNNING = "running"
STREAMING = "streaming"
ANSWERED = "answered"
TIMED_OUT = "timed out"
CANCELLED = "cancelled"
FAILED = "failed"

# How many finished request ids are remembered, to tell a late answer (410) from an unknown id (400).
_REMEMBERED = 1024


class ServerClosing(Exception):
    """The local server is shutting down."""


class PendingInvocation:
    """One event on its way through the server, and the channel that takes its result to the client."""

    __slots__ = (
        "client_context",
        "client_gone",
        "deadline_ms",
        "event",
        "invocation_id",
        "request_id",
        "results",
        "state",
        "tenant_id",
        "timer",
        "trace_id",
    )

    def __init__(self, event: bytes, tenant_id: str | None, client_context: str | None) -> None:
        self.request_id = str(uuid.uuid4())
        self.invocation_id = str(uuid.uuid4())
        self.event = event
        self.tenant_id = tenant_id
        self.client_context = client_context
        self.trace_id = _xray_trace_id()
        self.deadline_ms: int | None = None
        self.state = QUEUED
        self.client_gone = False
        self.results = ResultChannel()
        self.timer: asyncio.TimerHandle | None = None

    def to_invocation(self, function_arn: str) -> protocol.Invocation:
        """The invocation as the protocol module describes it, for the ``/next`` response."""
        return protocol.Invocation(
            self.request_id,
            self.event,
            deadline_ms=self.deadline_ms,
            invoked_function_arn=function_arn,
            trace_id=self.trace_id,
            client_context=self.client_context,
            tenant_id=self.tenant_id,
            invocation_id=self.invocation_id,
        )

    def __repr__(self) -> str:
        return f"PendingInvocation({self.request_id!r}, {self.state})"


def _xray_trace_id() -> str:
    """A new trace id in X-Ray's format, as Lambda passes it to a function."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Dispatcher:
    """Hands invocations to ``/next`` callers in FIFO order, ``config.max_concurrency`` at a time."""

    def __init__(self, config: LocalConfig, log: logging.Logger) -> None:
        self._config = config
        self._log = log
        self._queue: deque[PendingInvocation] = deque()
        self._waiters: deque[asyncio.Future[PendingInvocation]] = deque()
        self._active: dict[str, PendingInvocation] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()
        self._init_error: Failure | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        """Invocations waiting for the function."""
        return len(self._queue)

    @property
    def running(self) -> int:
        """Invocations the function has and has not answered yet (within their deadline)."""
        return len(self._active)

    # -- the client's side ---------------------------------------------------------------------------

    def submit(self, event: bytes, tenant_id: str | None, client_context: str | None) -> PendingInvocation:
        """Queue an event; its result arrives on the returned invocation's ``results``."""
        invocation = PendingInvocation(event, tenant_id, client_context)
        if self._closed:
            invocation.state = FAILED
            invocation.results.end(_shutting_down())
            return invocation
        if self._init_error is not None:
            failure, self._init_error = self._init_error, None
            invocation.state = FAILED
            invocation.results.end(failure)
            return invocation
        self._queue.append(invocation)
        self._dispatch()
        return invocation

    def cancel(self, invocation: PendingInvocation) -> None:
        """The client went away: forget a queued invocation, discard a running one's answer later."""
        invocation.client_gone = True
        invocation.results.abandon()
        if invocation.state == QUEUED:
            invocation.state = CANCELLED
            with contextlib.suppress(ValueError):
                self._queue.remove(invocation)
            self._log.info(
                "The client of invocation %s went away while it was queued: removed from the queue",
                invocation.request_id,
            )
        elif invocation.state in (RUNNING, STREAMING):
            self._log.warning(
                "The client of invocation %s went away while the function was running it: "
                "its answer will be discarded",
                invocation.request_id,
            )

    # -- the runtime's side --------------------------------------------------------------------------

    def wait_next(self) -> asyncio.Future[PendingInvocation]:
        """A future for the next invocation (a ``/next`` caller waits on it; cancel it to give up)."""
        if self._closed:
            raise ServerClosing("the local server is shutting down")
        # A runtime asking for work is up again: an init error already reported is not repeated.
        self._init_error = None
        waiter: asyncio.Future[PendingInvocation] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._dispatch()
        return waiter

    def requeue(self, invocation: PendingInvocation) -> None:
        """An invocation handed to a ``/next`` caller that vanished goes back to the head of the queue."""
        if invocation.state != RUNNING:
            return
        self._stop_clock(invocation)
        del self._active[invocation.request_id]
        if invocation.client_gone:
            invocation.state = CANCELLED
        else:
            invocation.state = QUEUED
            invocation.deadline_ms = None
            self._queue.appendleft(invocation)
        self._dispatch()

    def lookup(self, request_id: str) -> PendingInvocation | str | None:
        """The running invocation with this id; else the state it finished in; else ``None``."""
        invocation = self._active.get(request_id)
        if invocation is not None:
            return invocation
        return self._finished.get(request_id)

    def finish(self, invocation: PendingInvocation, state: str = ANSWERED) -> None:
        """The runtime answered ``invocation``: its slot goes to the next one."""
        if self._active.pop(invocation.request_id, None) is None:
            return
        self._stop_clock(invocation)
        invocation.state = state
        self._remember(invocation.request_id, state)
        self._dispatch()

    def init_failed(self, failure: Failure) -> None:
        """The runtime could not start: the next client in line gets the error (or the next to come)."""
        while self._queue:
            invocation = self._queue.popleft()
            if invocation.results.end(failure):
                invocation.state = FAILED
                return
        self._init_error = failure

    def close(self) -> None:
        """Fail every waiting client and ``/next`` caller; refuse what comes after."""
        if self._closed:
            return
        self._closed = True
        for invocation in [*self._queue, *self._active.values()]:
            self._stop_clock(invocation)
            invocation.state = FAILED
            invocation.results.end(_shutting_down())
        self._queue.clear()
        self._active.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ServerClosing("the local server is shutting down"))
                # A /next caller that vanished leaves a waiter nobody reads: that is expected here.
                waiter.exception()

    # -- inside --------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        limit = self._config.max_concurrency
        while self._queue and len(self._active) < limit:
            waiter = self._next_waiter()
            if waiter is None:
                return
            invocation = self._queue.popleft()
            self._start_clock(invocation)
            self._active[invocation.request_id] = invocation
            invocation.state = RUNNING
            waiter.set_result(invocation)

    def _next_waiter(self) -> asyncio.Future[PendingInvocation] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                return waiter
        return None

    def _start_clock(self, invocation: PendingInvocation) -> None:
        timeout = self._config.timeout
        invocation.deadline_ms = int(time.time() * 1000 + timeout * 1000)
        invocation.timer = asyncio.get_running_loop().call_later(timeout, self._expire, invocation)

    @staticmethod
    def _stop_clock(invocation: PendingInvocation) -> None:
        if invocation.timer is not None:
            invocation.timer.cancel()
            invocation.timer = None

    def _expire(self, invocation: PendingInvocation) -> None:
        invocation.timer = None
        if self._active.get(invocation.request_id) is not invocation:
            return
        timeout = self._config.timeout
        self._log.warning(
            "Invocation %s timed out after %.2f seconds (LOCAL_LAMBDA_TIMEOUT); "
            "a late answer from the function will get 410 Gone",
            invocation.request_id,
            timeout,
        )
        invocation.results.end(Failure.of("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"))
        self.finish(invocation, TIMED_OUT)

    def _remember(self, request_id: str, state: str) -> None:
        self._finished[request_id] = state
        if len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)


def _shutting_down() -> Failure:
    return Failure.of(
        "LocalServerShutdown",
        "The local Lambda server is shutting down: this invocation was not completed",
        status=503,
        function_error=False,
    )
