"""Finding the user's handler and turning it into one internal call shape, decided once at init.

A handler named by a ``module.function`` string (Lambda's ``_HANDLER``) is imported by
:func:`load_handler`, with the error types and messages ``awslambdaric`` reports, so that a function
that fails to start looks the same in Lambda's console whichever runtime it uses.

A handler may be a function ``(event, context)``, an ``async def`` function, a class or an object with
``handle(event, context)``. Its annotations choose the codec: an event parameter annotated ``bytes``
receives the raw payload, a ``-> bytes`` handler's result is sent as is; everything else is JSON. The
result of :func:`adapt` is an :class:`AdaptedHandler` whose ``invoke(payload, context) -> bytes`` is
all the runtime calls per invocation.

A handler that takes three parameters ``(event, stream, context)`` streams its response: it gets the
raw payload (the runtime assumes no event shape for streaming) and writes to a ``ResponseStream``;
the adapter's ``invoke_stream(payload, stream, context)`` calls it.

Annotations naming a model type (a pydantic model, a dataclass, a TypedDict, or a list or union of
them), explicit ``event_type`` / ``output_type``, or a ``LambdaHandler[Event, Output]`` base class make
the handler typed: pydantic (the ``json`` extra) then validates and serialises, see ``typed.py``.
Nothing here imports pydantic or ``typing`` unless a handler calls for it.

Untyped handlers get the JSON codec at the end of this module (:func:`payload_decoder`,
:func:`result_encoder`), built on CPython's C accelerator ``_json`` rather than on ``json``.
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .context import LambdaContext
    from .streaming import ResponseStream

    Invoke = Callable[[bytes, LambdaContext], bytes]
    InvokeStream = Callable[[bytes, ResponseStream, LambdaContext], Any]
    Scan = Callable[[str, int], tuple[Any, int]]
    # The C encoder takes (value, indent level 0); json.JSONEncoder.iterencode takes (value, one shot):
    # called with False, both encode the whole value.
    IterEncode = Callable[[Any, bool], Iterable[str]]

# --- loading ------------------------------------------------------------------------------------


def _init_error(error_type: str, message: str, stack_trace: "list[str] | None" = None) -> Exception:
    """An :class:`~lambda_runtime.errors.InitError`; the errors module loads only when init fails, not on
    every cold start."""
    from .errors import InitError

    return InitError(error_type, message, stack_trace)


def user_stack_trace(error: BaseException) -> list[str]:
    """The formatted frames of ``error``'s traceback that belong to the user's code."""
    import traceback

    hidden = _runtime_prefixes()
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith(hidden)
    ]
    return traceback.format_list(frames)


def _runtime_prefixes() -> tuple[str, ...]:
    """Where the frames that are the runtime's, not the user's, come from."""
    prefixes = [_PACKAGE_DIR, "<frozen importlib"]
    asyncio: Any = sys.modules.get("asyncio")  # an async handler's error passes through the event loop
    if asyncio is not None:
        prefixes.append(asyncio.__file__.rpartition("/")[0] + "/")
    return tuple(prefixes)


_PACKAGE_DIR = __file__.rpartition("/")[0] + "/"


def load_handler(spec: str) -> object:
    """Import the module of ``spec`` (``path/to/module.attribute``) and return the attribute."""
    module_name, dot, attribute = spec.strip().rpartition(".")
    if not dot or not module_name or not attribute:
        raise _init_error(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{spec}': expected module.function, like app.handler",
        )
    module_name = module_name.replace("/", ".")
    try:
        __import__(module_name)
        module = sys.modules[module_name]
    except ModuleNotFoundError as error:
        raise _init_error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        raise _init_error(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            user_stack_trace(error),
        ) from None
    except BaseException as error:
        raise _init_error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {type(error).__name__}: {error}",
            user_stack_trace(error),
        ) from None
    if not hasattr(module, attribute):
        raise _init_error(
            "Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'"
        )
    return getattr(module, attribute)


# --- adapting -----------------------------------------------------------------------------------

# inspect's CO_COROUTINE and CO_VARARGS, without importing inspect (tens of ms of cold start).
_CO_COROUTINE = 0x80
_CO_VARARGS = 0x04
_RAW_TYPES = ("bytes", "builtins.bytes")


def _target_function(handler: "Callable[..., Any]") -> "tuple[Any, int]":
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


_MISSING: "Any" = object()
# Names that, in a string annotation, cannot hide a model type: no need to evaluate them.
_PLAIN_NAMES = frozenset(
    (
        *("Any", "object", "None", "bytes", "bytearray", "str", "int", "float", "bool"),
        *("dict", "list", "tuple", "set", "Dict", "List", "Mapping", "MutableMapping", "Sequence"),
        *("Optional", "Union", "typing", "t", "LambdaContext", "Context", "ResponseStream"),
    )
)


def _needs_resolving(annotation: object) -> bool:
    if not isinstance(annotation, str):
        return False
    words = "".join(c if c.isalnum() or c == "_" else " " for c in annotation.replace(".", " ")).split()
    return any(word not in _PLAIN_NAMES for word in words)


def _resolve(function: "Any", annotation: "Any") -> "Any":
    """A string annotation the runtime needs (the event's, the result's), evaluated as
    ``typing.get_type_hints`` would, but alone and with ``Annotated`` metadata kept.

    Only these two are evaluated: the context's annotation, often imported for type checkers only
    (``if TYPE_CHECKING:``), is never looked at. A name that does not exist at run time (imported under
    ``TYPE_CHECKING`` too) cannot be validated against, so that side stays untyped, as under awslambdaric.
    """
    if not _needs_resolving(annotation):
        return annotation
    try:
        return eval(annotation, getattr(function, "__globals__", None) or {})
    except NameError:
        return _MISSING
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
        raise _init_error(
            "Runtime.HandlerSignatureError",
            f"cannot resolve the annotation {annotation!r} of {function.__qualname__}: {problem}",
        ) from None


def is_model_type(annotation: object) -> bool:
    """Whether ``annotation`` involves a type only pydantic can validate and serialise.

    TypedDicts are not counted: they are the static type hints that handlers written for awslambdaric
    use (``aws-lambda-typing``), and such a handler must run unchanged, without pydantic. A TypedDict is
    validated when it is declared explicitly (``event_type=``, ``LambdaHandler[...]``).
    """
    # On Python 3.10 a parametrised builtin such as ``list[Point]`` passes for a type: its arguments decide.
    if isinstance(annotation, type) and getattr(annotation, "__origin__", None) is None:
        return hasattr(annotation, "__pydantic_core_schema__") or hasattr(annotation, "__dataclass_fields__")
    arguments: tuple[object, ...] = getattr(annotation, "__args__", None) or ()
    return any(is_model_type(argument) for argument in arguments)


def _is_raw(annotation: object) -> bool:
    if annotation is bytes:
        return True
    return isinstance(annotation, str) and annotation in _RAW_TYPES


class HandlerShape:
    """What :func:`adapt` learnt about a handler: arity, async-ness and the raw-bytes annotations."""

    __slots__ = (
        "event_annotation",
        "is_async",
        "max_positional",
        "min_positional",
        "raw_event",
        "raw_result",
        "result_annotation",
    )

    def accepts(self, count: int) -> bool:
        """Whether the handler can be called with ``count`` positional arguments."""
        return self.min_positional <= count <= self.max_positional

    def __init__(self, handler: "Callable[..., Any]") -> None:
        function, bound = _target_function(handler)
        self.is_async = False
        self.raw_event = False
        self.raw_result = False
        self.event_annotation: Any = _MISSING
        self.result_annotation: Any = _MISSING
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
            self.event_annotation = annotations.get(names[0], _MISSING)
        self.result_annotation = annotations.get("return", _MISSING)
        # ``from __future__ import annotations`` left names that may be model types: evaluate them.
        self.event_annotation = _resolve(function, self.event_annotation)
        self.result_annotation = _resolve(function, self.result_annotation)
        if self.result_annotation in (type(None), "None"):
            self.result_annotation = None  # ``-> None``, however it was spelt
        self.raw_event = _is_raw(self.event_annotation)
        self.raw_result = _is_raw(self.result_annotation)


def declared_types(handler: object) -> "tuple[Any, Any]":
    """``(Event, Output)`` of a class (or an instance of one) declared ``LambdaHandler[Event, Output]``."""
    cls = handler if isinstance(handler, type) else type(handler)
    for klass in getattr(cls, "__mro__", ()):
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = getattr(base, "__origin__", None)
            if getattr(origin, "__name__", "") == "LambdaHandler" and len(base.__args__) == 2:
                event_type, output_type = base.__args__
                return (
                    None if _is_type_variable(event_type) else event_type,
                    None if _is_type_variable(output_type) else output_type,
                )
    return None, None


def _is_type_variable(value: object) -> bool:
    return type(value).__name__ == "TypeVar"


def resolve_callable(handler: object) -> "Callable[..., Any]":
    """The callable to invoke: ``handle`` of an object or of a class instantiated once here."""
    if isinstance(handler, type):
        if not callable(getattr(handler, "handle", None)):
            raise _init_error(
                "Runtime.HandlerNotCallable",
                f"the class {handler.__qualname__} has no handle(event, context) method",
            )
        try:
            instance = handler()
        except Exception as error:
            raise _init_error(
                "Runtime.HandlerInitError",
                f"creating {handler.__qualname__}() failed: {type(error).__name__}: {error}",
            ) from error
        return instance.handle  # type: ignore[no-any-return]
    handle = getattr(handler, "handle", None)
    if handle is not None and callable(handle) and not hasattr(handler, "__code__"):
        return handle  # type: ignore[no-any-return]
    if not callable(handler):
        raise _init_error("Runtime.HandlerNotCallable", f"the handler {handler!r} is not callable")
    return handler


class AdaptedHandler:
    """The handler in the runtime's call shape: ``invoke(payload, context) -> bytes``.

    Its codec is built here, at init, where Lambda gives the function a full CPU: the first invocation
    pays nothing more than the others.
    """

    __slots__ = ("_shape", "coroutine_function", "invoke", "invoke_stream", "streaming", "types")

    def __init__(self, function: "Callable[..., Any]", shape: HandlerShape, streaming: bool = False) -> None:
        self._shape = shape
        self.streaming = streaming
        # For an ``async def`` handler: the coroutine function itself, which an event loop that serves
        # several invocations at once awaits (``invoke`` runs it to completion on a private loop).
        self.coroutine_function: Callable[..., Any] | None = None
        # The (event, output) types a typed handler is validated and serialised with; (None, None) else.
        self.types: tuple[Any, Any] = (None, None)
        # Set by adapt(): the typed codec, or the JSON / raw one. A streaming handler needs no codec: it is
        # called as it is, never through ``invoke``.
        self.invoke: Invoke = _not_buffered
        self.invoke_stream: InvokeStream = function

    @property
    def shape(self) -> HandlerShape:
        return self._shape


def _not_buffered(payload: bytes, context: "LambdaContext") -> bytes:
    raise TypeError("a streaming handler is invoked with invoke_stream(payload, stream, context)")


def adapt(handler: object, event_type: "Any" = None, output_type: "Any" = None) -> AdaptedHandler:
    """Check ``handler`` and wrap it in the runtime's call shape; raises :class:`InitError`.

    ``event_type`` / ``output_type`` declare the types of a handler that has no annotations; they win
    over annotations and over a ``LambdaHandler[Event, Output]`` base class.
    """
    declared_event, declared_output = declared_types(handler)
    function = resolve_callable(handler)
    shape = HandlerShape(function)
    streaming = not shape.accepts(2) and shape.accepts(3)
    if not streaming and not shape.accepts(2):
        name = getattr(function, "__qualname__", repr(function))
        raise _init_error(
            "Runtime.HandlerSignatureError",
            f"the handler {name} cannot be called as {name}(event, context) nor, to stream its "
            f"response, as {name}(event, stream, context)",
        )
    coroutine_function = function if shape.is_async else None
    if shape.is_async:
        function = _run_in_event_loop(function)
    adapted = AdaptedHandler(function, shape, streaming)
    adapted.coroutine_function = coroutine_function
    if not streaming:
        typed_event = _pick(event_type, declared_event, shape.event_annotation)
        typed_output = _pick(output_type, declared_output, shape.result_annotation)
        if typed_output is None and shape.result_annotation is None and typed_event is not None:
            from .typed import NO_RESULT

            typed_output = NO_RESULT  # a typed ``-> None`` handler answers JSON null
        if typed_event is not None or typed_output is not None:
            adapted.invoke = _typed_invoke(function, shape, typed_event, typed_output)
            adapted.types = (typed_event, typed_output)
        else:
            adapted.invoke = _build_invoke(function, shape)
    elif event_type is not None or output_type is not None:
        raise _init_error(
            "Runtime.HandlerSignatureError",
            "a streaming handler gets the raw event bytes: event_type and output_type do not apply",
        )
    return adapted


def _pick(explicit: "Any", declared: "Any", annotation: "Any") -> "Any":
    """The type to validate with, or None when this side stays untyped (plain JSON or raw bytes)."""
    if explicit is not None:
        return explicit
    if declared is not None:
        return declared
    return annotation if is_model_type(annotation) else None


def _typed_invoke(
    function: "Callable[..., Any]", shape: HandlerShape, event_type: "Any", output_type: "Any"
) -> "Invoke":
    from . import typed  # imports pydantic; raises InitError naming the extra when it is missing

    fallback = _raw_result if shape.raw_result else result_encoder()
    return typed.build_invoke(function, event_type, output_type, fallback, raw_event=shape.raw_event)


def codec(adapted: AdaptedHandler) -> "tuple[Callable[[bytes], Any], Callable[[Any], bytes]]":
    """``(decode, encode)`` for a buffered handler: what ``invoke`` does around the call, in two halves,
    for a runtime that awaits the call in between (``async def`` handlers sharing one event loop)."""
    shape = adapted.shape
    event_type, output_type = adapted.types
    if event_type is not None or output_type is not None:
        from . import typed

        fallback = _raw_result if shape.raw_result else result_encoder()
        return typed.build_codec(event_type, output_type, fallback, raw_event=shape.raw_event)
    encode = _raw_result if shape.raw_result else result_encoder()
    if shape.raw_event:
        return _payload_as_is, encode
    return payload_decoder(), encode


def _payload_as_is(payload: bytes) -> bytes:
    return payload


_event_loop: "Any" = None


def event_loop() -> "Any":
    """The event loop that runs ``async def`` handlers (and the lifecycle extra's async hooks).

    One per process, created on first use: a client or pool that an async init hook opens is bound to
    the loop it was opened on, so the handler that uses it must run on that same loop.
    """
    global _event_loop
    if _event_loop is None:
        import asyncio  # only for async handlers: it costs tens of milliseconds of cold start

        _event_loop = asyncio.new_event_loop()
    return _event_loop


def _run_in_event_loop(coroutine_function: "Callable[..., Any]") -> "Callable[..., Any]":
    loop = event_loop()
    run = loop.run_until_complete

    def call(*arguments: "Any") -> "Any":
        return run(coroutine_function(*arguments))

    return call


def _build_invoke(function: "Callable[..., Any]", shape: HandlerShape) -> "Invoke":
    raw_event = shape.raw_event
    if shape.raw_result:
        encode: Callable[[Any], bytes] = _raw_result
    else:
        encode = result_encoder()
    if raw_event:

        def invoke_raw(payload: bytes, context: "LambdaContext") -> bytes:
            return encode(function(payload, context))

        return invoke_raw

    decode = payload_decoder()

    def invoke_json(payload: bytes, context: "LambdaContext") -> bytes:
        return encode(function(decode(payload), context))

    return invoke_json


def _raw_result(result: "Any") -> bytes:
    if type(result) is bytes:
        return result
    if isinstance(result, (bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8", "surrogatepass")
    if result is None:
        return b""
    from .errors import MarshalError

    raise MarshalError(f"a handler declared -> bytes returned {type(result).__name__}")


# --- the JSON codec of untyped handlers -----------------------------------------------------------
#
# Event payloads are decoded and results encoded by CPython's C accelerator, ``_json``, driven directly.
# ``import json`` costs milliseconds of cold start (``json`` imports ``re`` and compiles its patterns)
# for nothing the accelerator needs: its scanner and its encoder take their settings as arguments. The
# results are those of ``json.loads`` and of ``json.dumps(result, separators=(",", ":"),
# ensure_ascii=False)``. ``json`` itself is imported only where its pure-Python behaviour is wanted: to
# explain a payload that is not JSON, and on a Python without ``_json`` (or with another accelerator
# signature).

_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_JSON_WHITESPACE = " \t\n\r"


# types.SimpleNamespace, without importing types (a class of our own would cost more to create).
_namespace: "Callable[..., object]" = type(sys.implementation)
# What ``_json.make_scanner`` reads off a ``json.JSONDecoder``: its defaults, as ``json.loads`` uses.
_DECODER_SETTINGS = _namespace(
    strict=True,
    object_hook=None,
    object_pairs_hook=None,
    parse_float=float,
    parse_int=int,
    parse_constant={"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__,
)


def _scanner() -> "Scan | None":
    try:
        import _json
    except ImportError:
        return None
    # The stub types the settings as a scanner; what the C scanner reads is these six attributes.
    scan: Scan = _json.make_scanner(_DECODER_SETTINGS)  # type: ignore[arg-type]
    return scan


def payload_decoder() -> "Callable[[bytes], Any]":
    """Decode an event payload as ``json.loads`` would (an empty one: ``None``); a payload that is not
    UTF-8 JSON raises :class:`UnmarshalError`."""
    scan = _scanner()

    def decode(payload: bytes) -> "Any":
        try:
            if payload.startswith(_BYTE_ORDER_MARK):  # a UTF-8 byte order mark, as json.loads allows
                payload = payload[3:]
            if not payload:
                return None
            # Lambda payloads are UTF-8: decoding them directly skips json.loads' encoding detection.
            text = payload.decode("utf-8")
            if scan is not None:
                try:
                    value, end = scan(text, 0)
                    if end == len(text):
                        return value
                except StopIteration:  # no value at the very start: whitespace, or not JSON
                    pass
            return _decode_in_full(text, scan)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError both are
            from .errors import UnmarshalError

            raise UnmarshalError(f"Unable to unmarshal input: {error}") from None

    return decode


def _decode_in_full(text: str, scan: "Scan | None") -> "Any":
    """A document with whitespace around it, or one that is not JSON (which ``json`` then explains,
    with positions in the text as it came)."""
    stripped = text.strip(_JSON_WHITESPACE)
    if scan is not None and stripped and len(stripped) < len(text):
        try:
            value, end = scan(stripped, 0)
            if end == len(stripped):
                return value
        except (StopIteration, ValueError):
            pass
    import json

    return json.loads(text)


def encode_default(value: "Any") -> "Any":
    """JSON for the types handlers commonly return that ``json`` refuses: DynamoDB's Decimal, sets,
    and models or dataclasses returned by a handler that declared no types (dumped by alias)."""
    if type(value).__name__ == "Decimal":
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json", by_alias=True)
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        import dataclasses

        return dataclasses.asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# What ``json.dumps`` writes for this, spelled out: an accelerator used directly must agree.
_PROBE: "Any" = {"a": [1, 2.5, None, True, "\u00e9", {"b": "\u2028"}]}
_PROBE_TEXT = {
    False: '{"a":[1,2.5,null,true,"\u00e9",{"b":"\u2028"}]}',
    True: '{"a":[1,2.5,null,true,"\\u00e9",{"b":"\\u2028"}]}',
}


def _compact_encoder(ensure_ascii: bool) -> "tuple[IterEncode, dict[int, Any]]":
    """What ``json.dumps(value, separators=(",", ":"), ensure_ascii=..., default=encode_default)`` joins,
    as ``iterencode(value, False)``, with the C encoder built once instead of at every call; and the dict the
    encoder tracks the containers it is inside of with (to be cleared when an error cuts it short)."""
    markers: dict[int, Any] = {}
    try:
        import _json

        escape = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        iterencode = _json.make_encoder(markers, encode_default, escape, None, ":", ",", False, False, True)
        agrees = "".join(iterencode(_PROBE, False)) == _PROBE_TEXT[ensure_ascii]
    except (ImportError, AttributeError, TypeError, ValueError):  # no accelerator, or another signature
        agrees = False
    if agrees:
        return iterencode, markers
    import json

    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(",", ":"), default=encode_default)
    return encoder.iterencode, markers


def result_encoder() -> "Callable[[Any], bytes]":
    """Encode a result as JSON bytes (UTF-8); ``bytes`` results pass through raw. A result that cannot
    be encoded raises :class:`MarshalError`."""
    iterencode, markers = _compact_encoder(ensure_ascii=False)
    join = "".join
    ascii_only: list[Callable[[Any], bytes]] = []  # built the first time a result needs it

    def encode(result: "Any") -> bytes:
        if type(result) is bytes:
            return result
        try:
            text = join(iterencode(result, False))
        except BaseException as error:
            markers.clear()  # the containers the encoder was inside of when the error cut it short
            if isinstance(error, (TypeError, ValueError, RecursionError)):
                from .errors import MarshalError

                raise MarshalError(f"Unable to marshal response: {error}") from None
            raise
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: escape them rather than fail the invocation
            if not ascii_only:
                ascii_only.append(_ascii_encoder())
            return ascii_only[0](result)

    return encode


def _ascii_encoder() -> "Callable[[Any], bytes]":
    iterencode, _ = _compact_encoder(ensure_ascii=True)  # only for results that already encoded once

    def encode(result: "Any") -> bytes:
        return "".join(iterencode(result, False)).encode("ascii")

    return encode
