"""The local server: run and invoke a function on your machine, no Docker, no AWS account.

``LambdaRuntime(handler).run()`` starts it by itself when ``AWS_LAMBDA_RUNTIME_API`` is not set, and
serves the function through it in the same process; ``python -m lambda_runtime serve app.handler``
does the same from the command line, and ``python -m lambda_runtime serve --api-only`` serves only
the Runtime API, for any runtime in another process (``awslambdaric`` included)::

    curl -X POST http://127.0.0.1:7000/invoke -d '{"name": "World"}'

It speaks the Runtime API through :mod:`lambda_runtime.protocol` and HTTP/1.1 through h11 (the
``local`` extra: ``pip install "lambda-runtime[local]"``), on asyncio. Settings come from
``LOCAL_LAMBDA_HOST``, ``LOCAL_LAMBDA_PORT``, ``LOCAL_LAMBDA_INVOCATION_ENDPOINT``,
``LOCAL_LAMBDA_TIMEOUT`` and ``AWS_LAMBDA_MAX_CONCURRENCY`` (see :class:`LocalConfig`).

The modules, one job each: ``config`` (settings), ``connection`` (h11 on an asyncio connection),
``invocations`` (the FIFO queue, deadlines, cancellation), ``results`` (what goes back to a client),
``runtime_api`` (the runtime's side), ``invoke`` (the client's side), ``server`` (listening, routing,
start and stop) and ``serve`` (the command-line entry points).
"""

from __future__ import annotations

from .config import LocalConfig
from .serve import serve_function, serve_runtime_api
from .server import LocalServer

__all__ = ["LocalConfig", "LocalServer", "serve_function", "serve_runtime_api"]
