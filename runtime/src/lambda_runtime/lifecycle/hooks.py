"""The shutdown coordinator: init and shutdown hooks, the "stop requested" flag, and the hook budget.

It knows nothing about signals or the Extensions API (see ``signals.py`` and ``extension.py``): whatever
decides that the runtime must stop calls :meth:`Lifecycle.request_stop`; the invocation loop consults
:attr:`Lifecycle.stop_requested` before each ``/next`` (the single-worker loop through
:meth:`Lifecycle.guard_next`) and, once nothing is in flight, calls :meth:`Lifecycle.shut_down`, which runs
the shutdown hooks within the budget. A pool of workers drives the same object: each worker stops
fetching once ``stop_requested`` is set, and the pool calls ``shut_down`` after the last in-flight
invocation has been answered.
"""

from __future__ import annotations

import os
import threading
import time
from types import AsyncGeneratorType, GeneratorType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    Hook = TypeVar("Hook", bound=Callable[[], Any])

# Lambda gives a runtime with an internal extension 500 ms between SIGTERM and SIGKILL.
DEFAULT_SHUTDOWN_BUDGET_MS = 500
BUDGET_VARIABLE = "LAMBDA_SHUTDOWN_BUDGET_MS"


class ShutdownRequested(BaseException):
    """Raised in the loop (from a signal handler while it waits for ``/next``) to stop fetching.

    A ``BaseException``, so that nothing on the way (``except Exception`` in a retry) swallows it.
    """


class _OverBudget(BaseException):
    """Raised into a synchronous hook that outlives the budget (by SIGALRM, on the main thread)."""


def _describe(hook: Callable[..., Any]) -> str:
    module = getattr(hook, "__module__", None)
    name = getattr(hook, "__qualname__", None) or repr(hook)
    return f"{module}.{name}" if module and module != "__main__" else name


def _log() -> Any:
    from ..logs import runtime_logger

    return runtime_logger()


def budget_from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> float:
    """The shutdown budget in seconds, from ``LAMBDA_SHUTDOWN_BUDGET_MS`` (500 ms when unset)."""
    env = os.environ if environ is None else environ
    text = env.get(BUDGET_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SHUTDOWN_BUDGET_MS / 1000
    if not text.isdigit():
        raise ValueError(f"{BUDGET_VARIABLE} must be a whole number of milliseconds, got {text!r}")
    return int(text) / 1000


class Lifecycle:
    """Hooks run once at init and at shutdown, and the flag that tells the loop to stop fetching.

    Hooks may be plain functions, ``async def`` functions (run on the event loop that runs ``async``
    handlers), or generator functions (sync or async): the code before their ``yield`` runs at init,
    the code after it at shutdown, the way :func:`contextlib.contextmanager` reads.
    """

    def __init__(self, shutdown_budget: float | None = None) -> None:
        self._init_hooks: list[Callable[[], Any]] = []
        self._shutdown_hooks: list[Callable[[], Any]] = []
        # The second halves of generator init hooks: they close what init opened, after the shutdown hooks.
        self._teardowns: list[Callable[[], Any]] = []
        self._shutdown_budget = shutdown_budget
        self._stop_requested = False
        self._stop_reason = ""
        self._waiting_for_next = False
        self._shut_down = False

    # -- registration --------------------------------------------------------------------------------

    def on_init(self, hook: Hook) -> Hook:
        """Run ``hook()`` once during init, before the first invocation; returns ``hook`` (a decorator).

        An exception it raises is an init error: Lambda gets it, as for a handler that fails to import.
        A generator function's code after its ``yield`` runs at shutdown.
        """
        self._init_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook()`` when the runtime stops; returns ``hook`` (a decorator).

        Shutdown hooks run last registered, first run (as ``atexit`` does), within the shutdown budget.
        """
        self._shutdown_hooks.append(hook)
        return hook

    @property
    def shutdown_budget(self) -> float:
        """Seconds the shutdown hooks may take together (``LAMBDA_SHUTDOWN_BUDGET_MS``, else 0.5)."""
        if self._shutdown_budget is None:
            self._shutdown_budget = budget_from_environment()
        return self._shutdown_budget

    @shutdown_budget.setter
    def shutdown_budget(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the shutdown budget cannot be negative, got {seconds}")
        self._shutdown_budget = seconds

    @property
    def has_hooks(self) -> bool:
        return bool(self._init_hooks or self._shutdown_hooks or self._teardowns)

    # -- init ----------------------------------------------------------------------------------------

    def run_init_hooks(self) -> None:
        """Run the init hooks in registration order; the first exception propagates (an init error)."""
        hooks, self._init_hooks = self._init_hooks, []
        for hook in hooks:
            result = hook()
            if isinstance(result, GeneratorType):
                next(result)
                self._teardowns.append(_finish_generator(result, hook))
            elif isinstance(result, AsyncGeneratorType):
                _run_coroutine(result.__anext__())
                self._teardowns.append(_finish_async_generator(result, hook))
            elif hasattr(result, "__await__"):
                _run_coroutine(result)

    # -- stopping ------------------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        """True once something (SIGTERM, SIGINT) asked the runtime to stop."""
        return self._stop_requested

    @property
    def shutdown_started(self) -> bool:
        """True once :meth:`shut_down` has begun (the hooks are running, or have run)."""
        return self._shut_down

    def request_stop(self, reason: str = "a stop request") -> None:
        """Ask the runtime to stop fetching; the invocation in flight, if any, still finishes.

        Safe to call from a signal handler: it only sets the flag, and, when the loop is waiting for
        ``/next``, raises :class:`ShutdownRequested` there to cut the wait short (Python would otherwise
        retry the interrupted ``recv`` and wait for an invocation that never comes).
        """
        if not self._stop_requested:
            self._stop_reason = reason
            self._stop_requested = True
        if self._waiting_for_next:
            self._waiting_for_next = False
            raise ShutdownRequested

    def guard_next(self, fetch: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap the single-worker loop's ``/next`` so that a stop request ends the loop cleanly.

        Before each fetch the flag is checked; while the fetch waits, a stop request interrupts it. Either
        way the shutdown hooks run and the process exits 0 (``SystemExit(0)``).
        """

        def next_invocation() -> Any:
            # Waiting is announced before the flag is read: a signal between the two then interrupts.
            self._waiting_for_next = True
            try:
                if not self._stop_requested:
                    return fetch()
            except ShutdownRequested:
                pass
            finally:
                self._waiting_for_next = False
            # Out of the except clause: a failing hook's traceback does not drag the interruption along.
            self.shut_down()
            raise SystemExit(0)

        return next_invocation

    def shut_down(self) -> None:
        """Run the shutdown hooks (once), last registered first, within the shutdown budget; then close
        what the generator init hooks opened, last opened first.

        A hook that raises is logged and the next one runs; a hook still running when the budget is used
        up is abandoned with a log line, and the hooks after it are skipped, each with a log line.
        """
        if self._shut_down:
            return
        self._shut_down = True
        hooks = self._shutdown_hooks[::-1] + self._teardowns[::-1]
        self._shutdown_hooks, self._teardowns = [], []
        if not hooks:
            return
        budget = self.shutdown_budget
        deadline = time.monotonic() + budget
        reason = self._stop_reason or "the end of the invocation loop"
        _log().info(
            "Shutting down after %s: running %d shutdown hook(s) within %d ms",
            reason,
            len(hooks),
            round(budget * 1000),
        )
        for index, hook in enumerate(hooks):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                skipped = ", ".join(_describe(later) for later in hooks[index:])
                _log().warning("Shutdown budget of %d ms used up: skipped %s", round(budget * 1000), skipped)
                return
            _call_within(hook, remaining, budget)


def _finish_generator(
    generator: GeneratorType[Any, None, None], hook: Callable[..., Any]
) -> Callable[[], None]:
    def finish() -> None:
        try:
            next(generator)
        except StopIteration:
            return
        raise RuntimeError(f"the init hook {_describe(hook)} yielded more than once")

    finish.__qualname__ = getattr(hook, "__qualname__", "generator hook")
    finish.__module__ = getattr(hook, "__module__", __name__)
    return finish


def _finish_async_generator(
    generator: AsyncGeneratorType[Any, None], hook: Callable[..., Any]
) -> Callable[[], Any]:
    async def finish() -> None:
        try:
            await generator.__anext__()
        except StopAsyncIteration:
            return
        raise RuntimeError(f"the init hook {_describe(hook)} yielded more than once")

    finish.__qualname__ = getattr(hook, "__qualname__", "async generator hook")
    finish.__module__ = getattr(hook, "__module__", __name__)
    return finish


def _run_coroutine(awaitable: Any, timeout: float | None = None) -> Any:
    """Run ``awaitable`` to completion on the loop that runs async handlers."""
    import asyncio

    from ..handlers import event_loop

    try:
        return event_loop().run_until_complete(asyncio.wait_for(awaitable, timeout))
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        if timeout is None:
            raise
        raise _OverBudget from None


def _call_within(hook: Callable[[], Any], seconds: float, budget: float) -> None:
    """Call ``hook`` and log how it ended; abandon it (with a log line) after ``seconds``."""
    if threading.current_thread() is threading.main_thread() and _can_set_alarms():
        finished = _call_on_this_thread(hook, seconds)
    else:
        finished = _call_on_a_thread(hook, seconds)
    if not finished:
        _log().warning(
            "Shutdown hook %s did not finish within the %d ms budget: abandoned",
            _describe(hook),
            round(budget * 1000),
        )


def _can_set_alarms() -> bool:
    import signal

    return hasattr(signal, "setitimer")


def _call(hook: Callable[[], Any], seconds: float) -> None:
    result = hook()
    if hasattr(result, "__await__"):
        _run_coroutine(result, seconds)


def _call_on_this_thread(hook: Callable[[], Any], seconds: float) -> bool:
    """Run ``hook`` here (where it opened its resources) with a SIGALRM to interrupt it at the deadline.

    Returns False when the hook was abandoned. The alarm interrupts Python code and interruptible waits
    (sleep, sockets, locks); a C call that never returns to Python cannot be interrupted.
    """
    import signal

    armed = True

    def interrupt(signum: int, frame: object) -> None:
        if armed:
            raise _OverBudget

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            _call(hook, seconds)
        finally:
            armed = False
    except _OverBudget:
        return False
    except Exception as error:
        _log_failure(hook, error)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return True


def _call_on_a_thread(hook: Callable[[], Any], seconds: float) -> bool:
    """Run ``hook`` on a daemon thread and wait ``seconds`` for it (off the main thread, no SIGALRM)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            _call(hook, seconds)
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, name=f"shutdown-hook {_describe(hook)}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() or (outcome and isinstance(outcome[0], _OverBudget)):
        return False
    error = outcome[0] if outcome else None
    if isinstance(error, Exception):
        _log_failure(hook, error)
    return True


def _log_failure(hook: Callable[..., Any], error: Exception) -> None:
    _log().error(
        "Shutdown hook %s failed: %s: %s",
        _describe(hook),
        type(error).__name__,
        error,
        exc_info=(type(error), error, error.__traceback__),
    )
