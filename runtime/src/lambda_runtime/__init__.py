"""lambda-runtime: a fast, zero-dependency Python runtime for AWS Lambda.

Write a handler, then run it::

    from lambda_runtime import LambdaRuntime

    def handler(event, context):
        return {"message": f"Hello, {event['name']}!"}

    if __name__ == "__main__":
        LambdaRuntime(handler).run()

or, without changing the code, ``python -m lambda_runtime app.handler`` (as ``python -m awslambdaric``).

Importing this package loads only what serving a buffered handler needs; ``LambdaHandler`` (a
``typing.Protocol``), ``ResponseStream``, ``ClientContext``, ``CognitoIdentity`` and the error classes are
loaded on first access.
"""

# The package version, the one place it is written (the build reads it from here). Set before the
# imports below: the protocol module puts it in the user agent.
__version__ = "0.1.0"


def _set_aside_what_startup_made() -> None:
    import sys

    # `python -m lambda_runtime ...`: runpy is importing this package (argv[0] is "-m" only until it has).
    # What the interpreter and runpy made lives as long as the process; set it aside now, as init does
    # with what it makes (runtime._initialise), or a collection while this package loads scans all of it:
    # a full one, in the CLI's cold start, 1.8M instructions.
    if getattr(sys, "argv", [])[:1] == ["-m"]:  # an embedding interpreter may have no argv
        import gc

        gc.freeze()


_set_aside_what_startup_made()

from .context import LambdaContext, current_context  # noqa: E402
from .runtime import LambdaRuntime  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .client_context import ClientContext, CognitoIdentity
    from .errors import (
        AlreadyRunningError,
        InitError,
        LambdaRuntimeError,
        MarshalError,
        ResponseSizeTooLarge,
        UnmarshalError,
    )
    from .handler_protocol import LambdaHandler
    from .managed import LambdaManagedRuntime
    from .streaming import ResponseStream, StreamStateError
    from .typed import ValidationError

__all__ = [
    "AlreadyRunningError",
    "ClientContext",
    "CognitoIdentity",
    "InitError",
    "LambdaContext",
    "LambdaHandler",
    "LambdaManagedRuntime",
    "LambdaRuntime",
    "LambdaRuntimeError",
    "MarshalError",
    "ResponseSizeTooLarge",
    "ResponseStream",
    "StreamStateError",
    "UnmarshalError",
    "ValidationError",
    "__version__",
    "current_context",
]

_LAZY = {
    "LambdaHandler": "handler_protocol",
    "LambdaManagedRuntime": "managed",  # multi-worker serving: loaded only by those who use it
    "ClientContext": "client_context",  # decoded only when a handler reads context.client_context
    "CognitoIdentity": "client_context",
    "AlreadyRunningError": "errors",
    "InitError": "errors",
    "LambdaRuntimeError": "errors",
    "MarshalError": "errors",
    "ResponseSizeTooLarge": "errors",
    "UnmarshalError": "errors",
    "ResponseStream": "streaming",  # for streaming handlers: loaded when one is served
    "StreamStateError": "streaming",
    "ValidationError": "typed",  # imports pydantic: only on access
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module_name}", __name__), name)
