"""3. The function run as Lambda runs it: ``run_function`` and ``RuntimeAPIServer``.

``run_function("app.handler", events, cwd=...)`` starts a Lambda Runtime API on 127.0.0.1, runs
``python -m lambda_runtime app.handler`` in a subprocess against it, feeds it the events, and returns
what the function posted back for each: the bytes Lambda would hand to the caller, errors included. This
is where the event validation, the JSON encoding and the error reports are tested.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lambda_runtime.testing import RuntimeAPIServer, run_function

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
SAMPLE_EVENTS = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.endswith(".expected.json"))


def test_run_the_function_as_lambda_would() -> None:
    ok, invalid = run_function(
        "app.handler",
        [{"texts": ["hello WORLD"]}, {"texts": []}],
        cwd=str(EXAMPLE_DIR),
    )

    assert not ok.is_error
    assert ok.json() == {"results": ["Hello world"], "unprocessed": []}

    assert invalid.is_error
    assert invalid.json()["errorType"] == "ValidationError"
    assert invalid.json()["errorMessage"] == (
        "1 validation error for CapitalizeRequest: "
        "texts: List should have at least 1 item after validation, not 0"
    )


def test_every_sample_event_produces_its_expected_output() -> None:
    results = run_function("app.handler", [path.read_bytes() for path in SAMPLE_EVENTS], cwd=str(EXAMPLE_DIR))
    for event_path, result in zip(SAMPLE_EVENTS, results, strict=True):
        expected = json.loads(event_path.with_name(f"{event_path.stem}.expected.json").read_bytes())
        assert not result.is_error, f"{event_path.name}: {result.body!r}"
        assert result.json() == expected, event_path.name


def test_a_payload_that_is_not_json_is_an_unmarshal_error() -> None:
    [result] = run_function("app.handler", [b"hello WORLD"], cwd=str(EXAMPLE_DIR))
    assert result.json()["errorType"] == "Runtime.UnmarshalError"


def test_an_invocation_close_to_its_deadline() -> None:
    with RuntimeAPIServer() as api:
        # Lambda's deadline for this invocation: 200 ms from now.
        request_id = api.enqueue({"texts": ["one", "two"]}, deadline_ms=int(time.time() * 1000) + 200)
        subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "app.handler"],
            cwd=EXAMPLE_DIR,
            env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "MAX_INVOCATIONS": "1"},
            check=True,
            timeout=30,
        )
        result = api.wait_for(request_id)

    assert result.json() == {"results": [], "unprocessed": ["one", "two"]}
