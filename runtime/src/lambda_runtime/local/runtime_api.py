"""The runtime's side: the Lambda Runtime API, as a runtime (in this process or another) sees it.

``GET /next`` waits for the next invocation; ``POST .../{id}/response`` delivers a buffered or
streamed answer, ``POST .../{id}/error`` an error, ``POST /runtime/init/error`` an init failure. The
answers are those Lambda gives: 202 for an accepted post, 400 for an unknown request id or a second
answer, 410 Gone for an answer that came after the invocation's deadline, 413 for a response over
the size limit.
"""

from __future__ import annotations

import asyncio
import json

import h11

from .. import protocol
from ..protocol import server as server_protocol
from .config import LocalConfig
from .connection import BodyTooLarge, HTTPConnection, PeerGone, header
from .invocations import (
    ANSWERED,
    FAILED,
    RUNNING,
    STREAMING,
    TIMED_OUT,
    Dispatcher,
    PendingInvocation,
    ServerClosing,
)
from .results import Failure, Reply, StreamEnd, StreamStart

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

_ACCEPTED = b'{"status":"OK"}'
_ERROR_LIMIT = protocol.MAX_BUFFERED_RESPONSE_BYTES
_RELAYED_TRAILERS = (protocol.ERROR_TYPE_HEADER, protocol.ERROR_BODY_HEADER)


class RuntimeAPI:
    """Serves the Runtime API paths (under ``/2018-06-01/``) from the invocations of a dispatcher."""

    def __init__(self, dispatcher: Dispatcher, config: LocalConfig, log: logging.Logger) -> None:
        self._dispatcher = dispatcher
        self._function_arn = config.function_arn
        self._log = log

    async def handle(self, conn: HTTPConnection, request: h11.Request, method: str, path: str) -> None:
        """Serve one request whose path is under the Runtime API's prefix."""
        if path == protocol.NEXT_PATH:
            if method != "GET":
                await conn.reject(405, "MethodNotAllowed", "use GET for /next", [("Allow", "GET")])
                return
            await self._next(conn)
            return
        if path == protocol.INIT_ERROR_PATH:
            if method != "POST":
                await conn.reject(405, "MethodNotAllowed", "use POST for init errors", [("Allow", "POST")])
                return
            await self._init_error(conn, request)
            return
        target = server_protocol.parse_invocation_path(path)
        if target is None:
            await conn.reject(404, "NotFound", f"the local Runtime API has no {path[:200]}")
            return
        if method != "POST":
            await conn.reject(405, "MethodNotAllowed", f"use POST for {path[:200]}", [("Allow", "POST")])
            return
        request_id, kind = target
        invocation = await self._running_invocation(conn, request, request_id)
        if invocation is None:
            return
        if kind == "error":
            await self._error(conn, request, invocation)
        elif (header(request, protocol.RESPONSE_MODE_HEADER.encode()) or "").lower() == "streaming":
            await self._stream(conn, request, invocation)
        else:
            await self._response(conn, request, invocation)

    # -- GET /next -----------------------------------------------------------------------------------

    async def _next(self, conn: HTTPConnection) -> None:
        await conn.read_body(protocol.MAX_HEAD_BYTES)
        try:
            waiter = self._dispatcher.wait_next()
        except ServerClosing as closing:
            await conn.respond(500, protocol.error_body("LocalServerShutdown", str(closing)), close=True)
            return
        watcher = conn.watch_peer()
        handed = False
        try:
            await asyncio.wait((waiter, watcher), return_when=asyncio.FIRST_COMPLETED)
            handed = waiter.done() and not conn.peer_gone
        finally:
            watcher.cancel()
            if not waiter.done():
                waiter.cancel()
            elif not handed and not waiter.cancelled() and waiter.exception() is None:
                # The runtime went away as its invocation came: the next /next caller gets it.
                self._dispatcher.requeue(waiter.result())
            await asyncio.wait({watcher})
            if not watcher.cancelled():
                watcher.exception()
        if not handed:
            return
        failure = waiter.exception()
        if failure is not None:
            await conn.respond(500, protocol.error_body("LocalServerShutdown", str(failure)), close=True)
            return
        invocation = waiter.result()
        headers = server_protocol.next_response_headers(invocation.to_invocation(self._function_arn))
        try:
            await conn.respond(200, invocation.event, headers)
        except (ConnectionError, OSError):
            self._dispatcher.requeue(invocation)
            raise
        self._log.debug("Invocation %s handed to the function", invocation.request_id)

    # -- POST .../{id}/response and .../{id}/error ---------------------------------------------------

    async def _running_invocation(
        self, conn: HTTPConnection, request: h11.Request, request_id: str
    ) -> PendingInvocation | None:
        """The invocation a post is for; otherwise answer the post with Lambda's error and ``None``."""
        found = self._dispatcher.lookup(request_id)
        if found is None:
            await conn.reject(
                400, "InvalidRequestID", f"no invocation has the request id {request_id[:100]!r}"
            )
            return None
        if isinstance(found, str):
            if found == TIMED_OUT:
                self._log.warning(
                    "The function answered invocation %s after its deadline: refused with 410 Gone",
                    request_id,
                )
                await conn.reject(410, "InvocationTimedOut", f"invocation {request_id} already timed out")
            else:
                await conn.reject(
                    400, "InvalidStateTransition", f"invocation {request_id} already has its answer ({found})"
                )
            return None
        echoed = header(request, protocol.INVOCATION_ID_HEADER.encode())
        if echoed is not None and echoed != found.invocation_id:
            self._log.warning(
                "An answer for invocation %s carried another Lambda-Runtime-Invocation-Id: refused with 410",
                request_id,
            )
            await conn.reject(
                410, "StaleInvocation", "Lambda-Runtime-Invocation-Id does not match this invocation's"
            )
            return None
        if found.state != RUNNING:
            await conn.reject(
                400, "InvalidStateTransition", f"invocation {request_id} is already answering ({found.state})"
            )
            return None
        return found

    async def _response(
        self, conn: HTTPConnection, request: h11.Request, invocation: PendingInvocation
    ) -> None:
        limit = protocol.MAX_BUFFERED_RESPONSE_BYTES
        try:
            body, _ = await conn.read_body(limit)
        except BodyTooLarge:
            self._log.error(
                "Invocation %s: the function's response is over the %d-byte limit: refused with 413",
                invocation.request_id,
                limit,
            )
            await conn.refuse(
                413,
                "RequestEntityTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
            )
            return
        content_type = header(request, b"content-type") or "application/json"
        self._deliver(invocation, Reply(200, [("Content-Type", content_type)], body))
        await self._accept(conn, invocation)

    async def _error(self, conn: HTTPConnection, request: h11.Request, invocation: PendingInvocation) -> None:
        read = await _read_error(conn, request)
        if read is None:
            return
        error_type, body = read
        self._log.error(
            "Invocation %s failed: %s: %s", invocation.request_id, error_type, _error_message(body)
        )
        self._deliver(invocation, Failure(error_type, body))
        await self._accept(conn, invocation)

    async def _stream(
        self, conn: HTTPConnection, request: h11.Request, invocation: PendingInvocation
    ) -> None:
        """Relay a streamed response chunk by chunk while the runtime sends it."""
        invocation.state = STREAMING
        results = invocation.results
        content_type = header(request, b"content-type") or protocol.STREAM_CONTENT_TYPE
        await results.put(StreamStart(content_type))
        limit = protocol.MAX_STREAMED_RESPONSE_BYTES
        size = 0
        while True:
            try:
                part = await conn.read_part()
            except (PeerGone, h11.RemoteProtocolError) as error:
                self._log.error(
                    "Invocation %s: the function's stream broke off: %s", invocation.request_id, error
                )
                results.end(
                    Failure.of("Runtime.TruncatedResponse", "the function's streamed response broke off")
                )
                self._dispatcher.finish(invocation, FAILED)
                raise
            if isinstance(part, h11.EndOfMessage):
                break
            size += len(part)
            if size > limit and not results.ended:
                self._log.error(
                    "Invocation %s: the streamed response is over %d bytes: cut", invocation.request_id, limit
                )
                results.end(
                    Failure.of(
                        "Function.ResponseSizeTooLarge", f"the streamed response is over {limit} bytes"
                    )
                )
            await results.put(part)
        trailers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in part.headers
            if name.decode("latin-1") in _RELAYED_TRAILERS
        ]
        reported = server_protocol.error_from_trailers(dict(trailers))
        if reported is not None:
            error_type, body = reported
            self._log.error(
                "Invocation %s failed after its stream started: %s: %s",
                invocation.request_id,
                server_protocol.function_error_type(error_type, body),
                _error_message(body),
            )
        if invocation.state == TIMED_OUT:
            await conn.respond(410, protocol.error_body("InvocationTimedOut", "the invocation timed out"))
            return
        if size > limit:
            self._dispatcher.finish(invocation, FAILED)
            await conn.respond(
                413, protocol.error_body("Function.ResponseSizeTooLarge", f"over {limit} bytes")
            )
            return
        self._deliver(invocation, StreamEnd(trailers))
        await self._accept(conn, invocation)

    def _deliver(self, invocation: PendingInvocation, part: Reply | Failure | StreamEnd) -> None:
        if not invocation.results.end(part) and invocation.client_gone:
            self._log.info(
                "The answer to invocation %s was discarded: its client went away", invocation.request_id
            )

    async def _accept(self, conn: HTTPConnection, invocation: PendingInvocation) -> None:
        self._dispatcher.finish(invocation, ANSWERED)
        await conn.respond(202, _ACCEPTED)

    # -- POST /runtime/init/error --------------------------------------------------------------------

    async def _init_error(self, conn: HTTPConnection, request: h11.Request) -> None:
        read = await _read_error(conn, request)
        if read is None:
            return
        error_type, body = read
        self._log.error("The function failed to initialise: %s: %s", error_type, _error_message(body))
        self._dispatcher.init_failed(Failure(error_type, body))
        await conn.respond(202, _ACCEPTED)


async def _read_error(conn: HTTPConnection, request: h11.Request) -> tuple[str, bytes] | None:
    """The error type and body of an error post, or None once a body over the limit got its 413."""
    try:
        body, _ = await conn.read_body(_ERROR_LIMIT)
    except BodyTooLarge:
        await conn.refuse(413, "RequestEntityTooLarge", f"an error body must be under {_ERROR_LIMIT} bytes")
        return None
    return server_protocol.function_error_type(
        header(request, protocol.ERROR_TYPE_HEADER.encode()), body
    ), body


def _error_message(body: bytes) -> str:
    """The errorMessage of an error body, for a log line."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    message = document.get("errorMessage") if isinstance(document, dict) else None
    return str(message) if message is not None else body[:200].decode("utf-8", "replace")
