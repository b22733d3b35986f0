"""The JSON codec of untyped handlers: event payloads decoded, results encoded.

It drives CPython's C accelerator, ``_json``, directly. ``import json`` costs milliseconds of cold start
(``json`` imports ``re`` and compiles its patterns) for nothing the accelerator needs: its scanner and
its encoder take their settings as arguments. The results are those of ``json.loads`` and of
``json.dumps(result, separators=(",", ":"), ensure_ascii=False)``. ``json`` itself is imported only
where its pure-Python behaviour is wanted: to explain a payload that is not JSON, and on a Python
without ``_json`` (or with another accelerator signature).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    Scan = Callable[[str, int], tuple[Any, int]]
    # The C encoder takes (value, indent level 0); json.JSONEncoder.iterencode takes (value, one shot):
    # called with False, both encode the whole value.
    IterEncode = Callable[[Any, bool], Iterable[str]]

_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_JSON_WHITESPACE = " \t\n\r"


class _DecoderSettings:
    """What ``_json.make_scanner`` reads off a ``json.JSONDecoder``: its defaults, as ``json.loads`` uses."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def _scanner() -> "Scan | None":
    try:
        import _json
    except ImportError:
        return None
    # The stub types the settings as a scanner; what the C scanner reads is these six attributes.
    scan: Scan = _json.make_scanner(_DecoderSettings())  # type: ignore[arg-type]
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
