"""What every multi-worker mode shares: the worker count and the invocation budget.

``AWS_LAMBDA_MAX_CONCURRENCY`` (set by Lambda on Managed Instances) is how many invocations an
execution environment may be given at once, hence how many workers the runtime starts.
``MAX_INVOCATIONS`` stays a total for the whole runtime, however many workers share it.
"""

from __future__ import annotations

import threading

from .errors import InitError

# Far above any real setting (Lambda allows up to 1,600 per execution environment, spread over vCPUs);
# a typo such as 80000 should be an init error, not 80,000 threads.
MAX_WORKERS = 4096


def worker_count(text: str) -> int:
    """The number of workers ``AWS_LAMBDA_MAX_CONCURRENCY`` asks for; raises :class:`InitError`."""
    stripped = text.strip()
    if not stripped.isdigit() or not 1 <= int(stripped) <= MAX_WORKERS:
        raise InitError(
            "Runtime.InvalidConfiguration",
            f"AWS_LAMBDA_MAX_CONCURRENCY must be an integer from 1 to {MAX_WORKERS}, got {text!r}",
        )
    return int(stripped)


class InvocationBudget:
    """How many more invocations the workers may fetch (``None``: no limit), and whether to stop.

    Each worker claims one before every ``/next``; a refusal means "stop fetching". Thread-safe.
    """

    def __init__(self, limit: int | None) -> None:
        self._left = limit
        self._lock = threading.Lock()
        self.stopping = False

    def claim(self) -> bool:
        """Take one invocation from the budget; False once it is spent or the runtime is stopping."""
        with self._lock:
            if self.stopping:
                return False
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    @property
    def spent(self) -> bool:
        with self._lock:
            return self._left is not None and self._left <= 0

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
