"""Logging for the function and the runtime, through the stdlib ``logging`` module.

Each record carries the request id (and tenant id) of the invocation being served, read from a
context variable. Text records look like awslambdaric's (``[LEVEL]\\ttimestamp\\trequest id\\tmessage``)
with line breaks turned into ``\\r`` so a traceback stays one CloudWatch event; with
``AWS_LAMBDA_LOG_FORMAT=JSON`` each record is one JSON object per line. The level comes from
``AWS_LAMBDA_LOG_LEVEL`` or ``LOG_LEVEL``.

This module is imported only once something logs: ``logging`` costs tens of milliseconds of cold start,
and a function that never logs should not pay for it.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from .context import current_context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

LEVELS = {
    "TRACE": TRACE,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
}

RUNTIME_LOGGER_NAME = "lambda_runtime"


def level_from_environment(environ: dict[str, str] | os._Environ[str] | None = None) -> int:
    """The level asked for by ``AWS_LAMBDA_LOG_LEVEL`` (Lambda's setting) or ``LOG_LEVEL``; INFO else."""
    env = os.environ if environ is None else environ
    name = env.get("AWS_LAMBDA_LOG_LEVEL") or env.get("LOG_LEVEL") or "INFO"
    return LEVELS.get(name.strip().upper(), logging.INFO)


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    milliseconds = int((record.created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milliseconds:03d}Z"


class InvocationFilter(logging.Filter):
    """Stamps each record with the request id and tenant id of the invocation being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_context.get()
        record.aws_request_id = context.request_id if context is not None else None
        record.tenant_id = context.tenant_id if context is not None else None
        return True


class TextFormatter(logging.Formatter):
    """``[LEVEL]\\t2026-01-01T00:00:00.000Z\\t<request id>\\t[tenant <id>\\t]message`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        request_id = getattr(record, "aws_request_id", None)
        tenant_id = getattr(record, "tenant_id", None)
        tenant = f"tenant={tenant_id}\t" if tenant_id is not None else ""
        line = f"[{record.levelname}]\t{_timestamp(record)}\t{request_id or ''}\t{tenant}{message}"
        return line.replace("\r\n", "\r").replace("\n", "\r")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the fields Lambda's JSON log format uses."""

    def __init__(self) -> None:
        super().__init__()
        import json

        self._dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}",
        }
        request_id = getattr(record, "aws_request_id", None)
        if request_id is not None:
            document["requestId"] = request_id
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id is not None:
            document["tenantId"] = tenant_id
        if record.exc_info and record.exc_info[0] is not None:
            import traceback

            error_type, error, trace = record.exc_info
            document["errorType"] = error_type.__name__
            document["errorMessage"] = str(error)
            document["stackTrace"] = traceback.format_list(traceback.extract_tb(trace))
        return self._dumps(document)


class LambdaLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler the runtime installs on the root logger.

    Without an explicit stream it writes to whatever ``sys.stdout`` is at the time of each record, so
    code (or a test runner) that replaces ``sys.stdout`` still gets the records.
    """

    def __init__(self, stream: TextIO | None = None, json_format: bool | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self._follow_stdout = stream is None
        if json_format is None:
            json_format = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").strip().upper() == "JSON"
        self.setFormatter(JsonFormatter() if json_format else TextFormatter())
        self.addFilter(InvocationFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stdout:
            self.stream = sys.stdout
        super().emit(record)


_installed: LambdaLogHandler | None = None


def install(stream: TextIO | None = None) -> LambdaLogHandler:
    """Install the runtime's handler on the root logger once; returns it."""
    global _installed
    if _installed is None:
        root = logging.getLogger()
        handler = LambdaLogHandler(stream)
        root.addHandler(handler)
        root.setLevel(level_from_environment())
        _installed = handler
    return _installed


def runtime_logger() -> logging.Logger:
    """The runtime's own logger (its records go through the installed handler)."""
    install()
    return logging.getLogger(RUNTIME_LOGGER_NAME)


def function_logger() -> logging.Logger:
    """The logger ``context.logger`` returns."""
    install()
    return logging.getLogger("lambda_runtime.function")
