"""``python -m lambda_runtime invoke``: one event to a running local server, the answer printed (a stream
as it arrives), and a non-zero exit on a function error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime import LambdaContext, ResponseStream

from .conftest import WAIT, ServeLocally


def echo(event: Any, context: LambdaContext) -> dict[str, Any]:
    custom = context.client_context.custom if context.client_context else None
    return {"event": event, "tenant_id": getattr(context, "tenant_id", None), "custom": custom}


class OrderNotFound(Exception):
    pass


def fails(event: Any, context: LambdaContext) -> None:
    raise OrderNotFound("no order 42")


def run(arguments: list[str], env: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    """The command in its own process (this one's stdout also carries the served runtime's logs)."""
    finished = subprocess.run(
        [sys.executable, "-m", "lambda_runtime", "invoke", *arguments],
        capture_output=True,
        timeout=WAIT,
        check=False,
        env={**command_environment(), **(env or {})},
    )
    return finished.returncode, finished.stdout, finished.stderr.decode()


def command_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("LOCAL_LAMBDA")}


def test_prints_the_answer_to_data(serve_locally: ServeLocally) -> None:
    served = serve_locally(echo)
    code, out, err = run(["--url", served.url, "--data", '{"name": "Ada"}'])
    assert (code, err) == (0, "")
    assert out.endswith(b"\n")
    assert json.loads(out) == {"event": {"name": "Ada"}, "tenant_id": None, "custom": None}


def test_sends_a_file_a_tenant_and_a_client_context(serve_locally: ServeLocally, tmp_path: Path) -> None:
    served = serve_locally(echo)
    event = tmp_path / "event.json"
    event.write_text('{"order": 7}')
    arguments = ["--url", served.url, "--file", str(event), "--tenant-id", "blue"]
    code, out, _ = run([*arguments, "--client-context", '{"custom": {"k": "v"}}'])
    assert code == 0
    assert json.loads(out) == {"event": {"order": 7}, "tenant_id": "blue", "custom": {"k": "v"}}


def test_the_local_server_variables_give_the_default_endpoint(
    serve_locally: ServeLocally,
) -> None:
    served = serve_locally(echo, invocation_endpoint="/run")
    host, _, port = served.address.rpartition(":")
    variables = {
        "LOCAL_LAMBDA_HOST": host,
        "LOCAL_LAMBDA_PORT": port,
        "LOCAL_LAMBDA_INVOCATION_ENDPOINT": "/run",
    }
    code, out, _ = run([], env=variables)
    assert (code, json.loads(out)["event"]) == (0, {})


def test_a_function_error_goes_to_stderr_and_exits_1(
    serve_locally: ServeLocally,
) -> None:
    served = serve_locally(fails)
    code, out, err = run(["--url", served.url])
    assert (code, out) == (1, b"")
    first, body = err.split("\n", 1)
    assert first == "lambda-runtime invoke: function error OrderNotFound"
    error = json.loads(body)
    assert (error["errorType"], error["errorMessage"]) == ("OrderNotFound", "no order 42")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "{not json"], "--data is not JSON"),
        (["--file", "/nonexistent/event.json"], "cannot read /nonexistent/event.json"),
        (["--client-context", "[1]"], "--client-context must be a JSON object"),
        (["--url", "https://example.com/invoke"], "--url must be an http:// URL"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(arguments: list[str], message: str) -> None:
    code, out, err = run(["--url", "http://127.0.0.1:9/invoke", *arguments])
    assert (code, out) == (2, b"")
    assert err.startswith(f"lambda-runtime invoke: {message}") and err.count("\n") == 1


def test_no_server_says_how_to_start_one() -> None:
    code, _, err = run(["--url", "http://127.0.0.1:9/invoke"])
    assert code == 2
    assert "cannot reach the local server at 127.0.0.1:9" in err and "python -m lambda_runtime serve" in err


# --- streams ------------------------------------------------------------------------------------------


def test_a_stream_is_printed_chunk_by_chunk_as_it_arrives(serve_locally: ServeLocally) -> None:
    """The first chunk is on the command's stdout while the handler is still holding back the second."""
    release = threading.Event()

    def streams(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"first\n")
        assert release.wait(WAIT), "the test never released the second chunk"
        stream.write(b"second")

    served = serve_locally(streams)
    with subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", "invoke", "--stream", "--url", served.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=command_environment(),
    ) as process:
        assert process.stdout is not None
        try:
            lines: list[bytes] = []
            reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
            reader.start()
            reader.join(WAIT)
            assert lines == [b"first\n"], "the first chunk was not printed before the stream ended"
            assert not release.is_set()
        finally:
            release.set()
        rest, errors = process.communicate(timeout=WAIT)
    assert (process.returncode, rest, errors) == (0, b"second\n", b"")


def test_a_stream_that_fails_after_its_first_byte_exits_1(
    serve_locally: ServeLocally,
) -> None:
    def breaks(event: bytes, stream: ResponseStream, context: LambdaContext) -> None:
        stream.write(b"partial ")
        raise OrderNotFound("gone mid-stream")

    served = serve_locally(breaks)
    code, out, err = run(["--stream", "--url", served.url])
    assert code == 1
    assert out.startswith(b"partial ")
    first, body = err.split("\n", 1)
    assert first == "lambda-runtime invoke: the stream failed with Function.OrderNotFound"
    assert json.loads(body)["errorMessage"] == "gone mid-stream"
    # Without --stream the same answer is printed whole once it has ended, and fails the same way.
    code, out, err = run(["--url", served.url])
    assert (code, out.strip()) == (1, b"partial")
    assert "OrderNotFound" in err
