"""Tests for NoTraits: no optional dependency installed, raw bytes in and out.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` against it in a subprocess, exactly as Lambda would run the function.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lambda_runtime.testing import make_context, run_function

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))

# Payloads that are not valid UTF-8, or not text at all: a JSON runtime could not even decode them.
LATIN_1_TEXT = "café au lait".encode("latin-1")  # é is the single byte 0xE9 here
BINARY_BLOB = bytes(range(256))


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


# --- The environment has no extra --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "extra"),
    [("pydantic", "lambda-runtime[json]"), ("h11", "lambda-runtime[local]")],
)
def test_optional_dependency_is_not_installed(module: str, extra: str) -> None:
    assert importlib.util.find_spec(module) is None, (
        f"{module} is importable, so something installed {extra}; this example must run without it"
    )


def test_the_runtime_imports_only_the_standard_library() -> None:
    # In a fresh interpreter (pytest has imported plenty of its own), list the top-level modules that
    # importing the runtime and the function brings in and that are neither stdlib nor those two.
    # Modules loaded at start-up (e.g. by .pth files in site-packages) are not the runtime's doing.
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import lambda_runtime, lambda_runtime.testing, app\n"
        "allowed = set(sys.stdlib_module_names) | {'lambda_runtime', 'app'}\n"
        "print(sorted({name.split('.')[0] for name in set(sys.modules) - before} - allowed))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=EXAMPLE_DIR, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]", completed.stdout


# --- The handler on its own ------------------------------------------------------------------------


def test_ascii_letters_are_upper_cased() -> None:
    assert app.handler(b"hello, lambda", make_context()) == b"HELLO, LAMBDA"


def test_the_response_is_bytes_not_text() -> None:
    assert type(app.handler(b"hello", make_context())) is bytes


def test_bytes_that_are_not_utf_8_pass_through_unchanged() -> None:
    assert app.handler(LATIN_1_TEXT, make_context()) == b"CAF\xe9 AU LAIT"


def test_binary_payloads_keep_every_non_letter_byte() -> None:
    response = app.handler(BINARY_BLOB, make_context())
    assert len(response) == 256
    for value, (sent, received) in enumerate(zip(BINARY_BLOB, response, strict=True)):
        if ord("a") <= value <= ord("z"):
            assert received == sent - 32
        else:
            assert received == sent


def test_utf_8_is_treated_as_bytes_not_as_text() -> None:
    # Only the ASCII letters change: the two bytes of "ë" are not a letter to bytes.upper().
    assert app.handler("Zoë".encode(), make_context()) == "ZOë".encode()


def test_an_empty_payload_gives_an_empty_response() -> None:
    assert app.handler(b"", make_context()) == b""


def test_json_is_not_decoded() -> None:
    # Keys are upper-cased too: to this function JSON is just bytes.
    assert app.handler(b'{"name": "Ada"}', make_context()) == b'{"NAME": "ADA"}'


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_runtime_passes_raw_bytes_both_ways() -> None:
    payloads = [b"hello, lambda", LATIN_1_TEXT, BINARY_BLOB, "Zoë".encode(), b"this is not JSON {"]
    results = run_function("app.handler", payloads, cwd=str(EXAMPLE_DIR))

    assert [result.is_error for result in results] == [False] * len(payloads)
    assert [result.body for result in results] == [
        b"HELLO, LAMBDA",
        b"CAF\xe9 AU LAIT",
        app.handler(BINARY_BLOB, make_context()),
        "ZOë".encode(),
        b"THIS IS NOT JSON {",
    ]


def test_runtime_passes_an_empty_payload() -> None:
    [result] = run_function("app.handler", [b""], cwd=str(EXAMPLE_DIR))
    assert not result.is_error
    assert result.body == b""


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert expected_output_path(event_path).is_file(), f"{event_path.name} has no expected output"


def test_expected_outputs_are_json_too() -> None:
    # Upper-casing a JSON string keeps it JSON, so the expected files can be compared as bytes or
    # as decoded JSON; this guards against a sample event that would break that (e.g. `true`).
    for event_path in SAMPLE_EVENTS:
        json.loads(expected_output_path(event_path).read_bytes())


def test_every_sample_event_produces_its_expected_output_byte_for_byte() -> None:
    results = run_function(
        "app.handler", [event_path.read_bytes() for event_path in SAMPLE_EVENTS], cwd=str(EXAMPLE_DIR)
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        assert result.body == expected_output_path(event_path).read_bytes(), event_path.name
