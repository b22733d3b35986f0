"""SIGTERM and SIGINT become stop requests on a :class:`~.hooks.Lifecycle`.

Python runs a signal handler on the main thread, between two bytecodes. When the loop is blocked in
``recv`` waiting for ``/next``, the handler runs and Python then retries the ``recv`` (PEP 475) unless the
handler raises: so the handler raises there (``Lifecycle.request_stop`` does it) and only sets the flag
while an invocation is in flight, which then finishes and posts its result first.
"""

from __future__ import annotations

import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .hooks import Lifecycle

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_stop_signals(lifecycle: Lifecycle) -> bool:
    """Make SIGTERM (what Lambda sends) and SIGINT (Ctrl-C) stop ``lifecycle`` gracefully.

    A second SIGINT while an invocation is still finishing raises ``KeyboardInterrupt``, for someone who
    does not want to wait for a slow invocation; once the shutdown hooks run, further signals are ignored
    (the budget bounds them). Returns False, installing nothing, off the main thread,
    where Python cannot install signal handlers (the thread that owns the loop must then be told to stop
    through ``lifecycle.request_stop``).
    """
    if threading.current_thread() is not threading.main_thread():
        return False

    def stop(signum: int, frame: object) -> None:
        if lifecycle.shutdown_started:
            return
        if signum == signal.SIGINT and lifecycle.stop_requested:
            raise KeyboardInterrupt
        lifecycle.request_stop(signal.Signals(signum).name)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    return True
