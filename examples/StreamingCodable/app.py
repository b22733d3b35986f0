"""StreamingCodable: a typed JSON request, decoded by the function, answered by a stream.

The request is ``{"count": 3, "message": "Hello", "delay_ms": 500}``: stream ``message`` ``count``
times, ``delay_ms`` milliseconds apart. A pydantic model, :class:`StreamingRequest`, says so and checks
it. The request arrives in one of two envelopes, and :func:`decode_event` opens both:

* a direct invocation (``Invoke``, ``InvokeWithResponseStream``, the local server): the payload is the
  request itself;
* a Function URL request: the payload describes the HTTP request, and the request is its ``body``,
  base64-encoded when the Function URL took the body for binary (``"isBase64Encoded": true``).

A streaming handler always gets the raw payload: the runtime does not decode events for it, so this
decoding lives here, in the function, where it can be read and changed. A bad request is an error the
caller can act on: a Function URL caller gets ``400 Bad Request`` with the reason as text; a direct
caller gets the function error ``InvalidRequestError`` with the same reason.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any, NamedTuple

from lambda_runtime import LambdaContext, LambdaRuntime, ResponseStream
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

# Quoted in every error message, so a rejected caller sees what to send.
EXAMPLE_REQUEST = '{"count": 3, "message": "Hello", "delay_ms": 500}'

# All the pauses of one stream together: template.yaml's 15 s timeout leaves room for them and the rest.
MAX_TOTAL_DELAY_MS = 10_000

TEXT_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store, no-transform"}


class StreamingRequest(BaseModel):
    """What to stream: ``message``, ``count`` times, ``delay_ms`` milliseconds apart.

    Strict, and closed to other fields: ``"count": "3"`` and a misspelt ``"delayMs"`` are errors rather
    than guesses, so a caller with a bug hears about it instead of getting something it did not ask for.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    count: int = Field(ge=1, le=100, description="How many times to send the message.")
    message: str = Field(min_length=1, max_length=1000, description="The text of each line.")
    delay_ms: int = Field(default=500, ge=0, le=5000, description="The pause between two lines.")

    @model_validator(mode="after")
    def _fits_in_the_timeout(self) -> StreamingRequest:
        total = (self.count - 1) * self.delay_ms
        if total > MAX_TOTAL_DELAY_MS:
            raise ValueError(
                f"{self.count} lines {self.delay_ms} ms apart would take {total} ms, "
                f"more than the {MAX_TOTAL_DELAY_MS} ms a stream may last"
            )
        return self


class InvalidRequestError(ValueError):
    """The payload does not hold a valid :class:`StreamingRequest`; the message says why.

    A direct caller gets it as the function error ``InvalidRequestError``; a Function URL caller gets its
    message in a ``400 Bad Request``.
    """


class DecodedEvent(NamedTuple):
    """The request, and whether it came through a Function URL (which wants an HTTP status and headers)."""

    request: StreamingRequest
    via_function_url: bool


def handler(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
    """Decode the request, then stream ``[i/count] message`` lines.

    Args:
        event: The raw payload: a request, or a Function URL request carrying one in its body.
        stream: Where the response goes; each write reaches the caller at once.
        context: The invocation's context; its logger records rejected requests and the stream's length.

    Raises:
        InvalidRequestError: A direct invocation's payload is not a valid request. (A Function URL request
            is answered with ``400 Bad Request`` instead.)
    """
    started = time.monotonic()
    try:
        request, via_function_url = decode_event(event)
    except InvalidRequestError as error:
        if not is_function_url_request(json_object(event)):
            raise  # a direct caller gets the function error InvalidRequestError
        context.logger.warning("rejected a Function URL request: %s", error)
        stream.write_status_and_headers(400, TEXT_HEADERS)
        stream.write_and_finish(f"{error}\n")
        return
    if via_function_url:
        stream.write_status_and_headers(200, TEXT_HEADERS)
    for number in range(1, request.count + 1):
        stream.write(f"[{number}/{request.count}] {request.message}\n")
        if number < request.count:
            time.sleep(request.delay_ms / 1000)
    stream.finish()
    context.logger.info("streamed %d messages in %.0f ms", request.count, (time.monotonic() - started) * 1000)


def decode_event(event: bytes) -> DecodedEvent:
    """Find the request in ``event``, from a direct invocation or a Function URL, and validate it.

    Raises:
        InvalidRequestError: The payload is not a JSON object, a Function URL request has no usable body,
            or the request does not match :class:`StreamingRequest`.
    """
    document = json_object(event)
    if document is None:
        raise InvalidRequestError(f"the payload is not a JSON object; send JSON like {EXAMPLE_REQUEST}")
    if is_function_url_request(document):
        return DecodedEvent(validate_request(function_url_body(document)), True)
    return DecodedEvent(validate_request(document), False)


def json_object(event: bytes) -> dict[str, Any] | None:
    """The payload decoded as JSON if it is a JSON object, else ``None``."""
    try:
        document = json.loads(event)
    except ValueError:  # not JSON, or not UTF-8
        return None
    return document if isinstance(document, dict) else None


def is_function_url_request(document: dict[str, Any] | None) -> bool:
    """Whether a decoded payload is a Function URL request (payload format version 2.0)."""
    if document is None or document.get("version") != "2.0":
        return False
    request_context = document.get("requestContext")
    return isinstance(request_context, dict) and isinstance(request_context.get("http"), dict)


def function_url_body(document: dict[str, Any]) -> bytes:
    """The body of a Function URL request, base64-decoded when the Function URL encoded it.

    Raises:
        InvalidRequestError: There is no body, or it is marked base64-encoded but is not.
    """
    body = document.get("body")
    if not isinstance(body, str) or not body:
        method = document["requestContext"]["http"].get("method", "")
        raise InvalidRequestError(
            f"the {method} request has no body; POST the request as JSON, like {EXAMPLE_REQUEST}"
        )
    if document.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise InvalidRequestError("the body is marked base64-encoded but is not valid base64") from None
    return body.encode("utf-8")


def validate_request(data: dict[str, Any] | bytes) -> StreamingRequest:
    """Validate decoded JSON (a dict) or JSON text (bytes) as a :class:`StreamingRequest`.

    Raises:
        InvalidRequestError: One message listing every problem pydantic found.
    """
    try:
        if isinstance(data, bytes):
            return StreamingRequest.model_validate_json(data)
        return StreamingRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_describe(problem) for problem in error.errors(include_url=False))
        raise InvalidRequestError(
            f"invalid request: {problems}; expected JSON like {EXAMPLE_REQUEST}"
        ) from None


def _describe(problem: ErrorDetails) -> str:
    """One pydantic error as ``field: what is wrong``."""
    if problem["type"] == "json_invalid":
        return "the body is not valid JSON"
    if problem["type"] in ("model_type", "model_attributes_type"):
        return "the request must be a JSON object"
    message = problem["msg"]
    if problem["type"] == "value_error":  # raised by a validator of ours: its text, without "Value error, "
        message = str(problem.get("ctx", {}).get("error", message))
    location = ".".join(str(part) for part in problem["loc"])
    return f"{location}: {message}" if location else message


if __name__ == "__main__":
    LambdaRuntime(handler).run()
