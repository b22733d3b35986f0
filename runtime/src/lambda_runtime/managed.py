"""``LambdaManagedRuntime``: several invocations at once in one process, sharing what init built.

The opt-in counterpart of :class:`~lambda_runtime.LambdaRuntime` on Lambda Managed Instances (the
analogue of the Swift runtime's ``LambdaManagedRuntime`` and its ``Sendable`` requirement): where
``LambdaRuntime`` gives each worker a process of its own, this one runs every worker in this process,
so a connection pool, an SDK client or a model loaded at init is built once and shared. In exchange the
handler must be safe to run concurrently; see the class's documentation for exactly what that means.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import queue
import threading

from .concurrency import InvocationBudget, worker_count
from .context import FunctionInfo, LambdaContext, current_context
from .errors import InitError
from .protocol import ProtocolError
from .runtime import LambdaRuntime, _log, _max_invocations, client_for_run
from .stop_signals import on_stop_signal
from .transport import ConnectionLost, RuntimeAPIError, RuntimeClient

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .handlers import AdaptedHandler

# How long workers get to finish what they are doing once one of them has failed, before the process
# exits without them.
FAILURE_GRACE_SECONDS = 5.0


class LambdaManagedRuntime(LambdaRuntime):
    """Serves ``AWS_LAMBDA_MAX_CONCURRENCY`` invocations at once, all in this process.

    It takes the same arguments as :class:`LambdaRuntime`. With ``AWS_LAMBDA_MAX_CONCURRENCY`` unset or
    1 it behaves exactly like it. Above 1 the handler is initialised once and then called by that many
    workers at the same time:

    * a plain ``def`` handler (or a class's ``handle``) runs on that many **threads**, each with its own
      connection to the Runtime API;
    * an ``async def`` handler runs as that many **tasks on one event loop**, each with its own
      connection (over asyncio).

    What the handler must guarantee (the runtime cannot check it):

    * **Shared state is safe under concurrency.** Module globals, class attributes, the handler object's
      attributes and whatever init created (caches, counters, clients, pools) are used by several
      invocations at once. With threads, anything mutated after init needs a lock, or a structure that is
      thread-safe for what you do with it; read-only data needs nothing. With tasks, state is only ever
      touched by one task at a time between two ``await``, but an invariant that spans an ``await``
      needs an ``asyncio.Lock``. Clients must support concurrent use (most SDK clients do; a single
      database connection does not: use a pool).
    * **Nothing per invocation goes in process-wide places.** Keep it in local variables, or read it from
      the ``context`` argument. ``os.environ`` is shared: the runtime does **not** set
      ``_X_AMZN_TRACE_ID`` per invocation in this mode (use ``context.trace_id``). The current working
      directory, ``sys.stdout`` redirection, signal handlers and ``/tmp`` file names are shared too.
    * **An ``async def`` handler does not block the event loop.** A blocking call (``time.sleep``,
      ``requests``, a CPU-bound loop) holds up every other invocation of the process: await, or move
      the work to a thread (``asyncio.to_thread``).
    * **Log through ``logging`` or ``context.logger``.** Each record is written whole and carries its own
      invocation's request id (it comes from a context variable, one per thread or task). ``print`` from
      several threads may interleave within a line.

    What the runtime guarantees: each invocation gets its own ``context``; ``lambda_runtime.
    current_context`` and every log record see the invocation of the thread or task they run in; a
    handler's exception, or a slow handler, affects only its own invocation; a worker that dies
    unexpectedly is reported in one log line and the runtime exits 1; on SIGTERM it stops fetching, lets
    the invocations in flight finish, and exits 0.
    """

    def _run_workers(self, address: str, concurrency: str, interrupted: int) -> None:
        serve_in_process(self, address, concurrency, interrupted)


def serve_in_process(runtime: LambdaRuntime, address: str, concurrency: str, interrupted: int) -> None:
    """Init once, then serve with threads (plain handler) or tasks (``async def``); exit as they end."""
    environ = os.environ
    client = client_for_run(address)
    try:
        try:
            count = worker_count(concurrency)
            limit = _max_invocations(environ)
        except InitError as error:
            runtime._report_init_error(client, error.error_type, str(error), error.stack_trace)
            raise SystemExit(1) from None
        adapted = runtime._initialise(client, environ)
    finally:
        client.close()
    budget = InvocationBudget(limit)
    if adapted.coroutine_function is not None:
        from .task_workers import serve_with_tasks

        code = serve_with_tasks(runtime, adapted, address, count, budget, interrupted)
    else:
        code = _serve_with_threads(runtime, adapted, address, count, budget, interrupted)
    lifecycle = runtime._lifecycle
    if lifecycle is not None:  # the lifecycle extra: shutdown hooks, once every worker has ended
        lifecycle.shut_down()
    if code:
        raise SystemExit(code)


class _StoppableClient(RuntimeClient):
    """A worker thread's client, which another thread can cut off while it waits in ``/next``."""

    _aborted = False

    def abort(self) -> None:
        self._aborted = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(_socket.SHUT_RDWR)

    def _connect(self) -> _socket.socket:
        if self._aborted:
            raise ConnectionLost("the runtime is stopping")
        return super()._connect()


class _ThreadWorker:
    __slots__ = ("client", "index", "waiting")

    def __init__(self, index: int, address: str) -> None:
        self.index = index
        self.client = _StoppableClient(address)
        self.waiting = False


def _serve_with_threads(
    runtime: LambdaRuntime,
    adapted: AdaptedHandler,
    address: str,
    count: int,
    budget: InvocationBudget,
    interrupted: int,
) -> int:
    function = FunctionInfo()
    workers = [_ThreadWorker(index, address) for index in range(count)]
    ended: queue.SimpleQueue[tuple[_ThreadWorker, BaseException | None]] = queue.SimpleQueue()

    def stop() -> None:
        """Stop fetching: cut off the workers waiting in /next; the others finish their invocation."""
        budget.stop()
        for worker in workers:
            if worker.waiting:
                worker.client.abort()

    def work(worker: _ThreadWorker) -> None:
        try:
            _serve_thread(runtime, adapted, worker, budget, function)
        except BaseException as error:
            ended.put((worker, error))
        else:
            ended.put((worker, None))
        finally:
            worker.client.close()

    threads = [
        threading.Thread(target=work, args=(worker,), name=f"lambda-runtime-worker-{worker.index + 1}")
        for worker in workers
    ]
    for thread in threads:
        thread.daemon = True  # a worker stuck in a handler must not keep a failing process alive
        thread.start()
    restore_signals = on_stop_signal(lambda number: stop(), runtime._lifecycle is not None)
    code = 0
    remaining = count
    deadline: float | None = None
    try:
        while remaining:
            try:
                timeout = 1.0 if deadline is None else deadline - _now()
                if timeout <= 0:
                    break  # the grace after a failure is over: leave without the stragglers
                worker, error = ended.get(timeout=timeout)
            except queue.Empty:
                continue
            except KeyboardInterrupt:
                stop()
                code = code or interrupted
                deadline = deadline or _now() + FAILURE_GRACE_SECONDS
                continue
            remaining -= 1
            if error is None or (budget.stopping and isinstance(error, ConnectionLost)):
                continue
            if code == 0:
                code = 1
                _report_worker_failure(worker.index, count, error)
                deadline = _now() + FAILURE_GRACE_SECONDS
            stop()
    finally:
        restore_signals()
    return code


def _serve_thread(
    runtime: LambdaRuntime,
    adapted: AdaptedHandler,
    worker: _ThreadWorker,
    budget: InvocationBudget,
    function: FunctionInfo,
) -> None:
    """One thread's loop: the single-worker loop, minus what is process-wide (``_X_AMZN_TRACE_ID``)."""
    client = worker.client
    set_context = current_context.set
    from_invocation = LambdaContext.from_invocation
    invoke = runtime._invoke_streaming if adapted.streaming else runtime._invoke_buffered
    claim = budget.claim
    while claim():
        worker.waiting = True
        try:
            if budget.stopping:
                return
            invocation = client.next()
        finally:
            worker.waiting = False
        context = from_invocation(invocation, function)
        set_context(context)
        invoke(client, adapted, invocation, context)
        set_context(None)


def _report_worker_failure(index: int, count: int, error: BaseException) -> None:
    """One log line: why the runtime is stopping."""
    if isinstance(error, (RuntimeAPIError, ProtocolError)):
        _log().critical("Stopping: %s", error)
        return
    _log().critical(
        "Worker %d of %d stopped unexpectedly (%s: %s); stopping the runtime",
        index + 1,
        count,
        type(error).__name__,
        error,
    )


def _now() -> float:
    import time

    return time.monotonic()
