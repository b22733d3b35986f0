"""4. Through the local server, over HTTP: what ``python app.py`` serves, and what clients see.

The local server (the runtime's ``local`` extra) plays both sides of Lambda: the Runtime API that the
runtime polls, and ``POST /invoke`` for clients. These tests post to it with httpx, and check the HTTP
answer: the status, the ``X-Amz-Function-Error`` header of a failed invocation, the body.
"""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from lambda_runtime import LambdaRuntime
from lambda_runtime.local import LocalConfig, LocalServer

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent


def test_invoke_through_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INVOCATIONS", "2")  # the runtime returns after two invocations
    with LocalServer(LocalConfig(port=0)) as server:  # port 0: any free port
        runtime = LambdaRuntime(app.handler, runtime_api=server.address)
        serving = threading.Thread(target=runtime.run, daemon=True)
        serving.start()
        with httpx.Client(timeout=10) as client:
            ok = client.post(server.url, json={"texts": ["hello WORLD"]})
            invalid = client.post(server.url, json={"texts": "hello WORLD"})
        serving.join(timeout=10)

    assert ok.status_code == 200
    assert ok.json() == {"results": ["Hello world"], "unprocessed": []}

    assert invalid.status_code == 500
    assert invalid.headers["X-Amz-Function-Error"] == "ValidationError"
    assert invalid.json()["errorMessage"] == (
        "1 validation error for CapitalizeRequest: texts: Input should be a valid array"
    )


def test_python_app_py_serves_the_function() -> None:
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=EXAMPLE_DIR,
        env={**os.environ, "LOCAL_LAMBDA_PORT": "0", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(20, process.kill)  # a hung start must not hang the test run
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the server logs where it listens, once it does
            listening = re.search(r"listening on (\S+?):(\d+)", line)
            if listening:
                break
        else:
            pytest.fail("python app.py ended without serving")
        url = f"http://{listening.group(1)}:{listening.group(2)}/invoke"
        response = httpx.post(url, json={"texts": ["LOCAL. server."]}, timeout=10)
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(timeout=10)

    assert response.json() == {"results": ["Local. Server."], "unprocessed": []}
