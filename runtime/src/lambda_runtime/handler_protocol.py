"""``LambdaHandler``: the shape of class-based handlers, for type checkers and readers.

Kept apart from the rest because ``typing`` costs cold-start milliseconds; the runtime itself never
imports this module.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from .context import LambdaContext

EventT = TypeVar("EventT", contravariant=True)
OutputT = TypeVar("OutputT", covariant=True)


@runtime_checkable
class LambdaHandler(Protocol[EventT, OutputT]):
    """An object with ``handle(event, context)``; state built in ``__init__`` lives across invocations.

    Pass the class or an instance to ``LambdaRuntime``; a class is instantiated once, at init.

    Subclass it with types to get typed events and results (the ``json`` extra)::

        class Checkout(LambdaHandler[Order, Receipt]):
            def __init__(self) -> None:
                self.prices = load_prices()  # once, at init

            def handle(self, event: Order, context: LambdaContext) -> Receipt:
                ...

    The event is validated as ``Order`` from the payload bytes and the result serialised as
    ``Receipt`` (by alias). Unparameterised, ``LambdaHandler`` only describes the shape.
    """

    def handle(self, event: EventT, context: LambdaContext) -> OutputT:
        """Serve one invocation and return its result."""
        ...


AnyHandler = LambdaHandler[Any, Any]
