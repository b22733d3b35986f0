"""2. The handler, called directly: a model in, a model out, and a context from ``make_context``.

A direct call is the quickest test of the handler's own logic, and a debugger stops in it like in any
function. It skips the runtime: nothing validates the event, so the tests build a valid
``CapitalizeRequest`` (or read one from ``events/``), and the model's own rules get tests of their own.
"""

from pathlib import Path

import pytest
from lambda_runtime.testing import make_context
from pydantic import ValidationError

import app

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def test_the_handler_puts_each_text_in_sentence_case() -> None:
    event = app.CapitalizeRequest(texts=["hello WORLD", "HOW are YOU?"])
    response = app.handler(event, make_context())
    assert response == app.CapitalizeResponse(results=["Hello world", "How are you?"], unprocessed=[])


def test_a_sample_event_read_from_a_file() -> None:
    event = app.CapitalizeRequest.model_validate_json((EVENTS_DIR / "one-text.json").read_bytes())
    response = app.handler(event, make_context())
    assert response.results == ["Hello world. How are you?"]


def test_texts_are_left_unprocessed_when_time_runs_short() -> None:
    context = make_context(remaining_time_ms=100)  # below app.SAFETY_MARGIN_MS
    event = app.CapitalizeRequest(texts=["one", "two"])
    response = app.handler(event, context)
    assert response.results == []
    assert response.unprocessed == ["one", "two"]


class ScriptedClock:
    """A stand-in for the context: the handler only asks it for the remaining time."""

    def __init__(self, *remaining_ms: int) -> None:
        self.remaining_ms = iter(remaining_ms)

    def get_remaining_time_in_millis(self) -> int:
        return next(self.remaining_ms)


def test_the_handler_stops_where_the_time_runs_out() -> None:
    context = ScriptedClock(3000, 2000, 400)  # below the margin before the third text
    event = app.CapitalizeRequest(texts=["one", "two", "three", "four"])
    response = app.handler(event, context)  # type: ignore[arg-type]
    assert response == app.CapitalizeResponse(results=["One", "Two"], unprocessed=["three", "four"])


def test_make_context_builds_what_lambda_would() -> None:
    context = make_context("req-42", function_name="capitalize", memory_limit_in_mb=256)
    assert context.aws_request_id == "req-42"
    assert context.function_name == "capitalize"
    assert context.memory_limit_in_mb == "256"
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:capitalize"
    assert 2900 < context.get_remaining_time_in_millis() <= 3000


# The runtime validates the event against CapitalizeRequest before the handler runs; a direct call does
# not, so the model's rules are tested here.


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"{}", id="no-texts"),
        pytest.param(b'{"texts": []}', id="empty-list"),
        pytest.param(b'{"texts": "hello"}', id="a-string-not-a-list"),
        pytest.param(b'{"texts": ["hello", 42]}', id="a-number-in-the-list"),
        pytest.param(b'{"texts": [' + b'"a",' * 100 + b'"a"]}', id="101-texts"),
    ],
)
def test_an_event_the_model_rejects(payload: bytes) -> None:
    with pytest.raises(ValidationError):
        app.CapitalizeRequest.model_validate_json(payload)
