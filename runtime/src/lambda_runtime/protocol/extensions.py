"""The Extensions API's wire format, which only the ``lifecycle`` extra speaks (sans-IO, as
:mod:`lambda_runtime.protocol`; kept apart so that a function's cold start does not load it).
"""

from . import USER_AGENT, ProtocolError, check_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# The ``lifecycle`` extra registers an internal extension so that Lambda sends the
# runtime SIGTERM before shutting the execution environment down (Lambda does so only when at least one
# extension is registered). The Extensions API shares the Runtime API's host:port.
# https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html

EXTENSION_API_VERSION = "2020-01-01"
EXTENSION_REGISTER_PATH = f"/{EXTENSION_API_VERSION}/extension/register"
EXTENSION_NEXT_PATH = f"/{EXTENSION_API_VERSION}/extension/event/next"
EXTENSION_NAME_HEADER = "lambda-extension-name"
EXTENSION_IDENTIFIER_HEADER = "lambda-extension-identifier"
# Internal extensions (threads of the runtime process) may not register for SHUTDOWN: the runtime gets
# SIGTERM instead. An extension registered for no event at all is valid, and is simply never woken.
EXTENSION_EVENTS = ("INVOKE", "SHUTDOWN")


def extension_register_request(
    host: str, name: str, events: "Iterable[str]" = (), user_agent: str = USER_AGENT
) -> bytes:
    """The whole ``POST /2020-01-01/extension/register`` request for an extension called ``name``.

    ``events`` is a subset of :data:`EXTENSION_EVENTS`; the default registers for none.
    """
    wanted = list(events)
    unknown = [event for event in wanted if event not in EXTENSION_EVENTS]
    if unknown:
        raise ValueError(f"unknown extension events {unknown}: use {', '.join(EXTENSION_EVENTS)}")
    if not name or not name.isascii() or not name.isprintable() or ":" in name:
        raise ValueError(f"an extension name must be printable ASCII without ':', got {name!r}")
    body = ('{"events":[' + ",".join(f'"{event}"' for event in wanted) + "]}").encode()
    return (
        f"POST {EXTENSION_REGISTER_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
        f"Lambda-Extension-Name: {name}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body


def extension_next_request(host: str, identifier: str, user_agent: str = USER_AGENT) -> bytes:
    """The ``GET /2020-01-01/extension/event/next`` request of a registered extension."""
    check_id(identifier, "extension identifier")
    return (
        f"GET {EXTENSION_NEXT_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
        f"Lambda-Extension-Identifier: {identifier}\r\n\r\n"
    ).encode("latin-1")


def extension_identifier(status: int, headers: dict[str, str], body: bytes) -> str:
    """The identifier Lambda gave an extension, from the answer to its register request.

    Raises :class:`ProtocolError` when the registration was refused or the answer has no identifier.
    """
    if status != 200:
        raise ProtocolError(f"the Extensions API refused the registration with {status}: {body[:200]!r}")
    identifier = headers.get(EXTENSION_IDENTIFIER_HEADER, "")
    if not identifier:
        raise ProtocolError("the Extensions API accepted the registration but sent no extension identifier")
    return check_id(identifier, "extension identifier")


def extension_event_type(body: bytes) -> str:
    """The ``eventType`` (``INVOKE`` or ``SHUTDOWN``) of an event from ``/extension/event/next``."""
    import json

    try:
        document = json.loads(body)
    except ValueError:
        document = None
    event_type = document.get("eventType") if isinstance(document, dict) else None
    if not isinstance(event_type, str):
        raise ProtocolError(f"an extension event without an eventType: {body[:200]!r}")
    return event_type
