"""Invocation errors: what goes to /error (type, message, user stack trace, request id, the error-type
header Lambda accepts), codec errors, responses too large or refused, 410 Gone, and the loop going on
after each of them."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import LOOPS
from lambda_runtime import protocol
from lambda_runtime.testing import InvocationResult, RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import RunRuntime, Serve

ERROR_TYPE_HEADER = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
THIS_FILE = Path(__file__).name


def error_of(result: InvocationResult) -> dict[str, Any]:
    """The decoded /error body, after checking what every error post must carry."""
    assert result.is_error, result.body
    assert result.error_type is not None and ERROR_TYPE_HEADER.fullmatch(result.error_type), result.error_type
    error: dict[str, Any] = json.loads(result.body)
    assert set(error) == {"errorMessage", "errorType", "stackTrace", "requestId"}
    assert error["requestId"] == result.request_id
    return error


def helper_that_fails(value: int) -> int:
    return 1 // value


def failing(event: Any, context: Any) -> int:
    return helper_that_fails(0)


def test_an_exception_is_posted_to_error(serve: Serve) -> None:
    [result] = serve(failing, {})
    error = error_of(result)
    assert result.error_type == "Function.ZeroDivisionError"
    assert error["errorType"] == "ZeroDivisionError"
    assert error["errorMessage"] == "integer division or modulo by zero"
    assert result.headers["content-type"] == "application/json"


def test_the_stack_trace_holds_only_user_frames(serve: Serve) -> None:
    [result] = serve(failing, {})
    stack = error_of(result)["stackTrace"]
    assert [re.search(r", in (\w+)", frame).group(1) for frame in stack] == ["failing", "helper_that_fails"]
    assert all(THIS_FILE in frame for frame in stack)
    assert "return 1 // value" in stack[-1]


async def failing_async(event: Any, context: Any) -> int:
    return helper_that_fails(0)


class FailingClass:
    def handle(self, event: Any, context: Any) -> int:
        return helper_that_fails(0)


@pytest.mark.parametrize("handler", [failing_async, FailingClass], ids=["async-def", "class"])
def test_the_stack_trace_holds_only_user_frames_for_every_handler_kind(handler: object, serve: Serve) -> None:
    [result] = serve(handler, {})
    stack = error_of(result)["stackTrace"]
    assert stack and all(THIS_FILE in frame for frame in stack), stack


@pytest.mark.parametrize("name", ["HTTP404_Error", "_Private", "É", "X", "lower", "Ünïcode", "A1_B2"])
def test_odd_exception_names_still_give_a_header_lambda_accepts(name: str, serve: Serve) -> None:
    error_class = type(name, (Exception,), {})

    def handler(event: Any, context: Any) -> None:
        raise error_class("odd")

    [result] = serve(handler, {})
    assert error_of(result)["errorType"] == name


def test_the_loop_goes_on_after_an_error(serve: Serve) -> None:
    def handler(event: Any, context: Any) -> Any:
        if event == "fail":
            raise RuntimeError("failed on purpose")
        return event

    ok, failed, ok_again = serve(handler, "ok", "fail", "ok again")
    assert error_of(failed)["errorMessage"] == "failed on purpose"
    assert [(ok.is_error, ok.json()), (ok_again.is_error, ok_again.json())] == [
        (False, "ok"),
        (False, "ok again"),
    ]


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (ValueError("ünïcödé ✓ \U0001f600"), "ünïcödé ✓ \U0001f600"),
        (ValueError("lone \ud800 surrogate, \x00 control"), "lone \ud800 surrogate, \x00 control"),
        (ValueError("multi\nline\r\nmessage"), "multi\nline\r\nmessage"),
        (KeyError("key"), "'key'"),
        (Unprintable(), "<unprintable Unprintable>"),
        (ValueError("x" * 1_000_000), "x" * 1_000_000),
    ],
    ids=["unicode", "surrogate", "multiline", "key-error", "unprintable", "huge"],
)
def test_any_error_message_is_posted_as_valid_json(raised: Exception, message: str, serve: Serve) -> None:
    def handler(event: Any, context: Any) -> None:
        raise raised

    [result] = serve(handler, {})
    assert error_of(result)["errorMessage"] == message


# --- codecs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [object(), {"set": {object()}}, {1j: "complex key"}],
    ids=["object", "nested-object", "complex-key"],
)
def test_an_unencodable_result_is_a_marshal_error_and_the_loop_goes_on(result: object, serve: Serve) -> None:
    def handler(event: Any, context: Any) -> object:
        return result if event == "bad" else "fine"

    bad, fine = serve(handler, "bad", "good")
    error = error_of(bad)
    assert (bad.error_type, error["errorType"]) == ("Runtime.MarshalError", "Runtime.MarshalError")
    assert error["errorMessage"].startswith("Unable to marshal response")
    assert (fine.is_error, fine.json()) == (False, "fine")


def test_a_self_referencing_result_is_a_marshal_error(serve: Serve) -> None:
    loop: list[object] = []
    loop.append(loop)
    [result] = serve(lambda event, context: loop, {})
    assert error_of(result)["errorType"] == "Runtime.MarshalError"


def test_a_container_that_failed_to_encode_encodes_once_fixed(serve: Serve) -> None:
    """The encoder remembers which containers it is inside of (to spot circular references): a failure
    half-way must not leave the same list, fixed, looking circular next time."""
    shared: list[object] = [{"inner": [object()]}]

    def handler(event: Any, context: Any) -> object:
        if event == "fix":
            shared[0]["inner"][0] = "fixed"  # type: ignore[index]
        return shared

    bad, good = serve(handler, "break", "fix")
    assert error_of(bad)["errorType"] == "Runtime.MarshalError"
    assert (good.is_error, good.json()) == (False, [{"inner": ["fixed"]}])


def test_a_bytes_annotated_handler_returning_something_else_is_a_marshal_error(serve: Serve) -> None:
    def handler(event: bytes, context: Any) -> bytes:
        return 42  # type: ignore[return-value]

    [result] = serve(handler, b"")
    assert error_of(result)["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize("event", [b"{not json", b"\xff\xfe", b'{"a": 1} trailing', b"NaN-ish"])
def test_an_event_that_is_not_json_is_an_unmarshal_error(event: bytes, serve: Serve) -> None:
    called: list[object] = []
    bad, good = serve(lambda event, context: called.append(event), event, {"fine": True})
    error = error_of(bad)
    assert (bad.error_type, error["errorType"]) == ("Runtime.UnmarshalError", "Runtime.UnmarshalError")
    assert error["errorMessage"].startswith("Unable to unmarshal input")
    assert not good.is_error
    assert called == [{"fine": True}], "the handler must not be called with an undecodable event"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (Decimal("1.5"), b"1.5"),
        (Decimal("10"), b"10"),
        (Decimal("1E+2"), b"100"),
        (Decimal("-0.25"), b"-0.25"),
        (Decimal("12345678901234567890"), b"12345678901234567890"),
        ({"price": Decimal("9.99"), "items": [Decimal(3)]}, b'{"price":9.99,"items":[3]}'),
        ((1, 2), b"[1,2]"),
        (frozenset({"only"}), b'["only"]'),
    ],
    ids=["fraction", "integral", "exponent", "negative", "big-integer", "nested", "tuple", "frozenset"],
)
def test_decimals_and_collections_in_results(value: object, encoded: bytes, serve: Serve) -> None:
    [result] = serve(lambda event, context: value, {})
    assert (result.is_error, result.body) == (False, encoded)


# --- sizes --------------------------------------------------------------------------------------------

LIMIT = 6_291_556


@pytest.mark.parametrize(
    "handler",
    [
        lambda event, context: b"x" * (LIMIT + 1),
        lambda event, context: "x" * (LIMIT - 1),  # JSON quotes take it over the limit
    ],
    ids=["raw", "json"],
)
def test_a_response_over_the_limit_is_a_size_error(handler: Callable[..., object], serve: Serve) -> None:
    too_large, after = serve(lambda event, context: handler(event, context) if event else "after", 1, 0)
    error = error_of(too_large)
    assert (too_large.error_type, error["errorType"]) == (
        "Function.ResponseSizeTooLarge",
        "Function.ResponseSizeTooLarge",
    )
    assert str(LIMIT) in error["errorMessage"]
    assert after.json() == "after"


def test_a_response_of_exactly_the_limit_is_sent(serve: Serve) -> None:
    [result] = serve(lambda event, context: b"y" * LIMIT, {})
    assert (result.is_error, len(result.body)) == (False, LIMIT)
    assert protocol.MAX_BUFFERED_RESPONSE_BYTES == LIMIT


# --- what the Runtime API answers to a post -------------------------------------------------------------


def echo(event: Any, context: Any) -> Any:
    if event == "fail":
        raise ValueError("failed")
    return event


@pytest.mark.parametrize("event", ["ok", "fail"], ids=["response", "error"])
def test_410_gone_is_logged_and_the_loop_moves_on(
    event: str, api: RuntimeAPIServer, run: RunRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = api.enqueue(json.dumps(event))
    api.response_status[gone] = 410
    after = api.enqueue(json.dumps("after"))
    assert run(echo, api.address, 2) is None
    assert api.wait_for(after).json() == "after"
    assert [result.request_id for result in api.posts] == [gone, after], "nothing is posted twice"
    assert "410 Gone" in capsys.readouterr().out


async def echo_async(event: Any, context: Any) -> Any:
    return echo(event, context)


@pytest.mark.parametrize("loop", LOOPS)
def test_413_on_a_response_becomes_an_error_post(
    loop: str,
    api: RuntimeAPIServer,
    run: RunRuntime,
    run_tasks: RunRuntime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = api.enqueue(json.dumps("big"))
    api.response_status[refused] = 413
    after = api.enqueue(json.dumps("after"))
    runner, handler = (run, echo) if loop == "blocking" else (run_tasks, echo_async)
    assert runner(handler, api.address, 2) is None
    # This test server refuses every post for the id: the error too, and then its shortened form.
    response, error, shortened = (result for result in api.posts if result.request_id == refused)
    assert (response.is_error, response.body) == (False, b'"big"')
    assert error_of(error)["errorType"] == "Function.ResponseSizeTooLarge"
    assert "413" in error_of(error)["errorMessage"]
    assert error_of(shortened)["errorType"] == "Function.ResponseSizeTooLarge"
    assert len(shortened.body) <= 4096
    assert api.wait_for(after).json() == "after"
    assert "Function.ResponseSizeTooLarge" in capsys.readouterr().out


def test_400_on_a_response_becomes_an_error_post(api: RuntimeAPIServer, run: RunRuntime) -> None:
    refused = api.enqueue(json.dumps("x"))
    api.response_status[refused] = 400
    assert run(echo, api.address, 1) is None
    assert [(result.is_error, result.error_type) for result in api.posts] == [
        (False, None),
        (True, "Runtime.ResponseRejected"),
    ]


# --- Lambda-Runtime-Invocation-Id -----------------------------------------------------------------------


@pytest.mark.parametrize("event", ["ok", "fail"], ids=["response", "error"])
@pytest.mark.parametrize("invocation_id", ["inv-7f3a:1", None], ids=["with-id", "without-id"])
def test_the_invocation_id_is_echoed_when_next_carries_one(
    event: str, invocation_id: str | None, api: RuntimeAPIServer, run: RunRuntime
) -> None:
    headers = {"Lambda-Runtime-Invocation-Id": invocation_id} if invocation_id else {}
    request_id = api.enqueue(json.dumps(event), headers=headers)
    assert run(echo, api.address, 1) is None
    result = api.wait_for(request_id)
    assert result.is_error is (event == "fail")
    assert result.headers.get("lambda-runtime-invocation-id") == invocation_id


def test_an_error_from_a_handler_named_by_string_points_at_its_file(
    write_module: Callable[..., Path], serve: Serve
) -> None:
    path = write_module(
        """
        def handler(event, context):
            return step(event)

        def step(event):
            raise LookupError(f"no {event}")
        """,
        "failing_app",
    )
    [result] = serve("failing_app.handler", "thing")
    error = error_of(result)
    assert (error["errorType"], error["errorMessage"]) == ("LookupError", "no thing")
    assert [frame.split(",")[0] for frame in error["stackTrace"]] == [f'  File "{path}"'] * 2
