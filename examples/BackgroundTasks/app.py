"""BackgroundTasks: answer the caller at once, then keep working.

The handler has the streaming signature ``(event, stream, context)``, which is what makes this possible:
``stream.write_and_finish(response)`` sends the whole response and ends it, and from that moment the
caller has its answer. The code after it is background work: it runs in the same invocation, before the
function takes its next one, while the caller has already moved on. The logs show the timing.

The event is ``{"message": "..."}`` and the response ``{"echoed_message": "..."}``. ``BACKGROUND_WORK_MS``
(default 3000) sets how long the simulated background work takes, read once when the function starts.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping

from lambda_runtime import LambdaContext, LambdaRuntime, ResponseStream

EXPECTED_EVENT_SHAPE = '{"message": "Hello"}'


class ConfigurationError(ValueError):
    """``BACKGROUND_WORK_MS`` is not a usable number (raised at import, so Lambda reports an init error)."""


class InvalidEventError(ValueError):
    """The event is not a JSON object with a string ``message``; the caller gets it as a function error."""


def work_seconds_from(environ: Mapping[str, str]) -> float:
    """Read ``BACKGROUND_WORK_MS`` (0 to 60000, default 3000) as seconds."""
    text = environ.get("BACKGROUND_WORK_MS", "").strip() or "3000"
    try:
        milliseconds = int(text)
    except ValueError:
        raise ConfigurationError(f"BACKGROUND_WORK_MS must be a whole number, got {text!r}") from None
    if not 0 <= milliseconds <= 60_000:
        raise ConfigurationError(f"BACKGROUND_WORK_MS must be between 0 and 60000, got {milliseconds}")
    return milliseconds / 1000


WORK_SECONDS = work_seconds_from(os.environ)


def handler(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Echo the event's message at once, then do the background work.

    Args:
        event: The raw payload, expected to be ``{"message": "..."}``.
        stream: The response; ``write_and_finish`` hands the caller its whole answer in one go.
        context: The invocation's context; its logger records each step with the time since the start.

    Raises:
        InvalidEventError: The event has no usable ``message``. Raised before anything is written, so the
            caller gets an ordinary function error and no background work is done.
    """
    started = time.monotonic()
    log = context.logger
    message = _message_from(event)
    log.info("message received: %d characters", len(message))

    stream.write_and_finish(json.dumps({"echoed_message": message}, ensure_ascii=False))
    # From here on the caller has its response. What follows runs before the next invocation is fetched,
    # and counts towards this one's duration (and its timeout).
    log.info(
        "response sent after %.0f ms; starting background work (%d ms left before the timeout)",
        _elapsed_ms(started),
        context.get_remaining_time_in_millis(),
    )
    try:
        background_work(message, log)
    except Exception:
        # Too late to tell the caller: log it (and, in a real function, retry or record it somewhere).
        log.exception("background work failed after %.0f ms", _elapsed_ms(started))
        return
    log.info("background work done after %.0f ms", _elapsed_ms(started))


def background_work(message: str, log: logging.Logger) -> None:
    """Stand in for the work the caller need not wait for: here, ``WORK_SECONDS`` of waiting.

    In a real function this is where you write an audit record, update a table, send a notification or
    warm a cache.
    """
    log.info("working on the message for %.0f ms", WORK_SECONDS * 1000)
    time.sleep(WORK_SECONDS)


def _message_from(event: bytes) -> str:
    try:
        document = json.loads(event)
    except ValueError:
        raise InvalidEventError(f"the event is not JSON; expected {EXPECTED_EVENT_SHAPE}") from None
    if not isinstance(document, dict):
        raise InvalidEventError(
            f"expected a JSON object like {EXPECTED_EVENT_SHAPE}, got {type(document).__name__}"
        )
    if "message" not in document:
        raise InvalidEventError(f'the event has no "message" field; expected {EXPECTED_EVENT_SHAPE}')
    message = document["message"]
    if not isinstance(message, str):
        raise InvalidEventError(
            f'"message" must be a string, got {type(message).__name__}; expected {EXPECTED_EVENT_SHAPE}'
        )
    return message


def _elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


if __name__ == "__main__":
    LambdaRuntime(handler).run()
