"""Typed events and results, on pydantic v2 (the ``json`` extra).

A handler ``def handler(event: Order, context) -> Receipt`` gets its event validated straight from the
payload bytes (``TypeAdapter.validate_json``) and its result serialised straight to bytes
(``dump_json(by_alias=True)``): never through an intermediate ``dict``. The adapters are built once,
at init. Any type a ``TypeAdapter`` accepts works: models, dataclasses, TypedDicts, lists, unions.

This module imports pydantic, so the runtime imports it only when a handler needs it.
"""

from __future__ import annotations

from typing import Any

from .errors import InitError, LambdaRuntimeError, MarshalError, UnmarshalError

try:
    from pydantic import TypeAdapter
    from pydantic import ValidationError as PydanticValidationError
    from pydantic_core import PydanticSerializationError, to_json
except ImportError as error:  # pragma: no cover - exercised in an environment without the extra
    raise InitError(
        "Runtime.MissingDependency",
        "this handler's event or result types need pydantic: pip install 'lambda-runtime[json]'",
    ) from error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .context import LambdaContext

    Invoke = Callable[[bytes, LambdaContext], bytes]

_NO_RESULT = object()  # the output type of a ``-> None`` handler


class ValidationError(LambdaRuntimeError):
    """The event does not match the handler's declared type; the message names the failing fields."""

    error_type = "ValidationError"


def describe_validation_error(error: PydanticValidationError) -> str:
    """One line naming each failing field: ``2 validation errors for Order: quantity: ...; ...``."""
    problems = []
    for detail in error.errors(include_url=False):
        location = ".".join(str(part) for part in detail["loc"]) or "(the event)"
        problems.append(f"{location}: {detail['msg']}")
    count = error.error_count()
    noun = "validation error" if count == 1 else "validation errors"
    return f"{count} {noun} for {error.title}: " + "; ".join(problems)


def build_invoke(
    function: Callable[..., Any],
    event_type: Any,
    output_type: Any,
    fallback_encode: Callable[[Any], bytes],
    raw_event: bool = False,
) -> Invoke:
    """The ``invoke(payload, context) -> bytes`` of a typed handler.

    ``event_type`` / ``output_type`` are ``None`` when that side is not typed: the event is then
    decoded with the stdlib ``json`` module, and the result encoded by ``fallback_encode`` (models in an
    untyped result are still serialised by pydantic). ``output_type`` is :data:`NO_RESULT` for a
    ``-> None`` handler, whose answer is always JSON ``null``. ``raw_event`` (an untyped event annotated
    ``bytes``) passes the payload through as it is.
    """
    decode, encode = build_codec(event_type, output_type, fallback_encode, raw_event)

    def invoke(payload: bytes, context: LambdaContext) -> bytes:
        return encode(function(decode(payload), context))

    return invoke


def build_codec(
    event_type: Any, output_type: Any, fallback_encode: Callable[[Any], bytes], raw_event: bool = False
) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """``(decode, encode)``: the two halves of :func:`build_invoke`, for a runtime that awaits the call."""
    return _decoder(event_type, raw_event), _encoder(output_type, fallback_encode)


def _decoder(event_type: Any, raw_event: bool = False) -> Callable[[bytes], Any]:
    if event_type is None and raw_event:
        return _as_is  # ``event: bytes``: the payload as it came
    if event_type is None:
        from .handlers import payload_decoder

        return payload_decoder()

    validate = TypeAdapter(event_type).validate_json

    def decode_typed(payload: bytes) -> Any:
        try:
            return validate(payload or b"null")
        except PydanticValidationError as error:
            if all(detail["type"] == "json_invalid" for detail in error.errors(include_url=False)):
                # Not JSON at all: the same error an untyped handler reports.
                raise UnmarshalError(f"Unable to unmarshal input: {error.errors()[0]['msg']}") from None
            raise ValidationError(describe_validation_error(error)) from None

    return decode_typed


def _as_is(payload: bytes) -> bytes:
    return payload


def _encoder(output_type: Any, fallback_encode: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    if output_type is NO_RESULT:
        return lambda result: b"null"
    if output_type is None:

        def encode_untyped(result: Any) -> bytes:
            if type(result) is bytes:
                return result
            if hasattr(result, "__pydantic_serializer__") or hasattr(result, "__dataclass_fields__"):
                return _dump(to_json, result)
            return fallback_encode(result)

        return encode_untyped

    dump = TypeAdapter(output_type).dump_json

    def encode_typed(result: Any) -> bytes:
        return _dump(dump, result)

    return encode_typed


def _dump(dump: Callable[..., bytes], result: Any) -> bytes:
    try:
        return dump(result, by_alias=True)
    except (PydanticSerializationError, TypeError, ValueError) as error:
        raise MarshalError(f"Unable to marshal response: {error}") from None


NO_RESULT: Any = _NO_RESULT
