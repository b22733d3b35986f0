"""Events and results as they cross the wire: unicode both ways, a 6 MB event, JSON values that are not
objects, and the empty payload."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import Serve


def echo(event: Any, context: Any) -> Any:
    return event


def describe(event: Any, context: Any) -> dict[str, Any]:
    return {"type": type(event).__name__, "value": event}


UNICODE = {
    "latin": "héllo wörld",
    "cjk": "你好世界",
    "emoji": "🎉👩‍💻🏳️‍🌈",
    "rtl": "مرحبا بالعالم",
    "combining": "e\u0301 a\u030a",
    "controls": "tab\tnewline\nnul\x00bell\x07",
    "max-codepoint": "\U0010ffff",
    "keys": {"ключ": "значение", "キー": ["値"]},
}


@pytest.mark.parametrize("value", UNICODE.values(), ids=UNICODE.keys())
def test_unicode_events_and_results_round_trip(value: Any, serve: Serve) -> None:
    [result] = serve(echo, {"value": value})
    assert result.json() == {"value": value}
    assert result.body.decode("utf-8")  # real UTF-8 on the wire, no error


def test_unicode_results_are_sent_as_utf8_not_escaped(serve: Serve) -> None:
    [result] = serve(lambda event, context: "é世🎉", {})
    assert result.body == '"é世🎉"'.encode()


def test_a_result_with_a_lone_surrogate_is_still_valid_json(serve: Serve) -> None:
    [result] = serve(lambda event, context: {"broken": "a\ud800b"}, {})
    assert not result.is_error
    assert result.body.isascii()
    assert result.json() == {"broken": "a\ud800b"}


def test_an_event_written_in_escapes_is_decoded(serve: Serve) -> None:
    [result] = serve(describe, b'"\\u00e9\\ud83c\\udf89"')
    assert result.json() == {"type": "str", "value": "é🎉"}


def test_a_6_mb_event(serve: Serve) -> None:
    text = "x€" * ((6 * 1024 * 1024 - 64) // 4)  # 4 bytes of UTF-8 a pair
    event = json.dumps({"payload": text}, ensure_ascii=False).encode()
    assert 6 * 1024 * 1024 * 0.99 < len(event) <= 6 * 1024 * 1024

    def handler(event: dict[str, str], context: Any) -> dict[str, Any]:
        payload = event["payload"]
        return {"length": len(payload), "sha256": hashlib.sha256(payload.encode()).hexdigest()}

    [result] = serve(handler, event)
    assert result.json() == {"length": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def test_a_6_mb_raw_event_and_response(serve: Serve) -> None:
    event = bytes(range(256)) * (6 * 1024 * 1024 // 256)

    def handler(event: bytes, context: Any) -> bytes:
        return event

    [result] = serve(handler, event)
    assert result.body == event


TOP_LEVEL = {
    "list": ([1, "two", None], "list"),
    "empty-list": ([], "list"),
    "string": ("just a string", "str"),
    "empty-string": ("", "str"),
    "integer": (42, "int"),
    "negative-float": (-2.5, "float"),
    "big-integer": (2**70, "int"),
    "null": (None, "NoneType"),
    "true": (True, "bool"),
    "false": (False, "bool"),
}


@pytest.mark.parametrize(("value", "type_name"), TOP_LEVEL.values(), ids=TOP_LEVEL.keys())
def test_json_values_that_are_not_objects(value: Any, type_name: str, serve: Serve) -> None:
    received: list[str] = []

    def handler(event: Any, context: Any) -> Any:
        received.append(type(event).__name__)
        return event

    [result] = serve(handler, value)
    assert received == [type_name]
    assert result.body == json.dumps(value, separators=(",", ":")).encode()


def test_an_empty_payload_is_none(serve: Serve) -> None:
    [result] = serve(describe, b"")
    assert result.json() == {"type": "NoneType", "value": None}


def test_whitespace_around_json_is_fine(serve: Serve) -> None:
    [result] = serve(describe, b' \r\n\t{"a": [1]}\n ')
    assert result.json() == {"type": "dict", "value": {"a": [1]}}
