"""HelloWorld: the smallest useful function on lambda-runtime.

It answers ``{"name": "Ada"}`` with ``{"message": "Hello, Ada!"}``. An event without a usable name
is rejected with ``InvalidEventError`` rather than greeted with a made-up default; README.md explains
why ("A missing name is an error, not a default").

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from lambda_runtime import LambdaContext, LambdaRuntime

# What the caller should send: quoted in every error message so a rejected caller knows the fix.
EXPECTED_EVENT_SHAPE = '{"name": "Ada"}'


class InvalidEventError(ValueError):
    """The event is not a JSON object with a non-blank string ``name``.

    Lambda reports it as a function error whose ``errorType`` is ``InvalidEventError``.
    """


def handler(event: object, context: LambdaContext) -> dict[str, str]:
    """Greet the person named in the event.

    Args:
        event: The JSON-decoded payload, expected to look like ``{"name": "Ada"}``. Other fields are
            ignored, so callers may send richer events.
        context: The invocation's context. A greeting needs nothing from it; it is part of the
            handler signature Lambda calls.

    Returns:
        ``{"message": "Hello, Ada!"}``, which the runtime encodes as the JSON response.

    Raises:
        InvalidEventError: The event is not a JSON object, or its ``name`` is missing, not a string
            or blank.
    """
    name = _name_from(event)
    return {"message": f"Hello, {name}!"}


def _name_from(event: object) -> str:
    """Return the event's ``name`` without surrounding whitespace, or raise ``InvalidEventError``."""
    if not isinstance(event, dict):
        raise InvalidEventError(
            f"expected a JSON object like {EXPECTED_EVENT_SHAPE}, got {type(event).__name__}"
        )
    if "name" not in event:
        raise InvalidEventError(f'the event has no "name" field; expected {EXPECTED_EVENT_SHAPE}')
    name = event["name"]
    if not isinstance(name, str):
        raise InvalidEventError(f'"name" must be a string, got {type(name).__name__}')
    # "  Ada " is Ada typed carelessly, but "   " is no name at all.
    name = name.strip()
    if not name:
        raise InvalidEventError('"name" must not be blank')
    return name


if __name__ == "__main__":
    LambdaRuntime(handler).run()
