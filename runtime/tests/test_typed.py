"""Typed events and results (the ``json`` extra), through a real test Runtime API.

Types come from the handler's annotations, from a ``LambdaHandler[Event, Output]`` base class, or from
``LambdaRuntime(handler, event_type=..., output_type=...)``; pydantic validates the payload bytes and
serialises the result straight to bytes. What must not happen is checked in fresh processes: untyped
handlers never load pydantic, and without pydantic a typed handler fails at init with one line.

This module deliberately has no ``from __future__ import annotations``: the handlers defined in the
tests carry real annotation objects, and string annotations are tested in modules written for it.
"""

import json
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict  # pydantic wants this one, not typing's, before Python 3.12

import lambda_runtime
from conftest import run_on_thread
from lambda_runtime import LambdaContext, LambdaHandler, LambdaRuntime, typed
from lambda_runtime.testing import InvocationResult, RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunProcess, Serve


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Order(BaseModel):
    order_id: str
    items: list[Item]


class Receipt(BaseModel):
    order_id: str
    total_items: int


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Customer(Camel):
    customer_id: str
    first_name: str


class Welcome(Camel):
    customer_id: str
    greeting_text: str


@dataclass
class Point:
    x: int
    y: int


class Reading(TypedDict):
    sensor: str
    value: float


class Deposit(BaseModel):
    kind: Literal["deposit"]
    amount: int


class Withdrawal(BaseModel):
    kind: Literal["withdrawal"]
    amount: int


class Loose(BaseModel):
    value: Any


ORDER = {"order_id": "o-1", "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}]}


def receipt_for(event: Order) -> Receipt:
    return Receipt(order_id=event.order_id, total_items=sum(item.quantity for item in event.items))


@pytest.fixture
def serve_typed(
    api: RuntimeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., list[InvocationResult]]:
    """``serve_typed(handler, *events, event_type=..., output_type=...)``: as the ``serve`` fixture, with
    LambdaRuntime's keyword arguments."""

    def serve_typed(handler: object, *events: Any, **types: Any) -> list[InvocationResult]:
        request_ids = [
            api.enqueue(event if isinstance(event, bytes) else json.dumps(event)) for event in events
        ]
        monkeypatch.setenv("MAX_INVOCATIONS", str(len(request_ids)))
        assert run_on_thread(LambdaRuntime(handler, runtime_api=api.address, **types).run) is None
        return [api.wait_for(request_id, timeout=5) for request_id in request_ids]

    return serve_typed


def error_of(result: InvocationResult) -> dict[str, Any]:
    assert result.is_error, result
    document: dict[str, Any] = json.loads(result.error_body or b"")
    assert document["requestId"] == result.request_id
    return document


# --- annotations ------------------------------------------------------------------------------------


def test_an_annotated_model_in_and_out(serve: "Serve") -> None:
    seen: list[object] = []

    def handler(event: Order, context: LambdaContext) -> Receipt:
        seen.append(event)
        return receipt_for(event)

    [result] = serve(handler, ORDER)
    assert not result.is_error, result
    assert result.body == b'{"order_id":"o-1","total_items":3}'  # pydantic's compact JSON, as dumped
    assert seen == [Order.model_validate(ORDER)]


def test_an_async_handler_is_typed_too(serve: "Serve") -> None:
    async def handler(event: Order, context: LambdaContext) -> Receipt:
        return receipt_for(event)

    [result] = serve(handler, ORDER)
    assert result.json() == {"order_id": "o-1", "total_items": 3}


TYPE_CASES = {
    # id: (annotation for both the event and the result, events, what the handler saw, the responses)
    "dataclass": (Point, [{"x": "1", "y": 2}], [Point(1, 2)], [{"x": 1, "y": 2}]),
    "list-of-models": (
        list[Item],
        [[{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": "3"}]],
        [[Item(sku="a", quantity=1), Item(sku="b", quantity=3)]],
        [[{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 3}]],
    ),
    "union": (
        Deposit | Withdrawal,
        [{"kind": "withdrawal", "amount": 5}, {"kind": "deposit", "amount": 7}],
        [Withdrawal(kind="withdrawal", amount=5), Deposit(kind="deposit", amount=7)],
        [{"kind": "withdrawal", "amount": 5}, {"kind": "deposit", "amount": 7}],
    ),
    "optional-model": (Optional[Item], [None], [None], [None]),  # noqa: UP045 - typing's spelling on purpose
}


@pytest.mark.parametrize(
    ("annotation", "events", "expected_seen", "responses"), TYPE_CASES.values(), ids=TYPE_CASES
)
def test_any_type_a_type_adapter_accepts(
    annotation: Any, events: list[Any], expected_seen: list[Any], responses: list[Any], serve: "Serve"
) -> None:
    seen: list[object] = []

    def handler(event, context):
        seen.append(event)
        return event

    handler.__annotations__ = {"event": annotation, "context": LambdaContext, "return": annotation}
    results = serve(handler, *events)
    assert [result.json() for result in results] == responses
    assert seen == expected_seen
    assert [type(value) for value in seen] == [type(value) for value in expected_seen]


def test_a_handler_annotated_none_answers_null(serve: "Serve") -> None:
    seen: list[object] = []

    def handler(event: Order, context: LambdaContext) -> None:
        seen.append(event)

    [result] = serve(handler, ORDER)
    assert not result.is_error and result.body == b"null"
    assert seen == [Order.model_validate(ORDER)]


def test_a_raw_bytes_event_with_a_typed_result(serve: "Serve") -> None:
    def handler(event: bytes, context: LambdaContext) -> Receipt:
        return Receipt(order_id=type(event).__name__, total_items=len(event))

    [result] = serve(handler, b'{"not": "decoded"}')
    assert result.json() == {"order_id": "bytes", "total_items": 18}


def test_camel_case_aliases_in_and_by_alias_out(serve: "Serve") -> None:
    def handler(event: Customer, context: LambdaContext) -> Welcome:
        return Welcome(customer_id=event.customer_id, greeting_text=f"Hello, {event.first_name}!")

    [result] = serve(handler, {"customerId": "c-7", "firstName": "Ada"})
    assert result.body == b'{"customerId":"c-7","greetingText":"Hello, Ada!"}'


def test_a_model_returned_by_a_handler_with_only_a_typed_event_is_dumped_by_alias(serve: "Serve") -> None:
    def handler(event: Customer, context: LambdaContext):
        return Welcome(customer_id=event.customer_id, greeting_text="hi")

    [result] = serve(handler, {"customerId": "c-7", "firstName": "Ada"})
    assert result.json() == {"customerId": "c-7", "greetingText": "hi"}


# --- LambdaHandler[Event, Output] ---------------------------------------------------------------------


class Checkout(LambdaHandler[Order, Receipt]):
    """Typed by its base class alone: ``handle`` has no annotations."""

    instances = 0

    def __init__(self) -> None:
        type(self).instances += 1
        self.served = 0  # state built once, reused by every invocation

    def handle(self, event, context):
        assert isinstance(event, Order)
        self.served += 1
        return Receipt(order_id=f"{event.order_id}#{self.served}", total_items=len(event.items))


class ExpressCheckout(Checkout):
    """Inherits its types from Checkout's base."""


@pytest.mark.parametrize("form", ["class", "instance", "subclass"])
def test_a_lambda_handler_class_is_typed_from_its_base_and_keeps_its_state(form: str, serve: "Serve") -> None:
    cls = ExpressCheckout if form == "subclass" else Checkout
    cls.instances = 0
    handler = cls() if form == "instance" else cls
    results = serve(handler, ORDER, {**ORDER, "order_id": "o-2"}, ORDER)
    assert [result.json()["order_id"] for result in results] == ["o-1#1", "o-2#2", "o-1#3"]
    assert all(result.json()["total_items"] == 2 for result in results)
    assert cls.instances == 1


# --- TypedDicts: type hints when annotated, validated when declared -------------------------------------


def test_a_typeddict_annotation_stays_a_type_hint_as_under_awslambdaric(
    serve: "Serve", monkeypatch: pytest.MonkeyPatch
) -> None:
    """aws-lambda-typing's events are TypedDicts: a handler annotated with one gets the plain dict."""

    def typed_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("a TypedDict annotation switched on validation")

    monkeypatch.setattr(typed, "build_invoke", typed_path)

    def handler(event: Reading, context: LambdaContext) -> Reading:
        return event

    [result] = serve(handler, {"sensor": "t1", "value": "21.5", "extra": True})
    assert result.json() == {"sensor": "t1", "value": "21.5", "extra": True}


def test_a_declared_typeddict_is_validated(serve_typed: Callable[..., list[InvocationResult]]) -> None:
    seen: list[object] = []

    def handler(event, context):
        seen.append(event)
        return event

    [result] = serve_typed(
        handler, {"sensor": "t1", "value": "21.5"}, event_type=Reading, output_type=Reading
    )
    assert seen == [{"sensor": "t1", "value": 21.5}]
    assert result.json() == {"sensor": "t1", "value": 21.5}


# --- explicit event_type / output_type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "output_type"),
    [(Customer, Welcome), (Customer, None), (None, Welcome)],
    ids=["both", "event-only", "output-only"],
)
def test_explicit_types_for_an_unannotated_handler(
    event_type: Any,
    output_type: Any,
    serve_typed: Callable[..., list[InvocationResult]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Any] = []

    def recording_adapter(type_: Any, **options: Any) -> TypeAdapter[Any]:
        built.append(type_)
        return TypeAdapter(type_, **options)

    monkeypatch.setattr(typed, "TypeAdapter", recording_adapter)
    seen: list[object] = []

    def handler(event, context):
        seen.append(event)
        if output_type is None:
            return {"plain": True}
        return Welcome(customer_id="c-7", greeting_text="hi")

    [result] = serve_typed(
        handler, {"customerId": "c-7", "firstName": "Ada"}, event_type=event_type, output_type=output_type
    )
    assert built == [t for t in (event_type, output_type) if t is not None]
    if event_type is None:
        assert seen == [{"customerId": "c-7", "firstName": "Ada"}]
    else:
        assert seen == [Customer(customer_id="c-7", first_name="Ada")]
    if output_type is None:
        assert result.json() == {"plain": True}
    else:
        assert result.body == b'{"customerId":"c-7","greetingText":"hi"}'


def test_explicit_types_win_over_annotations(serve_typed: Callable[..., list[InvocationResult]]) -> None:
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        assert isinstance(event, Order)
        return receipt_for(event)

    [result] = serve_typed(handler, ORDER, event_type=Order, output_type=Receipt)
    assert result.json() == {"order_id": "o-1", "total_items": 3}


@pytest.mark.parametrize("types", [{"event_type": Order}, {"output_type": Receipt}], ids=["event", "output"])
def test_a_streaming_handler_refuses_explicit_types(
    types: dict[str, Any], api: RuntimeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(event, stream, context):
        stream.write(event)

    monkeypatch.setenv("MAX_INVOCATIONS", "1")
    assert run_on_thread(LambdaRuntime(handler, runtime_api=api.address, **types).run) == 1
    [init_error] = api.init_errors
    document = json.loads(init_error.body)
    assert document["errorType"] == "Runtime.HandlerSignatureError"
    assert "event_type and output_type do not apply" in document["errorMessage"]
    assert not any(method == "GET" for method, _, _ in api.requests)


# --- errors -------------------------------------------------------------------------------------------


def test_an_invalid_event_is_a_validation_error_naming_each_field_then_the_loop_goes_on(
    serve: "Serve",
) -> None:
    def handler(event: Order, context: LambdaContext) -> Receipt:
        return receipt_for(event)

    results = serve(
        handler,
        {"order_id": "o-1", "items": [{"sku": "a", "quantity": 0}, {"quantity": "lots"}]},
        ["not", "an", "order"],
        b"",
        ORDER,
    )
    for result in results[:3]:
        assert result.error_type == "Function.ValidationError"
        assert error_of(result)["errorType"] == "ValidationError"
    message = error_of(results[0])["errorMessage"]
    assert message.startswith("3 validation errors for Order: ")
    assert "items.0.quantity: Input should be greater than 0" in message
    assert "items.1.sku: Field required" in message
    assert "items.1.quantity: Input should be a valid integer" in message
    assert "lots" not in message  # the fields are named, the payload's values are not repeated
    assert "\n" not in message
    assert error_of(results[1])["errorMessage"].startswith("1 validation error for Order: (the event): ")
    assert error_of(results[2])["errorMessage"].startswith("1 validation error for Order: (the event): ")
    assert results[3].json() == {"order_id": "o-1", "total_items": 3}
    assert lambda_runtime.ValidationError is typed.ValidationError


def test_validation_errors_name_fields_as_the_payload_spells_them(serve: "Serve") -> None:
    def handler(event: Customer, context: LambdaContext) -> None:
        pass

    [result] = serve(handler, {"customerId": "c-7", "firstName": 3})
    assert (
        error_of(result)["errorMessage"]
        == "1 validation error for Customer: firstName: Input should be a valid string"
    )


@pytest.mark.parametrize("typed_side", ["event", "output"])
def test_invalid_json_to_a_typed_handler_is_an_unmarshal_error(
    typed_side: str, serve_typed: Callable[..., list[InvocationResult]]
) -> None:
    def handler(event, context):
        return receipt_for(Order.model_validate(event) if isinstance(event, dict) else event)

    types = {"event_type": Order} if typed_side == "event" else {"output_type": Receipt}
    results = serve_typed(handler, b'{"order_id": ', b"\xff\xfe", json.dumps(ORDER).encode(), **types)
    for result in results[:2]:
        assert result.error_type == "Runtime.UnmarshalError"
        document = error_of(result)
        assert document["errorType"] == "Runtime.UnmarshalError"
        assert document["errorMessage"].startswith("Unable to unmarshal input: ")
    assert results[2].json() == {"order_id": "o-1", "total_items": 3}


def test_an_unserialisable_result_is_a_marshal_error(serve: "Serve") -> None:
    def handler(event: Order, context: LambdaContext) -> Loose:
        return Loose(value=object() if event.order_id == "bad" else event.order_id)

    results = serve(handler, {**ORDER, "order_id": "bad"}, ORDER)
    assert results[0].error_type == "Runtime.MarshalError"
    document = error_of(results[0])
    assert document["errorType"] == "Runtime.MarshalError"
    assert document["errorMessage"].startswith("Unable to marshal response: ")
    assert results[1].json() == {"value": "o-1"}


# --- how: once at init, straight between bytes and objects -----------------------------------------------


def test_adapters_are_built_once_before_the_first_invocation(
    serve: "Serve", api: RuntimeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[Any, int]] = []

    def counting_adapter(type_: Any, **options: Any) -> TypeAdapter[Any]:
        built.append((type_, len(api.requests)))  # how many requests the runtime had made by then
        return TypeAdapter(type_, **options)

    monkeypatch.setattr(typed, "TypeAdapter", counting_adapter)

    def handler(event: Order, context: LambdaContext) -> Receipt:
        return receipt_for(event)

    results = serve(handler, ORDER, ORDER, ORDER, ORDER)
    assert [result.json()["total_items"] for result in results] == [3, 3, 3, 3]
    assert built == [(Order, 0), (Receipt, 0)]


def test_events_and_results_never_go_through_a_dict(serve: "Serve", monkeypatch: pytest.MonkeyPatch) -> None:
    """validate_json and dump_json only: no model_validate / validate_python on the way in, no
    model_dump / dump_python on the way out, and no stdlib json either way."""

    class Parcel(BaseModel):
        weight: int

    class Label(BaseModel):
        text: str

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runtime went through a Python object it did not need")

    import json as stdlib_json

    monkeypatch.setattr(Parcel, "model_validate", classmethod(forbidden))
    monkeypatch.setattr(Label, "model_dump", forbidden)
    monkeypatch.setattr(TypeAdapter, "validate_python", forbidden)
    monkeypatch.setattr(TypeAdapter, "dump_python", forbidden)
    monkeypatch.setattr(stdlib_json, "loads", forbidden)
    monkeypatch.setattr(stdlib_json.JSONDecoder, "decode", forbidden)
    monkeypatch.setattr(stdlib_json.JSONEncoder, "encode", forbidden)

    def handler(event: Parcel, context: LambdaContext) -> Label:
        return Label(text=f"{event.weight} kg")

    results = serve(handler, b'{"weight": 3}', b'{"weight": "4"}')
    assert [result.body for result in results] == [b'{"text":"3 kg"}', b'{"text":"4 kg"}']


UNTYPED_ANNOTATIONS = {
    "none": {},
    "dict": {"event": dict, "return": dict},
    "dict-str-any": {"event": dict[str, Any], "return": dict[str, Any]},
    "any": {"event": Any, "return": Any},
    "mapping": {"event": Mapping[str, Any], "return": Optional[dict]},  # noqa: UP045
    "list-of-dicts": {"event": list[dict[str, Any]], "return": list[Any]},
    "returns-none": {"event": dict[str, Any], "return": None},
    "str-annotations": {"event": "dict[str, Any]", "return": "typing.Any"},
    "annotated-str": {"event": Annotated[dict[str, Any], Field(min_length=5)], "return": None},
}


@pytest.mark.parametrize("annotations", UNTYPED_ANNOTATIONS.values(), ids=UNTYPED_ANNOTATIONS)
def test_plain_annotations_leave_a_handler_untyped(
    annotations: dict[str, Any], serve: "Serve", monkeypatch: pytest.MonkeyPatch
) -> None:
    def typed_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("an untyped handler was given the typed codec")

    monkeypatch.setattr(typed, "build_invoke", typed_path)
    seen: list[object] = []

    def handler(event, context):
        seen.append(event)
        return event

    handler.__annotations__ = dict(annotations)
    [result] = serve(handler, [{"any": "shape"}])
    assert seen == [[{"any": "shape"}]]
    assert result.json() == [{"any": "shape"}]


# --- string annotations (from __future__ import annotations) ---------------------------------------

FUTURE_MODULE = """
    from __future__ import annotations

    from typing import TYPE_CHECKING, Annotated, Any

    from pydantic import BaseModel, Field

    if TYPE_CHECKING:  # names that exist for type checkers only
        from aws_lambda_powertools.utilities.typing import LambdaContext
        from aws_lambda_typing.events import SQSEvent


    class Order(BaseModel):
        order_id: str
        quantity: int


    class Receipt(BaseModel):
        order_id: str
        total: int


    def handler(event: Order, context: LambdaContext) -> Receipt:
        assert isinstance(event, Order)
        return Receipt(order_id=event.order_id, total=event.quantity * 10)


    def returns_none(event: Order, context: Any) -> None:
        assert isinstance(event, Order)


    def bounded(event: Annotated[list[Order], Field(max_length=1)], context: Any) -> int:
        return len(event)


    def type_checking_only(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
        return {"type": type(event).__name__}
"""


def test_string_annotations_are_resolved(write_module: Callable[..., Path], serve: "Serve") -> None:
    write_module(FUTURE_MODULE, name="future_app")
    import future_app

    assert future_app.handler.__annotations__["event"] == "Order"
    [result] = serve(future_app.handler, {"order_id": "o-1", "quantity": "3"})
    assert result.json() == {"order_id": "o-1", "total": 30}


def test_string_annotations_none_result(write_module: Callable[..., Path], serve: "Serve") -> None:
    write_module(FUTURE_MODULE, name="future_app")
    import future_app

    results = serve(future_app.returns_none, {"order_id": "o-1", "quantity": 3}, {"order_id": "o-1"})
    assert results[0].body == b"null"
    assert "quantity: Field required" in error_of(results[1])["errorMessage"]


def test_string_annotations_keep_annotated_constraints(
    write_module: Callable[..., Path], serve: "Serve"
) -> None:
    write_module(FUTURE_MODULE, name="future_app")
    import future_app

    order = {"order_id": "o-1", "quantity": 3}
    results = serve(future_app.bounded, [order], [order, order])
    assert results[0].json() == 1
    assert "at most 1 item" in error_of(results[1])["errorMessage"]


def test_names_imported_for_type_checkers_only_leave_the_handler_untyped(
    write_module: Callable[..., Path], serve: "Serve"
) -> None:
    # awslambdaric never evaluates annotations: a handler whose event and context types exist only under
    # TYPE_CHECKING must start, and get the decoded JSON.
    write_module(FUTURE_MODULE, name="future_app")
    import future_app

    [result] = serve(future_app.type_checking_only, {"Records": []})
    assert result.json() == {"type": "dict"}


# --- in fresh processes: what gets imported, and life without pydantic ------------------------------

REPORT_MODULES = """
import sys


def report(event):
    return {name: name in sys.modules for name in ("pydantic", "lambda_runtime.typed")} | {"event": event}
"""

UNTYPED_MODULES = {
    "plain": "def handler(event, context):\n    return report(event)\n",
    "dict-annotations": (
        "from typing import Any\n\n"
        "def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:\n    return report(event)\n"
    ),
    "future-annotations": (
        "from __future__ import annotations\nfrom typing import Any, Optional\n\n"
        "def handler(event: Optional[dict[str, Any]], context: Any) -> Any:\n    return report(event)\n"
    ),
    "class": (
        "class handler:\n    def handle(self, event: dict, context: object) -> dict:\n"
        "        return report(event)\n"
    ),
}


def write_app(tmp_path: Path, body: str) -> None:
    source = REPORT_MODULES + body if "__future__" not in body else body + REPORT_MODULES
    (tmp_path / "app.py").write_text(source)


def serve_in_process(
    api: RuntimeAPIServer, run_process: "RunProcess", events: list[Any], env: Mapping[str, str] | None = None
) -> tuple[Any, list[InvocationResult]]:
    request_ids = [api.enqueue(event) for event in events]
    finished = run_process(
        "app.handler",
        env={"AWS_LAMBDA_RUNTIME_API": api.address, "MAX_INVOCATIONS": str(len(events)), **(env or {})},
    )
    return finished, [api.results[request_id] for request_id in request_ids if request_id in api.results]


@pytest.mark.parametrize("body", UNTYPED_MODULES.values(), ids=UNTYPED_MODULES)
def test_untyped_handlers_never_import_pydantic(
    body: str, tmp_path: Path, api: RuntimeAPIServer, run_process: "RunProcess"
) -> None:
    write_app(tmp_path, body)
    finished, results = serve_in_process(api, run_process, [{"n": 1}, {"n": 2}])
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert [result.json() for result in results] == [
        {"pydantic": False, "lambda_runtime.typed": False, "event": {"n": n}} for n in (1, 2)
    ]


@pytest.fixture
def without_pydantic(tmp_path: Path) -> dict[str, str]:
    """The environment of a process in which ``import pydantic`` fails, as where the extra is missing."""
    blocker = tmp_path / "no_pydantic"
    blocker.mkdir()
    for name in ("pydantic", "pydantic_core"):
        message = f"No module named {name!r}"
        (blocker / f"{name}.py").write_text(f"raise ImportError({message!r}, name={name!r})\n")
    path = os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path}


def test_without_pydantic_a_typed_handler_fails_at_init_with_one_line(
    tmp_path: Path, api: RuntimeAPIServer, run_process: "RunProcess", without_pydantic: dict[str, str]
) -> None:
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass
            class Order:
                order_id: str

            def handler(event: Order, context) -> None:
                pass
            """
        )
    )
    finished, results = serve_in_process(api, run_process, [{"order_id": "o-1"}], env=without_pydantic)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert results == []
    [init_error] = api.init_errors
    document = json.loads(init_error.body)
    assert document["errorType"] == "Runtime.MissingDependency" == init_error.error_type
    assert "lambda-runtime[json]" in document["errorMessage"]
    assert document["stackTrace"] == []
    assert [(method, path) for method, path, _ in api.requests] == [
        ("POST", "/2018-06-01/runtime/init/error")
    ]
    [line] = output.rstrip("\n").split("\n")
    assert line.startswith("[CRITICAL]") and "lambda-runtime[json]" in line
    assert "Traceback" not in output


def test_without_pydantic_untyped_handlers_run(
    tmp_path: Path, api: RuntimeAPIServer, run_process: "RunProcess", without_pydantic: dict[str, str]
) -> None:
    write_app(tmp_path, UNTYPED_MODULES["dict-annotations"])
    finished, results = serve_in_process(api, run_process, [{"n": 1}], env=without_pydantic)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert results[0].json() == {"pydantic": False, "lambda_runtime.typed": False, "event": {"n": 1}}


def test_the_blocker_really_blocks(without_pydantic: dict[str, str]) -> None:
    import subprocess

    finished = subprocess.run(
        [sys.executable, "-c", "import pydantic"],
        env={**os.environ, **without_pydantic},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert finished.returncode == 1 and "No module named 'pydantic'" in finished.stderr


def test_an_untyped_handler_may_return_models_and_dataclasses(serve: "Serve") -> None:
    """No annotations, so no validation; but a model or dataclass in the result is still serialised
    (the model by alias), rather than failing as something the json module cannot encode."""

    def handler(event, context):
        return {"welcome": Welcome(customer_id="c-1", greeting_text="hi"), "point": Point(3, 4)}

    [result] = serve(handler, {})
    assert result.json() == {
        "welcome": {"customerId": "c-1", "greetingText": "hi"},
        "point": {"x": 3, "y": 4},
    }
