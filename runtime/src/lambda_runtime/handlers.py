"""Turning what the user wrote into one internal call shape, decided once at init.

A handler may be a function ``(event, context)``, an ``async def`` function, a class or an object with
``handle(event, context)``. Its annotations choose the codec: an event parameter annotated ``bytes``
receives the raw payload, a ``-> bytes`` handler's result is sent as is; everything else is JSON. The
result of :func:`adapt` is an :class:`AdaptedHandler` whose ``invoke(payload, context) -> bytes`` is
all the runtime calls per invocation.

A handler that takes three parameters ``(event, stream, context)`` streams its response: it gets the
raw payload (the runtime assumes no event shape for streaming) and writes to a ``ResponseStream``;
the adapter's ``invoke_stream(payload, stream, context)`` calls it.
"""

from __future__ import annotations

from .errors import InitError, MarshalError, UnmarshalError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .context import LambdaContext
    from .streaming import ResponseStream

    Invoke = Callable[[bytes, LambdaContext], bytes]
    InvokeStream = Callable[[bytes, ResponseStream, LambdaContext], Any]

# inspect's CO_COROUTINE and CO_VARARGS, without importing inspect (tens of ms of cold start).
_CO_COROUTINE = 0x80
_CO_VARARGS = 0x04
_RAW_TYPES = ("bytes", "builtins.bytes")


def _target_function(handler: Callable[..., Any]) -> tuple[Any, int]:
    """The plain function behind ``handler`` and how many leading parameters are already bound."""
    function = getattr(handler, "__func__", None)
    if function is not None:  # a bound method: ``self`` is already supplied
        return function, 1
    if hasattr(handler, "__code__"):
        return handler, 0
    call = type(handler).__dict__.get("__call__")  # a callable object's method, not a builtin slot
    if call is not None and hasattr(call, "__code__"):
        return call, 1
    return None, 0


def _is_raw(annotation: object) -> bool:
    if annotation is bytes:
        return True
    return isinstance(annotation, str) and annotation in _RAW_TYPES


class HandlerShape:
    """What :func:`adapt` learnt about a handler: arity, async-ness and the raw-bytes annotations."""

    __slots__ = ("is_async", "max_positional", "min_positional", "raw_event", "raw_result")

    def accepts(self, count: int) -> bool:
        """Whether the handler can be called with ``count`` positional arguments."""
        return self.min_positional <= count <= self.max_positional

    def __init__(self, handler: Callable[..., Any]) -> None:
        function, bound = _target_function(handler)
        self.is_async = False
        self.raw_event = False
        self.raw_result = False
        # Unknown callables (builtins, partials) are taken at their word.
        self.min_positional = 0
        self.max_positional = 1 << 16
        if function is None:
            return
        code = function.__code__
        self.is_async = bool(code.co_flags & _CO_COROUTINE)
        defaults = len(getattr(function, "__defaults__", None) or ())
        self.min_positional = max(code.co_argcount - bound - defaults, 0)
        if not code.co_flags & _CO_VARARGS:
            self.max_positional = code.co_argcount - bound
        annotations = getattr(function, "__annotations__", None) or {}
        names = code.co_varnames[bound : code.co_argcount]
        if names:
            self.raw_event = _is_raw(annotations.get(names[0]))
        self.raw_result = _is_raw(annotations.get("return"))


def resolve_callable(handler: object) -> Callable[..., Any]:
    """The callable to invoke: ``handle`` of an object or of a class instantiated once here."""
    if isinstance(handler, type):
        if not callable(getattr(handler, "handle", None)):
            raise InitError(
                "Runtime.HandlerNotCallable",
                f"the class {handler.__qualname__} has no handle(event, context) method",
            )
        try:
            instance = handler()
        except Exception as error:
            raise InitError(
                "Runtime.HandlerInitError",
                f"creating {handler.__qualname__}() failed: {type(error).__name__}: {error}",
            ) from error
        return instance.handle  # type: ignore[no-any-return]
    handle = getattr(handler, "handle", None)
    if handle is not None and callable(handle) and not hasattr(handler, "__code__"):
        return handle  # type: ignore[no-any-return]
    if not callable(handler):
        raise InitError("Runtime.HandlerNotCallable", f"the handler {handler!r} is not callable")
    return handler


class AdaptedHandler:
    """The handler in the runtime's call shape: ``invoke(payload, context) -> bytes``.

    The JSON codec is built on the first call, or ahead of time by :meth:`prepare` (the runtime does
    that when Lambda pre-initialises the environment, so the first invocation pays nothing).
    """

    __slots__ = ("_function", "_shape", "invoke", "invoke_stream", "streaming")

    def __init__(self, function: Callable[..., Any], shape: HandlerShape, streaming: bool = False) -> None:
        self._function = function
        self._shape = shape
        self.streaming = streaming
        self.invoke: Invoke = self._first_invoke
        # A streaming handler needs no codec: it is called as it is.
        self.invoke_stream: InvokeStream = function

    @property
    def shape(self) -> HandlerShape:
        return self._shape

    def prepare(self) -> None:
        """Build the codec now (imports ``json`` unless the handler is raw on both sides)."""
        if self.invoke == self._first_invoke and not self.streaming:
            self.invoke = _build_invoke(self._function, self._shape)

    def _first_invoke(self, payload: bytes, context: LambdaContext) -> bytes:
        self.prepare()
        return self.invoke(payload, context)


def adapt(handler: object) -> AdaptedHandler:
    """Check ``handler`` and wrap it in the runtime's call shape; raises :class:`InitError`."""
    function = resolve_callable(handler)
    shape = HandlerShape(function)
    streaming = not shape.accepts(2) and shape.accepts(3)
    if not streaming and not shape.accepts(2):
        name = getattr(function, "__qualname__", repr(function))
        raise InitError(
            "Runtime.HandlerSignatureError",
            f"the handler {name} cannot be called as {name}(event, context) nor, to stream its "
            f"response, as {name}(event, stream, context)",
        )
    if shape.is_async:
        function = _run_in_event_loop(function)
    return AdaptedHandler(function, shape, streaming)


def _run_in_event_loop(coroutine_function: Callable[..., Any]) -> Callable[..., Any]:
    import asyncio  # only for async handlers: it costs tens of milliseconds of cold start

    loop = asyncio.new_event_loop()
    run = loop.run_until_complete

    def call(*arguments: Any) -> Any:
        return run(coroutine_function(*arguments))

    return call


def _build_invoke(function: Callable[..., Any], shape: HandlerShape) -> Invoke:
    raw_event = shape.raw_event
    if shape.raw_result:
        encode: Callable[[Any], bytes] = _raw_result
    else:
        encode = json_encoder()
    if raw_event:

        def invoke_raw(payload: bytes, context: LambdaContext) -> bytes:
            return encode(function(payload, context))

        return invoke_raw

    import json  # the codec's own import: kept off the path to the first /next

    loads = json.loads

    def invoke_json(payload: bytes, context: LambdaContext) -> bytes:
        try:
            event = loads(payload) if payload else None
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError both are
            raise UnmarshalError(f"Unable to unmarshal input: {error}") from None
        return encode(function(event, context))

    return invoke_json


def _raw_result(result: Any) -> bytes:
    if type(result) is bytes:
        return result
    if isinstance(result, (bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8", "surrogatepass")
    if result is None:
        return b""
    raise MarshalError(f"a handler declared -> bytes returned {type(result).__name__}")


def _encode_default(value: Any) -> Any:
    """JSON for the types handlers commonly return that ``json`` refuses (DynamoDB's Decimal)."""
    if type(value).__name__ == "Decimal":
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_encoder() -> Callable[[Any], bytes]:
    """Encode a result as JSON bytes; bytes results pass through raw."""
    import json

    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_encode_default).encode
    ascii_only = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=_encode_default).encode

    def encode(result: Any) -> bytes:
        if type(result) is bytes:
            return result
        try:
            text = compact(result)
        except (TypeError, ValueError, RecursionError) as error:
            raise MarshalError(f"Unable to marshal response: {error}") from None
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: escape them rather than fail the invocation
            return ascii_only(result).encode("ascii")

    return encode
