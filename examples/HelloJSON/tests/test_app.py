"""Tests for HelloJSON: the models, the handler called directly, then the real runtime end to end.

Calling ``app.handler`` directly skips the runtime, and with it the validation of the payload: the
handler gets a ``HelloRequest`` that the test built. What the runtime does with a payload (validate it
against the annotation, reject it with a ``ValidationError``, serialise the answer by alias) is tested
end to end: ``run_function`` starts a local Lambda Runtime API server and runs ``python -m
lambda_runtime app.handler`` against it in a subprocess, exactly as Lambda would run the function.
"""

import json
from pathlib import Path

import pytest
from lambda_runtime.testing import make_context, run_function
from pydantic import ValidationError

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


# --- The models ------------------------------------------------------------------------------------


def test_the_request_is_read_from_camel_case_json() -> None:
    request = app.HelloRequest.model_validate_json(b'{"name": "Grace", "age": 85, "preferredGreeting": "Hi"}')
    assert request == app.HelloRequest(name="Grace", age=85, preferred_greeting="Hi")


def test_the_greeting_defaults_to_hello() -> None:
    assert app.HelloRequest.model_validate_json(b'{"name": "Ada", "age": 36}').preferred_greeting == "Hello"


def test_the_response_is_written_as_camel_case_json() -> None:
    assert app.HelloResponse(greetings="Hi").model_dump_json(by_alias=True) == '{"greetings":"Hi"}'


def test_surrounding_whitespace_is_not_part_of_the_name() -> None:
    assert app.HelloRequest.model_validate_json(b'{"name": "  Ada\\n", "age": 36}').name == "Ada"


@pytest.mark.parametrize(
    ("payload", "failing_field"),
    [
        pytest.param(b'{"age": 36}', "name", id="missing-name"),
        pytest.param(b'{"name": "Ada"}', "age", id="missing-age"),
        pytest.param(b'{"name": "   ", "age": 36}', "name", id="blank-name"),
        pytest.param(b'{"name": "Ada", "age": "36"}', "age", id="age-as-a-string"),
        pytest.param(b'{"name": "Ada", "age": true}', "age", id="age-as-a-boolean"),
        pytest.param(b'{"name": "Ada", "age": 36.5}', "age", id="fractional-age"),
        pytest.param(b'{"name": "Ada", "age": -1}', "age", id="negative-age"),
        pytest.param(b'{"name": "Ada", "age": 151}', "age", id="age-over-150"),
        pytest.param(
            b'{"name": "Ada", "age": 36, "preferredGreeting": ""}', "preferredGreeting", id="no-greeting"
        ),
    ],
)
def test_a_request_that_does_not_fit_the_model_is_rejected(payload: bytes, failing_field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        app.HelloRequest.model_validate_json(payload)
    assert [error["loc"][0] for error in raised.value.errors()] == [failing_field]


# --- The handler on its own ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "looks"),
    [(0, "older"), (30, "older"), (31, "younger"), (150, "younger")],
)
def test_the_greeting_depends_on_the_age(age: int, looks: str) -> None:
    response = app.handler(app.HelloRequest(name="Ada", age=age), make_context())
    assert response == app.HelloResponse(greetings=f"Hello Ada. You look {looks} than your age.")


def test_the_preferred_greeting_replaces_hello() -> None:
    request = app.HelloRequest(name="Grace", age=85, preferred_greeting="Good morning")
    response = app.handler(request, make_context())
    assert response.greetings == "Good morning Grace. You look younger than your age."


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_the_runtime_validates_events_and_serialises_responses() -> None:
    greeting, missing_age, wrong_types, not_json, next_greeting = run_function(
        "app.handler",
        [
            b'{"name": "Ada", "age": 36, "preferredGreeting": "Hi"}',
            b'{"name": "Ada"}',
            b'{"name": 42, "age": "thirty"}',
            b"this is not JSON",
            b'{"name": "Grace", "age": 85}',
        ],
        cwd=str(EXAMPLE_DIR),
    )

    assert not greeting.is_error
    assert greeting.json() == {"greetings": "Hi Ada. You look younger than your age."}

    # An event that does not match HelloRequest never reaches the handler: the runtime answers with a
    # function error of type ValidationError whose message names each failing field.
    assert missing_age.is_error
    error = missing_age.json()
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"] == "1 validation error for HelloRequest: age: Field required"

    error = wrong_types.json()
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"].startswith("2 validation errors for HelloRequest: ")
    assert "name: Input should be a valid string" in error["errorMessage"]
    assert "age: Input should be a valid integer" in error["errorMessage"]

    # A payload that is not JSON at all is reported as AWS's own Python runtime reports it.
    assert not_json.json()["errorType"] == "Runtime.UnmarshalError"

    # Failed invocations do not take the function down: the next event is served normally.
    assert next_greeting.json() == {"greetings": "Hello Grace. You look younger than your age."}


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
