"""``ResponseStream``: a streamed response, written to the Runtime API as the handler produces it.

Nothing goes on the wire until the first byte (or :meth:`ResponseStream.finish`), so an exception
before that is still reported as a plain ``/error``; after it, the runtime ends the body with error
trailers. Each :meth:`write` is sent at once as one HTTP chunk: memory stays flat however long the
stream is.
"""

from __future__ import annotations

from . import protocol
from .errors import LambdaRuntimeError, ResponseSizeTooLarge

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from .protocol import Invocation

    class StreamConnection(Protocol):
        """What a stream writes through: the blocking ``RuntimeClient`` or the asyncio client."""

        def stream_head(self, invocation: Invocation, content_type: str) -> bytes: ...
        def send_parts(self, parts: list[bytes]) -> None: ...
        def end_stream(self, last: bytes) -> None: ...


class StreamStateError(LambdaRuntimeError):
    """A stream was used out of order: written after finish(), or given its status after the body."""

    error_type = "Runtime.StreamStateError"


class ResponseStream:
    """The response of a streaming handler ``(event, stream, context)``.

    * :meth:`write` sends bytes (or ``str``, as UTF-8) at once.
    * :meth:`write_status_and_headers` starts a Function URL response (status code, headers, cookies);
      it may come only before the first body byte.
    * :meth:`finish` ends the response; the caller has it all. Work after it still runs before the next
      invocation is fetched. Calling it twice is harmless; a handler that returns without it is
      finished for it. :meth:`write_and_finish` does both.

    At most ``limit`` bytes may be sent (Lambda's 200 MB by default); a write past it raises
    :class:`~lambda_runtime.ResponseSizeTooLarge` and sends nothing.
    """

    __slots__ = (
        "_client",
        "_content_type",
        "_finished",
        "_invocation",
        "_limit",
        "_prelude",
        "_sent",
        "_started",
    )

    def __init__(
        self,
        client: StreamConnection,
        invocation: Invocation,
        limit: int = protocol.MAX_STREAMED_RESPONSE_BYTES,
    ) -> None:
        self._client = client
        self._invocation = invocation
        self._limit = limit
        self._content_type = protocol.STREAM_CONTENT_TYPE
        self._prelude = b""
        self._sent = 0
        self._started = False
        self._finished = False

    @property
    def started(self) -> bool:
        """Whether anything has gone on the wire (after that, errors can only go in trailers)."""
        return self._started

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def bytes_written(self) -> int:
        """Bytes of the response sent so far (the prelude included)."""
        return self._sent

    def write_status_and_headers(
        self,
        status_code: int,
        headers: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        """Give a Function URL response its HTTP status, headers and cookies (before any body byte)."""
        if self._finished:
            raise StreamStateError("write_status_and_headers() after finish(): the response is complete")
        if self._started or self._prelude:
            raise StreamStateError("write_status_and_headers() must come before the first body byte")
        self._prelude = protocol.http_integration_prelude(status_code, headers, cookies)
        self._content_type = protocol.HTTP_INTEGRATION_CONTENT_TYPE

    def write(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send ``data`` now, as one chunk of the response body."""
        if self._finished:
            raise StreamStateError("write() after finish(): the response is already complete")
        if isinstance(data, str):
            data = data.encode("utf-8")
        size = len(data) if type(data) is bytes else memoryview(data).nbytes
        if not size:
            return
        parts: list[bytes] = []  # sendmsg takes any bytes-like part
        total = self._sent + size
        if not self._started:
            parts = self._opening_parts()
            total += len(self._prelude)
        if total > self._limit:
            raise ResponseSizeTooLarge(
                f"the streamed response would be {total} bytes, over the limit of {self._limit} bytes"
            )
        parts += (protocol.chunk_header(size), data, b"\r\n")  # type: ignore[arg-type]
        self._client.send_parts(parts)
        self._started = True
        self._sent = total

    def finish(self) -> None:
        """End the response. Harmless when already finished."""
        if self._finished:
            return
        self._finished = True
        if not self._started:
            self._started = True
            self._sent += len(self._prelude)
            self._client.send_parts(self._opening_parts())
        self._client.end_stream(protocol.END_OF_STREAM)

    def write_and_finish(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send ``data`` and end the response."""
        self.write(data)
        self.finish()

    def _opening_parts(self) -> list[bytes]:
        """The request head, and the prelude as the body's first chunk when there is one."""
        parts = [self._client.stream_head(self._invocation, self._content_type)]
        if self._prelude:
            parts += (protocol.chunk_header(len(self._prelude)), self._prelude, b"\r\n")
        return parts

    def fail(self, error_type: str, body: bytes) -> None:
        """End a started response with error trailers (the runtime calls this when the handler raises)."""
        self._finished = True
        self._client.end_stream(protocol.error_trailers(error_type, body))
