"""APIGatewayV2: a function behind an API Gateway HTTP API (a Lambda proxy integration, payload 2.0).

API Gateway turns each HTTP request into an event (``APIGatewayProxyEventV2`` below: the route, the
path, the query string, the headers, the body...) and the function's answer into the HTTP response
(``APIGatewayProxyResponseV2``: the status code, the headers, the body). Both are pydantic models, so
the runtime (its ``json`` extra) validates the event before the handler runs and serialises the answer
by alias, in API Gateway's camelCase.

The API has two routes, each an ``HttpApi`` event in template.yaml:

* ``GET /hello?name=Ada&lang=fr``: ``200`` with ``{"message": "Bonjour, Ada!"}``; ``400`` without a name
  or with a language it does not know;
* ``POST /hello`` with the JSON body ``{"name": "Ada", "lang": "fr"}``: the same answer; ``415`` when the
  body is not JSON, ``400`` when it is not a greeting request;

and any other route key gets ``404``, as API Gateway's own answer for a route it does not have.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Literal

from lambda_runtime import LambdaContext, LambdaRuntime
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

GREETINGS = {"en": "Hello", "fr": "Bonjour", "es": "Hola", "de": "Hallo"}


class APIGatewayModel(BaseModel):
    """API Gateway's camelCase (``routeKey``, ``isBase64Encoded``) as snake_case attributes."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class HTTPDetails(APIGatewayModel):
    """``requestContext.http``: the request as the client sent it."""

    method: str
    path: str
    protocol: str
    source_ip: str
    user_agent: str


class RequestContext(APIGatewayModel):
    """``requestContext``: where the request came in, and when.

    API Gateway adds ``authorizer`` (the JWT claims, the IAM identity or a Lambda authorizer's context)
    and ``authentication`` (mutual TLS) when the route has them; declare them here to use them.
    """

    account_id: str
    api_id: str
    domain_name: str
    http: HTTPDetails
    request_id: str
    route_key: str
    stage: str
    time: str
    time_epoch: int


class APIGatewayProxyEventV2(APIGatewayModel):
    """The event of an HTTP API's Lambda proxy integration, payload format version 2.0.

    API Gateway joins repeated query parameters and headers with commas (``?tag=a&tag=b`` is
    ``{"tag": "a,b"}``), lower-cases header names, and leaves out the fields a request does not have,
    which default to empty here.
    """

    version: Literal["2.0"]
    route_key: str
    raw_path: str
    raw_query_string: str = ""
    cookies: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    query_string_parameters: dict[str, str] = Field(default_factory=dict)
    path_parameters: dict[str, str] = Field(default_factory=dict)
    stage_variables: dict[str, str] = Field(default_factory=dict)
    request_context: RequestContext
    body: str | None = None
    is_base64_encoded: bool = False

    @field_validator(
        "cookies", "headers", "query_string_parameters", "path_parameters", "stage_variables", mode="before"
    )
    @classmethod
    def _null_is_empty(cls, value: object, info: ValidationInfo) -> object:
        """Read ``null`` as empty, so that code never has to tell "absent" from "null"."""
        if value is None:
            return [] if info.field_name == "cookies" else {}
        return value

    def header(self, name: str) -> str | None:
        """The value of header ``name``, whatever its case, or None."""
        name = name.lower()
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return None

    def body_bytes(self) -> bytes:
        """The request body as the client sent it (API Gateway base64-encodes bodies it takes for binary).

        Raises:
            binascii.Error: ``isBase64Encoded`` is true but the body is not base64.
        """
        if self.body is None:
            return b""
        if self.is_base64_encoded:
            return base64.b64decode(self.body, validate=True)
        return self.body.encode("utf-8")


class APIGatewayProxyResponseV2(APIGatewayModel):
    """The function's answer, which API Gateway turns into the HTTP response.

    (Format 2.0 also takes ``cookies``, a list of ``Set-Cookie`` values; this API sets none.)
    """

    status_code: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    is_base64_encoded: bool = False


class GreetingRequest(BaseModel):
    """The JSON body of ``POST /hello``: ``{"name": "Ada"}``, optionally with ``"lang": "fr"``."""

    model_config = ConfigDict(strict=True, str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    lang: str = "en"


def json_response(status_code: int, payload: dict[str, Any]) -> APIGatewayProxyResponseV2:
    """A response whose body is ``payload`` as compact JSON."""
    return APIGatewayProxyResponseV2(
        status_code=status_code,
        headers={"content-type": "application/json"},
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    )


def greet(name: str, lang: str) -> APIGatewayProxyResponseV2:
    """``200`` with the greeting, or ``400`` when the language is not one of ``GREETINGS``."""
    greeting = GREETINGS.get(lang)
    if greeting is None:
        known = ", ".join(GREETINGS)
        return json_response(400, {"message": f"unknown lang {lang!r}: use one of {known}"})
    return json_response(200, {"message": f"{greeting}, {name}!"})


def get_hello(event: APIGatewayProxyEventV2) -> APIGatewayProxyResponseV2:
    """``GET /hello?name=Ada&lang=fr``."""
    name = event.query_string_parameters.get("name", "").strip()
    if not name:
        return json_response(400, {"message": "the query string needs a name: /hello?name=Ada"})
    return greet(name, event.query_string_parameters.get("lang", "en"))


def post_hello(event: APIGatewayProxyEventV2) -> APIGatewayProxyResponseV2:
    """``POST /hello`` with ``{"name": "Ada", "lang": "fr"}``."""
    content_type = (event.header("content-type") or "").partition(";")[0].strip().lower()
    if content_type != "application/json":
        return json_response(415, {"message": "send the body as Content-Type: application/json"})
    try:
        request = GreetingRequest.model_validate_json(event.body_bytes())
    except (binascii.Error, ValidationError) as error:
        return json_response(400, {"message": f"expected {{\"name\": \"Ada\"}}: {_why(error)}"})
    return greet(request.name, request.lang)


ROUTES: dict[str, Callable[[APIGatewayProxyEventV2], APIGatewayProxyResponseV2]] = {
    "GET /hello": get_hello,
    "POST /hello": post_hello,
}


def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> APIGatewayProxyResponseV2:
    """Answer one HTTP request, by its route.

    Args:
        event: The request, already validated by the runtime against ``APIGatewayProxyEventV2``.
        context: The invocation's context; the routes need nothing from it.

    Returns:
        The HTTP response; every outcome, errors included, is a response with a status code. An
        exception would reach the client as API Gateway's bare ``500 Internal Server Error``.
    """
    route = ROUTES.get(event.route_key)
    if route is None:
        return json_response(404, {"message": "Not Found"})
    return route(event)


def _why(error: Exception) -> str:
    """What was wrong with a request body, in one line."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in detail['loc']) or 'body'}: {detail['msg']}"
            for detail in error.errors(include_url=False)
        )
    return "the body is not valid base64"


if __name__ == "__main__":
    LambdaRuntime(handler).run()
