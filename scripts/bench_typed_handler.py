"""The typed benchmark's handlers: bench_handler.py's echo with a small pydantic model in and out.

* ``handler`` is typed by its annotations: lambda-runtime validates ``{"name": "Ada"}`` as a ``Person``
  straight from the payload bytes and dumps the ``Greeting`` straight to bytes
  (``python -m lambda_runtime bench_typed_handler.handler``, or ``python bench_typed_handler.py``).
* ``by_hand`` is the same work for awslambdaric, which has no typed handlers: it gets the event already
  decoded into a dict, validates it, and returns the model dumped to a dict for awslambdaric to encode.

Kept apart from bench_handler.py so that the untyped scenario never imports pydantic.
"""

from pydantic import BaseModel


class Person(BaseModel):
    name: str


class Greeting(BaseModel):
    message: str


def handler(event: Person, context: object) -> Greeting:
    """Answer ``Person(name="Ada")`` with ``Greeting(message="Hello, Ada!")``."""
    return Greeting(message=f"Hello, {event.name}!")


def by_hand(event: dict[str, str], context: object) -> dict[str, str]:
    """``handler`` as one writes it for a runtime that hands over a dict and wants one back."""
    return handler(Person.model_validate(event), context).model_dump(mode="json", by_alias=True)


if __name__ == "__main__":
    from lambda_runtime import LambdaRuntime

    LambdaRuntime(handler).run()
