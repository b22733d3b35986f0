"""Each kind of handler, detected once at init and called the same way every invocation: functions,
raw-bytes events and results, async def, classes and objects with handle(), callables.

This module deliberately has no ``from __future__ import annotations``: here ``event: bytes`` is the
type itself; the string form is tested through a module written with the future import."""

import asyncio
import functools
from typing import Any

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import Serve
    from lambda_runtime import LambdaContext


def plain(event, context):  # written as most Lambda handlers are, without annotations
    return {"echo": event, "context": type(context).__name__}


def raw_event(event: bytes, context: "LambdaContext") -> dict[str, Any]:
    return {"type": type(event).__name__, "event": event.decode("latin-1")}


def returns_bytes(event: Any, context: "LambdaContext") -> Any:
    return b"\x00not json\xff"


def annotated_bytes(event: Any, context: "LambdaContext") -> bytes:
    return "h\u00e9llo, not quoted"  # type: ignore[return-value] - text is sent as its UTF-8


def raw_both_ways(event: bytes, context: "LambdaContext") -> bytes:
    return event[::-1]


async def async_handler(event: Any, context: "LambdaContext") -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"async": event}


class Counter:
    """A class handler: instantiated once at init, its state lives across invocations."""

    def __init__(self) -> None:
        self.calls = 0

    def handle(self, event: Any, context: "LambdaContext") -> dict[str, Any]:
        self.calls += 1
        return {"calls": self.calls, "event": event}


class AsyncCounter:
    def __init__(self) -> None:
        self.calls = 0

    async def handle(self, event: Any, context: "LambdaContext") -> int:
        await asyncio.sleep(0)
        self.calls += 1
        return self.calls


class RawCallable:
    def __call__(self, event: bytes, context: "LambdaContext") -> bytes:
        return b"called with " + event


def with_defaults(event: Any, context: "LambdaContext", extra: str = "default") -> str:
    return extra


def with_varargs(*arguments: Any) -> int:
    return len(arguments)


def decorated(function: "Callable[..., Any]") -> "Callable[..., Any]":
    @functools.wraps(function)
    def wrapper(*arguments: Any, **keywords: Any) -> Any:
        return {"decorated": function(*arguments, **keywords)}

    return wrapper


@decorated
def wrapped(event: Any, context: "LambdaContext") -> Any:
    return event


def partial_target(prefix: str, event: Any, context: "LambdaContext") -> str:
    return f"{prefix}{event}"


KINDS = {
    "plain": (plain, [{"a": 1}], [{"echo": {"a": 1}, "context": "LambdaContext"}]),
    "bytes-event": (raw_event, [b"\xff\x00 raw"], [{"type": "bytes", "event": "\xff\x00 raw"}]),
    "bytes-return": (returns_bytes, [{}], [b"\x00not json\xff"]),
    "bytes-annotated-return": (annotated_bytes, [{}], ["héllo, not quoted".encode()]),
    "bytes-both-ways": (raw_both_ways, [b"\x01\x02\xff"], [b"\xff\x02\x01"]),
    "async-def": (async_handler, [1, 2], [{"async": 1}, {"async": 2}]),
    "class-with-handle": (
        Counter,
        [7, 8, 9],
        [{"calls": 1, "event": 7}, {"calls": 2, "event": 8}, {"calls": 3, "event": 9}],
    ),
    "async-handle": (AsyncCounter, [None, None], [1, 2]),
    "callable-object": (RawCallable(), [b"x"], [b"called with x"]),
    "lambda": (lambda event, context: event * 2, [21], [42]),
    "default-parameter": (with_defaults, [{}], ["default"]),
    "varargs": (with_varargs, [{}], [2]),
    "decorated": (wrapped, ["w"], [{"decorated": "w"}]),
    "partial": (functools.partial(partial_target, "p-"), ["x"], ["p-x"]),
}


@pytest.mark.parametrize(("handler", "events", "expected"), KINDS.values(), ids=KINDS.keys())
def test_handler_kinds(handler: object, events: list[Any], expected: list[Any], serve: "Serve") -> None:
    results = serve(handler, *events)
    assert not any(result.is_error for result in results), [result.body for result in results]
    bodies = [
        result.body if isinstance(want, bytes) else result.json()
        for result, want in zip(results, expected, strict=True)
    ]
    assert bodies == expected


def test_json_results_are_compact_utf8(serve: "Serve") -> None:
    [result] = serve(lambda event, context: {"k": ["é", 1, None, True]}, {})
    assert result.body == '{"k":["é",1,null,true]}'.encode()
    assert result.headers["content-type"] == "application/json"


def test_a_class_is_instantiated_once_at_init(serve: "Serve") -> None:
    created: list[object] = []

    class Handler:
        def __init__(self) -> None:
            created.append(self)

        def handle(self, event: Any, context: "LambdaContext") -> int:
            return len(created)

    results = serve(Handler, {}, {}, {})
    assert [result.json() for result in results] == [1, 1, 1]
    assert len(created) == 1


def test_an_instance_with_handle_keeps_its_state(serve: "Serve") -> None:
    handler = Counter()
    serve(handler, "a", "b")
    assert handler.calls == 2


def test_async_handlers_share_one_event_loop(serve: "Serve") -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(event: Any, context: "LambdaContext") -> bool:
        loops.append(asyncio.get_running_loop())
        return True

    serve(handler, {}, {}, {})
    assert len(loops) == 3 and len(set(map(id, loops))) == 1


@pytest.mark.parametrize(
    ("result", "body"),
    [(bytearray(b"ba"), b"ba"), (memoryview(b"mv"), b"mv"), (None, b""), ("\u2603", "\u2603".encode())],
    ids=["bytearray", "memoryview", "None", "str"],
)
def test_what_a_bytes_annotated_handler_may_return(result: object, body: bytes, serve: "Serve") -> None:
    def handler(event: bytes, context: "LambdaContext") -> bytes:
        return result  # type: ignore[return-value]

    [posted] = serve(handler, b"{}")
    assert (posted.is_error, posted.body) == (False, body)


FUTURE_ANNOTATIONS_MODULE = """
    from __future__ import annotations

    def reverse(event: bytes, context) -> bytes:
        assert isinstance(event, bytes), type(event)
        return event[::-1]

    def decode(event: dict, context) -> bytes:
        return event["text"].encode("utf-16-le")

    class Handler:
        def handle(self, event: bytes, context) -> dict:
            return {"length": len(event)}
    """


@pytest.mark.parametrize(
    ("attribute", "event", "body"),
    [
        ("reverse", b"\xffabc", b"cba\xff"),
        ("decode", b'{"text": "hi"}', "hi".encode("utf-16-le")),
        ("Handler", b"not json", b'{"length":8}'),
    ],
)
def test_string_annotations_from_future_import(
    attribute: str, event: bytes, body: bytes, write_module: "Callable[..., Path]", serve: "Serve"
) -> None:
    write_module(FUTURE_ANNOTATIONS_MODULE, "future_handlers")
    [result] = serve(f"future_handlers.{attribute}", event)
    assert (result.is_error, result.body) == (False, body)


def test_a_handler_named_by_a_string_is_loaded_at_init(
    write_module: "Callable[..., Path]", serve: "Serve"
) -> None:
    write_module(
        """
        LOADED = []
        LOADED.append("module imported")

        def handler(event, context):
            return LOADED + [event]
        """,
        "string_handler",
    )
    results = serve("string_handler.handler", 1, 2)
    assert [result.json() for result in results] == [["module imported", 1], ["module imported", 2]]


def test_a_handler_in_a_sub_directory_is_named_with_slashes(
    write_module: "Callable[..., Path]", serve: "Serve"
) -> None:
    write_module("def handler(event, context):\n    return 'nested'\n", "functions.nested.app")
    [result] = serve("functions/nested/app.handler", {})
    assert result.json() == "nested"
