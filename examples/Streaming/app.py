"""Streaming: numbered lines sent one at a time, with a pause between them.

A handler with three parameters, ``(event, stream, context)``, streams its response: each
``stream.write(...)`` reaches the caller at once, instead of the whole response at the end. Here it
writes ``line 1 of 10``, waits, writes ``line 2 of 10``, and so on, so ``curl -N`` shows the lines
arriving one by one.

The payload's content is not used, only its shape: when it is a Function URL request the handler first
gives the HTTP status and headers (``write_status_and_headers``); when it is a direct invocation
(``InvokeWithResponseStream``, or the local server) there is no HTTP response to describe, and the
body is all there is. README.md explains the difference.

``LINE_COUNT`` (default 10) and ``LINE_DELAY_MS`` (default 500) set the number of lines and the pause,
read once when the function starts. Lambda runs it as ``app.handler``; ``python app.py`` runs the same
handler in the runtime loop. ``async_handler`` is the same function written with ``async def``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import NamedTuple

from lambda_runtime import LambdaContext, LambdaRuntime, ResponseStream

# The status and headers a Function URL caller gets. The body is plain text that arrives in pieces:
# "no-store" keeps caches in between from storing it, and "no-transform" asks proxies not to re-encode
# (for instance compress) it, which could hold lines back.
HTTP_STATUS = 200
HTTP_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store, no-transform"}


class ConfigurationError(ValueError):
    """``LINE_COUNT`` or ``LINE_DELAY_MS`` is not a usable number.

    Raised while the module is imported, so Lambda reports it as an init error before any invocation.
    """


class Settings(NamedTuple):
    """How many lines to stream and how long to wait between two of them."""

    line_count: int
    delay_seconds: float

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``LINE_COUNT`` (1 to 1000, default 10) and ``LINE_DELAY_MS`` (0 to 10000, default 500)."""
        line_count = _integer(environ, "LINE_COUNT", default=10, low=1, high=1000)
        delay_ms = _integer(environ, "LINE_DELAY_MS", default=500, low=0, high=10_000)
        return cls(line_count, delay_ms / 1000)


def _integer(environ: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


SETTINGS = Settings.from_environment(os.environ)


def handler(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Stream ``SETTINGS.line_count`` numbered lines, pausing ``SETTINGS.delay_seconds`` between them.

    Args:
        event: The raw payload. Only its shape matters: a Function URL request gets an HTTP status and
            headers first.
        stream: Where the response goes; each write is sent to the caller at once.
        context: The invocation's context; its logger records how long the stream took.
    """
    started = time.monotonic()
    if is_function_url_request(event):
        stream.write_status_and_headers(HTTP_STATUS, HTTP_HEADERS)
    count, delay = SETTINGS
    for number in range(1, count + 1):
        stream.write(line(number, count))
        if number < count:
            time.sleep(delay)
    stream.finish()
    # The caller has the whole response now; this log line costs it nothing.
    context.logger.info("streamed %d lines in %.0f ms", count, (time.monotonic() - started) * 1000)


async def async_handler(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """The same as :func:`handler`, as a coroutine: ``app.async_handler`` as the handler string.

    The runtime runs it on one event loop that lives as long as the process. While it waits between two
    lines, other coroutines of the invocation (not shown here) could run.
    """
    import asyncio  # here, not at the top: `app.handler` alone should not pay for importing it

    started = time.monotonic()
    if is_function_url_request(event):
        stream.write_status_and_headers(HTTP_STATUS, HTTP_HEADERS)
    count, delay = SETTINGS
    for number in range(1, count + 1):
        stream.write(line(number, count))
        if number < count:
            await asyncio.sleep(delay)
    stream.finish()
    context.logger.info("streamed %d lines in %.0f ms", count, (time.monotonic() - started) * 1000)


def line(number: int, count: int) -> str:
    """Return ``line <number> of <count>`` followed by a newline."""
    return f"line {number} of {count}\n"


def is_function_url_request(event: bytes) -> bool:
    """Whether ``event`` is an HTTP request from a Function URL (payload format version 2.0).

    Function URLs (and API Gateway HTTP APIs) send a JSON object with ``"version": "2.0"`` and the HTTP
    details in ``requestContext.http``. Anything else, including a payload that is not JSON at all, is
    a direct invocation.
    """
    if not event.lstrip().startswith(b"{"):
        return False
    try:
        document = json.loads(event)
    except ValueError:
        return False
    if not isinstance(document, dict) or document.get("version") != "2.0":
        return False
    request_context = document.get("requestContext")
    return isinstance(request_context, dict) and isinstance(request_context.get("http"), dict)


if __name__ == "__main__":
    LambdaRuntime(handler).run()
