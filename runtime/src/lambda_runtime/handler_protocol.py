"""``LambdaHandler``: the shape of class-based handlers, for type checkers and readers.

Kept apart from the rest because ``typing`` costs cold-start milliseconds; the runtime itself never
imports this module.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .context import LambdaContext


@runtime_checkable
class LambdaHandler(Protocol):
    """An object with ``handle(event, context)``; state built in ``__init__`` lives across invocations.

    Pass the class or an instance to ``LambdaRuntime``; a class is instantiated once, at init.
    """

    def handle(self, event: Any, context: LambdaContext) -> Any:
        """Serve one invocation and return its result (JSON-encoded unless it is ``bytes``)."""
        ...
