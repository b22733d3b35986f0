"""Tests for the SQS example: batch processing on its own, both handlers called directly, then the real
runtime end to end.

The end-to-end tests start a local Lambda Runtime API server and run ``python -m lambda_runtime
app.handler`` (and ``app_pydantic.handler``) against it in a subprocess, exactly as Lambda would run the
function, with the sample events of ``events/``.
"""

import ast
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lambda_runtime.testing import make_context, run_function
from pydantic import ValidationError

import app
import app_pydantic
import orders

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))
HANDLERS = ["app.handler", "app_pydantic.handler"]

QUEUE = "arn:aws:sqs:us-east-2:123456789012:my-queue"
FIFO_QUEUE = "arn:aws:sqs:us-east-2:123456789012:my-queue.fifo"


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_bytes())


def failed_ids(response: orders.BatchResponse) -> list[str]:
    return [failure.item_identifier for failure in response.batch_item_failures]


@dataclass
class Message:
    """The three attributes process_messages reads, without an SQS event around them."""

    message_id: str
    body: str
    event_source_arn: str = QUEUE


def order_body(order_id: str, quantity: int = 1) -> str:
    return json.dumps({"orderId": order_id, "sku": "WIDGET-1", "quantity": quantity})


# --- The order model -------------------------------------------------------------------------------


def test_an_order_is_read_from_camel_case_json() -> None:
    order = orders.Order.model_validate_json(order_body("o-1", quantity=3))
    assert order == orders.Order(order_id="o-1", sku="WIDGET-1", quantity=3)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("test", id="not-json"),
        pytest.param("{}", id="empty-object"),
        pytest.param('{"orderId": "o-1", "sku": "WIDGET-1", "quantity": 0}', id="zero-quantity"),
        pytest.param('{"orderId": "o-1", "sku": "WIDGET-1", "quantity": 101}', id="too-many"),
        pytest.param('{"orderId": "o-1", "sku": "WIDGET-1", "quantity": "2"}', id="quantity-as-a-string"),
        pytest.param('{"orderId": "", "sku": "WIDGET-1", "quantity": 2}', id="blank-order-id"),
        pytest.param('[{"orderId": "o-1", "sku": "WIDGET-1", "quantity": 2}]', id="a-list"),
    ],
)
def test_a_body_that_is_not_an_order_is_rejected(body: str) -> None:
    with pytest.raises(ValidationError):
        orders.Order.model_validate_json(body)


def test_the_batch_response_is_written_as_lambda_expects_it() -> None:
    response = orders.BatchResponse(batch_item_failures=[orders.BatchItemFailure(item_identifier="id-1")])
    assert json.loads(response.model_dump_json(by_alias=True)) == {
        "batchItemFailures": [{"itemIdentifier": "id-1"}]
    }
    assert json.loads(orders.BatchResponse().model_dump_json(by_alias=True)) == {"batchItemFailures": []}


# --- Processing a batch ----------------------------------------------------------------------------


def test_a_batch_of_good_orders_has_no_failures() -> None:
    response = orders.process_messages([Message("m1", order_body("o-1")), Message("m2", order_body("o-2"))])
    assert failed_ids(response) == []


def test_only_the_messages_that_failed_are_reported() -> None:
    response = orders.process_messages(
        [
            Message("m1", order_body("o-1")),
            Message("m2", "not an order"),
            Message("m3", order_body("o-3")),
            Message("m4", order_body("o-4", quantity=0)),
        ]
    )
    assert failed_ids(response) == ["m2", "m4"]


def test_an_exception_while_fulfilling_fails_that_message_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def fulfil(order: orders.Order) -> str:
        if order.order_id == "o-2":
            raise ConnectionError("the warehouse service did not answer")
        return "done"

    monkeypatch.setattr(orders, "fulfil", fulfil)
    messages = [Message(f"m{n}", order_body(f"o-{n}")) for n in (1, 2, 3)]
    assert failed_ids(orders.process_messages(messages)) == ["m2"]


def test_a_fifo_batch_stops_at_the_first_failure() -> None:
    response = orders.process_messages(
        [
            Message("m1", order_body("o-1"), FIFO_QUEUE),
            Message("m2", "not an order", FIFO_QUEUE),
            Message("m3", order_body("o-3"), FIFO_QUEUE),  # fine, but must not overtake m2
        ]
    )
    assert failed_ids(response) == ["m2", "m3"]


def test_failures_and_successes_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="orders"):
        orders.process_messages([Message("m1", order_body("o-1", quantity=2)), Message("m2", "test")])
    assert "Message m1 processed: order o-1: 2 x WIDGET-1" in caplog.messages
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert warning.getMessage().startswith("Message m2 failed and goes back to the queue: not an order (")


# --- The handlers on their own ---------------------------------------------------------------------


@pytest.mark.parametrize("event_path", SAMPLE_EVENTS, ids=lambda path: path.stem)
def test_the_powertools_handler_answers_each_sample_event(event_path: Path) -> None:
    response = app.handler(json.loads(event_path.read_bytes()), make_context())
    expected = json.loads(expected_output_path(event_path).read_bytes())
    assert json.loads(response.model_dump_json(by_alias=True)) == expected


@pytest.mark.parametrize("event_path", SAMPLE_EVENTS, ids=lambda path: path.stem)
def test_the_pydantic_handler_answers_each_sample_event(event_path: Path) -> None:
    event = app_pydantic.SQSEvent.model_validate_json(event_path.read_bytes())
    response = app_pydantic.handler(event, make_context())
    expected = json.loads(expected_output_path(event_path).read_bytes())
    assert json.loads(response.model_dump_json(by_alias=True)) == expected


def test_the_pydantic_models_read_every_field_of_the_documented_event() -> None:
    event = app_pydantic.SQSEvent.model_validate(load_event("aws-documented-example"))
    first = event.records[0]
    assert first.message_id == "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert first.body == "test"
    assert first.attributes.approximate_receive_count == 1
    assert first.attributes.sent_timestamp == 1545082649183
    assert first.event_source_arn == QUEUE
    assert first.aws_region == "us-east-2"


def test_the_pydantic_models_read_fifo_and_message_attributes() -> None:
    fifo = app_pydantic.SQSEvent.model_validate(load_event("fifo-stops-at-first-failure")).records[0]
    assert fifo.attributes.message_group_id == "customer-42"
    attributed = app_pydantic.SQSEvent.model_validate(load_event("orders-all-valid")).records[0]
    assert attributed.message_attributes["source"].string_value == "web-shop"


@pytest.mark.parametrize("event", [{}, {"Records": None}, [], None, {"records": []}])
def test_an_event_that_is_not_from_sqs_fails_the_whole_batch(event: object) -> None:
    with pytest.raises(app.InvalidEventError):
        app.handler(event, make_context())  # type: ignore[arg-type]


def test_app_uses_powertools_for_its_event_classes_only() -> None:
    tree = ast.parse((EXAMPLE_DIR / "app.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert {name for name in imported if name and name.startswith("aws_lambda_powertools")} == {
        "aws_lambda_powertools.utilities.data_classes"
    }


def test_app_pydantic_does_not_import_powertools() -> None:
    assert "aws_lambda_powertools" not in (EXAMPLE_DIR / "app_pydantic.py").read_text()


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert expected_output_path(event_path).is_file(), f"{event_path.name} has no expected output"


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_sample_event_produces_its_expected_output(handler: str) -> None:
    results = run_function(
        handler, [event_path.read_bytes() for event_path in SAMPLE_EVENTS], cwd=str(EXAMPLE_DIR)
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        # Compared as JSON, not bytes: key order and spacing are the encoder's business.
        expected = json.loads(expected_output_path(event_path).read_bytes())
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        assert result.json() == expected, event_path.name


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [("app.handler", "InvalidEventError"), ("app_pydantic.handler", "ValidationError")],
)
def test_an_event_that_is_not_from_sqs_is_a_function_error(handler: str, error_type: str) -> None:
    events = [b'{"hello": "world"}', (EVENTS_DIR / "orders-all-valid.json").read_bytes()]
    rejected, served = run_function(handler, events, cwd=str(EXAMPLE_DIR))
    # Lambda treats a function error as a failure of the whole batch: every message goes back.
    assert rejected.is_error
    assert rejected.json()["errorType"] == error_type
    # The function carries on with the next batch.
    assert served.json() == {"batchItemFailures": []}
