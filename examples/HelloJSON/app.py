"""HelloJSON: a function whose request and response are typed models.

The handler is annotated ``(event: HelloRequest, context) -> HelloResponse``. From those annotations
lambda-runtime (with its ``json`` extra, pydantic v2) validates each payload against ``HelloRequest``
before the handler runs, and serialises the ``HelloResponse`` it returns, by alias, as the JSON answer.
The handler itself never sees a ``dict`` or a malformed event.

It answers ``{"name": "Ada", "age": 36}`` with
``{"greetings": "Hello Ada. You look younger than your age."}``.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

from lambda_runtime import LambdaContext, LambdaRuntime
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class JSONModel(BaseModel):
    """The conventions shared by this function's models.

    * ``alias_generator=to_camel``: Python attributes are snake_case, the JSON is camelCase
      (``preferred_greeting`` is ``"preferredGreeting"`` on the wire).
    * ``populate_by_name=True``: code (and tests) may still build a model with the Python names.
    * ``strict=True``: ``"age": "36"`` or ``"age": true`` is an error, not a guess.
    * ``str_strip_whitespace=True``: ``"  Ada "`` is Ada; ``"   "`` is then too short to be a name.

    Fields the models do not declare are ignored, so callers may send richer events.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, strict=True, str_strip_whitespace=True
    )


class HelloRequest(JSONModel):
    """The event: ``{"name": "Ada", "age": 36}``, optionally with ``"preferredGreeting": "Hi"``."""

    name: str = Field(min_length=1, max_length=100)
    age: int = Field(ge=0, le=150)
    preferred_greeting: str = Field(default="Hello", min_length=1, max_length=40)


class HelloResponse(JSONModel):
    """The answer: ``{"greetings": "Hello Ada. You look younger than your age."}``."""

    greetings: str


def handler(event: HelloRequest, context: LambdaContext) -> HelloResponse:
    """Greet the person described by the event.

    Args:
        event: The request, already validated: the runtime rejected the payload with a
            ``ValidationError`` (naming the failing fields) if it did not match ``HelloRequest``.
        context: The invocation's context; a greeting needs nothing from it.

    Returns:
        The greeting; the runtime serialises it by alias as the JSON response.
    """
    looks = "younger" if event.age > 30 else "older"
    greetings = f"{event.preferred_greeting} {event.name}. You look {looks} than your age."
    return HelloResponse(greetings=greetings)


if __name__ == "__main__":
    LambdaRuntime(handler).run()
