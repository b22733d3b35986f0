"""The Lambda Runtime API wire protocol, without any I/O.

This module is the only place that knows what Runtime API messages look like on the wire: the paths,
the header names, how a ``/next`` response becomes an :class:`Invocation`, how responses, errors and
init errors are framed, and how HTTP/1.1 responses are parsed (``Content-Length`` and chunked bodies).
It has no sockets, threads or clock, so the blocking client, the asyncio client and the local server
can all share it, and it can be tested byte for byte.

This package holds the runtime's side, and imports nothing at module level beyond builtins: it sits on
the cold-start path. What only a server needs (:mod:`lambda_runtime.protocol.server`) and the Extensions
API (:mod:`lambda_runtime.protocol.extensions`) are its submodules, loaded by those who use them.
"""

from .. import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

API_VERSION = "2018-06-01"
NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
USER_AGENT = f"lambda-runtime-python/{__version__}"

# Header names as the parser stores them (lower case).
REQUEST_ID_HEADER = "lambda-runtime-aws-request-id"
DEADLINE_HEADER = "lambda-runtime-deadline-ms"
FUNCTION_ARN_HEADER = "lambda-runtime-invoked-function-arn"
TRACE_ID_HEADER = "lambda-runtime-trace-id"
CLIENT_CONTEXT_HEADER = "lambda-runtime-client-context"
COGNITO_IDENTITY_HEADER = "lambda-runtime-cognito-identity"
TENANT_ID_HEADER = "lambda-runtime-aws-tenant-id"
INVOCATION_ID_HEADER = "lambda-runtime-invocation-id"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"
ERROR_BODY_HEADER = "lambda-runtime-function-error-body"
RESPONSE_MODE_HEADER = "lambda-runtime-function-response-mode"

# Streamed responses: the default body type, and the type that tells a Function URL the body starts with
# a JSON prelude (status code, headers, cookies) followed by PRELUDE_SEPARATOR.
STREAM_CONTENT_TYPE = "application/octet-stream"
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8
MAX_STREAMED_RESPONSE_BYTES = 200 * 1024 * 1024

# Buffered responses above this are refused by Lambda; checking first gives the caller a clear error.
MAX_BUFFERED_RESPONSE_BYTES = 6_291_556
MAX_HEAD_BYTES = 64 * 1024
# Invocation payloads are at most 6 MB; anything far beyond that is a broken peer, not an event.
MAX_BODY_BYTES = 32 * 1024 * 1024

# Request ids and invocation ids go back on the wire (in a path, in a header): only tokens that cannot
# change the meaning of a request line or header are accepted.
_ID_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:+="


class ProtocolError(Exception):
    """The Runtime API sent something this runtime cannot understand."""


class Invocation:
    """One event fetched from ``/next``: the payload and what its headers say about it.

    Every field but ``request_id`` may be absent (``None``); ``deadline_ms`` is epoch milliseconds.
    ``client_context`` and ``cognito_identity`` are kept as the raw JSON text the header carried.
    """

    __slots__ = (
        "client_context",
        "cognito_identity",
        "deadline_ms",
        "event",
        "invocation_id",
        "invoked_function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        event: bytes,
        deadline_ms: int | None = None,
        invoked_function_arn: str | None = None,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.event = event
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.invocation_id = invocation_id

    def __repr__(self) -> str:
        return f"Invocation(request_id={self.request_id!r}, event=<{len(self.event)} bytes>)"


def usable_id(value: str) -> bool:
    """Whether an id from the Runtime API is safe to echo into a request line or header."""
    # One pass in C over the id's bytes: with every allowed byte deleted, nothing may be left.
    return 0 < len(value) <= 256 and value.isascii() and not value.encode().translate(None, _ID_CHARS)


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it is safe to echo into a request line or header, else raise."""
    if not usable_id(value):
        raise ProtocolError(f"the Runtime API sent an unusable {what}: {value[:80]!r}")
    return value


def invocation_from_next(headers: dict[str, str], body: bytes) -> Invocation:
    """Build the :class:`Invocation` from a ``/next`` response's headers (lower-case names) and body."""
    request_id = headers.get(REQUEST_ID_HEADER)
    if request_id is None:
        raise ProtocolError("the Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id")
    check_id(request_id, "request id")
    deadline = headers.get(DEADLINE_HEADER)
    deadline_ms: int | None = None
    if deadline is not None:
        try:
            deadline_ms = int(deadline)
        except ValueError:
            raise ProtocolError(f"the Runtime API sent a malformed deadline: {deadline[:40]!r}") from None
    invocation_id = headers.get(INVOCATION_ID_HEADER)
    if invocation_id is not None:
        check_id(invocation_id, "invocation id")
    return Invocation(
        request_id,
        body,
        deadline_ms,
        headers.get(FUNCTION_ARN_HEADER),
        headers.get(TRACE_ID_HEADER),
        headers.get(CLIENT_CONTEXT_HEADER),
        headers.get(COGNITO_IDENTITY_HEADER),
        headers.get(TENANT_ID_HEADER),
        invocation_id,
    )


def response_path(request_id: str) -> str:
    return f"/{API_VERSION}/runtime/invocation/{request_id}/response"


def error_path(request_id: str) -> str:
    return f"/{API_VERSION}/runtime/invocation/{request_id}/error"


# --- errors -----------------------------------------------------------------------------------------

_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def error_type_header(error_type: str, category: str = "Function") -> str:
    """The ``Lambda-Runtime-Function-Error-Type`` value for an error type name.

    Lambda accepts only ``(Runtime|Function)\\.[A-Z][a-zA-Z]+`` and records anything else as
    ``Runtime.Unknown``, so names that already match keep their category (``Runtime.MarshalError``) and
    other names keep their letters only (``Function.HTTPError`` for ``HTTP404_Error``).
    """
    prefix, dot, rest = error_type.partition(".")
    if dot and prefix in ("Runtime", "Function"):
        category, error_type = prefix, rest
    letters = "".join(c for c in error_type if c in _LETTERS)
    if len(letters) < 2:
        letters = "Unhandled"
    return f"{category}.{letters[0].upper()}{letters[1:]}"


def error_body(
    error_type: str,
    message: str,
    stack_trace: "Iterable[str]" = (),
    request_id: str | None = None,
    limit: int | None = None,
) -> bytes:
    """The JSON body Lambda expects for an error: errorMessage, errorType, stackTrace, requestId.

    Any text is accepted: lone surrogates and control characters are escaped, never an encoding error.
    The body never exceeds ``limit`` bytes (:data:`MAX_ERROR_BODY_BYTES` by default): a larger one
    would be refused, and the invocation left without an answer, so an oversized message and stack
    trace are cut (and say so).
    """
    if limit is None:
        limit = MAX_ERROR_BODY_BYTES
    import json  # lazily: the error path is not the cold-start path

    stack = list(stack_trace)
    document: dict[str, object] = {"errorMessage": message, "errorType": error_type, "stackTrace": stack}
    if request_id is not None:
        document["requestId"] = request_id
    body = json.dumps(document, ensure_ascii=True).encode("ascii")
    for _ in range(10):
        if len(body) <= limit:
            return body
        # Escapes make the encoded size up to 12 times the text's: shrink in proportion until it fits.
        ratio = limit / len(body) * 0.9
        stack = [line[:1000] for line in stack[-max(int(len(stack) * ratio), 1) :]]
        message = message[: int(len(message) * ratio)]
        document["errorMessage"] = message + _TRUNCATED
        document["errorType"] = error_type = error_type[:200]
        document["stackTrace"] = stack
        body = json.dumps(document, ensure_ascii=True).encode("ascii")
    if len(body) > limit:
        document.update(errorMessage=_TRUNCATED.strip(), errorType=error_type[:20], stackTrace=[])
        body = json.dumps(document, ensure_ascii=True).encode("ascii")
    return body


# An error body above this would be refused (Lambda's payload limit); the runtime cuts it to fit. One
# reported in a stream's trailers travels base64-encoded in a header line, so it is kept much smaller.
MAX_ERROR_BODY_BYTES = 6_291_556
MAX_TRAILER_ERROR_BODY_BYTES = 32 * 1024
_TRUNCATED = " [truncated: the error was too large to report whole]"


# --- requests ---------------------------------------------------------------------------------------


class RequestEncoder:
    """Builds the bytes of each Runtime API request for one ``host:port``.

    The parts that never change (host, user agent, the ``/next`` request) are rendered once; the hot
    path only fills in the request id and the length.
    """

    __slots__ = ("_common", "_error_head", "_response_format", "_response_head", "next_request")

    # Announced up front so that an error after the first byte can still be reported, in trailers.
    _STREAM_HEADERS = (
        b"Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
    )

    def __init__(self, host: str, user_agent: str = USER_AGENT) -> None:
        common = f"Host: {host}\r\nUser-Agent: {user_agent}\r\n".encode("latin-1")
        self._common = common
        self.next_request: bytes = f"GET {NEXT_PATH} HTTP/1.1\r\n".encode() + common + b"\r\n"
        invocation = b"POST /" + API_VERSION.encode() + b"/runtime/invocation/%s/"
        common = common.replace(b"%", b"%%")  # the heads below are %-formats
        self._response_head = invocation + b"response HTTP/1.1\r\n" + common
        self._error_head = invocation + b"error HTTP/1.1\r\n" + common
        # A buffered response's whole head in one format: request id, invocation id header, type, length.
        self._response_format = self._response_head + b"%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n"

    def response_head(
        self,
        request_id: str,
        body_length: int,
        invocation_id: str | None = None,
        content_type: bytes = b"application/json",
    ) -> bytes:
        """The request line and headers of ``POST .../{id}/response``; the body follows as is."""
        return self._response_format % (
            request_id.encode(),
            b"" if invocation_id is None else _invocation_id_line(invocation_id),
            content_type,
            body_length,
        )

    def stream_head(
        self, request_id: str, invocation_id: str | None = None, content_type: str = STREAM_CONTENT_TYPE
    ) -> bytes:
        """The request line and headers of a streamed ``POST .../{id}/response``; chunks follow."""
        head = self._response_head % request_id.encode()
        if invocation_id is not None:
            head += _invocation_id_line(invocation_id)
        return head + self._STREAM_HEADERS + b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"

    def error_request(
        self, request_id: str, error_type: str, body: bytes, invocation_id: str | None = None
    ) -> bytes:
        """The whole ``POST .../{id}/error`` request; ``error_type`` becomes the error-type header."""
        head = self._error_head % request_id.encode()
        if invocation_id is not None:
            head += _invocation_id_line(invocation_id)
        return head + self._error_headers(error_type, body)

    def init_error_request(self, error_type: str, body: bytes) -> bytes:
        """The whole ``POST /runtime/init/error`` request."""
        head = f"POST {INIT_ERROR_PATH} HTTP/1.1\r\n".encode() + self._common
        return head + self._error_headers(error_type, body)

    @staticmethod
    def _error_headers(error_type: str, body: bytes) -> bytes:
        return (
            b"Lambda-Runtime-Function-Error-Type: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (error_type_header(error_type).encode(), len(body), body)
        )


def _invocation_id_line(invocation_id: str) -> bytes:
    return b"Lambda-Runtime-Invocation-Id: " + invocation_id.encode() + b"\r\n"


# --- responses --------------------------------------------------------------------------------------


class Response:
    """A complete HTTP response from the Runtime API.

    Its headers may be parsed only when first read (``head`` holds their raw bytes until then): most
    responses (every ``202 Accepted``) are never asked for them.
    """

    __slots__ = ("_head", "_headers", "body", "keep_alive", "status")

    def __init__(
        self,
        status: int,
        headers: dict[str, str] | None,
        body: bytes,
        keep_alive: bool,
        head: bytes | None = None,
    ) -> None:
        self.status = status
        self._headers = headers
        self._head = head
        self.body = body
        self.keep_alive = keep_alive

    @property
    def headers(self) -> dict[str, str]:
        """The headers, by lower-case name."""
        if self._headers is None:
            self._headers = parse_head(self._head or b"HTTP/1.1 000 Unknown")[1]
        return self._headers

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body=<{len(self.body)} bytes>)"


def parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """Parse a status line and headers (without the blank line) into status, headers and keep-alive.

    The head is decoded once and split as text: on the hot path this is most of a response's parsing.
    """
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0]
    code = status_line[9:12]
    if (
        not status_line.startswith("HTTP/1.")
        or status_line[8:9] != " "
        or status_line[12:13] not in ("", " ")
        or not (code.isascii() and code.isdigit())
    ):
        raise ProtocolError(f"malformed status line from the Runtime API: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name[-1] in " \t" or name[0] in " \t" or "\n" in line:
            raise ProtocolError(f"malformed header line from the Runtime API: {line[:80]!r}")
        key = name.lower()
        if key in headers:
            headers[key] += ", " + value.strip()
        else:
            headers[key] = value.strip()
    connection = headers.get("connection")
    if status_line[7] == "1":
        keep_alive = connection is None or "close" not in connection.lower()
    else:
        keep_alive = connection is not None and "keep-alive" in connection.lower()
    return int(code), headers, keep_alive


def parse_complete_response(data: bytes) -> Response | None:
    """The common case, fast: ``data`` is exactly one whole response framed by ``Content-Length``.

    A local peer on a keep-alive connection answers each request in one segment, so one ``recv``
    usually holds exactly one response. Returns ``None`` for anything else (a partial response, more
    than one, chunked, interim ``1xx``, ``Connection`` handling, HTTP/1.0), which the caller then feeds
    to a :class:`ResponseParser`. The headers are parsed only if they are read.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0 or not data.startswith(b"HTTP/1.1 "):
        return None
    head = data[:end]
    lowered = head.lower()
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0 or lowered.find(b"\r\ntransfer-encoding:") >= 0 or lowered.find(b"\r\nconnection:") >= 0:
        return None
    line_end = lowered.find(b"\r\n", start + 2)
    length_text = head[start + 17 : line_end if line_end >= 0 else end].strip()
    code = head[9:12]
    if not (length_text.isdigit() and code.isdigit() and head[12:13] in (b"", b" ")) or code[:1] == b"1":
        return None
    if len(data) - end - 4 != int(length_text):
        return None
    return Response(int(code), None, data[end + 4 :], True, head)


# --- fast paths for the hot loop ------------------------------------------------------------------
# The Runtime API is a fixed peer that answers each request with one small, complete response whose
# header names are in canonical form. These parse exactly that, in a few C-level string operations, and
# return None for anything else, which then goes through parse_complete_response and ResponseParser:
# the result is the same either way, only the cost differs.


# Headers that change how a response is framed or whether the connection stays open: the general parser
# handles them. Spelt as a server may spell them (names are case-insensitive; Go's server, which answers
# on Lambda, writes the canonical form).
_FRAMING_HEADERS = frozenset(
    spelling
    for name in ("Connection", "Transfer-Encoding")
    for spelling in (name, name.lower(), name.upper())
)


_HEADER_SEPARATORS = (": ",) * 64
_ONE_SPLIT = (1,) * 64


def parse_next_response(data: bytes) -> Invocation | None:
    """A whole ``200`` answer to ``GET /next`` (canonical header names, ``Content-Length`` framing, no
    ``Connection`` or ``Transfer-Encoding``) as an :class:`Invocation`; ``None`` for anything else."""
    head, blank, body = data.partition(b"\r\n\r\n")
    if not blank or not head.startswith(b"HTTP/1.1 200 "):
        return None
    lines = head.decode("latin-1").split("\r\n")
    del lines[0]
    try:
        # One split per line, mapped in C: no comprehension frame. Past len(_ONE_SPLIT) lines the map
        # stops short, and the length check below sends the answer to the general parser.
        headers = dict(map(str.split, lines, _HEADER_SEPARATORS, _ONE_SPLIT))
    except ValueError:  # a line without ": "
        return None
    if not _FRAMING_HEADERS.isdisjoint(headers):
        return None
    length = headers.get("Content-Length")
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    if (
        len(headers) != len(lines)  # a repeated header (or too many)
        or request_id is None
        or length is None
        or not length.isdigit()
        or int(length) != len(body)
        or not usable_id(request_id)  # the general parser says what is wrong with it
    ):
        return None
    deadline = headers.get("Lambda-Runtime-Deadline-Ms")
    if deadline is not None and not deadline.isdigit():
        return None
    invocation_id = headers.get("Lambda-Runtime-Invocation-Id")
    if invocation_id is not None and not usable_id(invocation_id):
        return None
    return Invocation(
        request_id,
        body,
        None if deadline is None else int(deadline),
        headers.get("Lambda-Runtime-Invoked-Function-Arn"),
        headers.get("Lambda-Runtime-Trace-Id"),
        headers.get("Lambda-Runtime-Client-Context"),
        headers.get("Lambda-Runtime-Cognito-Identity"),
        headers.get("Lambda-Runtime-Aws-Tenant-Id"),
        invocation_id,
    )


def is_plain_accepted(data: bytes) -> bool:
    """Whether ``data`` is exactly one whole ``202 Accepted`` that keeps the connection open
    (canonical ``Content-Length`` framing, no ``Connection`` or ``Transfer-Encoding``)."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or not data.startswith(b"HTTP/1.1 202 "):
        return False
    head = data[:end]
    start = head.find(b"\r\nContent-Length: ")
    # find, not `in`: CPython 3.11 tries a bytes operand of `in` as an integer first, and the TypeError
    # it makes and drops costs more than the search.
    if start < 0 or head.find(b"onnection:") >= 0 or head.find(b"ransfer-") >= 0:
        return False
    line_end = head.find(b"\r\n", start + 18)
    length = head[start + 18 : line_end if line_end >= 0 else end]
    return length.isdigit() and int(length) == len(data) - end - 4


class ResponseParser:
    """Turns the bytes of one connection into :class:`Response` objects, as h11 does for a client.

    Feed it what the socket gave with :meth:`feed`; :meth:`next_response` returns a response once one
    is complete (``None`` until then). Bytes after a response stay buffered for the next one.
    ``1xx`` interim responses are skipped. ``eof`` tells it the peer closed the connection, which only
    completes a response whose body was delimited by the close.
    """

    __slots__ = ("_body_end", "_buffer", "_chunks", "_eof", "_head", "_max_body", "_mode", "_scan_from")

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self._buffer = bytearray()
        self._max_body = max_body
        self._eof = False
        self._reset()

    def _reset(self) -> None:
        self._head: tuple[int, dict[str, str], bool] | None = None
        self._mode = ""  # "length", "chunked" or "close" once the head is parsed
        self._body_end = 0
        self._chunks: list[bytes] = []
        self._scan_from = 0

    @property
    def idle(self) -> bool:
        """Whether nothing is buffered: the next bytes start a new response."""
        return not self._buffer and self._head is None

    def feed(self, data: bytes) -> None:
        if data:
            self._buffer += data
        else:
            self._eof = True

    @property
    def bytes_wanted(self) -> int:
        """How many more bytes would complete a Content-Length body (a hint for the reader)."""
        if self._mode == "length":
            return max(self._body_end - len(self._buffer), 0)
        return 0

    def next_response(self) -> Response | None:
        while True:
            if self._head is None and not self._parse_head():
                return None
            assert self._head is not None
            status, headers, keep_alive = self._head
            body = self._parse_body()
            if body is None:
                return None
            self._reset()
            if 100 <= status < 200:
                continue
            return Response(status, headers, body, keep_alive and self._mode_keeps_alive(headers))

    @staticmethod
    def _mode_keeps_alive(headers: dict[str, str]) -> bool:
        return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()

    def _parse_head(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise ProtocolError(f"the Runtime API sent a response head over {MAX_HEAD_BYTES} bytes")
            if self._eof:
                raise ProtocolError("the Runtime API closed the connection in the middle of a response")
            return False
        if end > MAX_HEAD_BYTES:  # the same answer however the bytes were split
            raise ProtocolError(f"the Runtime API sent a response head over {MAX_HEAD_BYTES} bytes")
        status, headers, keep_alive = parse_head(bytes(buffer[:end]))
        del buffer[: end + 4]
        self._head = (status, headers, keep_alive)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode = "chunked"
        elif "content-length" in headers:
            length_text = headers["content-length"]
            if not (length_text.isascii() and length_text.isdigit()):
                raise ProtocolError(f"malformed Content-Length from the Runtime API: {length_text[:40]!r}")
            length = int(length_text)
            if length > self._max_body:
                raise ProtocolError(f"the Runtime API announced a {length}-byte body, over the limit")
            self._mode = "length"
            self._body_end = length
        elif 100 <= status < 200 or status in (204, 304):
            self._mode = "length"
            self._body_end = 0
        else:
            self._mode = "close"
        return True

    def _parse_body(self) -> bytes | None:
        buffer = self._buffer
        mode = self._mode
        if mode == "length":
            end = self._body_end
            if len(buffer) < end:
                if self._eof:
                    raise ProtocolError("the Runtime API closed the connection before the whole body came")
                return None
            body = bytes(buffer[:end])
            del buffer[:end]
            return body
        if mode == "chunked":
            return self._parse_chunks()
        if len(buffer) > self._max_body:
            raise ProtocolError("the Runtime API sent a body over the limit")
        if not self._eof:
            return None
        body = bytes(buffer)
        buffer.clear()
        return body

    def _parse_chunks(self) -> bytes | None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", self._scan_from)
            if line_end < 0:
                if self._eof:
                    raise ProtocolError("the Runtime API closed the connection inside a chunked body")
                return None
            if self._body_end == -1:
                # Reading trailers: an empty line ends the message.
                if line_end == self._scan_from:
                    del buffer[: line_end + 2]
                    return b"".join(self._chunks)
                self._scan_from = line_end + 2
                continue
            size_text = bytes(buffer[self._scan_from : line_end]).split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"malformed chunk size from the Runtime API: {size_text[:20]!r}")
            size = int(size_text, 16)
            if size + sum(map(len, self._chunks)) > self._max_body:
                # Refused as soon as it is announced, as an over-long Content-Length is.
                raise ProtocolError("the Runtime API announced a chunked body over the limit")
            if size == 0:
                del buffer[: line_end + 2]
                self._scan_from = 0
                self._body_end = -1
                continue
            data_start = line_end + 2
            data_end = data_start + size
            if len(buffer) < data_end + 2:
                if self._eof:
                    raise ProtocolError("the Runtime API closed the connection inside a chunk")
                return None
            if buffer[data_end : data_end + 2] != b"\r\n":
                raise ProtocolError("a chunk from the Runtime API is not followed by CRLF")
            self._chunks.append(bytes(buffer[data_start:data_end]))
            del buffer[: data_end + 2]
            self._scan_from = 0


# --- streamed responses -----------------------------------------------------------------------------

END_OF_STREAM = b"0\r\n\r\n"


def chunk_header(size: int) -> bytes:
    """The size line that goes before ``size`` bytes of chunk data (``CRLF`` goes after them)."""
    if size <= 0:
        raise ValueError("an empty chunk would end the body")
    return b"%x\r\n" % size


def chunk(data: bytes) -> bytes:
    """Frame ``data`` as one HTTP/1.1 chunk (an empty ``data`` would end the body, so it is refused)."""
    return chunk_header(len(data)) + data + b"\r\n"


def error_trailers(error_type: str, body: bytes) -> bytes:
    """The last chunk and the trailers that report an error after a stream's first byte.

    The error body (the same JSON as an ``/error`` post) travels base64-encoded, as a header value must
    stay on one line.
    """
    from binascii import b2a_base64

    return (
        b"0\r\nLambda-Runtime-Function-Error-Type: %s\r\nLambda-Runtime-Function-Error-Body: %s\r\n\r\n"
        % (error_type_header(error_type).encode(), b2a_base64(body, newline=False))
    )


def http_integration_prelude(
    status_code: int,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
) -> bytes:
    """The prelude a Function URL (or API Gateway) reads before a streamed body: JSON, then 8 NULs."""
    import json

    if not isinstance(status_code, int) or not 100 <= status_code <= 599:
        raise ValueError(f"status_code must be an HTTP status between 100 and 599, got {status_code!r}")
    document: dict[str, object] = {"statusCode": status_code}
    if headers:
        document["headers"] = {str(name): str(value) for name, value in headers.items()}
    if cookies:
        document["cookies"] = [str(cookie) for cookie in cookies]
    return json.dumps(document, separators=(",", ":")).encode() + PRELUDE_SEPARATOR
