"""The ``lifecycle`` extra: init hooks, shutdown hooks, and a graceful stop on SIGTERM.

::

    from lambda_runtime.lifecycle import on_init, on_shutdown

    @on_init
    def open_database():
        global db
        db = sqlite3.connect("/tmp/counts.db")

    @on_shutdown
    def close_database():
        db.close()

On SIGTERM (what Lambda sends before it shuts an execution environment down) or SIGINT (Ctrl-C) the
runtime stops fetching invocations, lets the one in flight finish and post its result, runs the shutdown
hooks within a budget (500 ms unless ``LAMBDA_SHUTDOWN_BUDGET_MS`` or :func:`configure` says otherwise;
a hook over budget is abandoned with a log line) and exits 0.

Lambda sends SIGTERM only to a function that has an extension registered: ``LAMBDA_SHUTDOWN_EXTENSION=1``
(or ``configure(shutdown_extension=True)``) registers an internal one for that purpose.

Nothing here has a third-party dependency; the runtime imports this package only when the function does
(or when ``LAMBDA_SHUTDOWN_EXTENSION`` is set), so a function that does not use it pays nothing.
"""

from __future__ import annotations

import os

from .extension import (
    ENABLE_VARIABLE,
    EXTENSION_NAME,
    ExtensionRegistrationError,
    ShutdownExtension,
    enabled_in_environment,
    register_shutdown_extension,
)
from .hooks import DEFAULT_SHUTDOWN_BUDGET_MS, Lifecycle, ShutdownRequested
from .signals import install_stop_signals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    Hook = TypeVar("Hook", bound=Callable[[], Any])

__all__ = [
    "DEFAULT_SHUTDOWN_BUDGET_MS",
    "EXTENSION_NAME",
    "ExtensionRegistrationError",
    "Lifecycle",
    "ShutdownExtension",
    "ShutdownRequested",
    "configure",
    "current_lifecycle",
    "on_init",
    "on_shutdown",
    "start",
]

_lifecycle = Lifecycle()
# None: as LAMBDA_SHUTDOWN_EXTENSION says.
_shutdown_extension: bool | None = None


def current_lifecycle() -> Lifecycle:
    """The process's :class:`Lifecycle`: the hooks registered so far and the stop flag."""
    return _lifecycle


def on_init(hook: Hook) -> Hook:
    """Run ``hook()`` (sync or ``async``) once during init, before the first invocation.

    Use it as a decorator. An exception is reported to Lambda as an init error. A generator function is
    a resource: the code before its ``yield`` runs at init, the code after it at shutdown.
    """
    return _lifecycle.on_init(hook)


def on_shutdown(hook: Hook) -> Hook:
    """Run ``hook()`` (sync or ``async``) when the runtime stops (SIGTERM, SIGINT, ``MAX_INVOCATIONS``).

    Use it as a decorator. Hooks run last registered first, together within the shutdown budget.
    """
    return _lifecycle.on_shutdown(hook)


def configure(*, shutdown_budget_ms: int | None = None, shutdown_extension: bool | None = None) -> None:
    """Set the shutdown budget (milliseconds) and whether to register the internal extension.

    Both default to the environment: ``LAMBDA_SHUTDOWN_BUDGET_MS`` (500) and ``LAMBDA_SHUTDOWN_EXTENSION``.
    Call it before the runtime starts (at import time of the handler's module is fine).
    """
    global _shutdown_extension
    if shutdown_budget_ms is not None:
        _lifecycle.shutdown_budget = shutdown_budget_ms / 1000
    if shutdown_extension is not None:
        _shutdown_extension = shutdown_extension


def start(address: str) -> Lifecycle:
    """Called by the runtime during init, once the handler is loaded: run the init hooks, register the
    internal extension if asked to, and turn SIGTERM and SIGINT into graceful stops.

    Raises what an init hook raises, and ``ValueError`` for a malformed ``LAMBDA_SHUTDOWN_BUDGET_MS``.
    """
    lifecycle = _lifecycle
    lifecycle.shutdown_budget  # noqa: B018 - read now, so that a malformed value is an init error
    lifecycle.run_init_hooks()
    wanted = _shutdown_extension
    if wanted is None:
        wanted = enabled_in_environment(os.environ.get(ENABLE_VARIABLE))
    if wanted:
        try:
            register_shutdown_extension(address)
        except ExtensionRegistrationError as error:
            from ..logs import runtime_logger

            runtime_logger().warning("%s: SIGTERM will not reach the runtime on Lambda", error)
    install_stop_signals(lifecycle)
    return lifecycle


def _reset_for_tests() -> Lifecycle:
    """A fresh :class:`Lifecycle` for the process (tests run many runtimes in one process)."""
    global _lifecycle, _shutdown_extension
    _lifecycle = Lifecycle()
    _shutdown_extension = None
    return _lifecycle
