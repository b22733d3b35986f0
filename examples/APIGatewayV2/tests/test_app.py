"""Tests for APIGatewayV2: the event model, the routes called directly, then the real runtime end to end.

The events are API Gateway's: ``events/aws-documented-example.json`` is AWS's published example of the
payload format 2.0, and the others are requests to this API's routes in the same shape. Tests that need
a variation start from one of them (``request(...)`` below) rather than writing an event from scratch.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from lambda_runtime.testing import make_context, run_function

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))


def expected_output_path(event_path: Path) -> Path:
    """Return ``events/<name>.expected.json`` for ``events/<name>.json``."""
    return event_path.with_name(f"{event_path.stem}.expected.json")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_bytes())


def request(method: str, query: dict[str, str] | None = None, **fields: object) -> app.APIGatewayProxyEventV2:
    """A request to ``<method> /hello``: its sample event, with ``query`` and other fields replaced."""
    event = load_event("get-hello" if method == "GET" else "post-hello")
    if query is not None:
        event["queryStringParameters"] = query
    event.update(fields)
    return app.APIGatewayProxyEventV2.model_validate(event)


def call(event: app.APIGatewayProxyEventV2) -> tuple[int, dict[str, Any]]:
    """Call the handler directly; return the status code and the decoded JSON body."""
    response = app.handler(event, make_context())
    assert response.headers == {"content-type": "application/json"}
    return response.status_code, json.loads(response.body)


# --- The event model -------------------------------------------------------------------------------


def test_the_documented_event_is_read_into_the_model() -> None:
    event = app.APIGatewayProxyEventV2.model_validate(load_event("aws-documented-example"))
    assert event.route_key == "$default"
    assert event.raw_path == "/my/path"
    assert event.raw_query_string == "parameter1=value1&parameter1=value2&parameter2=value"
    assert event.cookies == ["cookie1", "cookie2"]
    # Repeated query parameters arrive joined with commas.
    assert event.query_string_parameters == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event.path_parameters == {"parameter1": "value1"}
    assert event.request_context.http.method == "POST"
    assert event.request_context.time_epoch == 1583348638390
    assert event.body == "Hello from Lambda"
    assert event.is_base64_encoded is False


def test_fields_a_request_does_not_have_are_empty() -> None:
    event = app.APIGatewayProxyEventV2.model_validate(load_event("get-hello-without-name"))
    assert event.query_string_parameters == {}
    assert event.cookies == []
    assert event.path_parameters == {}
    assert event.body is None
    assert event.body_bytes() == b""


def test_null_fields_are_read_as_empty() -> None:
    event = load_event("get-hello")
    event.update(queryStringParameters=None, cookies=None, pathParameters=None, stageVariables=None)
    model = app.APIGatewayProxyEventV2.model_validate(event)
    assert (model.query_string_parameters, model.cookies, model.path_parameters) == ({}, [], {})


def test_headers_are_found_whatever_their_case() -> None:
    event = app.APIGatewayProxyEventV2.model_validate(load_event("aws-documented-example"))
    assert event.header("header1") == event.header("HEADER1") == "value1"
    assert event.header("missing") is None


def test_a_base64_body_is_decoded() -> None:
    event = app.APIGatewayProxyEventV2.model_validate(load_event("post-hello-base64-body"))
    assert event.body_bytes().decode() == '{"name": "Jürgen", "lang": "de"}'


def test_the_response_is_written_in_api_gateway_camel_case() -> None:
    response = app.json_response(201, {"id": 1})
    assert json.loads(response.model_dump_json(by_alias=True)) == {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": '{"id":1}',
        "isBase64Encoded": False,
    }


# --- The routes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"name": "Ada"}, 200, "Hello, Ada!"),
        ({"name": "  Ada "}, 200, "Hello, Ada!"),
        ({"name": "Ada", "lang": "es"}, 200, "Hola, Ada!"),
        ({"name": "Ada,Grace"}, 200, "Hello, Ada,Grace!"),  # ?name=Ada&name=Grace
        ({}, 400, "the query string needs a name: /hello?name=Ada"),
        ({"name": " "}, 400, "the query string needs a name: /hello?name=Ada"),
        ({"lang": "fr"}, 400, "the query string needs a name: /hello?name=Ada"),
        ({"name": "Ada", "lang": "FR"}, 400, "unknown lang 'FR': use one of en, fr, es, de"),
    ],
)
def test_get_hello_greets_the_name_in_the_query_string(
    query: dict[str, str], status: int, message: str
) -> None:
    assert call(request("GET", query)) == (status, {"message": message})


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ('{"name": "Grace"}', 200, "Hello, Grace!"),
        ('{"name": "Grace", "lang": "de"}', 200, "Hallo, Grace!"),
        ('{"name": "Grace", "lang": "xx"}', 400, "unknown lang 'xx': use one of en, fr, es, de"),
        ("{}", 400, 'expected {"name": "Ada"}: name: Field required'),
        ('{"name": 42}', 400, 'expected {"name": "Ada"}: name: Input should be a valid string'),
        # pydantic's wording of a JSON syntax error changes between versions: only its start is checked.
        ("name=Grace", 400, 'expected {"name": "Ada"}: body: Invalid JSON: '),
        ("", 400, 'expected {"name": "Ada"}: body: Invalid JSON: '),
    ],
)
def test_post_hello_greets_the_name_in_the_json_body(body: str, status: int, message: str) -> None:
    answer_status, answer = call(request("POST", body=body))
    assert answer_status == status
    assert answer["message"] == message or (message.endswith(": ") and answer["message"].startswith(message))


def test_post_hello_wants_a_json_content_type() -> None:
    headers = {**load_event("post-hello")["headers"], "content-type": "text/plain"}
    assert call(request("POST", headers=headers)) == (
        415,
        {"message": "send the body as Content-Type: application/json"},
    )


def test_a_body_that_is_not_base64_is_a_bad_request() -> None:
    status, body = call(request("POST", body="not base64!", isBase64Encoded=True))
    assert (status, body) == (400, {"message": 'expected {"name": "Ada"}: the body is not valid base64'})


@pytest.mark.parametrize("route_key", ["$default", "GET /hello/{name}", "DELETE /hello", "get /hello"])
def test_a_route_the_function_does_not_serve_is_not_found(route_key: str) -> None:
    assert call(request("GET", {"name": "Ada"}, routeKey=route_key)) == (404, {"message": "Not Found"})


# --- End to end, through a real Runtime API ---------------------------------------------------------


def test_there_are_sample_events_each_with_an_expected_output() -> None:
    assert SAMPLE_EVENTS, f"no sample events in {EVENTS_DIR}"
    for event_path in SAMPLE_EVENTS:
        assert expected_output_path(event_path).is_file(), f"{event_path.name} has no expected output"


def test_every_sample_event_produces_its_expected_output() -> None:
    results = run_function(
        "app.handler", [event_path.read_bytes() for event_path in SAMPLE_EVENTS], cwd=str(EXAMPLE_DIR)
    )
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        # Compared as JSON, not bytes: key order and spacing are the encoder's business (the body,
        # a string, is compared exactly).
        expected = json.loads(expected_output_path(event_path).read_bytes())
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        assert result.json() == expected, event_path.name


def test_an_event_that_is_not_from_api_gateway_is_a_function_error() -> None:
    events = [b'{"name": "Ada"}', (EVENTS_DIR / "get-hello.json").read_bytes()]
    not_http, served = run_function("app.handler", events, cwd=str(EXAMPLE_DIR))
    # API Gateway would answer its client 500 Internal Server Error; the error names what is missing.
    error = not_http.json()
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"].startswith("4 validation errors for APIGatewayProxyEventV2: version: Field")
    assert "routeKey: Field required" in error["errorMessage"]
    assert served.json()["statusCode"] == 200


def test_base64_encoded_event_bodies_round_trip() -> None:
    body = base64.b64encode(json.dumps({"name": "Zoë"}).encode()).decode()
    event = {**load_event("post-hello"), "body": body, "isBase64Encoded": True}
    [result] = run_function("app.handler", [event], cwd=str(EXAMPLE_DIR))
    assert json.loads(result.json()["body"]) == {"message": "Hello, Zoë!"}
