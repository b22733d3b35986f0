"""Errors the runtime reports to Lambda on the function's behalf.

Each class's ``error_type`` is the ``errorType`` Lambda shows; the names are those ``awslambdaric``
uses, so dashboards and alarms built on them keep working. The runtime loads this module when it
raises or reports one of them, not on a cold start that has no error to report.
"""


class LambdaRuntimeError(Exception):
    """Base class of the errors this runtime raises itself."""

    error_type = "Runtime.Unknown"


class InitError(LambdaRuntimeError):
    """The function could not be initialised (reported to ``/runtime/init/error``)."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack_trace = stack_trace or []


class UnmarshalError(LambdaRuntimeError):
    """The event could not be decoded for the handler (not JSON, or not the declared type)."""

    error_type = "Runtime.UnmarshalError"


class MarshalError(LambdaRuntimeError):
    """The handler's result could not be encoded (not JSON-serialisable)."""

    error_type = "Runtime.MarshalError"


class ResponseSizeTooLarge(LambdaRuntimeError):
    """The buffered response is over Lambda's 6 MB limit (stream it instead)."""

    error_type = "Function.ResponseSizeTooLarge"


class AlreadyRunningError(LambdaRuntimeError):
    """A second ``LambdaRuntime`` was created in a process that already has one."""

    error_type = "Runtime.AlreadyRunning"
