"""ManagedInstances: three functions written for Lambda Managed Instances.

On Managed Instances one execution environment is given several invocations at once (up to the
function's ``PerExecutionEnvironmentMaxConcurrency``; Lambda tells the runtime through
``AWS_LAMBDA_MAX_CONCURRENCY``). ``python -m lambda_runtime app.<handler>`` then starts that many
workers, each a process of its own with its own copy of this module: the module-level counter below is
safe without a lock, exactly as on classic Lambda. README.md explains the model and the alternative,
``LambdaManagedRuntime``, where the workers share one process.

* ``greet``: a typed JSON function. pydantic validates ``{"name": "Ada"}`` into a ``GreetingRequest``;
  the ``Greeting`` it returns is serialised by alias (camelCase).
* ``stream``: streams ``count`` numbered lines (default 3), ``LINE_DELAY_MS`` apart (default 200).
* ``after_response``: answers at once, then keeps working (``AFTER_RESPONSE_WORK_MS``, default 1000)
  inside the same invocation, while the caller already has its answer.
"""

from __future__ import annotations

import json
import os
import time

from lambda_runtime import LambdaContext, LambdaRuntime, ResponseStream
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

LINE_DELAY_SECONDS = int(os.environ.get("LINE_DELAY_MS", "200")) / 1000
AFTER_RESPONSE_WORK_SECONDS = int(os.environ.get("AFTER_RESPONSE_WORK_MS", "1000")) / 1000

# Per process, hence per worker: no other invocation touches it while this one runs.
invocations_in_this_worker = 0


class GreetingRequest(BaseModel):
    """The event of ``greet``: ``{"name": "Ada", "language": "fr"}`` (language optional)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    name: str = Field(min_length=1, max_length=100)
    language: str = "en"


class Greeting(BaseModel):
    """The answer of ``greet``, sent as ``{"message": ..., "language": ...}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    message: str
    language: str


GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}


def greet(event: GreetingRequest, context: LambdaContext) -> Greeting:
    """Greet ``event.name`` in ``event.language`` (English when the language is unknown)."""
    global invocations_in_this_worker
    invocations_in_this_worker += 1
    language = event.language if event.language in GREETINGS else "en"
    context.logger.info("greeting %s (invocation %d of this worker)", event.name, invocations_in_this_worker)
    return Greeting(message=f"{GREETINGS[language]}, {event.name}!", language=language)


def stream(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Stream ``{"count": n}`` numbered lines (1 to 100, default 3), one at a time."""
    document = json.loads(event or b"{}")
    count = document.get("count", 3) if isinstance(document, dict) else 3
    if not isinstance(count, int) or not 1 <= count <= 100:
        raise ValueError(f'"count" must be an integer from 1 to 100, got {count!r}')
    for number in range(1, count + 1):
        if number > 1:
            time.sleep(LINE_DELAY_SECONDS)
        stream.write(f"line {number} of {count}\n")
    stream.finish()


def after_response(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Acknowledge ``{"task": ...}`` at once, then do the work after the caller has its answer."""
    document = json.loads(event or b"{}")
    task = document.get("task") if isinstance(document, dict) else None
    if not isinstance(task, str):
        raise ValueError('expected {"task": "..."}')
    stream.write_and_finish(json.dumps({"accepted": task}))
    # The caller has its answer. This still counts towards the invocation's duration and timeout, and
    # the worker takes its next invocation only after it; the other workers go on meanwhile.
    started = time.monotonic()
    time.sleep(AFTER_RESPONSE_WORK_SECONDS)
    context.logger.info("did %r after the response in %.0f ms", task, (time.monotonic() - started) * 1000)


if __name__ == "__main__":
    import sys

    LambdaRuntime({"greet": greet, "stream": stream, "after_response": after_response}[sys.argv[1]]).run()
