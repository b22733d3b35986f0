"""Logging through stdlib logging: the request id (and tenant id) on every line, the text and JSON
formats, a multi-line record kept on one line, the level from the environment, and the raw event at
TRACE level."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime import LambdaRuntime
from lambda_runtime.testing import RuntimeAPIServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import RunProcess, RunRuntime

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def records(output: str) -> list[str]:
    """The records written to stdout: one per line (a CR inside a record does not end it)."""
    return [line for line in output.split("\n") if line]


def text_fields(line: str) -> tuple[str, str, str, str]:
    """``[LEVEL]``, timestamp, request id and the rest of a text record."""
    level, timestamp, request_id, rest = line.split("\t", 3)
    return level, timestamp, request_id, rest


def logs_everywhere(event: Any, context: Any) -> None:
    logging.getLogger().info("root logger for %s", event)
    logging.getLogger("app.orders").warning("named logger for %s", event)
    context.logger.info("context logger for %s", event)
    logging.getLogger().info("first line\nsecond line for %s", event)


@pytest.fixture
def serve_logging(
    api: RuntimeAPIServer,
    run: RunRuntime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[list[str], list[str]]]:
    """``serve_logging(handler, *events, env={...}, headers={...})``: the request ids and the records."""

    def serve_logging(
        handler: object,
        *events: Any,
        env: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[list[str], list[str]]:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        request_ids = [
            api.enqueue(event if isinstance(event, bytes) else json.dumps(event), headers=headers)
            for event in events
        ]
        assert run(handler, api.address, len(request_ids)) is None
        return request_ids, records(capsys.readouterr().out)

    return serve_logging


# --- text ---------------------------------------------------------------------------------------------


def test_every_line_carries_its_invocations_request_id(serve_logging: Callable[..., Any]) -> None:
    request_ids, lines = serve_logging(logs_everywhere, "first", "second")
    assert len(lines) == 8
    for line in lines:
        level, timestamp, request_id, message = text_fields(line)
        assert level in ("[INFO]", "[WARNING]")
        assert TIMESTAMP.fullmatch(timestamp)
        event = message.rsplit(" ", 1)[1]
        assert request_id == request_ids[["first", "second"].index(event)]


def test_the_tenant_id_is_on_every_line_when_present(serve_logging: Callable[..., Any]) -> None:
    _, lines = serve_logging(logs_everywhere, "t", headers={"Lambda-Runtime-Aws-Tenant-Id": "tenant-blue"})
    assert len(lines) == 4
    assert all("tenant-blue" in text_fields(line)[3].split("\t")[0] for line in lines)
    _, lines = serve_logging(logs_everywhere, "plain")
    assert not any("tenant" in line for line in lines)


def test_a_multi_line_record_stays_one_line(serve_logging: Callable[..., Any]) -> None:
    def handler(event: Any, context: Any) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger().exception("it failed\nbadly")

    [request_id], [line] = serve_logging(handler, {})
    level, _, logged_id, message = text_fields(line)
    assert (level, logged_id) == ("[ERROR]", request_id)
    assert message.split("\r") == [
        "it failed",
        "badly",
        "Traceback (most recent call last):",
        *message.split("\r")[3:-1],
        "ValueError: boom",
    ]
    assert any("in handler" in part for part in message.split("\r"))


def test_a_failing_handler_logs_one_line(serve_logging: Callable[..., Any]) -> None:
    def handler(event: Any, context: Any) -> None:
        raise KeyError("missing")

    [request_id], [line] = serve_logging(handler, {})
    level, _, logged_id, message = text_fields(line)
    assert (level, logged_id) == ("[ERROR]", request_id)
    assert message.startswith("KeyError: 'missing'\rTraceback (most recent call last):\r")


# --- JSON ---------------------------------------------------------------------------------------------


def test_json_format_is_one_object_per_line(serve_logging: Callable[..., Any]) -> None:
    request_ids, lines = serve_logging(
        logs_everywhere,
        "j",
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON"},
        headers={"Lambda-Runtime-Aws-Tenant-Id": "t-9"},
    )
    documents = [json.loads(line) for line in lines]
    assert len(documents) == 4
    for document in documents:
        assert TIMESTAMP.fullmatch(document["timestamp"])
        assert document["requestId"] == request_ids[0]
        assert document["tenantId"] == "t-9"
        assert document["level"] in ("INFO", "WARNING")
    assert [document["message"] for document in documents] == [
        "root logger for j",
        "named logger for j",
        "context logger for j",
        "first line\nsecond line for j",
    ]
    assert documents[1]["logger"] == "app.orders"


def test_json_format_carries_the_exception(serve_logging: Callable[..., Any]) -> None:
    def handler(event: Any, context: Any) -> None:
        try:
            {}["key"]
        except KeyError:
            logging.getLogger().exception("lookup failed")

    _, [line] = serve_logging(handler, {}, env={"AWS_LAMBDA_LOG_FORMAT": "json"})
    document = json.loads(line)
    assert (document["level"], document["message"]) == ("ERROR", "lookup failed")
    assert (document["errorType"], document["errorMessage"]) == ("KeyError", "'key'")
    assert any("in handler" in frame for frame in document["stackTrace"])


def test_a_record_outside_any_invocation_has_no_request_id(
    serve_logging: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    serve_logging(lambda event, context: None, {}, env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    logging.getLogger().warning("outside")  # this thread serves no invocation
    [document] = [json.loads(line) for line in records(capsys.readouterr().out)]
    assert document["message"] == "outside"
    assert "requestId" not in document


# --- level --------------------------------------------------------------------------------------------


def logs_each_level(event: Any, context: Any) -> None:
    log = logging.getLogger("app")
    log.debug("debug")
    log.info("info")
    log.warning("warning")
    log.error("error")
    context.logger.debug("context debug")


@pytest.mark.parametrize(
    ("env", "levels"),
    [
        ({}, ["INFO", "WARNING", "ERROR"]),
        ({"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, ["DEBUG", "INFO", "WARNING", "ERROR", "DEBUG"]),
        ({"AWS_LAMBDA_LOG_LEVEL": "warn"}, ["WARNING", "ERROR"]),
        ({"LOG_LEVEL": "ERROR"}, ["ERROR"]),
        ({"LOG_LEVEL": "debug"}, ["DEBUG", "INFO", "WARNING", "ERROR", "DEBUG"]),
        ({"AWS_LAMBDA_LOG_LEVEL": "ERROR", "LOG_LEVEL": "DEBUG"}, ["ERROR"]),
        ({"AWS_LAMBDA_LOG_LEVEL": "FATAL"}, []),
        ({"AWS_LAMBDA_LOG_LEVEL": "LOUD"}, ["INFO", "WARNING", "ERROR"]),
    ],
    ids=[
        "default-info",
        "aws-debug",
        "aws-warn",
        "log-level-error",
        "log-level-debug",
        "aws-wins",
        "fatal",
        "unknown-is-info",
    ],
)
def test_the_level_comes_from_the_environment(
    env: dict[str, str], levels: list[str], serve_logging: Callable[..., Any]
) -> None:
    _, lines = serve_logging(logs_each_level, {}, env=env)
    assert [text_fields(line)[0].strip("[]") for line in lines] == levels


def test_a_record_below_the_level_is_never_formatted(serve_logging: Callable[..., Any]) -> None:
    formatted: list[str] = []

    class Expensive:
        def __str__(self) -> str:
            formatted.append("str")
            return "expensive"

    _, lines = serve_logging(lambda event, context: logging.getLogger().debug("%s", Expensive()), {})
    assert (lines, formatted) == ([], [])


@pytest.mark.parametrize("log_format", ["TEXT", "JSON"])
def test_trace_level_logs_the_raw_event_before_decoding_it(
    log_format: str, serve_logging: Callable[..., Any]
) -> None:
    [request_id], lines = serve_logging(
        lambda event, context: None,
        b"{not json \xff",
        env={"AWS_LAMBDA_LOG_LEVEL": "TRACE", "AWS_LAMBDA_LOG_FORMAT": log_format},
    )
    assert len(lines) == 2, lines
    event_line, error_line = lines
    if log_format == "JSON":
        event_record = json.loads(event_line)
        level, logged_id, message = event_record["level"], event_record["requestId"], event_record["message"]
    else:
        level, _, logged_id, message = text_fields(event_line)
    assert (level.strip("[]"), logged_id, message) == ("TRACE", request_id, "Event: b'{not json \\xff'")
    assert "Runtime.UnmarshalError" in error_line


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_raw_event_is_not_logged_above_trace(level: str, serve_logging: Callable[..., Any]) -> None:
    _, lines = serve_logging(lambda event, context: None, b'{"secret": "s3cr3t"}', env={"LOG_LEVEL": level})
    assert lines == []


# --- lines outside an invocation ------------------------------------------------------------------------


def test_the_runtimes_last_line_is_not_blamed_on_the_last_invocation(
    api: RuntimeAPIServer, run: RunRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    """After an invocation has been answered, the runtime's own lines (here: stopping on a 500 from
    /next) belong to no invocation and must not carry its request id."""
    request_id = api.enqueue({})
    api.next_timeout = 0.1
    assert run(lambda event, context: None, api.address) == 1
    [line] = records(capsys.readouterr().out)
    level, _, logged_id, message = text_fields(line)
    assert level == "[CRITICAL]"
    assert message.startswith("Stopping: the Runtime API answered /next with 500")
    assert logged_id != request_id


def test_records_after_run_returns_carry_no_request_id(
    api: RuntimeAPIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """run() on this very thread: once it has returned, no invocation is being served here."""
    api.enqueue({})
    monkeypatch.setenv("MAX_INVOCATIONS", "1")
    LambdaRuntime(lambda event, context: None, runtime_api=api.address).run()
    logging.getLogger().warning("after the runtime")
    [line] = records(capsys.readouterr().out)
    assert text_fields(line)[2:] == ("", "after the runtime")


def test_logging_imported_inside_the_first_invocation_is_formatted_too(
    tmp_path: Path, api: RuntimeAPIServer, run_process: RunProcess
) -> None:
    """A handler module that imports logging only when it first runs (or calls a library that does) is
    served by a process where logging was not loaded at init: its first records must still get the
    request id and go to stdout."""
    (tmp_path / "lazy.py").write_text(
        "def handler(event, context):\n"
        "    import logging\n"
        "    logging.getLogger().info('info from %s', event)\n"
        "    logging.getLogger().warning('warning from %s', event)\n"
    )
    request_ids = [api.enqueue(index) for index in range(2)]
    finished = run_process(
        "lazy.handler", env={"AWS_LAMBDA_RUNTIME_API": api.address, "MAX_INVOCATIONS": "2"}
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    lines = records(finished.stdout)
    assert [(text_fields(line)[2], text_fields(line)[3]) for line in lines] == [
        (request_ids[0], "info from 0"),
        (request_ids[0], "warning from 0"),
        (request_ids[1], "info from 1"),
        (request_ids[1], "warning from 1"),
    ]
