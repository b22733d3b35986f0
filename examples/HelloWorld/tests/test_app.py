"""Tests for HelloWorld: the handler called directly, then the real runtime end to end.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` against it in a subprocess, exactly as Lambda would run the function.
"""

import json
from pathlib import Path

import pytest
from lambda_runtime.testing import make_context, run_function

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


# --- The handler on its own ------------------------------------------------------------------------


def test_greets_the_name_in_the_event() -> None:
    assert app.handler({"name": "Ada"}, make_context()) == {"message": "Hello, Ada!"}


def test_surrounding_whitespace_is_not_part_of_the_name() -> None:
    assert app.handler({"name": "  Ada\n"}, make_context()) == {"message": "Hello, Ada!"}


def test_fields_other_than_name_are_ignored() -> None:
    event = {"name": "Grace", "language": "COBOL"}
    assert app.handler(event, make_context()) == {"message": "Hello, Grace!"}


def test_non_ascii_names_are_kept_as_they_are() -> None:
    assert app.handler({"name": "Zoë"}, make_context()) == {"message": "Hello, Zoë!"}


@pytest.mark.parametrize(
    ("event", "expected_message"),
    [
        pytest.param({}, 'the event has no "name" field; expected {"name": "Ada"}', id="missing-name"),
        pytest.param({"Name": "Ada"}, 'the event has no "name" field', id="misspelt-field"),
        pytest.param({"name": None}, '"name" must be a string, got NoneType', id="null-name"),
        pytest.param({"name": 42}, '"name" must be a string, got int', id="number-name"),
        pytest.param({"name": ""}, '"name" must not be blank', id="empty-name"),
        pytest.param({"name": " \t "}, '"name" must not be blank', id="blank-name"),
        pytest.param("Ada", 'expected a JSON object like {"name": "Ada"}, got str', id="bare-string"),
        pytest.param(["Ada"], "expected a JSON object", id="list"),
        pytest.param(None, "got NoneType", id="null"),
    ],
)
def test_an_event_without_a_usable_name_is_rejected(event: object, expected_message: str) -> None:
    with pytest.raises(app.InvalidEventError) as raised:
        app.handler(event, make_context())
    assert expected_message in str(raised.value)


def test_invalid_event_error_is_a_value_error() -> None:
    # Callers catching ValueError around a direct call (e.g. in a larger app) still catch it.
    assert issubclass(app.InvalidEventError, ValueError)


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_runtime_answers_greetings_and_reports_invalid_events() -> None:
    greeting, rejection, malformed, next_greeting = run_function(
        "app.handler",
        [b'{"name": "Ada"}', b'{"Name": "Ada"}', b"this is not JSON", b'{"name": "Grace"}'],
        cwd=str(EXAMPLE_DIR),
    )

    assert not greeting.is_error
    assert greeting.json() == {"message": "Hello, Ada!"}

    # The handler's exception becomes a Lambda function error named after the exception class.
    assert rejection.is_error
    assert rejection.error_type is not None
    error = rejection.json()
    assert error["errorType"] == "InvalidEventError"
    assert error["errorMessage"] == 'the event has no "name" field; expected {"name": "Ada"}'

    # A payload that is not JSON never reaches the handler: the runtime reports it, under the same
    # error type as AWS's own Python runtime.
    assert malformed.is_error
    assert malformed.json()["errorType"] == "Runtime.UnmarshalError"

    # One failed invocation does not take the function down: the next event is served normally.
    assert not next_greeting.is_error
    assert next_greeting.json() == {"message": "Hello, Grace!"}


def test_each_invocation_gets_its_own_request_id() -> None:
    results = run_function("app.handler", [b'{"name": "Ada"}', b'{"name": "Ada"}'], cwd=str(EXAMPLE_DIR))
    assert [result.json() for result in results] == [{"message": "Hello, Ada!"}] * 2
    assert results[0].request_id != results[1].request_id


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert expected_output_path(event_path).is_file(), f"{event_path.name} has no expected output"


def test_every_sample_event_produces_its_expected_output() -> None:
    results = run_function(
        "app.handler", [event_path.read_bytes() for event_path in SAMPLE_EVENTS], cwd=str(EXAMPLE_DIR)
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        # Compared as JSON, not bytes: key order and spacing are the encoder's business.
        expected = json.loads(expected_output_path(event_path).read_bytes())
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        assert result.json() == expected, event_path.name
