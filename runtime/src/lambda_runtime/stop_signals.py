"""The one place where a runtime with several workers learns that it must stop: SIGTERM.

Lambda sends SIGTERM when it shuts an execution environment down. With ``AWS_LAMBDA_MAX_CONCURRENCY``
above 1 the runtime must pass that on to every worker: the process supervisor forwards it to its
children, the in-process runtimes stop fetching and let the invocations in flight finish. Each of them
installs its reaction here, through :func:`on_stop_signal`, so that graceful-shutdown work (shutdown
hooks) has a single place to hook into.

A single-worker runtime installs nothing: SIGTERM keeps its default action there, as today.
"""

from __future__ import annotations

import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM,)
# With the lifecycle extra, Ctrl-C is a graceful stop too (its hooks must run): the in-process runtimes
# then take SIGINT the same way, or the lifecycle's handler would only set a flag nobody reads.
STOP_SIGNALS_WITH_LIFECYCLE = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(stop: Callable[[int], None], lifecycle_in_use: bool = False) -> Callable[[], None]:
    """Call ``stop(signal_number)`` when a stop signal arrives; returns a function that puts the
    previous handlers back.

    Python runs signal handlers in the main thread only, and only the main thread may install them: from
    any other thread (a runtime run on a thread by a test) this installs nothing, and the process keeps
    the default reaction.
    """
    if threading.current_thread() is not threading.main_thread():
        return _nothing_to_restore
    signals = STOP_SIGNALS_WITH_LIFECYCLE if lifecycle_in_use else STOP_SIGNALS
    previous = {number: signal.getsignal(number) for number in signals}

    def handle(number: int, frame: object) -> None:
        stop(number)

    for number in signals:
        signal.signal(number, handle)

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


def _nothing_to_restore() -> None:
    return None
