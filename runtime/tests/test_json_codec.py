"""The JSON codec drives ``_json`` directly: it must read and write exactly what ``json`` does, and fall
back to ``json`` where the accelerator is missing or the payload needs explaining."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_runtime import handlers
from lambda_runtime.errors import MarshalError, UnmarshalError

DOCUMENTS = [
    b'{"name": "Ada"}',
    b'{"a":[1,2.5,-3e-7,1E+300,null,true,false,"\\u00e9\\ud83d\\ude00",{"b":{}}],"c":[]}',
    b'"just a string"',
    b"12345678901234567890123456789",
    b"-0.0",
    b"[NaN, Infinity, -Infinity]",
    '{"k": "é ☃ 😀"}'.encode(),
    b'{"dup": 1, "dup": 2}',
]


@pytest.mark.parametrize("payload", DOCUMENTS)
def test_decoding_agrees_with_json_loads(payload: bytes) -> None:
    decoded = handlers.payload_decoder()(payload)
    expected = json.loads(payload)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert type(decoded) is type(expected)


@pytest.mark.parametrize(
    "payload",
    [b' {"a": 1}', b'{"a": 1}\n', b"\r\n\t [1, 2] \n", b"\xef\xbb\xbf{}", b"\xef\xbb\xbf 7 \n"],
)
def test_whitespace_and_a_byte_order_mark_around_the_document_are_allowed(payload: bytes) -> None:
    assert handlers.payload_decoder()(payload) == json.loads(payload.removeprefix(b"\xef\xbb\xbf"))


@pytest.mark.parametrize("payload", [b"", b"\xef\xbb\xbf"])
def test_an_empty_payload_is_none(payload: bytes) -> None:
    assert handlers.payload_decoder()(payload) is None


def _json_explanation(payload: bytes) -> str:
    """What json.loads says about ``payload`` (its wording changes between Python versions)."""
    try:
        json.loads(payload.decode("utf-8"))
    except ValueError as error:
        return str(error)
    raise AssertionError(f"{payload!r} is JSON")


@pytest.mark.parametrize("payload", [b"{", b"nope", b"  nope", b'{"a": 1} x', b"\n[1,]", b"\xff\xfe"])
def test_a_payload_that_is_not_json_is_explained_as_json_does(payload: bytes) -> None:
    with pytest.raises(UnmarshalError) as caught:
        handlers.payload_decoder()(payload)
    assert str(caught.value) == f"Unable to unmarshal input: {_json_explanation(payload)}"


def test_positions_in_an_explanation_count_the_whitespace_around_the_document() -> None:
    with pytest.raises(UnmarshalError, match=r"line 1 column 3 \(char 2\)"):
        handlers.payload_decoder()(b"  nope")


VALUES = [
    {"message": "Hello, Ada!"},
    [1, 2.5, -0.0, 1e300, None, True, False, 'é ☃ 😀 \u2028 \x00 "quoted" \\'],
    {"nested": {"deep": [[], {}, [{"k": 10**30}]]}, "0": 0},
    "text",
    None,
    float("inf"),
    {1: "int key", 2.5: "float key", None: "null key", False: "bool key"},
]


@pytest.mark.parametrize("value", VALUES)
def test_encoding_agrees_with_json_dumps(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert handlers.result_encoder()(value) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_any_json_value_round_trips_as_json_writes_and_reads_it(value: Any) -> None:
    encoded = handlers.result_encoder()(value)
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if text.isascii() or all(not 0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert encoded == text.encode()
    else:  # lone surrogates cannot be UTF-8: the encoder escapes them instead
        assert encoded == json.dumps(value, separators=(",", ":")).encode()
    assert handlers.payload_decoder()(encoded) == json.loads(encoded)


def test_common_non_json_types_are_encoded_and_the_rest_refused() -> None:
    encode = handlers.result_encoder()
    assert encode({"price": Decimal("9.50"), "count": Decimal("3"), "tags": {"x"}, "pair": (1, 2)}) == (
        b'{"price":9.5,"count":3,"tags":["x"],"pair":[1,2]}'
    )
    with pytest.raises(MarshalError, match="Object of type object is not JSON serializable"):
        encode({"bad": object()})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(MarshalError, match="Circular reference"):
        encode(circular)
    # The encoder forgets what it was inside of when an error cut it short.
    assert encode([circular[:0], {"ok": True}]) == b'[[],{"ok":true}]'


def test_lone_surrogates_are_escaped_rather_than_failing() -> None:
    assert handlers.result_encoder()({"s": "a\ud800b"}) == b'{"s":"a\\ud800b"}'


def test_bytes_results_pass_through() -> None:
    assert handlers.result_encoder()(b"\x00raw") == b"\x00raw"


def test_constants_decode_as_json_decodes_them() -> None:
    decoded = handlers.payload_decoder()(b"[NaN, Infinity, -Infinity]")
    assert math.isnan(decoded[0]) and decoded[1:] == [math.inf, -math.inf]


def run_probe(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (where sys.modules shows what it imported)."""
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()


def test_the_codec_works_without_the_accelerator() -> None:
    """Where ``_json`` is missing (another Python), the codec is ``json``'s pure-Python one."""
    probe = (
        "import sys\nsys.modules['_json'] = None\n"
        "from lambda_runtime import handlers\n"
        "assert handlers.payload_decoder()(b' {\"a\": [1, 2.5]} ') == {'a': [1, 2.5]}\n"
        "assert handlers.result_encoder()({'a': 'é'}) == '{\"a\":\"é\"}'.encode()\n"
        "print('ok')\n"
    )
    assert run_probe(probe) == "ok"


def test_the_common_path_imports_neither_json_nor_re() -> None:
    probe = (
        "import sys\nfrom lambda_runtime import handlers\n"
        "decode, encode = handlers.payload_decoder(), handlers.result_encoder()\n"
        'assert encode(decode(b\'{"name": "Ada"}\\n\')) == b\'{"name":"Ada"}\'\n'
        "print(sorted(name for name in ('json', 're') if name in sys.modules))\n"
    )
    assert run_probe(probe) == "[]"
