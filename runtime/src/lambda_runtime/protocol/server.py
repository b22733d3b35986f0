"""The server side of the Runtime API's wire format: what a Runtime API server (the local server, the
test server) puts on the wire for a runtime, and how it reads what the runtime posts back.

Sans-IO, like the runtime's side in :mod:`lambda_runtime.protocol`, which it builds on; kept apart so that
a function's cold start does not load it.
"""

from . import (
    API_VERSION,
    ERROR_BODY_HEADER,
    ERROR_TYPE_HEADER,
    HTTP_INTEGRATION_CONTENT_TYPE,
    MAX_HEAD_BYTES,
    PRELUDE_SEPARATOR,
    Invocation,
    ProtocolError,
    check_id,
    error_body,
    error_type_header,
)

# The /next headers, the paths of the posts, the Function URL prelude of a streamed response, and the
# error a streamed response reports in its trailers.

INVOCATION_PATH_PREFIX = f"/{API_VERSION}/runtime/invocation/"
# A synchronous invocation's payload: Lambda refuses larger ones ("Request must be smaller than 6291456
# bytes for the InvokeFunction operation").
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
# How far into a streamed Function URL response the prelude's separator may come (a Function URL and
# API Gateway read the prelude from the first bytes of the stream).
MAX_PRELUDE_BYTES = MAX_HEAD_BYTES


def next_response_headers(invocation: Invocation) -> list[tuple[str, str]]:
    """The headers of the ``/next`` response that hands ``invocation`` to a runtime.

    The body is ``invocation.event``; absent fields are left out, as Lambda leaves them out.
    """
    headers = [("Lambda-Runtime-Aws-Request-Id", check_id(invocation.request_id, "request id"))]
    if invocation.deadline_ms is not None:
        headers.append(("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline_ms))))
    optional = (
        ("Lambda-Runtime-Invoked-Function-Arn", invocation.invoked_function_arn),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
        ("Lambda-Runtime-Client-Context", invocation.client_context),
        ("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity),
        ("Lambda-Runtime-Aws-Tenant-Id", invocation.tenant_id),
    )
    headers += [(name, value) for name, value in optional if value is not None]
    if invocation.invocation_id is not None:
        headers.append(("Lambda-Runtime-Invocation-Id", check_id(invocation.invocation_id, "invocation id")))
    return headers


def parse_invocation_path(path: str) -> tuple[str, str] | None:
    """``(request id, "response" or "error")`` for ``/2018-06-01/runtime/invocation/{id}/{kind}``.

    ``None`` for any other path (a query string must already be stripped); the request id is not
    checked here, :func:`check_id` does that.
    """
    if not path.startswith(INVOCATION_PATH_PREFIX):
        return None
    request_id, slash, kind = path[len(INVOCATION_PATH_PREFIX) :].partition("/")
    if not slash or not request_id or kind not in ("response", "error"):
        return None
    return request_id, kind


def split_http_integration_prelude(buffer: bytes) -> tuple[bytes, bytes] | None:
    """Split the start of a Function URL stream into its JSON prelude and the body bytes after it.

    ``None`` while the separator (8 NUL bytes) has not arrived yet; :class:`ProtocolError` once
    ``buffer`` is longer than :data:`MAX_PRELUDE_BYTES` without one.
    """
    end = buffer.find(PRELUDE_SEPARATOR)
    if end < 0:
        if len(buffer) > MAX_PRELUDE_BYTES + len(PRELUDE_SEPARATOR):
            raise ProtocolError(
                f"no status-and-headers prelude in the first {MAX_PRELUDE_BYTES} bytes of a response "
                f"streamed as {HTTP_INTEGRATION_CONTENT_TYPE}"
            )
        return None
    return buffer[:end], buffer[end + len(PRELUDE_SEPARATOR) :]


def parse_http_integration_prelude(prelude: bytes) -> tuple[int, list[tuple[str, str]]]:
    """The HTTP status and headers a Function URL would answer with, from a stream's JSON prelude.

    Cookies become ``Set-Cookie`` headers. Raises :class:`ProtocolError` for anything that is not a
    JSON object with an integer ``statusCode`` between 100 and 599 (``200`` when it is left out), an
    object of ``headers`` and a list of ``cookies``.
    """
    import json

    try:
        document = json.loads(prelude)
    except ValueError as error:
        raise ProtocolError(f"the streamed response's prelude is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ProtocolError("the streamed response's prelude is not a JSON object")
    status = document.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ProtocolError(f"the streamed response's prelude has an invalid statusCode: {status!r}")
    headers_field = document.get("headers") or {}
    cookies_field = document.get("cookies") or []
    if not isinstance(headers_field, dict) or not isinstance(cookies_field, list):
        raise ProtocolError("the streamed response's prelude needs an object of headers, a list of cookies")
    headers = [(str(name), _header_text(value)) for name, value in headers_field.items()]
    headers += [("Set-Cookie", _header_text(cookie)) for cookie in cookies_field]
    for name, value in headers:
        if not name or any(c in name for c in " \t\r\n:") or any(c in value for c in "\r\n\x00"):
            raise ProtocolError(f"the streamed response's prelude has an invalid header: {name[:80]!r}")
    return status, headers


def _header_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def error_from_trailers(trailers: dict[str, str]) -> tuple[str, bytes] | None:
    """``(error type, error JSON body)`` reported in a streamed response's trailers, else ``None``.

    ``trailers`` has lower-case names. The body travels base64-encoded; one that cannot be decoded is
    replaced by an error body saying so.
    """
    error_type = trailers.get(ERROR_TYPE_HEADER)
    if error_type is None:
        return None
    encoded = trailers.get(ERROR_BODY_HEADER)
    if encoded is None:
        return error_type, error_body(error_type, "the runtime reported an error without a body")
    from base64 import b64decode
    from binascii import Error

    try:
        return error_type, b64decode(encoded.encode("latin-1"), validate=True)
    except (Error, ValueError):
        return error_type, error_body(error_type, "the runtime's error body is not valid base64")


def error_trailer_fields(error_type: str, body: bytes) -> list[tuple[str, str]]:
    """The trailers that end a stream with an error, as header pairs (see :func:`error_trailers`)."""
    from binascii import b2a_base64

    return [
        ("Lambda-Runtime-Function-Error-Type", error_type_header(error_type)),
        ("Lambda-Runtime-Function-Error-Body", b2a_base64(body, newline=False).decode("ascii")),
    ]


def function_error_type(header_type: str | None, body: bytes) -> str:
    """The errorType to show whoever invoked: the error body's ``errorType`` (``ValueError``), else the
    ``Lambda-Runtime-Function-Error-Type`` header (``Function.ValueError``), else ``Unhandled``."""
    import json

    try:
        document = json.loads(body)
    except ValueError:
        document = None
    candidate = document.get("errorType") if isinstance(document, dict) else None
    if not isinstance(candidate, str) or not candidate:
        candidate = header_type or "Unhandled"
    # It goes back into a header: keep it to one line of visible ASCII.
    cleaned = "".join(c for c in candidate if "!" <= c <= "~")[:200]
    return cleaned or "Unhandled"
