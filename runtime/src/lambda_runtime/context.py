"""``LambdaContext``: what a handler knows about the invocation it is serving.

The attribute names are those ``awslambdaric`` handlers already use (``aws_request_id``,
``get_remaining_time_in_millis()``, ``client_context.client.app_title``...), so such a handler runs
unchanged. The client context and Cognito identity are decoded (and their classes loaded, from
``client_context``) only when a handler reads them.
"""

import os
import sys
import time
from _contextvars import ContextVar  # what contextvars re-exports, one import less at start

from .protocol import Invocation

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

    from .client_context import ClientContext, CognitoIdentity


class FunctionInfo:
    """What Lambda tells the process about the function once, through its environment."""

    __slots__ = (
        "function_name",
        "function_version",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(self, environ: dict[str, str] | os._Environ[str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # A string, as awslambdaric gives it, so existing handlers behave the same.
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")


_UNSET: "Any" = object()
_new_object = object.__new__

# The invocation being served by this thread or task: logs read the request id and tenant id from here,
# never from process globals, so concurrent invocations in one process cannot mix them up.
current_context: "ContextVar[LambdaContext | None]" = ContextVar("lambda_runtime_context", default=None)


class LambdaContext:
    """The context of one invocation, passed to the handler as its last argument.

    ``request_id`` (alias ``aws_request_id``), ``deadline_ms`` (epoch milliseconds),
    ``get_remaining_time_in_millis()``, ``invoked_function_arn``, ``trace_id``, ``tenant_id``,
    ``client_context`` (:class:`ClientContext` or ``None``), ``identity`` (:class:`CognitoIdentity`),
    ``function_name``, ``function_version``, ``memory_limit_in_mb`` (a string, as in ``awslambdaric``),
    ``log_group_name``, ``log_stream_name`` and ``logger``.
    """

    __slots__ = (
        "_client_context",
        "_client_context_text",
        "_function",
        "_identity",
        "_identity_text",
        "deadline_ms",
        "invoked_function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        deadline_ms: int | None = None,
        invoked_function_arn: str | None = None,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        function: FunctionInfo | None = None,
    ) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.tenant_id = tenant_id
        self._client_context_text = client_context
        self._identity_text = cognito_identity
        self._client_context: ClientContext | None = _UNSET
        self._identity: CognitoIdentity = _UNSET
        self._function = function if function is not None else FunctionInfo()

    @classmethod
    def from_invocation(cls, invocation: Invocation, function: FunctionInfo) -> "LambdaContext":
        # Once per invocation: the fields are set here rather than through __init__, whose call through
        # type.__call__ (from C, a new frame of its own) costs about half as much again.
        context = _new_object(cls)
        context.request_id = invocation.request_id
        context.deadline_ms = invocation.deadline_ms
        context.invoked_function_arn = invocation.invoked_function_arn
        context.trace_id = invocation.trace_id
        context.tenant_id = invocation.tenant_id
        context._client_context_text = invocation.client_context
        context._identity_text = invocation.cognito_identity
        context._client_context = _UNSET
        context._identity = _UNSET
        context._function = function
        return context

    @property
    def aws_request_id(self) -> str:
        """The request id, under the name awslambdaric uses."""
        return self.request_id

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops this invocation (0 once past the deadline)."""
        if self.deadline_ms is None:
            return 0
        remaining = self.deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    @property
    def client_context(self) -> "ClientContext | None":
        """The invoker's client context (``client``, ``custom``, ``env``), or ``None`` if it sent none."""
        if self._client_context is _UNSET:
            from .client_context import client_context

            self._client_context = client_context(self._client_context_text)
        return self._client_context

    @property
    def identity(self) -> "CognitoIdentity":
        """The caller's Cognito identity; its fields are ``None`` when the invoker had none (as in
        awslambdaric, the object itself is always there)."""
        if self._identity is _UNSET:
            from .client_context import cognito_identity

            self._identity = cognito_identity(self._identity_text)
        return self._identity

    @property
    def function_name(self) -> str:
        return self._function.function_name

    @property
    def function_version(self) -> str:
        return self._function.function_version

    @property
    def memory_limit_in_mb(self) -> str:
        return self._function.memory_limit_in_mb

    @property
    def log_group_name(self) -> str:
        return self._function.log_group_name

    @property
    def log_stream_name(self) -> str:
        return self._function.log_stream_name

    @property
    def logger(self) -> "logging.Logger":
        """A logger whose records carry this invocation's request id (and tenant id)."""
        from .logs import function_logger

        return function_logger()

    def log(self, message: str) -> None:
        """Write ``message`` to the function's log as is (awslambdaric's ``context.log``)."""
        sys.stdout.write(str(message))
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext(request_id={self.request_id!r}, function_name={self.function_name!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r}, tenant_id={self.tenant_id!r})"
        )
