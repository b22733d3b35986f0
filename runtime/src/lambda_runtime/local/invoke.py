"""The client's side: ``POST /invoke`` queues an event, and the function's result goes back to the client.

Buffered answers go back as they are. A streamed answer goes back chunk by chunk as the runtime sends
it; when it is a Function URL response, its JSON prelude becomes the HTTP status and headers. Errors
become an HTTP 500 (503 when the server is shutting down) with the error JSON and an
``X-Amz-Function-Error`` header; an error after a stream's first byte ends the chunked body with the
runtime's error trailers. A client that goes away cancels its own invocation, and only that one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json

import h11

from .. import protocol
from ..protocol import server as server_protocol
from .connection import BodyTooLarge, HTTPConnection, header
from .invocations import Dispatcher, PendingInvocation
from .results import Failure, Reply, ResultChannel, StreamEnd, StreamStart

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

TENANT_ID_HEADER = b"x-amz-tenant-id"
CLIENT_CONTEXT_HEADER = b"x-amz-client-context"
# Lambda's limit on the invoker's client context: 3,583 bytes, base64-encoded.
MAX_CLIENT_CONTEXT_BYTES = 3583
_TRAILER_ANNOUNCEMENT = ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
# The server frames the streamed body itself: a function's own framing headers would contradict it.
_FRAMING_HEADERS = frozenset(("content-length", "transfer-encoding", "connection", "trailer", "keep-alive"))


class InvalidInvokeRequest(ValueError):
    """The client's request cannot become an invocation (a bad header)."""


async def handle_invoke(
    conn: HTTPConnection, request: h11.Request, dispatcher: Dispatcher, log: logging.Logger
) -> None:
    """Serve one ``POST`` to the invocation endpoint, from reading the event to the last byte of the
    function's answer."""
    limit = server_protocol.MAX_INVOKE_PAYLOAD_BYTES
    length = conn.announced_length(request)
    too_large = (
        f"The request payload is over the {limit}-byte limit of a synchronous invocation "
        "(Lambda answers RequestEntityTooLargeException)"
    )
    if length is not None and length > limit:
        log.warning("Refused an invocation of %d bytes: over the %d-byte limit", length, limit)
        await conn.refuse(413, "RequestEntityTooLargeException", too_large)
        return
    try:
        event, _ = await conn.read_body(limit)
    except BodyTooLarge:
        log.warning("Refused a chunked invocation: over the %d-byte limit", limit)
        await conn.refuse(413, "RequestEntityTooLargeException", too_large)
        return
    try:
        tenant_id = tenant_id_of(request)
        client_context = client_context_of(request)
    except InvalidInvokeRequest as error:
        await conn.respond(400, protocol.error_body("InvalidRequestContentException", str(error)))
        return

    invocation = dispatcher.submit(event, tenant_id, client_context)
    log.debug("Invocation %s queued (%d bytes)", invocation.request_id, len(event))
    watcher = conn.watch_peer()

    def peer_closed(task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            dispatcher.cancel(invocation)

    watcher.add_done_callback(peer_closed)
    answered = False
    try:
        await relay(conn, invocation, log)
        answered = True
    finally:
        watcher.remove_done_callback(peer_closed)
        watcher.cancel()
        await asyncio.wait({watcher})
        if not watcher.cancelled():
            watcher.exception()
        if not answered:
            # The answer could not be written (or this task was cancelled): the client is gone.
            dispatcher.cancel(invocation)


def tenant_id_of(request: h11.Request) -> str | None:
    """The tenant id the client invoked for (``X-Amz-Tenant-Id``), checked for use in a header."""
    value = header(request, TENANT_ID_HEADER)
    if value is None:
        return None
    if not value or len(value) > 256 or not all(" " <= c <= "~" for c in value):
        raise InvalidInvokeRequest("X-Amz-Tenant-Id must be 1 to 256 visible ASCII characters")
    return value


def client_context_of(request: h11.Request) -> str | None:
    """The client context as JSON text, decoded from the client's base64 ``X-Amz-Client-Context``.

    It is re-encoded as ASCII-only JSON, so that it travels in a header whatever characters it holds.
    """
    value = header(request, CLIENT_CONTEXT_HEADER)
    if value is None:
        return None
    if len(value) > MAX_CLIENT_CONTEXT_BYTES:
        raise InvalidInvokeRequest(
            f"X-Amz-Client-Context must be at most {MAX_CLIENT_CONTEXT_BYTES} bytes (base64)"
        )
    try:
        document = json.loads(base64.b64decode(value.encode("latin-1"), validate=True))
    except (binascii.Error, ValueError):
        raise InvalidInvokeRequest("X-Amz-Client-Context must be a base64-encoded JSON object") from None
    if not isinstance(document, dict):
        raise InvalidInvokeRequest("X-Amz-Client-Context must be a base64-encoded JSON object")
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


async def relay(conn: HTTPConnection, invocation: PendingInvocation, log: logging.Logger) -> None:
    """Send the client what arrives on the invocation's result channel."""
    results = invocation.results
    part = await results.get()
    if part is None:
        return
    common = [("X-Amzn-RequestId", invocation.request_id)]
    if isinstance(part, Reply):
        await conn.respond(
            part.status, part.body, [*part.headers, *common, ("X-Amz-Executed-Version", "$LATEST")], None
        )
    elif isinstance(part, Failure):
        await send_failure(conn, part, common)
    elif isinstance(part, StreamStart):
        await _relay_stream(conn, results, part, common, invocation.request_id, log)
    else:
        raise AssertionError(f"a result cannot start with {type(part).__name__}")


async def send_failure(conn: HTTPConnection, failure: Failure, headers: list[tuple[str, str]]) -> None:
    """Answer with the error JSON; a function's error also carries ``X-Amz-Function-Error``."""
    extra = list(headers)
    if failure.function_error:
        extra += [("X-Amz-Function-Error", failure.error_type), ("X-Amz-Executed-Version", "$LATEST")]
    await conn.respond(failure.status, failure.body, extra)


async def _relay_stream(
    conn: HTTPConnection,
    results: ResultChannel,
    start: StreamStart,
    common: list[tuple[str, str]],
    request_id: str,
    log: logging.Logger,
) -> None:
    headers = [*common, ("X-Amz-Executed-Version", "$LATEST")]
    if conn.http11:
        headers.append(_TRAILER_ANNOUNCEMENT)
    content_type = start.content_type
    if content_type.partition(";")[0].strip().lower() == protocol.HTTP_INTEGRATION_CONTENT_TYPE:
        opening = await _read_prelude(results, request_id, log)
        if opening is None:
            return
        if isinstance(opening, Failure):
            await send_failure(conn, opening, common)
            return
        status, prelude_headers, rest = opening
        prelude_headers = [
            (name, value) for name, value in prelude_headers if name.lower() not in _FRAMING_HEADERS
        ]
        if status in (204, 304):
            headers = [field for field in headers if field is not _TRAILER_ANNOUNCEMENT]
        try:
            await conn.start_response(status, [*prelude_headers, *headers])
        except (h11.LocalProtocolError, UnicodeEncodeError) as error:
            log.error("Invocation %s: the prelude's headers cannot be sent: %s", request_id, error)
            await send_failure(
                conn, Failure.of("Runtime.InvalidPrelude", f"invalid prelude header: {error}", 502), common
            )
            return
        await _send_body(conn, rest, request_id, log)
    else:
        await conn.start_response(200, [("Content-Type", content_type), *headers])
    while True:
        part = await results.get()
        if part is None:
            conn.abort()
            return
        if isinstance(part, bytes):
            await _send_body(conn, part, request_id, log)
        elif isinstance(part, StreamEnd):
            await conn.end_response(part.trailers)
            return
        elif isinstance(part, Failure):
            if conn.chunked:
                await conn.end_response(server_protocol.error_trailer_fields(part.error_type, part.body))
            elif conn.body_allowed:
                conn.abort()  # no trailers without chunks: a cut connection is the only way to say it
            else:
                await conn.end_response()  # a 204 or 304 was complete with its head
            return
        else:
            raise AssertionError(f"unexpected {type(part).__name__} in a stream")


async def _send_body(conn: HTTPConnection, data: bytes, request_id: str, log: logging.Logger) -> None:
    if conn.body_allowed:
        await conn.send_data(data)
    elif data:
        log.warning("Invocation %s: body bytes after a 204 or 304 status were dropped", request_id)


async def _read_prelude(
    results: ResultChannel, request_id: str, log: logging.Logger
) -> tuple[int, list[tuple[str, str]], bytes] | Failure | None:
    """Collect a Function URL stream's first bytes up to the end of its prelude, and parse it."""
    buffer = b""
    while True:
        part = await results.get()
        if part is None:
            return None
        if isinstance(part, Failure):
            return part
        if isinstance(part, StreamEnd):
            error = server_protocol.error_from_trailers(_lower(part.trailers))
            if error is not None:
                error_type, body = error
                return Failure(server_protocol.function_error_type(error_type, body), body)
            message = "the streamed response ended before its status-and-headers prelude"
        elif isinstance(part, bytes):
            buffer += part
            try:
                split = server_protocol.split_http_integration_prelude(buffer)
                if split is None:
                    continue
                status, headers = server_protocol.parse_http_integration_prelude(split[0])
            except protocol.ProtocolError as error:
                message = str(error)
            else:
                return status, headers, split[1]
        else:
            raise AssertionError(f"unexpected {type(part).__name__} in a stream")
        log.error("Invocation %s: %s", request_id, message)
        # Whatever else the runtime streams for this invocation has nowhere to go.
        results.abandon()
        return Failure.of("Runtime.InvalidPrelude", message, 502)


def _lower(fields: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in fields}
