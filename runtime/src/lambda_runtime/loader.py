"""Loading a handler from a ``module.function`` string, as Lambda's ``_HANDLER`` names it.

The error types and messages are those ``awslambdaric`` reports, so a function that fails to start
looks the same in Lambda's console whichever runtime it uses.
"""

from __future__ import annotations

import sys

from .errors import InitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def user_stack_trace(error: BaseException) -> list[str]:
    """The formatted frames of ``error``'s traceback that belong to the user's code."""
    import traceback

    hidden = _runtime_prefixes()
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith(hidden)
    ]
    return traceback.format_list(frames)


def _runtime_prefixes() -> tuple[str, ...]:
    """Where the frames that are the runtime's, not the user's, come from."""
    prefixes = [_PACKAGE_DIR, "<frozen importlib"]
    asyncio: Any = sys.modules.get("asyncio")  # an async handler's error passes through the event loop
    if asyncio is not None:
        prefixes.append(asyncio.__file__.rpartition("/")[0] + "/")
    return tuple(prefixes)


_PACKAGE_DIR = __file__.rpartition("/")[0] + "/"


def load_handler(spec: str) -> object:
    """Import the module of ``spec`` (``path/to/module.attribute``) and return the attribute."""
    module_name, dot, attribute = spec.strip().rpartition(".")
    if not dot or not module_name or not attribute:
        raise InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{spec}': expected module.function, like app.handler",
        )
    module_name = module_name.replace("/", ".")
    try:
        __import__(module_name)
        module = sys.modules[module_name]
    except ModuleNotFoundError as error:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        raise InitError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            user_stack_trace(error),
        ) from None
    except BaseException as error:
        raise InitError(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {type(error).__name__}: {error}",
            user_stack_trace(error),
        ) from None
    if not hasattr(module, attribute):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'")
    return getattr(module, attribute)
