"""Serving from the command line: a function in this process, or only the Runtime API for another."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from .config import LocalConfig
from .server import LocalServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any


def serve_function(
    handler: object,
    *,
    host: str | None = None,
    port: int | None = None,
    invocation_endpoint: str | None = None,
    timeout: float | None = None,
) -> None:
    """Serve ``handler`` through a local server in this process until Ctrl-C (or ``MAX_INVOCATIONS``).

    ``handler`` is anything :class:`~lambda_runtime.LambdaRuntime` takes (a function, a
    ``"module.function"`` string...). The keyword arguments override ``LOCAL_LAMBDA_HOST``,
    ``LOCAL_LAMBDA_PORT``, ``LOCAL_LAMBDA_INVOCATION_ENDPOINT`` and ``LOCAL_LAMBDA_TIMEOUT``. This is
    what ``LambdaRuntime(handler).run()`` does when ``AWS_LAMBDA_RUNTIME_API`` is not set; like
    ``run()``, it ends the process through ``SystemExit`` when the function cannot start.
    """
    from ..runtime import LambdaRuntime

    config = LocalConfig.from_environment(
        host=host, port=port, invocation_endpoint=invocation_endpoint, timeout=timeout
    )
    LambdaRuntime(handler)._run_with_local_server(config)


def serve_runtime_api(config: LocalConfig | None = None) -> None:
    """Serve only the Runtime API and the invocation endpoint, for a runtime in another process, until
    Ctrl-C. Prints the ``AWS_LAMBDA_RUNTIME_API=host:port`` line that runtime needs."""
    server = LocalServer(config)

    async def main() -> None:
        await server.start_async()
        sys.stdout.write(f"AWS_LAMBDA_RUNTIME_API={server.address}\n")
        sys.stdout.flush()
        await server.serve_forever()

    run_until_interrupted(main)


def run_until_interrupted(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``asyncio.run(main())`` until it returns or Ctrl-C, which cancels ``main`` first so that it can stop
    gracefully (fail its waiting clients with a 503), as ``asyncio.run`` does from Python 3.11 on."""
    if sys.version_info >= (3, 11):
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
        return

    async def cancelled_on_interrupt() -> None:
        # Python 3.10's asyncio.run lets KeyboardInterrupt cut through the loop, then cancels every task
        # at once: the connections' tasks would go before the server could answer them.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            await main()
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(cancelled_on_interrupt())
